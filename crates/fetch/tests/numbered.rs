//! Numbered chains (page numbers and offsets) through the crate's public API, against the demo
//! API on loopback: where the end is, what is counted, resume and skip. Pages and records are
//! checked against the demo data itself.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::Request;
use axum::http::Uri;
use pagefold_demo_api::{Dataset, DemoConfig, DemoServer, Faults, Stats};
use pagefold_fetch::{
    Backoff, FetchError, FetchOptions, FetchSummary, Fetcher, NoObserver, NumberedPagination,
    OnError, Page, Pagination, Resume, SkippedPage, Source, StopRule,
};
use serde_json::Value;

/// Orders in the collection: 10 pages of 10, the last one short.
const RECORDS: u64 = 95;
/// Orders a page.
const SIZE: u64 = 10;

fn config(totals: bool) -> DemoConfig {
    DemoConfig {
        records: RECORDS,
        totals,
        ..DemoConfig::default()
    }
}

fn options(on_error: OnError) -> FetchOptions {
    FetchOptions {
        concurrency: 4,
        timeout: Duration::from_secs(10),
        retries: 1,
        backoff: Backoff {
            base: Duration::from_millis(1),
            max: Duration::from_millis(1),
        },
        on_error,
        ..FetchOptions::default()
    }
}

/// `?page=N&per_page=10` from 1; with `total_records` read from `meta.total` if `total`.
fn pages(total: bool) -> NumberedPagination {
    NumberedPagination {
        size_param: Some("per_page".into()),
        size: Some(SIZE),
        total_records: total.then(|| "/meta/total".parse().unwrap()),
        ..NumberedPagination::pages("page")
    }
}

/// `?offset=O&limit=10` from 0; with `total_records` if `total`.
fn offsets(total: bool) -> NumberedPagination {
    NumberedPagination {
        size_param: Some("limit".into()),
        size: Some(SIZE),
        total_records: total.then(|| "/meta/total".parse().unwrap()),
        ..NumberedPagination::offsets("offset")
    }
}

/// What a run gave: its summary and the pages handed on, by index.
struct Fetched {
    summary: FetchSummary,
    pages: Vec<Page>,
}

impl Fetched {
    fn indices(&self) -> Vec<u64> {
        self.pages.iter().map(Page::index).collect()
    }

    /// Every record handed on, in page order.
    fn records(&self) -> Vec<Value> {
        self.pages
            .iter()
            .flat_map(|page| {
                let records: Vec<Value> = serde_json::from_str(page.records_json()).unwrap();
                assert_eq!(records.len(), page.record_count(), "{page:?}");
                records
            })
            .collect()
    }
}

/// Runs the chain at `url` to its end with a fetcher of `options`.
fn fetch(
    url: &str,
    numbered: NumberedPagination,
    options: FetchOptions,
    resume: &Resume,
) -> Result<Fetched, FetchError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let source = Source::new(
        url.parse().unwrap(),
        "/data".parse().unwrap(),
        Pagination::Numbered(numbered),
    );
    let (sink, received) = async_channel::unbounded::<Page>();
    let summary = runtime.block_on(async {
        let fetcher = Fetcher::new(options)?;
        fetcher.run(&source, 0, sink, &NoObserver, resume).await
    })?;
    let mut pages: Vec<Page> = std::iter::from_fn(|| received.try_recv().ok()).collect();
    pages.sort_by_key(Page::index);
    Ok(Fetched { summary, pages })
}

fn fetch_demo(server: &DemoServer, numbered: NumberedPagination, options: FetchOptions) -> Fetched {
    fetch(
        &server.url("/orders"),
        numbered,
        options,
        &Resume::default(),
    )
    .unwrap()
}

/// The demo orders at `indices`, as the API sends them.
fn orders(indices: impl IntoIterator<Item = u64>) -> Vec<Value> {
    let data = Dataset {
        len: RECORDS,
        seed: 1,
    };
    indices
        .into_iter()
        .map(|index| serde_json::to_value(data.order(index)).unwrap())
        .collect()
}

fn no_warnings(summary: &FetchSummary) {
    assert!(summary.warnings.is_empty(), "{:?}", summary.warnings);
    assert!(summary.skipped.is_empty(), "{:?}", summary.skipped);
}

