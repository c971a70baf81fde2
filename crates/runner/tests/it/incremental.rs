//! Incremental runs over the demo API: the second run fetches only what is new since the
//! first, folds no record twice (even those fetched again within `lag`), and with `carry` its
//! totals equal a full run's. A failed run does not move the mark.

use pagefold_demo_api::{DemoConfig, DemoServer, Faults};
use serde_json::Value;

use crate::support::{Workspace, demo_server, orders_job, pagefold};

const REDUCERS: &str = r#"
[[reduce]]
name = "orders"
use = "count"

[[reduce]]
name = "cents"
use = "sum"
field = "/amount_cents"

[[reduce]]
name = "by_status"
use = "count_by"
field = "/status"
"#;

const PAGINATION: &str =
    "kind = \"page\"\nsize_param = \"per_page\"\nsize = 50\ntotal_records = \"/meta/total\"";

fn incremental_job(server: &DemoServer, carry: bool) -> String {
    let job = orders_job(server, PAGINATION, 8, REDUCERS);
    let incremental = format!(
        "[source.incremental]\nfield = \"/updated_at\"\nparam = \"updated_since\"\nlag = \"5m\"\ncarry = {carry}\n"
    );
    job.replacen(
        "[source.pagination]",
        &format!("{incremental}\n[source.pagination]"),
        1,
    )
}

/// `pagefold run` of the job `text` (as `orders.toml`) with the workspace's state.
fn run_with_state(ws: &Workspace, text: &str) -> crate::support::Run {
    let job = ws.job("orders.toml", text);
    let state = ws.path().join("state");
    pagefold(&[
        "run",
        "-q",
        job.to_str().unwrap(),
        "--state",
        state.to_str().unwrap(),
    ])
}

fn run(ws: &Workspace, text: &str) -> Value {
    run_with_state(ws, text).result()
}

/// A demo API whose page 2 always fails.
fn broken_server(records: u64) -> DemoServer {
    demo_server(DemoConfig {
        records,
        faults: Faults {
            broken_pages: vec![2],
            ..Faults::default()
        },
        ..DemoConfig::default()
    })
}

fn server(records: u64) -> DemoServer {
    demo_server(DemoConfig {
        records,
        ..DemoConfig::default()
    })
}

#[test]
fn the_second_run_takes_only_new_records_and_carries_the_totals() {
    let ws = Workspace::new();
    let before = server(1000);
    let first = run(&ws, &incremental_job(&before, true));
    assert_eq!(first["records"], 1000);
    assert_eq!(first["incremental"]["since"], Value::Null);
    // Order i changed at minute i / 2: the last of 1000 at minute 499 = 08:19.
    assert_eq!(first["incremental"]["mark"], "2026-01-01T08:19:00Z");
    drop(before);

    // 500 orders later, the same job (the API moved, its data grew).
    let after = server(1500);
    let second = run(&ws, &incremental_job(&after, true));
    assert_eq!(
        second["incremental"]["since"], "2026-01-01T08:14:00Z",
        "mark - lag"
    );
    // Minutes 494 to 499 hold orders 988..999: fetched again, not folded again.
    assert_eq!(second["incremental"]["seen_before"], 12);
    assert_eq!(second["records"], 500, "only the new orders are new");
    assert_eq!(second["incremental"]["carried"], true);
    assert_eq!(second["incremental"]["mark"], "2026-01-01T12:29:00Z");
    assert_eq!(
        after.stats().requests(),
        11,
        "512 orders at 50 a page: only the new ones are fetched"
    );

    let full = pagefold(&[
        "run",
        "-q",
        ws.job("full.toml", &orders_job(&after, PAGINATION, 8, REDUCERS))
            .to_str()
            .unwrap(),
    ])
    .result();
    assert_eq!(full["records"], 1500);
    assert_eq!(
        second["reducers"], full["reducers"],
        "carried totals = a full run"
    );
    assert_eq!(second["reducers"]["orders"], 1500);
}

#[test]
fn without_carry_a_run_reduces_only_what_is_new() {
    let ws = Workspace::new();
    let before = server(200);
    run(&ws, &incremental_job(&before, false));
    drop(before);
    let after = server(260);
    let second = run(&ws, &incremental_job(&after, false));
    assert_eq!(second["records"], 60);
    assert_eq!(second["reducers"]["orders"], 60);
    assert_eq!(second["incremental"]["carried"], false);
    // Nothing new: the mark stays where it was.
    let third = run(&ws, &incremental_job(&after, false));
    assert_eq!(third["records"], 0);
    assert_eq!(third["reducers"]["orders"], 0);
    assert_eq!(third["incremental"]["mark"], "2026-01-01T02:09:00Z");
    assert_eq!(third["incremental"]["mark"], second["incremental"]["mark"]);
    assert_eq!(third["incremental"]["since"], "2026-01-01T02:04:00Z");
    assert_eq!(third["incremental"]["seen_before"], 12);
}

