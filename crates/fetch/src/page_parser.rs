//! Finding the records array of a page, and whatever the pagination reads in it, in one pass.

use std::ops::Range;

use bytes::Bytes;
use pagefold_json::{ArraySplit, Pointer, PointerSet};

use crate::excerpt::{body_start, describe, graphql_errors, records_suggestion};
use crate::{Page, PageFailure, SafeUrl, Secrets};

/// What the pagination logic needs from a page besides the page itself.
#[derive(Debug, Clone, Default)]
pub(crate) struct PageMeta {
    pub total_pages: Option<u64>,
    pub total_records: Option<u64>,
    /// The value at the `next` pointer (a cursor or a URL), as text; `None` when absent,
    /// `null` or empty.
    pub next: Option<String>,
    /// Whether the page has the `next` pointer at all (`null` included): a page without it
    /// may not be paginated the way the job says.
    pub next_written: bool,
    /// The value at the `has_more` pointer.
    pub has_more: Option<bool>,
    /// The `Link` header.
    pub link: Option<String>,
}

/// Where the pagination logic looks in a page besides the records.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct MetaPointers<'a> {
    pub total_pages: Option<&'a Pointer>,
    pub total_records: Option<&'a Pointer>,
    pub next: Option<&'a Pointer>,
    pub has_more: Option<&'a Pointer>,
    /// GraphQL's `/errors`: a non-empty array there makes the page an error.
    pub errors: Option<&'a Pointer>,
}

/// Finds the records array, and whatever the pagination reads, in one pass.
#[derive(Debug, Clone)]
pub(crate) struct PageParser {
    records: Pointer,
    pointers: PointerSet,
    /// The slot of the records array in `pointers`.
    records_slot: usize,
    total_pages: Option<usize>,
    total_records: Option<usize>,
    next: Option<usize>,
    has_more: Option<usize>,
    errors: Option<usize>,
}

impl PageParser {
    pub fn new(records: &Pointer, meta: MetaPointers<'_>) -> Self {
        let wanted: Vec<&Pointer> = [
            Some(records),
            meta.total_pages,
            meta.total_records,
            meta.next,
            meta.has_more,
            meta.errors,
        ]
        .into_iter()
        .flatten()
        .collect();
        let pointers = PointerSet::new(wanted.iter().copied());
        let slot = |pointer: Option<&Pointer>| pointer.and_then(|p| pointers.slot_of(p));
        Self {
            records: records.clone(),
            records_slot: pointers
                .slot_of(records)
                .expect("the records pointer is in the set"),
            total_pages: slot(meta.total_pages),
            total_records: slot(meta.total_records),
            next: slot(meta.next),
            has_more: slot(meta.has_more),
            errors: slot(meta.errors),
            pointers,
        }
    }

    /// Parses `body` into a page.
    pub fn parse(
        &self,
        chain: u32,
        index: u64,
        url: SafeUrl,
        body: Bytes,
        secrets: &Secrets,
    ) -> Result<(Page, PageMeta), PageFailure> {
        let text = std::str::from_utf8(&body).map_err(|error| PageFailure::NotUtf8 {
            offset: error.valid_up_to(),
            start: body_start(&body, secrets),
        })?;
        let mut found = self.pointers.scan_slots();
        // The records array is split into records while the page is checked: one pass.
        let mut split = ArraySplit::new(self.records_slot);
        self.pointers
            .extract_split_text(text, &mut found, &mut split)
            .map_err(|error| PageFailure::NotJson {
                reason: error.to_string(),
                start: body_start(&body, secrets),
            })?;
        if let Some(errors) = self.errors.and_then(|slot| found[slot]) {
            graphql_errors(errors, secrets)?;
        }
        let (records, bounds) =
            match split.array() {
                Some(array) => {
                    let bounds = offsets(array.start, split.elements().iter().cloned())
                        .ok_or_else(|| PageFailure::NoRecords {
                            pointer: self.records.to_string(),
                            found: "an array of more than 4 GiB".into(),
                        })?;
                    (array, bounds)
                }
                // No array where the records should be (or an empty one serde read): found
                // again by a scan that trusts the page, just checked, which also says what was
                // there instead.
                None => {
                    self.pointers
                        .scan(text, &mut found)
                        .map_err(|error| PageFailure::NotJson {
                            reason: error.to_string(),
                            start: body_start(&body, secrets),
                        })?;
                    self.records_of(text, &body, found[self.records_slot], secrets)?
                }
            };
        let meta = PageMeta {
            total_pages: self
                .total_pages
                .and_then(|slot| found[slot])
                .and_then(read_count),
            total_records: self
                .total_records
                .and_then(|slot| found[slot])
                .and_then(read_count),
            next: self.next.and_then(|slot| found[slot]).and_then(read_text),
            next_written: self.next.and_then(|slot| found[slot]).is_some(),
            has_more: self
                .has_more
                .and_then(|slot| found[slot])
                .map(|raw| raw == "true"),
            link: None,
        };
        Ok((
            Page::checked((chain, index), url, body, records, bounds),
            meta,
        ))
    }
}

/// Where a page's records array is in its body, and where each record is in the array.
type RecordsArray = (Range<usize>, Vec<(u32, u32)>);