#[test]
fn pages_with_a_known_total_are_each_requested_once() {
    let server = DemoServer::start(config(true)).unwrap();
    let fetched = fetch_demo(&server, pages(true), options(OnError::Fail));
    assert_eq!(fetched.indices(), (0..10).collect::<Vec<_>>());
    assert_eq!(fetched.records(), orders(0..RECORDS));
    let summary = &fetched.summary;
    assert_eq!((summary.pages, summary.records), (10, RECORDS));
    assert_eq!((summary.requests, summary.retries), (10, 0));
    assert_eq!(summary.reported_records, Some(RECORDS));
    assert_eq!(summary.reported_pages, None, "not asked for");
    no_warnings(summary);
    assert_eq!(server.stats().requests(), 10);
}

#[test]
fn offsets_with_a_known_total_are_each_requested_once() {
    let server = DemoServer::start(config(true)).unwrap();
    let fetched = fetch_demo(&server, offsets(true), options(OnError::Fail));
    assert_eq!(fetched.indices(), (0..10).collect::<Vec<_>>());
    assert_eq!(fetched.records(), orders(0..RECORDS));
    assert_eq!(
        (fetched.summary.pages, fetched.summary.records),
        (10, RECORDS)
    );
    assert_eq!(fetched.summary.requests, 10);
    no_warnings(&fetched.summary);
}

#[test]
fn pages_without_a_total_end_at_the_first_empty_page() {
    let server = DemoServer::start(config(false)).unwrap();
    let fetched = fetch_demo(&server, pages(false), options(OnError::Fail));
    assert_eq!(fetched.indices(), (0..10).collect::<Vec<_>>());
    assert_eq!(fetched.records(), orders(0..RECORDS));
    let summary = &fetched.summary;
    assert_eq!((summary.pages, summary.records), (10, RECORDS));
    assert_eq!(summary.reported_records, None);
    no_warnings(summary);
    // The window ran ahead of the end, past the empty 11th page, by at most two windows.
    let requests = server.stats().requests();
    assert!((11..=10 + 2 * 4).contains(&requests), "{requests} requests");
    assert!(summary.requests <= requests, "{summary:?}");
}

#[test]
fn offsets_without_a_total_end_at_the_first_empty_page() {
    let server = DemoServer::start(config(false)).unwrap();
    let fetched = fetch_demo(&server, offsets(false), options(OnError::Fail));
    assert_eq!(fetched.indices(), (0..10).collect::<Vec<_>>());
    assert_eq!(fetched.records(), orders(0..RECORDS));
    assert_eq!(
        (fetched.summary.pages, fetched.summary.records),
        (10, RECORDS)
    );
    no_warnings(&fetched.summary);
}

#[test]
fn an_empty_first_page_without_a_total_is_an_empty_collection() {
    let server = DemoServer::start(DemoConfig {
        records: 0,
        ..config(false)
    })
    .unwrap();
    for numbered in [pages(false), offsets(false)] {
        let fetched = fetch_demo(&server, numbered, options(OnError::Fail));
        assert!(fetched.pages.is_empty());
        assert_eq!((fetched.summary.pages, fetched.summary.records), (0, 0));
        no_warnings(&fetched.summary);
    }
}

#[test]
fn an_empty_first_page_with_a_total_of_zero_is_one_empty_page() {
    let server = DemoServer::start(DemoConfig {
        records: 0,
        ..config(true)
    })
    .unwrap();
    for (numbered, requests) in [(pages(true), 1..=4), (offsets(true), 1..=1)] {
        let fetched = fetch_demo(&server, numbered, options(OnError::Fail));
        assert!(
            fetched.pages.is_empty(),
            "a page without records is not sent"
        );
        assert_eq!((fetched.summary.pages, fetched.summary.records), (1, 0));
        assert_eq!(fetched.summary.reported_records, Some(0));
        // Page numbers go out a window at a time before the first page tells the total; those
        // past the end may or may not have been answered when the chain ends.
        assert!(
            requests.contains(&fetched.summary.requests),
            "{:?}",
            fetched.summary
        );
        no_warnings(&fetched.summary);
    }
}

