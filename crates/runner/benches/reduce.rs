//! The reduce path alone, no HTTP: records per second on one core for a page of 100 demo
//! orders folded into built-in reducers. `cargo bench -p pagefold --bench reduce`.

use std::path::Path;

use divan::Bencher;
use divan::counter::{BytesCount, ItemsCount};
use pagefold::engine::reduce::{Reducers, Rows, fold_page};
use pagefold::job::Job;
use pagefold_fetch::{Page, SafeUrl};

const RECORDS: u64 = 100;

fn main() {
    divan::main();
}

fn page() -> Page {
    let orders: Vec<_> = pagefold_demo_api::Dataset {
        len: RECORDS,
        seed: 1,
    }
    .orders()
    .collect();
    let body =
        serde_json::to_vec(&serde_json::json!({ "data": orders, "meta": { "total": RECORDS } }))
            .unwrap();
    let url = SafeUrl::new("http://127.0.0.1/orders?page=1".parse().unwrap(), &[]);
    Page::from_json(url, body.into(), &"/data".parse().unwrap()).unwrap()
}

fn reducers(uses: &str) -> Reducers {
    let mut text = String::from("[source]\nurl = \"http://127.0.0.1/\"\n");
    for (number, builtin) in uses.split('+').enumerate() {
        let field = match builtin {
            "count" => String::new(),
            "count_by" => "field = \"/status\"\n".into(),
            "top_k" => "field = \"/customer\"\n".into(),
            _ => "field = \"/amount\"\n".into(),
        };
        text.push_str(&format!(
            "[[reduce]]\nname = \"r{number}\"\nuse = \"{builtin}\"\n{field}"
        ));
    }
    let job = Job::parse(Path::new("bench.toml"), &text).unwrap();
    Reducers::build(&job.reduce).unwrap()
}

#[divan::bench(args = ["count", "sum", "count_by", "count+sum+count_by", "count+sum+count_by+top_k"])]
fn fold(bencher: Bencher, uses: &str) {
    let page = page();
    let reducers = reducers(uses);
    let mut partials = reducers.partials().unwrap();
    let mut rows = Rows::default();
    bencher
        .counter(ItemsCount::new(RECORDS))
        .counter(BytesCount::new(page.records_json().len()))
        .bench_local(|| fold_page(&reducers, &mut partials, &page, &mut rows).unwrap());
}

/// The fetch side's own pass over a page: UTF-8 check, locate the records, count them.
#[divan::bench]
fn parse_page(bencher: Bencher) {
    let body = page().body().clone();
    let url = SafeUrl::new("http://127.0.0.1/orders?page=1".parse().unwrap(), &[]);
    let records = "/data".parse().unwrap();
    bencher
        .counter(ItemsCount::new(RECORDS))
        .counter(BytesCount::new(body.len()))
        .bench_local(|| Page::from_json(url.clone(), body.clone(), &records).unwrap());
}