impl PageParser {
    /// The records array at `slot` of a page read the plain way: its range in the body and
    /// its elements' bounds, or why there is none.
    fn records_of(
        &self,
        text: &str,
        body: &Bytes,
        array: Option<&str>,
        secrets: &Secrets,
    ) -> Result<RecordsArray, PageFailure> {
        let Some(array) = array else {
            return Err(PageFailure::NoRecords {
                pointer: self.records.to_string(),
                found: format!("nothing is there{}", records_suggestion(text)),
            });
        };
        let bounds = element_bounds(array).ok_or_else(|| PageFailure::NoRecords {
            pointer: self.records.to_string(),
            found: format!(
                "found {} instead{}",
                describe(array, secrets),
                records_suggestion(text)
            ),
        })?;
        let start = array.as_ptr() as usize - body.as_ptr() as usize;
        Ok((start..start + array.len(), bounds))
    }
}

/// Where the elements of a JSON array are in it, or `None` if `raw` is not an array. `raw` was
/// just checked to be well-formed JSON, so the elements are found by a scan that trusts the
/// structure, several times faster than a second parse.
fn element_bounds(array: &str) -> Option<Vec<(u32, u32)>> {
    let base = array.as_ptr() as usize;
    let elements = pagefold_json::elements(array)
        .map(|element| {
            let element = element.ok()?;
            let start = element.as_ptr() as usize - base;
            Some(start..start + element.len())
        })
        .collect::<Option<Vec<_>>>()?;
    offsets(0, elements)
}

/// Elements' ranges as offsets from their array's start, in the `u32`s a page keeps; `None`
/// past 4 GiB.
fn offsets(
    array_start: usize,
    elements: impl IntoIterator<Item = Range<usize>>,
) -> Option<Vec<(u32, u32)>> {
    elements
        .into_iter()
        .map(|element| {
            let start = u32::try_from(element.start - array_start).ok()?;
            Some((start, start + u32::try_from(element.len()).ok()?))
        })
        .collect()
}

/// Reads a cursor or URL: a string's text, or a number's; `None` for null or empty.
fn read_text(raw: &str) -> Option<String> {
    let text = match serde_json::from_str::<String>(raw) {
        Ok(text) => text,
        Err(_) if raw.starts_with(['-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9']) => {
            raw.to_owned()
        }
        Err(_) => return None,
    };
    (!text.is_empty()).then_some(text)
}

/// Reads a total: a non-negative integer, or a string holding one (some APIs quote numbers).
fn read_count(text: &str) -> Option<u64> {
    let text = text
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(text);
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parser(records: &str) -> PageParser {
        let total: Pointer = "/meta/total".parse().unwrap();
        PageParser::new(
            &records.parse().unwrap(),
            MetaPointers {
                total_records: Some(&total),
                ..MetaPointers::default()
            },
        )
    }

    fn url() -> SafeUrl {
        SafeUrl::new("http://x/".parse().unwrap(), &[])
    }

    #[test]
    fn finds_records_and_total() {
        let body = Bytes::from_static(br#"{"meta":{"total":"7"},"data":[{"a":1},{"a":[2]}]}"#);
        let (page, meta) = parser("/data")
            .parse(0, 0, url(), body, &Secrets::default())
            .unwrap();
        assert_eq!(page.record_count(), 2);
        assert_eq!(page.records_json(), r#"[{"a":1},{"a":[2]}]"#);
        assert_eq!(meta.total_records, Some(7));
    }

    #[test]
    fn counts_elements_of_any_shape() {
        let count = |json: &str| element_bounds(json).map(|b| b.len());
        assert_eq!(count("[]"), Some(0));
        assert_eq!(count(" [ ] ".trim()), Some(0));
        assert_eq!(count("[1]"), Some(1));
        assert_eq!(
            count(r#"[{"a":[1,2,{"b":","}]}, "x\\\",]", [[]], null]"#),
            Some(4)
        );
        assert_eq!(count(r#"{"a":1}"#), None);
    }

    #[test]
    fn a_body_that_is_not_utf8_is_named_as_such() {
        let body = Bytes::from_static(b"{\"data\":[\"\xff\"]}");
        let failure = parser("/data")
            .parse(0, 0, url(), body, &Secrets::default())
            .unwrap_err();
        assert_eq!(
            failure.to_string(),
            "the body is not UTF-8 (invalid byte at offset 10)"
        );
    }

    #[test]
    fn the_page_itself_can_be_the_array() {
        let (page, _) = parser("")
            .parse(
                0,
                0,
                url(),
                Bytes::from_static(b" [1,2,3] "),
                &Secrets::default(),
            )
            .unwrap();
        assert_eq!(page.record_count(), 3);
    }

    #[test]
    fn says_what_is_there_instead_of_records() {
        let failure = parser("/data")
            .parse(
                0,
                0,
                url(),
                Bytes::from_static(br#"{"data":{"x":1}}"#),
                &Secrets::default(),
            )
            .unwrap_err();
        assert_eq!(
            failure.to_string(),
            "no records array at `/data`: found an object `{\"x\":1}` instead"
        );
        let failure = parser("/data")
            .parse(
                0,
                0,
                url(),
                Bytes::from_static(br#"{"items":[]}"#),
                &Secrets::default(),
            )
            .unwrap_err();
        assert_eq!(
            failure.to_string(),
            "no records array at `/data`: nothing is there"
        );
        let failure = parser("/data")
            .parse(
                0,
                0,
                url(),
                Bytes::from_static(b"<html>oops</html>"),
                &Secrets::default(),
            )
            .unwrap_err();
        assert!(
            failure
                .to_string()
                .starts_with("the body is not JSON (expected value at line 1 column 1)"),
            "{failure}"
        );
    }
}
