//! Numbers as users sum them: exact in decimal, exact past 64 bits, never a silent `null`,
//! every digit of what the API wrote kept — over real HTTP on loopback.

use axum::routing::get;

use crate::support::{Loopback, Serving, Workspace, pagefold};

/// Serves one page, `{"data": [RECORDS]}`, at `/page`.
fn one_page(records: &str) -> Serving {
    let body = format!("{{\"data\": [{records}]}}");
    let router = axum::Router::new().route(
        "/page",
        get(move || {
            let body = body.clone();
            async move { ([("content-type", "application/json")], body) }
        }),
    );
    Loopback::bind().serve(router)
}

/// Runs a one-page job over `records` with these reducers; the result document's text.
fn reduce(records: &str, reducers: &str) -> String {
    let server = one_page(records);
    let work = Workspace::new();
    let job = work.job(
        "numbers.toml",
        &format!(
            "[source]\nurl = \"http://{}/page\"\nrecords = \"/data\"\n{reducers}",
            server.addr
        ),
    );
    let run = pagefold(&["run", job.to_str().unwrap(), "-q", "-o", "-"]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    run.stdout()
}

fn reducer(name: &str, kind: &str) -> String {
    format!("[[reduce]]\nname = \"{name}\"\nuse = \"{kind}\"\nfield = \"/amount\"\n")
}

fn amounts(values: &[&str]) -> String {
    values
        .iter()
        .map(|value| format!("{{\"amount\": {value}}}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[test]
fn money_adds_up_in_decimal() {
    let result = reduce(
        &amounts(&["0.1", "0.2", "1.005", "2.675"]),
        &(reducer("revenue", "sum") + &reducer("average", "mean")),
    );
    assert!(result.contains("\"revenue\": 3.98,"), "{result}");
    assert!(result.contains("\"average\": 0.995\n"), "{result}");
}

#[test]
fn overflow_is_never_a_null_and_order_does_not_matter() {
    let reducers = reducer("total", "sum") + &reducer("average", "mean");
    let forward = reduce(&amounts(&["1e308", "1e308", "-1e308", "1"]), &reducers);
    let backward = reduce(&amounts(&["1", "-1e308", "1e308", "1e308"]), &reducers);
    assert!(!forward.contains(": null"), "{forward}");
    assert_eq!(
        forward.split("\"stats\"").next(),
        backward.split("\"stats\"").next()
    );
    assert!(
        forward.contains(&format!("\"total\": 1.{}1e+308", "0".repeat(307))),
        "{forward}"
    );
    assert!(forward.contains("\"average\": 2.5e+307"), "{forward}");
    let beyond = reduce(&amounts(&["1e400", "1"]), &reducer("total", "sum"));
    assert!(
        beyond.contains(&format!("\"total\": 1.{}1e+400", "0".repeat(399))),
        "{beyond}"
    );
}

#[test]
fn integers_past_64_bits_stay_exact() {
    let max = "9223372036854775807";
    let result = reduce(
        &amounts(&[
            max,
            max,
            max,
            max,
            "123456789012345678901234567890123456789",
        ]),
        &(reducer("total", "sum") + &reducer("largest", "max") + &reducer("smallest", "min")),
    );
    assert!(
        result.contains("\"total\": 123456789012345678938128056037542560017,"),
        "{result}"
    );
    assert!(
        result.contains("\"largest\": 123456789012345678901234567890123456789,"),
        "{result}"
    );
    assert!(
        result.contains("\"smallest\": 9223372036854775807"),
        "{result}"
    );
}

#[test]
fn a_number_beyond_any_sum_is_an_error_naming_the_reducer() {
    let server = one_page(&amounts(&["1", "1e99999"]));
    let work = Workspace::new();
    let job = work.job(
        "beyond.toml",
        &format!(
            "[source]\nurl = \"http://{}/page\"\nrecords = \"/data\"\n{}",
            server.addr,
            reducer("total", "sum")
        ),
    );
    let run = pagefold(&["run", job.to_str().unwrap(), "-q", "-o", "-"]);
    assert_eq!(run.code(), 1, "{}", run.stderr());
    assert!(
        run.stderr()
            .contains("`sum`: `1e99999` is beyond what can be summed exactly"),
        "{}",
        run.stderr()
    );
    assert!(run.stdout().is_empty());
}

/// Quantiles are of floats: a number past their range is an error, never an infinity in a
/// bucket.
#[test]
fn a_number_beyond_a_float_is_an_error_for_approx_quantiles() {
    let server = one_page(&amounts(&["1", "1e400"]));
    let work = Workspace::new();
    let job = work.job(
        "beyond.toml",
        &format!(
            "[source]\nurl = \"http://{}/page\"\nrecords = \"/data\"\n{}",
            server.addr,
            reducer("spread", "approx_quantiles")
        ),
    );
    let run = pagefold(&["run", job.to_str().unwrap(), "-q", "-o", "-"]);
    assert_eq!(run.code(), 1, "{}", run.stderr());
    assert!(
        run.stderr().contains(
            "record 1: `approx_quantiles`: `1e400` is beyond the range of a float (±1.8e308)"
        ),
        "{}",
        run.stderr()
    );
    assert!(run.stdout().is_empty());
}

/// A value nested deeper than the JSON reader goes is refused alike by every reducer that
/// reads whole values, naming the reducer and the record: never a `null`, never a panic.
#[test]
fn values_nested_too_deep_are_a_clear_error_for_every_reducer() {
    let deep = format!("{}1{}", "[".repeat(200), "]".repeat(200));
    let records = format!("{{\"amount\": 1}}, {{\"amount\": {deep}}}");
    for kind in [
        "collect",
        "count_by",
        "distinct",
        "approx_distinct",
        "top_k",
    ] {
        let server = one_page(&records);
        let work = Workspace::new();
        let job = work.job(
            "deep.toml",
            &format!(
                "[source]\nurl = \"http://{}/page\"\nrecords = \"/data\"\n{}",
                server.addr,
                reducer("values", kind)
            ),
        );
        let run = pagefold(&["run", job.to_str().unwrap(), "-q", "-o", "-"]);
        assert_eq!(run.code(), 1, "{kind}: {}", run.stderr());
        assert!(
            run.stderr().contains(&format!(
                "record 1: `{kind}`: the value is nested 200 levels deep; values up to 127 levels are read"
            )),
            "{kind}: {}",
            run.stderr()
        );
    }
}