/// The demo API behind a rewrite that makes page 3 short: `?page=3&per_page=10` is answered
/// with the first 7 of its 10 orders. Until dropped.
struct ShortPageServer {
    url: String,
    _runtime: tokio::runtime::Runtime,
}

const SHORT_PAGE: u64 = 3;
const SHORT_BY: u64 = 3;

fn short_page_server() -> ShortPageServer {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let router = pagefold_demo_api::router(config(false), Arc::new(Stats::default())).layer(
        axum::middleware::map_request(|mut request: Request| async move {
            let short = format!("page={SHORT_PAGE}&per_page={SIZE}");
            if request.uri().query() == Some(short.as_str()) {
                let offset = (SHORT_PAGE - 1) * SIZE;
                let limit = SIZE - SHORT_BY;
                let uri = format!("/orders?offset={offset}&limit={limit}");
                *request.uri_mut() = uri.parse::<Uri>().unwrap();
            }
            request
        }),
    );
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let url = format!("http://{}/orders", listener.local_addr().unwrap());
    runtime.spawn(async move { axum::serve(listener, router).await });
    ShortPageServer {
        url,
        _runtime: runtime,
    }
}

/// The indices of the orders a chain over [`short_page_server`] gives up to page `last`.
fn short_page_orders(last: u64) -> Vec<u64> {
    let missing = (SHORT_PAGE - 1) * SIZE + (SIZE - SHORT_BY)..SHORT_PAGE * SIZE;
    (0..RECORDS.min(last * SIZE))
        .filter(|index| !missing.contains(index))
        .collect()
}

#[test]
fn a_short_page_midway_is_not_the_end() {
    let server = short_page_server();
    let fetched = fetch(
        &server.url,
        pages(false),
        options(OnError::Fail),
        &Resume::default(),
    )
    .unwrap();
    assert_eq!(fetched.indices(), (0..10).collect::<Vec<_>>());
    assert_eq!(fetched.records(), orders(short_page_orders(10)));
    assert_eq!(
        (fetched.summary.pages, fetched.summary.records),
        (10, RECORDS - SHORT_BY)
    );
    no_warnings(&fetched.summary);
}

#[test]
fn a_short_page_midway_is_the_end_with_the_short_page_rule() {
    let server = short_page_server();
    let numbered = NumberedPagination {
        stop: StopRule::ShortPage,
        ..pages(false)
    };
    let fetched = fetch(
        &server.url,
        numbered,
        options(OnError::Fail),
        &Resume::default(),
    )
    .unwrap();
    assert_eq!(fetched.indices(), vec![0, 1, 2]);
    assert_eq!(fetched.records(), orders(short_page_orders(SHORT_PAGE)));
    assert_eq!(
        (fetched.summary.pages, fetched.summary.records),
        (3, 3 * SIZE - SHORT_BY)
    );
    no_warnings(&fetched.summary);
}

#[test]
fn the_short_last_page_ends_the_chain_with_the_short_page_rule() {
    let server = DemoServer::start(config(false)).unwrap();
    let numbered = NumberedPagination {
        stop: StopRule::ShortPage,
        ..pages(false)
    };
    let fetched = fetch_demo(&server, numbered, options(OnError::Fail));
    assert_eq!(fetched.indices(), (0..10).collect::<Vec<_>>());
    assert_eq!(fetched.records(), orders(0..RECORDS));
    assert_eq!(
        (fetched.summary.pages, fetched.summary.records),
        (10, RECORDS)
    );
    no_warnings(&fetched.summary);
}

#[test]
fn a_repeated_last_page_ends_the_chain_uncounted_with_a_warning() {
    let server = DemoServer::start(DemoConfig {
        repeat_last_page: true,
        ..config(false)
    })
    .unwrap();
    for (numbered, past_the_end) in [
        (pages(false), "/orders?page=11&per_page=10"),
        (offsets(false), "/orders?offset=100&limit=10"),
    ] {
        let fetched = fetch_demo(&server, numbered, options(OnError::Fail));
        assert_eq!(fetched.indices(), (0..10).collect::<Vec<_>>());
        assert_eq!(fetched.records(), orders(0..RECORDS));
        let summary = &fetched.summary;
        assert_eq!((summary.pages, summary.records), (10, RECORDS));
        assert!(summary.skipped.is_empty(), "{:?}", summary.skipped);
        assert_eq!(
            summary.warnings,
            vec![format!(
                "`{}` repeated the records of the page before it: taken as the end of the data \
                 (APIs such as json-server answer past the end this way)",
                server.url(past_the_end)
            )]
        );
    }
}

