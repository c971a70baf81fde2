//! Pagination where each page names the next: a cursor, a next URL, or a `Link` header.
//!
//! A chain is sequential by nature; parallelism comes from running many chains (partitions)
//! side by side. Two exceptions make one chain fast anyway: a `Link` header whose `rel="last"`
//! shows page-numbered URLs fans out to every page at once, as numbered pagination does.
//! Every chain is guarded: a cursor or URL seen twice is an error, not an endless loop.

use std::collections::HashSet;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use pagefold_json::{Pointer, PointerSet};
use url::Url;

use crate::fetcher::PageRequest;
use crate::page_parser::{MetaPointers, PageParser};
use crate::paginate::Accepted;
use crate::request::{Paging, Target};
use crate::{
    ChainEnd, ChainedPagination, CursorFrom, FetchError, Fetcher, NextPage, Page, SafeUrl, Source,
};

impl Fetcher {
    pub(crate) async fn run_chained<T: From<Page>>(
        &self,
        source: &Source,
        chained: &ChainedPagination,
        chain: u32,
        accepted: &mut Accepted<'_, T>,
    ) -> Result<(), FetchError> {
        let (next_pointer, has_more) = match &chained.next {
            NextPage::Cursor {
                from: CursorFrom::Field(pointer),
                has_more,
                ..
            } => (Some(pointer), has_more.as_ref()),
            NextPage::Cursor { has_more, .. } => (None, has_more.as_ref()),
            NextPage::Url { next } => (Some(next), None),
            NextPage::LinkHeader | NextPage::UrlHeader { .. } => (None, None),
        };
        let parser = PageParser::new(
            &source.records,
            MetaPointers {
                next: next_pointer,
                has_more,
                errors: source.errors_pointer(),
                ..MetaPointers::default()
            },
        );
        let mut paging = Vec::new();
        if let (Some(param), Some(size)) = (&chained.size_param, chained.size) {
            paging.push((param.as_str(), Paging::Number(size)));
        }
        let mut target = source.target(&paging);
        let mut seen = HashSet::new();
        let mut index = 0;
        let mut crossed = false;
        loop {
            if index >= chained.max_pages {
                accepted.summary.warnings.push(format!(
                    "stopped at `max_pages` = {} before the end of the data: the result is incomplete",
                    chained.max_pages
                ));
                accepted.summary.ended = Some(ChainEnd::MaxPages {
                    max: chained.max_pages,
                });
                return Ok(());
            }
            let (page, meta, attempts) = match self
                .fetch_one(
                    source,
                    &parser,
                    chain,
                    index,
                    target.clone(),
                    accepted.observer,
                )
                .await
            {
                Ok(fetched) => fetched,
                Err(error) => {
                    // Without this page there is no next one: the chain ends here.
                    accepted.failed(error)?;
                    accepted.summary.warnings.push(format!(
                        "the chain starting at `{}` stopped at a page that failed",
                        SafeUrl::new(source.url.clone(), &source.secret_params)
                    ));
                    return Ok(());
                }
            };
            accepted.summary.count_attempts(attempts);
            let url = target.url.clone();
            let (next, key) = match &chained.next {
                NextPage::Cursor { param, from, .. } => {
                    let cursor = match from {
                        CursorFrom::Field(_) | CursorFrom::Header(_) => meta.next.clone(),
                        CursorFrom::LastRecord(field) => last_record_field(&page, field),
                    };
                    let more = meta.has_more.unwrap_or(true) && page.record_count() > 0;
                    match cursor.filter(|_| more) {
                        Some(cursor) => {
                            let mut paging = paging.clone();
                            paging.push((param.as_str(), Paging::Cursor(cursor.clone())));
                            (Some(source.target(&paging)), cursor)
                        }
                        None => (None, String::new()),
                    }
                }
                NextPage::Url { .. } | NextPage::UrlHeader { .. } => {
                    let next = meta.next.as_deref().and_then(|next| url.join(next).ok());
                    let key = next
                        .as_ref()
                        .map(|next| SafeUrl::new(next.clone(), &source.secret_params).to_string())
                        .unwrap_or_default();
                    (next.map(|next| source.target_at(next)), key)
                }
                NextPage::LinkHeader => {
                    let links = meta
                        .link
                        .as_deref()
                        .map(parse_link_header)
                        .unwrap_or_default();
                    let next = links
                        .iter()
                        .find(|(_, rel)| rel == "next")
                        .and_then(|(href, _)| url.join(href).ok());
                    if let Some(next) = &next {
                        // Before the fan-out below, which requests pages named after `next`.
                        self.allow(source, &url, next, &mut crossed, accepted)?;
                    }
                    if index == 0
                        && let Some(next) = &next
                        && let Some(last) = links
                            .iter()
                            .find(|(_, rel)| rel == "last")
                            .and_then(|(href, _)| url.join(href).ok())
                        && last.origin() == next.origin()
                        && let Some(pages) = numbered_between(next, &last)
                    {
                        let mut pages = pages;
                        if pages.len() as u64 + 1 > chained.max_pages {
                            pages.truncate(chained.max_pages.saturating_sub(1) as usize);
                            accepted.summary.warnings.push(format!(
                                "stopped at `max_pages` = {} before the end of the data: the result is incomplete",
                                chained.max_pages
                            ));
                        }
                        accepted.observer.total_pages(chain, pages.len() as u64 + 1);
                        accepted.summary.ended = Some(ChainEnd::TotalReached {
                            pages: pages.len() as u64 + 1,
                        });
                        accepted.take(page).await?;
                        let pages = pages.into_iter().map(|url| source.target_at(url)).collect();
                        return self.fan_out(source, &parser, chain, pages, accepted).await;
                    }
                    let key = next
                        .as_ref()
                        .map(|next| SafeUrl::new(next.clone(), &source.secret_params).to_string())
                        .unwrap_or_default();
                    (next.map(|next| source.target_at(next)), key)
                }
            };
            // A first page that does not say whether there is a next one at all: most often a
            // URL without its page parameter, or a pointer to a field the API does not send.
            let unsaid = match &chained.next {
                NextPage::LinkHeader if meta.link.is_none() => Some(
                    "the first response had no `Link` header; does the URL need a page parameter?"
                        .to_owned(),
                ),
                NextPage::Cursor {
                    from: CursorFrom::Field(pointer),
                    ..
                }
                | NextPage::Url { next: pointer }
                    if !meta.next_written =>
                {
                    Some(format!(
                        "the first page has nothing at `{pointer}`, where the next page should be named; is that the right pointer?"
                    ))
                }
                _ => None,
            };
            accepted.take(page).await?;
            let Some(next) = next else {
                if index == 0
                    && let Some(unsaid) = unsaid
                {
                    accepted
                        .summary
                        .warnings
                        .push(format!("one page only: {unsaid}"));
                }
                accepted.summary.ended = Some(ChainEnd::NoNext { pages: index + 1 });
                return Ok(());
            };
            self.allow(source, &url, &next.url, &mut crossed, accepted)?;
            if !seen.insert(key.clone()) {
                return Err(FetchError::Loop {
                    url: SafeUrl::new(next.url, &source.secret_params),
                    repeated: key,
                    pages: index + 1,
                });
            }
            target = next;
            index += 1;
        }
    }