#[test]
fn a_failed_run_does_not_move_the_mark() {
    let ws = Workspace::new();
    let before = server(200);
    run(&ws, &incremental_job(&before, true));
    let state_file = ws.path().join("state/jobs/orders/incremental.json");
    let kept = std::fs::read_to_string(&state_file).unwrap();
    drop(before);
    let broken = broken_server(400);
    let failed = run_with_state(&ws, &incremental_job(&broken, true));
    assert_eq!(failed.code(), 1, "{}", failed.stderr());
    assert_eq!(std::fs::read_to_string(&state_file).unwrap(), kept);
    let history =
        std::fs::read_to_string(ws.path().join("state/jobs/orders/history.jsonl")).unwrap();
    let last: Value = serde_json::from_str(history.lines().last().unwrap()).unwrap();
    assert_eq!(last["status"], "failed");
    assert!(
        last["error"].as_str().unwrap().contains("page=2"),
        "the error names the page: {last}"
    );
    // Once the API recovers, the next run takes everything new since the old mark.
    let healthy = server(400);
    let second = run(&ws, &incremental_job(&healthy, true));
    assert_eq!(second["records"], 200);
    assert_eq!(second["reducers"]["orders"], 400);
}

/// An API of records `{"id", "updated_at"}` that the test adds to, answering
/// `?updated_since=T` with those changed at or after `T`.
struct GrowingApi {
    url: String,
    records: std::sync::Arc<std::sync::Mutex<Vec<(u64, String)>>>,
    _runtime: tokio::runtime::Runtime,
}