fn resume_after(done: impl IntoIterator<Item = u64>) -> Resume {
    let done: BTreeSet<u64> = done.into_iter().collect();
    let records = done
        .iter()
        .map(|&page| SIZE.min(RECORDS - page * SIZE))
        .sum();
    Resume {
        done,
        records,
        ..Resume::default()
    }
}

#[test]
fn a_resumed_chain_with_a_total_skips_the_pages_done() {
    let server = DemoServer::start(config(true)).unwrap();
    let resume = resume_after([0, 1, 2, 6]);
    let fetched = fetch(
        &server.url("/orders"),
        pages(true),
        options(OnError::Fail),
        &resume,
    )
    .unwrap();
    assert_eq!(fetched.indices(), vec![3, 4, 5, 7, 8, 9]);
    let expected = (30..60).chain(70..RECORDS);
    assert_eq!(fetched.records(), orders(expected));
    let summary = &fetched.summary;
    assert_eq!((summary.pages, summary.records), (6, RECORDS - 40));
    // The first page is fetched again for its total, but not handed on; pages 2, 3 and 7
    // (indices 1, 2 and 6) are not fetched at all.
    assert_eq!(summary.requests, 7);
    assert_eq!(server.stats().requests(), 7);
    no_warnings(summary);
}

#[test]
fn a_resumed_chain_without_a_total_skips_the_pages_done() {
    let server = DemoServer::start(config(false)).unwrap();
    let resume = resume_after([0, 1, 2, 6]);
    let fetched = fetch(
        &server.url("/orders"),
        pages(false),
        options(OnError::Fail),
        &resume,
    )
    .unwrap();
    assert_eq!(fetched.indices(), vec![3, 4, 5, 7, 8, 9]);
    assert_eq!(fetched.records(), orders((30..60).chain(70..RECORDS)));
    assert_eq!(
        (fetched.summary.pages, fetched.summary.records),
        (6, RECORDS - 40)
    );
    no_warnings(&fetched.summary);
}

#[test]
fn a_broken_page_is_listed_as_skipped() {
    let server = DemoServer::start(DemoConfig {
        faults: Faults {
            broken_pages: vec![4],
            ..Faults::default()
        },
        ..config(true)
    })
    .unwrap();
    let fetched = fetch_demo(&server, pages(true), options(OnError::Skip));
    assert_eq!(fetched.indices(), vec![0, 1, 2, 4, 5, 6, 7, 8, 9]);
    assert_eq!(fetched.records(), orders((0..30).chain(40..RECORDS)));
    let summary = &fetched.summary;
    assert_eq!((summary.pages, summary.records), (9, RECORDS - 10));
    assert_eq!(
        summary.skipped,
        vec![SkippedPage {
            url: server.url("/orders?page=4&per_page=10"),
            reason: "HTTP 500: this page is broken".into(),
        }]
    );
    // Page 4 was tried twice (one retry); the others once.
    assert_eq!((summary.requests, summary.retries), (11, 1));
    assert_eq!(
        summary.warnings,
        vec!["the API reported 95 records but 85 were received".to_owned()]
    );
}

#[test]
fn a_broken_page_fails_the_run_without_skip() {
    let server = DemoServer::start(DemoConfig {
        faults: Faults {
            broken_pages: vec![4],
            ..Faults::default()
        },
        ..config(true)
    })
    .unwrap();
    let failed = fetch(
        &server.url("/orders"),
        pages(true),
        options(OnError::Fail),
        &Resume::default(),
    );
    match failed {
        Err(FetchError::Page {
            url,
            page,
            attempts,
            ..
        }) => {
            assert_eq!(url.as_str(), server.url("/orders?page=4&per_page=10"));
            assert_eq!((page, attempts), (3, 2));
        }
        Err(other) => panic!("another error: {other}"),
        Ok(fetched) => panic!("no error: {:?}", fetched.summary),
    }
}
