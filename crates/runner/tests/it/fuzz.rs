//! Fuzzing with a fixed budget, in the normal test run: the job-file parser over mutated and
//! random text, and page bodies (deep nesting, huge numbers, odd strings, records of any
//! type) through every built-in reducer with and without `map`. Nothing may panic or abort;
//! errors are fine. The generator's seed is fixed so that a run on CI is the same every time,
//! and the case counts keep it to seconds on two cores.

use std::path::Path;

use bytes::Bytes;
use pagefold::engine::reduce::{Reducers, Rows, fold_page};
use pagefold::job::{BuiltinKind, Job};
use pagefold_fetch::{Page, SafeUrl};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

/// A runner with a fixed seed and no file of failures kept (CI has no place for it).
fn runner(cases: u32) -> TestRunner {
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha))
}

/// A job that uses most of the job file's tables: what mutations start from.
const JOB: &str = r#"name = "fuzzed"
on_error = "skip"
[source]
url = "http://127.0.0.1:9/items?since={day}&shard={n}"
records = "/data"
map = 'select(.status == "paid") | {v: .amount, k: .tags[0]}'
headers = { Accept = "application/json" }
[source.partitions]
day = { since = "2026-01-01", until = "2026-02-01", step = "7d" }
n = { from = -5, to = 5, step = 2 }
[source.pagination]
kind = "cursor"
param = "cursor"
next = "/meta/next"
[fetch]
concurrency = 4
rate = "10/s"
timeout = "30s"
[[reduce]]
name = "total"
use = "sum"
field = "/v"
[[reduce]]
name = "top"
use = "top_k"
field = "/k"
k = 3
[[reduce]]
name = "keys"
use = "approx_distinct"
field = "/k"
precision = 12
[[reduce]]
name = "spread"
use = "approx_quantiles"
field = "/v"
q = [0.5, 0.99]
relative_accuracy = 0.01
"#;

/// Text a mutation inserts: TOML's punctuation, numbers at the edges, deep nesting.
fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("[".to_owned()),
        Just("]".to_owned()),
        Just("{".to_owned()),
        Just("}".to_owned()),
        Just("\"".to_owned()),
        Just("'''".to_owned()),
        Just("=".to_owned()),
        Just("\n".to_owned()),
        Just("\\u00".to_owned()),
        Just("${env.HOME}".to_owned()),
        Just("9223372036854775807".to_owned()),
        Just("-9223372036854775808".to_owned()),
        Just("1e400".to_owned()),
        Just("nan".to_owned()),
        Just("{ from = 0, to = 99999 }".to_owned()),
        (1usize..3000).prop_map(|depth| "[".repeat(depth)),
        (1usize..3000).prop_map(|depth| "{a=".repeat(depth)),
        "\\PC{0,12}",
    ]
}

/// A mutation of [`JOB`]: pieces cut out and fragments put in at places in the text.
fn mutated_job() -> impl Strategy<Value = String> {
    proptest::collection::vec((any::<prop::sample::Index>(), 0usize..8, fragment()), 1..6).prop_map(
        |edits| {
            let mut text = JOB.to_owned();
            for (place, cut, insert) in edits {
                let mut at = place.index(text.len() + 1);
                while !text.is_char_boundary(at) {
                    at -= 1;
                }
                let mut end = (at + cut).min(text.len());
                while !text.is_char_boundary(end) {
                    end -= 1;
                }
                text.replace_range(at..end, &insert);
            }
            text
        },
    )
}

#[test]
fn the_job_file_parser_never_panics() {
    let texts = prop_oneof![3 => mutated_job(), 1 => "\\PC{0,200}"];
    runner(400)
        .run(&texts, |text| {
            // An error is a fine answer; a panic or an abort fails the test.
            let _ = Job::parse_with_env(Path::new("fuzzed.toml"), &text, |_| None);
            Ok(())
        })
        .unwrap();
}

/// A JSON number at the edges: huge, tiny, negative zero, long decimals.
fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>()
            .prop_filter("finite", |x| x.is_finite())
            .prop_map(|x| format!("{x:e}")),
        Just("-0".to_owned()),
        Just("1e400".to_owned()),
        Just("-1e400".to_owned()),
        Just("1e-400".to_owned()),
        Just("18446744073709551616".to_owned()),
        "[1-9][0-9]{20,300}",
        "-?[0-9]\\.[0-9]{30,60}",
    ]
}

