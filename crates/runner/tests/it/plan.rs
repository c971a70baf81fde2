//! `pagefold plan`: chains, first requests with secrets hidden, and the probe's estimate.

use pagefold_demo_api::{DemoAuth, DemoConfig};

use crate::support::{Workspace, demo_server, pagefold_with_env};

#[test]
fn the_plan_shows_each_chain_hides_secrets_and_estimates() {
    let token = "plan-secret-7e1";
    let config = DemoConfig {
        records: 1000,
        auth: Some(DemoAuth::Bearer(token.into())),
        ..DemoConfig::default()
    };
    let server = demo_server(config);
    let work = Workspace::new();
    let text = format!(
        "[source]\nurl = \"{}?status={{status}}&api_key=k3y-in-query\"\nrecords = \"/data\"\n[source.auth]\nkind = \"bearer\"\n\
         token = \"${{env.PLAN_TOKEN}}\"\n[source.partitions]\nstatus = [\"paid\", \"open\"]\n[source.pagination]\nkind = \"page\"\n\
         size_param = \"per_page\"\nsize = 50\ntotal_records = \"/meta/total\"\n[fetch]\nconcurrency = 4\nrate = \"10/s\"\n",
        server.url("/orders")
    );
    let job = work.job("plan.toml", &text);
    let plain = pagefold_with_env(&["plan", job.to_str().unwrap()], &[("PLAN_TOKEN", token)]);
    assert_eq!(plain.code(), 0, "{}", plain.stderr());
    let out = plain.stdout();
    assert!(out.contains("2 chains:"), "{out}");
    assert!(
        out.contains(&format!(
            "[status=paid] GET {}",
            server.url("/orders?status=paid&api_key=****&page=1&per_page=50")
        )),
        "{out}"
    );
    assert!(out.contains("with Authorization: Bearer ****"), "{out}");
    assert!(
        !out.contains(token) && !out.contains("k3y-in-query"),
        "{out}"
    );
    assert_eq!(server.stats().requests(), 0, "a plain plan fetches nothing");

    let probed = pagefold_with_env(
        &["plan", job.to_str().unwrap(), "--probe"],
        &[("PLAN_TOKEN", token)],
    );
    assert_eq!(probed.code(), 0, "{}", probed.stderr());
    let out = probed.stdout();
    let paid = pagefold_demo_api::Dataset { len: 1000, seed: 1 }
        .orders()
        .filter(|o| o.status == "paid")
        .count();
    assert!(
        out.contains(&format!(
            "→ 50 records on the first page, {} pages, {paid} records reported",
            paid.div_ceil(50)
        )),
        "{out}"
    );
    assert!(out.contains("the rate limit decides"), "{out}");
    assert_eq!(server.stats().requests(), 2, "one request a chain");
}

#[test]
fn the_plan_of_a_scheduled_incremental_job_says_when_and_what_it_asks() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../jobs/nightly-orders.toml");
    let plan = crate::support::pagefold(&["plan", path.to_str().unwrap()]);
    assert_eq!(plan.code(), 0, "{}", plan.stderr());
    let out = plan.stdout();
    assert!(
        out.contains("schedule: `30 2 * * *` in Europe/Berlin (next run ")
            && out.contains(" 02:30:00 CE")
            && out.contains("overlap = \"queue\", missed = \"run_once\""),
        "{out}"
    );
    assert!(
        out.contains("incremental: `updated_since` is sent the largest `/updated_at` of the last successful run, less 10m"),
        "{out}"
    );
}