impl GrowingApi {
    fn start() -> Self {
        use axum::extract::{Query, State};
        type Records = std::sync::Arc<std::sync::Mutex<Vec<(u64, String)>>>;
        async fn list(
            State(records): State<Records>,
            Query(query): Query<std::collections::HashMap<String, String>>,
        ) -> String {
            let since = query.get("updated_since").cloned().unwrap_or_default();
            let records = records.lock().unwrap();
            let selected: Vec<String> = records
                .iter()
                .filter(|(_, updated)| *updated >= since)
                .map(|(id, updated)| format!(r#"{{"id":{id},"updated_at":"{updated}"}}"#))
                .collect();
            format!("[{}]", selected.join(","))
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let records: Records = Default::default();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let url = format!("http://{}/changes", listener.local_addr().unwrap());
        let app = axum::Router::new()
            .route("/changes", axum::routing::get(list))
            .with_state(records.clone());
        runtime.spawn(async move { axum::serve(listener, app).await });
        Self {
            url,
            records,
            _runtime: runtime,
        }
    }

    fn add(&self, id: u64, minute: u32) {
        let updated = format!("2026-05-01T00:{minute:02}:00Z");
        self.records.lock().unwrap().push((id, updated));
    }
}

#[test]
fn a_record_written_late_within_lag_is_folded_and_none_twice() {
    let api = GrowingApi::start();
    for (id, minute) in [(1, 0), (2, 10), (3, 20)] {
        api.add(id, minute);
    }
    let ws = Workspace::new();
    let text = format!(
        "[source]\nurl = \"{}\"\n[source.incremental]\nfield = \"/updated_at\"\nparam = \"updated_since\"\nlag = \"10m\"\ncarry = true\n\n[[reduce]]\nname = \"ids\"\nuse = \"collect\"\nfield = \"/id\"\n",
        api.url
    );
    let first = run(&ws, &text);
    assert_eq!(first["reducers"]["ids"], serde_json::json!([1, 2, 3]));
    // Record 4 was written after the first run but is stamped 00:15, before its mark (00:20):
    // a late write, within the 10-minute lag. Record 5 is simply new.
    api.add(4, 15);
    api.add(5, 30);
    let second = run(&ws, &text);
    assert_eq!(second["incremental"]["since"], "2026-05-01T00:10:00Z");
    assert_eq!(
        second["incremental"]["seen_before"], 2,
        "records 2 and 3 again"
    );
    assert_eq!(second["records"], 2);
    let mut ids: Vec<u64> = serde_json::from_value(second["reducers"]["ids"].clone()).unwrap();
    ids.sort_unstable();
    assert_eq!(ids, [1, 2, 3, 4, 5], "every record once");
}

#[test]
fn a_run_that_skipped_pages_does_not_move_the_mark() {
    let ws = Workspace::new();
    let before = server(200);
    let text =
        |server: &DemoServer| format!("on_error = \"skip\"\n{}", incremental_job(server, true));
    run(&ws, &text(&before));
    let state_file = ws.path().join("state/jobs/orders/incremental.json");
    let kept = std::fs::read_to_string(&state_file).unwrap();
    drop(before);
    let broken = broken_server(400);
    let partial = run_with_state(&ws, &text(&broken));
    assert_eq!(partial.code(), 3, "{}", partial.stderr());
    assert_eq!(
        std::fs::read_to_string(&state_file).unwrap(),
        kept,
        "the skipped page's records are asked for again next time"
    );
}

#[test]
fn switching_carry_on_starts_afresh_with_a_warning() {
    let ws = Workspace::new();
    let before = server(200);
    run(&ws, &incremental_job(&before, false));
    drop(before);
    let after = server(260);
    let switched = run(&ws, &incremental_job(&after, true));
    assert_eq!(
        switched["incremental"]["since"],
        Value::Null,
        "everything again"
    );
    assert_eq!(switched["reducers"]["orders"], 260);
    assert!(
        switched["warnings"][0]
            .as_str()
            .is_some_and(|w| w.contains("this run fetched everything again")),
        "{switched}"
    );
}

#[test]
fn records_older_than_asked_for_are_not_folded_and_the_run_says_so() {
    let api = GrowingApi::start();
    for (id, minute) in [(1, 0), (2, 10), (3, 20)] {
        api.add(id, minute);
    }
    let ws = Workspace::new();
    // `since` is not a parameter this API knows: it answers with every record, every time.
    let text = format!(
        "[source]\nurl = \"{}\"\n[source.incremental]\nfield = \"/updated_at\"\nparam = \"since\"\nlag = \"10m\"\ncarry = true\n\n[[reduce]]\nname = \"ids\"\nuse = \"collect\"\nfield = \"/id\"\n",
        api.url
    );
    run(&ws, &text);
    api.add(4, 15);
    api.add(5, 30);
    let second = run(&ws, &text);
    assert_eq!(second["incremental"]["older_than_since"], 1, "record 1");
    assert_eq!(second["incremental"]["seen_before"], 2, "records 2 and 3");
    assert_eq!(second["records"], 2);
    let mut ids: Vec<u64> = serde_json::from_value(second["reducers"]["ids"].clone()).unwrap();
    ids.sort_unstable();
    assert_eq!(ids, [1, 2, 3, 4, 5], "nothing counted twice");
    let warning = second["warnings"][0].as_str().unwrap_or_default();
    assert!(
        warning
            .contains("1 records older than what was asked for (`since` = 2026-05-01T00:10:00Z)")
            && warning.contains("does the API filter on `since`?"),
        "{second}"
    );
}

#[test]
fn carried_totals_are_never_mixed_across_another_value_of_the_environment() {
    let ws = Workspace::new();
    let server = server(600);
    let text = incremental_job(&server, true).replacen(
        "records = \"/data\"",
        "records = \"/data\"\nquery = { status = \"${env.PF_STATUS}\" }\n\
         headers = { Authorization = \"Bearer ${env.PF_TOKEN}\" }",
        1,
    );
    let job = ws.job("orders.toml", &text);
    let state = ws.path().join("state");
    let run = |status: &str, token: &str| {
        crate::support::pagefold_with_env(
            &[
                "run",
                "-q",
                job.to_str().unwrap(),
                "--state",
                state.to_str().unwrap(),
            ],
            &[("PF_STATUS", status), ("PF_TOKEN", token)],
        )
    };
    let first = run("paid", "token-one-1234").result();
    let paid = first["reducers"]["by_status"]["paid"].clone();
    assert!(paid.as_u64().unwrap() > 0);

    let refused = run("open", "token-one-1234");
    assert_eq!(refused.code(), 2, "{}", refused.stderr());
    assert!(
        refused.stderr().contains(
            "the incremental state of `orders` was saved by a different job: `${env.PF_STATUS}` has another value"
        ),
        "{}",
        refused.stderr()
    );
    assert!(
        refused
            .stderr()
            .contains("hint: set `PF_STATUS` back to the value of the last run, or move"),
        "{}",
        refused.stderr()
    );

    // A rotated token is the same job: the carried totals go on.
    let again = run("paid", "token-two-5678").result();
    assert_eq!(
        again["reducers"]["by_status"],
        serde_json::json!({ "paid": paid })
    );
}