    /// Checks that the chain may go from `page` to `next` (see [`Source::allow_next`]); the
    /// warning for following another origin is given once a chain.
    fn allow<T>(
        &self,
        source: &Source,
        page: &Url,
        next: &Url,
        crossed: &mut bool,
        accepted: &mut Accepted<'_, T>,
    ) -> Result<(), FetchError> {
        if let Some(warning) = source.allow_next(page, next)?
            && !std::mem::replace(crossed, true)
        {
            accepted.summary.warnings.push(warning);
        }
        Ok(())
    }

    /// Fetches the pages at `urls` (pages 1, 2, … of the chain) concurrently.
    async fn fan_out<T: From<Page>>(
        &self,
        source: &Source,
        parser: &PageParser,
        chain: u32,
        targets: Vec<Target>,
        accepted: &mut Accepted<'_, T>,
    ) -> Result<(), FetchError> {
        let window = self.options.concurrency.max(1);
        let mut pending = targets.into_iter().enumerate();
        let mut in_flight = FuturesUnordered::new();
        loop {
            while in_flight.len() < window {
                let Some((offset, target)) = pending.next() else {
                    break;
                };
                let index = offset as u64 + 1;
                let observer = accepted.observer;
                in_flight.push(async move {
                    let request = PageRequest::new(source, parser, chain, index, target);
                    self.fetch_page(request, observer).await
                });
            }
            match in_flight.next().await {
                None => return Ok(()),
                Some(Ok((page, _, attempts))) => {
                    accepted.summary.count_attempts(attempts);
                    accepted.take(page).await?;
                }
                Some(Err((error, attempts))) => {
                    accepted.summary.count_attempts(attempts);
                    accepted.failed(error)?;
                }
            }
        }
    }
}

