//! The strict walk against serde: what it passes, serde passes, with the same values and the
//! same split; over hand-picked edge cases and thousands of mutations of real pages.

use super::Strict;
use crate::{ArraySplit, Pointer, PointerSet};

fn pointer_set() -> (PointerSet, usize) {
    let pointers: Vec<Pointer> = ["/data", "/meta/total", "/next", "/meta/pages/1"]
        .iter()
        .map(|p| p.parse().unwrap())
        .collect();
    let set = PointerSet::new(&pointers);
    let slot = set.slot_of(&pointers[0]).unwrap();
    (set, slot)
}

/// What the strict walk found, or `None` where it handed over.
fn strict(set: &PointerSet, slot: usize, json: &str) -> Option<(Vec<Option<String>>, Split)> {
    let mut out = vec![None; set.len()];
    let mut split = ArraySplit::new(slot);
    split.reset(json);
    Strict::new(json).document(set, &mut out, &mut split).ok()?;
    Some((owned(&out), Split::of(&split)))
}

/// What serde found, or `None` where it refused the document.
fn serde(set: &PointerSet, slot: usize, json: &str) -> Option<(Vec<Option<String>>, Split)> {
    let mut raw = set.slots();
    let mut split = ArraySplit::new(slot);
    set.extract_split(json, &mut raw, &mut split).ok()?;
    let out: Vec<Option<&str>> = raw.iter().map(|raw| raw.map(|raw| raw.get())).collect();
    Some((owned(&out), Split::of(&split)))
}

fn owned(out: &[Option<&str>]) -> Vec<Option<String>> {
    out.iter().map(|value| value.map(str::to_owned)).collect()
}

#[derive(Debug, Clone, PartialEq)]
struct Split {
    elements: Vec<std::ops::Range<usize>>,
    array: Option<std::ops::Range<usize>>,
    is_array: bool,
}

impl Split {
    fn of(split: &ArraySplit) -> Self {
        Self {
            elements: split.elements().to_vec(),
            array: split.array(),
            is_array: split.is_array(),
        }
    }
}

/// The walk passes nothing serde refuses, and finds what serde finds.
fn agree(set: &PointerSet, slot: usize, json: &str) -> bool {
    let walked = strict(set, slot, json);
    if let Some((values, split)) = &walked {
        let mut split = split.clone();
        // serde does not say where an empty array is; the walk does, and it must be one.
        if split.elements.is_empty()
            && let Some(array) = split.array.take()
        {
            let inside = json[array]
                .strip_prefix('[')
                .and_then(|a| a.strip_suffix(']'));
            assert_eq!(inside.map(str::trim), Some(""), "{json:?}");
        }
        assert_eq!(
            Some((values.clone(), split)),
            serde(set, slot, json),
            "{json:?}"
        );
    }
    walked.is_some()
}

const PAGES: &[&str] = &[
    r#"{"data":[{"id":1,"name":"a","amount":12.5,"tags":["x","y"],"ok":true,"none":null}],"meta":{"total":1,"pages":[0,7]},"next":"c-2"}"#,
    r#" { "meta" : { "total" : -0.5e+10 } , "data" : [ [ ] , { } , "s\"\\\/\b\f\n\r\t\u00e9" , 0 , -1E-3 ] } "#,
    r#"{"data":[],"meta":{"pages":[1,2,3]}}"#,
    r#"[{"data":[1]},2]"#,
    r#"{"data":[{"a":{"b":{"c":[[[[["deep"]]]]]}}},"é ünïcode ✓",1e308]}"#,
    "{\"data\":[1,\n\t2\r]}",
];

#[test]
fn hand_picked_documents_agree_with_serde() {
    let (set, slot) = pointer_set();
    for page in PAGES {
        assert!(agree(&set, slot, page), "the walk handed over {page:?}");
    }
    // Refused, or handed over to serde (which may read it), never passed.
    let refused = [
        r#"{"data":{"not":"an array"},"next":null}"#,
        "",
        " ",
        "{",
        "}",
        "[1,]",
        r#"{"a":1,}"#,
        "[01]",
        "[1.]",
        "[.5]",
        "[1e]",
        "[-]",
        "[+1]",
        "[tru]",
        "[nul]",
        "[True]",
        r#"["a"#,
        "[\"\u{1}\"]",
        r#"["\x"]"#,
        r#"["\u12"]"#,
        r#"["\u12g4"]"#,
        "{\"a\" 1}",
        "{1:2}",
        "[1 2]",
        "[1]x",
        "[1]]",
        r#"{"data":[1],"data":[2]}"#,
        r#"{"data":"\ud800"}"#,
        r#"{"d\u0061ta":[1]}"#,
        r#"{"data":1e999}"#,
        r#"{"data":{"\ud800":1}}"#,
        "[NaN]",
        "[Infinity]",
        "[0x1]",
    ];
    for json in refused {
        assert!(!agree(&set, slot, json), "the walk passed {json:?}");
    }
    // Depth costs no stack: a skipped value nested a million times.
    let deep = format!(
        "{{\"data\":[{}{}]}}",
        "[".repeat(1 << 20),
        "]".repeat(1 << 20)
    );
    assert!(agree(&set, slot, &deep));
}

#[test]
fn mutated_pages_never_pass_where_serde_refuses() {
    let (set, slot) = pointer_set();
    let alphabet: Vec<char> = "{}[]\",:\\ 0123456789eE+-.truefalsnxu\n\t\u{1}é/"
        .chars()
        .collect();
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move |bound: usize| {
        // xorshift64*: deterministic, so a failure is the same on every run.
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        (state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % bound.max(1)
    };
    let (mut passed, mut total) = (0, 0);
    for page in PAGES {
        for _ in 0..3000 {
            let mut text: Vec<char> = page.chars().collect();
            for _ in 0..1 + next(3) {
                let at = next(text.len() + 1);
                let with = alphabet[next(alphabet.len())];
                match next(3) {
                    0 => text.insert(at, with),
                    1 if at < text.len() => {
                        text.remove(at);
                    }
                    _ if at < text.len() => text[at] = with,
                    _ => text.push(with),
                }
            }
            let json: String = text.into_iter().collect();
            total += 1;
            passed += usize::from(agree(&set, slot, &json));
        }
    }
    // The mutations make both kinds: the property is exercised on each side.
    assert!(
        passed > total / 10 && passed < total * 9 / 10,
        "{passed} of {total}"
    );
}
