//! Several API keys, a budget each: an API that meters every token on its own (429 past its
//! budget) sees each key used within its budget; chains that page by cursor keep their key; a
//! revoked key fails the run by its position, or is dropped when the job says so.

use std::time::Duration;

use pagefold_demo_api::{DemoAuth, DemoConfig, DemoServer, WindowLimit};
use serde_json::{Value, json};

use crate::support::{Workspace, demo_server, orders, pagefold_with_env};

const TOKENS: [&str; 3] = ["tok-key-one-7d1a", "tok-key-two-8e2b", "tok-key-three-9f3c"];

fn budgeted(records: u64, revoked_after: Option<(String, u64)>) -> (DemoServer, DemoConfig) {
    let config = DemoConfig {
        records,
        auth: Some(DemoAuth::Tokens(
            TOKENS.iter().map(|t| (*t).to_owned()).collect(),
        )),
        // Twelve requests a token every 300 ms; the job asks for 30 a second a key (nine).
        token_budget: Some(WindowLimit {
            requests: 12,
            window: Duration::from_millis(300),
        }),
        revoked_after,
        ..DemoConfig::default()
    };
    (demo_server(config.clone()), config)
}

fn job(server: &DemoServer, pagination: &str, auth_extra: &str) -> String {
    format!(
        "[source]\nurl = \"{}\"\nrecords = \"/data\"\n\
         [source.auth]\nkind = \"bearer\"\n\
         tokens = [\"${{env.TOKEN_1}}\", \"${{env.TOKEN_2}}\", \"${{env.TOKEN_3}}\"]\n{auth_extra}\n\
         [source.pagination]\n{pagination}\n\
         [fetch]\nconcurrency = 8\nrate = \"30/s\"\nretries = 2\n\
         [[reduce]]\nname = \"orders\"\nuse = \"count\"\n",
        server.url("/orders")
    )
}

fn run(job_text: &str) -> crate::support::Run {
    let work = Workspace::new();
    let path = work.job("keys.toml", job_text);
    pagefold_with_env(
        &["run", path.to_str().unwrap(), "-q"],
        &[
            ("TOKEN_1", TOKENS[0]),
            ("TOKEN_2", TOKENS[1]),
            ("TOKEN_3", TOKENS[2]),
        ],
    )
}

#[test]
fn each_key_is_used_within_its_own_budget_and_the_result_is_exact() {
    let (server, config) = budgeted(36 * 50, None);
    let pagination =
        "kind = \"page\"\nsize_param = \"per_page\"\nsize = 50\ntotal_records = \"/meta/total\"";
    let result = run(&job(&server, pagination, "")).result();
    assert_eq!(result["records"], json!(orders(&config).len()));
    let by_token = server.stats().by_token();
    for token in TOKENS {
        let (served, refused) = by_token.get(token).copied().unwrap_or_default();
        assert_eq!(refused, 0, "{token} went over its budget: {by_token:?}");
        assert!(
            (6..=18).contains(&served),
            "{token}: {served} of 36: {by_token:?}"
        );
    }
    // The result names keys by position, with what each did; never by value.
    let keys = result["stats"]["keys"].as_array().unwrap();
    let served: Vec<u64> = TOKENS.iter().map(|t| by_token[*t].0).collect();
    for (at, key) in keys.iter().enumerate() {
        assert_eq!(key["key"], json!(format!("key {}", at + 1)));
        assert_eq!(key["requests"], json!(served[at]), "{keys:?}");
    }
    let text = result.to_string();
    assert!(TOKENS.iter().all(|token| !text.contains(token)));
}

#[test]
fn a_cursor_chain_keeps_its_key_from_its_first_page_to_its_last() {
    let (server, _) = budgeted(900, None);
    let text = job(
        &server,
        "kind = \"cursor\"\nparam = \"cursor\"\nnext = \"/meta/next_cursor\"\nhas_more = \"/meta/has_more\"\nsize_param = \"limit\"\nsize = 50",
        "",
    )
    .replace("/orders\"", "/cursor/orders?status={status}\"")
    .replace(
        "[source.pagination]",
        "[source.partitions]\nstatus = [\"paid\", \"open\", \"refunded\"]\n\n[source.pagination]",
    );
    let result = run(&text).result();
    let mut pages: Vec<u64> = result["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|partition| partition["pages"].as_u64().unwrap())
        .collect();
    let mut served: Vec<u64> = server
        .stats()
        .by_token()
        .values()
        .map(|(served, _)| *served)
        .collect();
    pages.sort_unstable();
    served.sort_unstable();
    assert_eq!(served, pages, "one key a chain, all of its pages");
}

#[test]
fn a_revoked_key_fails_the_run_by_its_position_or_is_dropped() {
    let pagination =
        "kind = \"page\"\nsize_param = \"per_page\"\nsize = 50\ntotal_records = \"/meta/total\"";
    let (server, _) = budgeted(30 * 50, Some((TOKENS[1].to_owned(), 3)));
    let failed = run(&job(&server, pagination, ""));
    assert_eq!(failed.code(), 1, "{}", failed.stderr());
    assert!(
        failed
            .stderr()
            .contains("error: the API refused key 2 of 3 (`key 2`) on `"),
        "{}",
        failed.stderr()
    );
    assert!(TOKENS.iter().all(|token| !failed.stderr().contains(token)));

    let (server, config) = budgeted(30 * 50, Some((TOKENS[1].to_owned(), 3)));
    let result = run(&job(
        &server,
        pagination,
        "on_key_error = \"drop\"\nlabels = [\"app-1\", \"app-2\", \"app-3\"]",
    ))
    .result();
    assert_eq!(result["records"], json!(orders(&config).len()));
    let keys: &Vec<Value> = result["stats"]["keys"].as_array().unwrap();
    assert_eq!(keys[1]["key"], json!("app-2"));
    assert_eq!(keys[1]["dropped"], json!(true));
    assert!(keys[0].get("dropped").is_none());
}