/// The text of a field of the page's last record (a Stripe-style cursor: the last id).
fn last_record_field(page: &Page, field: &Pointer) -> Option<String> {
    let &(start, end) = page.record_bounds().last()?;
    let record = page.records_json().get(start as usize..end as usize)?;
    let set = PointerSet::new([field]);
    let mut found = set.scan_slots();
    set.scan(record, &mut found).ok()?;
    let value = found[0]?;
    let text = serde_json::from_str::<String>(value).unwrap_or_else(|_| value.to_owned());
    (text != "null" && !text.is_empty()).then_some(text)
}

/// `(href, rel)` of every link in an RFC 8288 `Link` header (one entry per relation type).
pub(crate) fn parse_link_header(header: &str) -> Vec<(String, String)> {
    let mut links = Vec::new();
    let mut rest = header;
    while let Some(open) = rest.find('<') {
        let Some(close) = rest[open..].find('>') else {
            break;
        };
        let href = rest[open + 1..open + close].trim().to_owned();
        rest = &rest[open + close + 1..];
        let params_end = rest.find('<').unwrap_or(rest.len());
        let params = &rest[..params_end];
        for param in params.split(';') {
            let Some((name, value)) = param.split_once('=') else {
                continue;
            };
            if name.trim().eq_ignore_ascii_case("rel") {
                for rel in value
                    .trim()
                    .trim_matches(',')
                    .trim()
                    .trim_matches('"')
                    .split_whitespace()
                {
                    links.push((href.clone(), rel.to_ascii_lowercase()));
                }
            }
        }
    }
    links
}

/// When `next` and `last` differ in one integer query parameter only (page-numbered URLs),
/// the URLs of every page from `next` to `last`.
fn numbered_between(next: &Url, last: &Url) -> Option<Vec<Url>> {
    if next.origin() != last.origin() || next.path() != last.path() {
        return None;
    }
    let pairs = |url: &Url| {
        url.query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect::<Vec<_>>()
    };
    let (next_pairs, last_pairs) = (pairs(next), pairs(last));
    if next_pairs.len() != last_pairs.len() {
        return None;
    }
    let mut numbered = None;
    for ((key, value), (last_key, last_value)) in next_pairs.iter().zip(&last_pairs) {
        if key != last_key {
            return None;
        }
        if value != last_value {
            let (from, to) = (value.parse::<u64>().ok()?, last_value.parse::<u64>().ok()?);
            if numbered.is_some() || to < from || to - from > 1_000_000 {
                return None;
            }
            numbered = Some((key.clone(), from, to));
        }
    }
    let (param, from, to) = numbered?;
    Some(
        (from..=to)
            .map(|page| {
                let mut url = next.clone();
                let pairs: Vec<(String, String)> = next_pairs
                    .iter()
                    .map(|(k, v)| {
                        if *k == param {
                            (k.clone(), page.to_string())
                        } else {
                            (k.clone(), v.clone())
                        }
                    })
                    .collect();
                url.query_pairs_mut().clear().extend_pairs(pairs);
                url
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_github_link_headers() {
        let header = r#"<https://api.github.com/repositories/1/issues?page=2>; rel="next", <https://api.github.com/repositories/1/issues?page=34>; rel="last""#;
        assert_eq!(
            parse_link_header(header),
            [
                (
                    "https://api.github.com/repositories/1/issues?page=2".to_owned(),
                    "next".to_owned()
                ),
                (
                    "https://api.github.com/repositories/1/issues?page=34".to_owned(),
                    "last".to_owned()
                ),
            ]
        );
        assert_eq!(
            parse_link_header("<a>; rel=\"prev next\""),
            [
                ("a".to_owned(), "prev".to_owned()),
                ("a".to_owned(), "next".to_owned())
            ]
        );
    }

    #[test]
    fn page_numbered_links_fan_out() {
        let next: Url = "http://x/i?state=open&page=2&per_page=50".parse().unwrap();
        let last: Url = "http://x/i?state=open&page=4&per_page=50".parse().unwrap();
        let urls: Vec<String> = numbered_between(&next, &last)
            .unwrap()
            .iter()
            .map(Url::to_string)
            .collect();
        assert_eq!(
            urls,
            [
                "http://x/i?state=open&page=2&per_page=50",
                "http://x/i?state=open&page=3&per_page=50",
                "http://x/i?state=open&page=4&per_page=50"
            ]
        );
        let cursor: Url = "http://x/i?after=abc".parse().unwrap();
        assert!(numbered_between(&cursor, &"http://x/i?after=xyz".parse().unwrap()).is_none());
    }
}
