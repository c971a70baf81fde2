//! The example jobs in `jobs/`, pointed at the demo API: the same shapes as the real APIs
//! they are written for (which tests cannot reach).

use std::path::Path;

use pagefold_demo_api::{DemoAuth, DemoConfig};
use serde_json::json;

use crate::support::{Workspace, demo_server, orders, pagefold_with_env};

fn example(name: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../jobs")
            .join(name),
    )
    .unwrap()
}

#[test]
fn the_demo_api_examples_run_as_written() {
    let config = DemoConfig {
        records: 2000,
        ..DemoConfig::default()
    };
    let server = demo_server(config.clone());
    let work = Workspace::new();
    let total_cents: u64 = orders(&config).iter().map(|o| o.amount_cents).sum();
    for name in ["daily-windows.toml", "customers-orders.toml"] {
        let text = example(name).replace("127.0.0.1:7878", &server.addr().to_string());
        let job = work.job(name, &text);
        let run = pagefold_with_env(&["run", job.to_str().unwrap(), "-q"], &[]);
        let result = run.result();
        assert_eq!(result["records"], json!(2000), "{name}");
        let revenue = result["reducers"]["revenue"].as_f64().unwrap();
        assert!(
            (revenue - total_cents as f64 / 100.0).abs() < 1e-6,
            "{name}: {revenue}"
        );
    }
}

#[test]
fn the_github_and_stripe_shapes_run_against_the_demo_api() {
    let token = "ghp_example_token_1234";
    let config = DemoConfig {
        records: 900,
        auth: Some(DemoAuth::Bearer(token.into())),
        ..DemoConfig::default()
    };
    let server = demo_server(config.clone());
    let work = Workspace::new();
    // GitHub: Link headers, a bearer token, one chain per partition (here: per status).
    let github = example("github-issues.toml")
        .replace(
            "https://api.github.com/repos/{repo}/issues",
            &server.url("/links/orders"),
        )
        .replace(
            "query = { state = \"open\", labels = \"bug\" }",
            "query = { status = \"{repo}\" }",
        )
        .replace(
            "[\"rust-lang/rust\", \"tokio-rs/tokio\", \"serde-rs/serde\"]",
            "[\"paid\", \"open\"]",
        )
        .replace("field = \"/user/login\"", "field = \"/customer\"")
        .replace("field = \"/comments\"", "field = \"/items\"")
        .replace("path = \"out/github-bugs.json\"", "path = \"github.json\"");
    let job = work.job("github.toml", &github);
    let run = pagefold_with_env(
        &["run", job.to_str().unwrap(), "-q"],
        &[("GITHUB_TOKEN", token)],
    );
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let result: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(work.path().join("github.json")).unwrap())
            .unwrap();
    let selected = orders(&config)
        .into_iter()
        .filter(|o| o.status == "paid" || o.status == "open")
        .count();
    assert_eq!(result["reducers"]["bugs"], json!(selected));
    assert_eq!(result["partitions"].as_array().unwrap().len(), 2);

    // Stripe: `starting_after` the last id, `has_more`, a jq `map`.
    let stripe = example("stripe-charges.toml")
        .replace("https://api.stripe.com/v1/charges", &server.url("/stripe/orders"))
        .replace("kind = \"basic\"                                # Stripe takes the key as the user name\nusername = \"${env.STRIPE_KEY}\"", "kind = \"bearer\"\ntoken = \"${env.STRIPE_KEY}\"")
        .replace("select(.paid) | {currency, amount, outcome: .outcome.type}", "select(.status == \"paid\") | {currency: .shipping.city, amount: .amount_cents, outcome: .status}");
    let job = work.job("stripe.toml", &stripe);
    let run = pagefold_with_env(
        &["run", job.to_str().unwrap(), "-q"],
        &[("STRIPE_KEY", token)],
    );
    let result = run.result();
    let paid: Vec<_> = orders(&config)
        .into_iter()
        .filter(|o| o.status == "paid")
        .collect();
    assert_eq!(result["reducers"]["charges"], json!(paid.len()));
    assert_eq!(
        result["reducers"]["amount_minor_units"],
        json!(paid.iter().map(|o| o.amount_cents).sum::<u64>())
    );
}

#[test]
fn the_nightly_example_validates_and_runs_incrementally() {
    let work = Workspace::new();
    let text = example("nightly-orders.toml");
    let validate =
        crate::support::pagefold(&["validate", work.job("n.toml", &text).to_str().unwrap()]);
    assert_eq!(validate.code(), 0, "{}", validate.stderr());
    let stdout = validate.stdout();
    let times: Vec<&str> = stdout.lines().skip(1).collect();
    assert!(
        stdout.starts_with("schedule `30 2 * * *` in Europe/Berlin; the next five runs:"),
        "{stdout}"
    );
    assert_eq!(times.len(), 5);
    for time in &times {
        assert!(time.contains(" 02:30:00 CE"), "{time}");
    }
    let state = work.path().join("state");
    for records in [700, 1000] {
        let config = DemoConfig {
            records,
            ..DemoConfig::default()
        };
        let server = demo_server(config.clone());
        let job = work.job(
            "nightly-orders.toml",
            &text.replace("127.0.0.1:7878", &server.addr().to_string()),
        );
        let run = crate::support::pagefold(&[
            "run",
            job.to_str().unwrap(),
            "-q",
            "--state",
            state.to_str().unwrap(),
        ]);
        assert_eq!(run.code(), 0, "{}", run.stderr());
    }
    let mut written: Vec<_> = std::fs::read_dir(work.path().join("out/nightly-orders"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    written.sort();
    // Both runs write today's file (two, if midnight in Berlin fell between them).
    assert!((1..=2).contains(&written.len()), "{written:?}");
    let csv = std::fs::read_to_string(written.last().unwrap()).unwrap();
    assert!(csv.contains("\norders,,,1000\n"), "carried totals:\n{csv}");
    let history = std::fs::read_to_string(state.join("jobs/nightly-orders/history.jsonl")).unwrap();
    let records: Vec<u64> = history
        .lines()
        .map(|line| {
            serde_json::from_str::<serde_json::Value>(line).unwrap()["records"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(
        records,
        [700, 300],
        "the second run reduced only what changed"
    );
}