/// A JSON string with escapes, control characters, surrogates and any Unicode.
fn string() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>().prop_map(|text| serde_json::Value::from(text).to_string()),
        Just(r#""\ud800""#.to_owned()),
        Just(r#""\u0000\n\t\"\\""#.to_owned()),
        Just(r#""\udbff\udfff""#.to_owned()),
        "\"[a-c]{0,3}\"",
    ]
}

/// Any JSON value, nested up to a few levels.
fn json() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("null".to_owned()),
        Just("true".to_owned()),
        Just("false".to_owned()),
        number(),
        string(),
    ];
    leaf.prop_recursive(5, 40, 5, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..5)
                .prop_map(|items| format!("[{}]", items.join(","))),
            proptest::collection::vec(("[a-c]{1,2}|v|k", inner), 0..5).prop_map(|entries| {
                let entries: Vec<String> = entries
                    .into_iter()
                    .map(|(key, value)| format!("{}:{value}", serde_json::Value::from(key)))
                    .collect();
                format!("{{{}}}", entries.join(","))
            }),
        ]
    })
}

/// A value nested `depth` levels deep, arrays or objects.
fn deep() -> impl Strategy<Value = String> {
    (1usize..6000, any::<bool>()).prop_map(|(depth, arrays)| {
        if arrays {
            format!("{}1{}", "[".repeat(depth), "]".repeat(depth))
        } else {
            format!("{}1{}", "{\"v\":".repeat(depth), "}".repeat(depth))
        }
    })
}

/// A record: mostly an object with the fields the reducers read, sometimes anything.
fn record() -> impl Strategy<Value = String> {
    let value = prop_oneof![6 => json(), 1 => deep()];
    prop_oneof![
        4 => (value.clone(), value.clone())
            .prop_map(|(v, k)| format!(r#"{{"v":{v},"k":{k},"n":{{"v":{v}}}}}"#)),
        1 => value,
    ]
}

/// Reducers of every built-in kind over `/v` (and a nested field), with `map`.
fn reducers(map: Option<&str>) -> Reducers {
    let mut text =
        String::from("[source]\nurl = \"http://127.0.0.1:9/items\"\nrecords = \"/data\"\n");
    for kind in BuiltinKind::ALL {
        let name = kind.name();
        let field = if name == "count" {
            String::new()
        } else {
            "field = \"/v\"\n".to_owned()
        };
        let k = if name == "top_k" { "k = 3\n" } else { "" };
        text.push_str(&format!(
            "[[reduce]]\nname = \"{name}\"\nuse = \"{name}\"\n{field}{k}"
        ));
        if !field.is_empty() {
            text.push_str(&format!(
                "[[reduce]]\nname = \"{name}_nested\"\nuse = \"{name}\"\nfield = \"/n/v\"\n{k}"
            ));
        }
    }
    let job = Job::parse(Path::new("reducers.toml"), &text).expect("the job is valid");
    let mut reducers = Reducers::build(&job.reduce).expect("the reducers build");
    reducers.set_map(map.map(str::to_owned));
    reducers
}

#[test]
fn page_bodies_never_panic_any_reducer_or_map() {
    let maps = [
        None,
        Some("."),
        Some(".v"),
        Some("select(.k != null) | {v: .k, k: .v}"),
        Some(".. | numbers | {v: .}"),
        Some("def f: [f]; f"),
        Some("range(100000) | {v: .}"),
    ];
    let url = SafeUrl::new("http://127.0.0.1:9/items".parse().unwrap(), &[]);
    let records = "/data".parse().unwrap();
    let bodies = proptest::collection::vec(record(), 0..6)
        .prop_map(|records| format!(r#"{{"data":[{}]}}"#, records.join(",")));
    for map in maps {
        let reducers = reducers(map);
        // `map`'s jq programs run on threads with their own, larger stack: as a worker's.
        let program = map.map(|code| {
            pagefold::engine::reduce::map::MapProgram::compile(code).expect("the program compiles")
        });
        runner(24)
            .run(&bodies, |body| {
                let Ok(page) = Page::from_json(url.clone(), Bytes::from(body), &records) else {
                    return Ok(());
                };
                let mut partials = reducers.partials().expect("fresh states");
                let page = match &program {
                    None => page,
                    Some(program) => {
                        let mut outputs = Vec::new();
                        let mut failed = false;
                        let json = page.records_json();
                        for &(start, end) in page.record_bounds() {
                            let record = &json[start as usize..end as usize];
                            if program.run(record, &mut outputs).is_err() {
                                failed = true;
                                break;
                            }
                        }
                        if failed {
                            return Ok(());
                        }
                        match page.with_records(format!("[{}]", outputs.join(","))) {
                            Ok(page) => page,
                            Err(_) => return Ok(()),
                        }
                    }
                };
                if fold_page(&reducers, &mut partials, &page, &mut Rows::default()).is_ok() {
                    for partial in partials {
                        let _ = partial.save();
                        let _ = partial.finish();
                    }
                }
                Ok(())
            })
            .unwrap_or_else(|failure| panic!("map {map:?}: {failure}"));
    }
}
