//! Sharded runs as a Kubernetes Indexed Job runs them: N processes with
//! `JOB_COMPLETION_INDEX` = 0..N, each writing its part, the last merging; the merged result
//! must be a single run's, and the demo API's request log must show the deal of pages.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::Duration;

use pagefold_demo_api::{DemoConfig, DemoServer};
use serde_json::Value;

use crate::support::{ALL_BUILTINS, Workspace, demo_server, orders_job, pagefold, run_job};

pub(crate) const PAGES: &str =
    "kind = \"page\"\nsize_param = \"per_page\"\nsize = 50\ntotal_records = \"/meta/total\"";
const PAGES_NO_TOTAL: &str = "kind = \"page\"\nsize_param = \"per_page\"\nsize = 50";

/// The plugin reducers beside the built-ins: states that only the plugin reads back.
pub(crate) fn plugin_reducers() -> String {
    format!(
        "[[reduce]]\nname = \"groups\"\nplugin = \"{}\"\nconfig = {{ key = \"/status\", field = \"/amount_cents\" }}\n\n\
         [[reduce]]\nname = \"quantiles\"\nplugin = \"{}\"\nconfig = {{ field = \"/amount_cents\", q = [0.5, 0.9] }}\n",
        crate::plugins::plugin("group_stats").display(),
        crate::plugins::plugin("quantiles").display(),
    )
}

/// Starts shard `index` of `of` as a pod of an Indexed Job would: `--shard auto/N` with
/// `JOB_COMPLETION_INDEX`, the run id from `JOB_NAME`.
pub(crate) fn start_shard(job: &Path, parts: &str, index: u32, of: u32, extra: &[&str]) -> Child {
    start_shard_with(job, parts, (index, of), extra, &[])
}

/// [`start_shard`] with more environment (an S3 endpoint and its credentials).
pub(crate) fn start_shard_with(
    job: &Path,
    parts: &str,
    (index, of): (u32, u32),
    extra: &[&str],
    env: &[(&str, &str)],
) -> Child {
    crate::support::command()
        .envs(env.iter().copied())
        .args([
            "run",
            "-q",
            "--shard",
            &format!("auto/{of}"),
            "--parts",
            parts,
        ])
        .args(extra)
        .arg(job)
        .env("JOB_COMPLETION_INDEX", index.to_string())
        .env("JOB_NAME", "nightly-1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("pagefold starts")
}

/// Runs every shard at once, each with `--merge` (the last writes `out`), and waits for all.
fn run_indexed_job(job: &Path, parts: &str, of: u32, out: &Path) {
    run_indexed_job_with(job, parts, of, out, &[]);
}

/// [`run_indexed_job`] with more environment.
pub(crate) fn run_indexed_job_with(
    job: &Path,
    parts: &str,
    of: u32,
    out: &Path,
    env: &[(&str, &str)],
) {
    let out = out.to_str().unwrap();
    let shards: Vec<Child> = (0..of)
        .map(|index| start_shard_with(job, parts, (index, of), &["--merge", "-o", out], env))
        .collect();
    for (index, shard) in shards.into_iter().enumerate() {
        let output = shard.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "shard {index} failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

pub(crate) fn read(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// What must be equal: the reducers, pages and records.
pub(crate) fn essence(result: &Value) -> Value {
    serde_json::json!({
        "pages": result["pages"],
        "records": result["records"],
        "reducers": result["reducers"],
        "partitions": result["partitions"],
    })
}

/// Per page number (`page=N` in the query), how many times the server was asked for it,
/// among the requests from `from` on in its log.
fn requests_per_page(server: &DemoServer, from: usize) -> BTreeMap<u64, u32> {
    let mut counts = BTreeMap::new();
    for target in &server.stats().log()[from..] {
        let page = url::Url::parse(&format!("http://x{target}"))
            .unwrap()
            .query_pairs()
            .find(|(key, _)| key == "page")
            .map_or(1, |(_, value)| value.parse().unwrap());
        *counts.entry(page).or_insert(0) += 1;
    }
    counts
}

/// A single run's result, the result of `shards` shards merged, and the server's log length
/// between the two (the sharded run's requests follow it).
fn single_and_sharded(
    server: &DemoServer,
    work: &Workspace,
    job: &Path,
    shards: u32,
) -> (Value, Value, usize) {
    let (single, before) = single_run(server, job);
    let merged_path = work.path().join("merged.json");
    let parts = work.path().join("parts");
    run_indexed_job(job, parts.to_str().unwrap(), shards, &merged_path);
    (single, read(&merged_path), before)
}

/// Every built-in and the plugin reducers.
pub(crate) fn every_reducer() -> String {
    format!("{ALL_BUILTINS}\n{}", plugin_reducers())
}

/// A single run's result, and the server's log length after it.
fn single_run(server: &DemoServer, job: &Path) -> (Value, usize) {
    let result = run_job(job, &[]).result();
    (result, server.stats().log().len())
}

fn logged(config: DemoConfig) -> DemoServer {
    demo_server(DemoConfig {
        log_requests: true,
        ..config
    })
}

#[test]
fn a_page_job_with_a_total_splits_page_by_page_and_merges_to_a_single_runs_result() {
    let server = logged(DemoConfig {
        records: 2000,
        ..DemoConfig::default()
    });
    let work = Workspace::new();
    let reducers = every_reducer();
    let job = work.job("pages.toml", &orders_job(&server, PAGES, 8, &reducers));
    let (single, before) = single_run(&server, &job);
    let parts = work.path().join("parts");
    let merged_path = work.path().join("merged.json");
    run_indexed_job(&job, parts.to_str().unwrap(), 4, &merged_path);
    let merged = read(&merged_path);
    assert_eq!(essence(&merged), essence(&single));
    assert_eq!(merged["merged_from"]["shards"], 4);
    assert_eq!(merged["merged_from"]["run_id"], "nightly-1");
    assert_eq!(merged["ended"], single["ended"]);
    // The first page (it carries the total) once per shard; every other page exactly once.
    let counts = requests_per_page(&server, before);
    assert_eq!(counts[&1], 4, "{counts:?}");
    assert_eq!(counts.len(), 40, "{counts:?}");
    assert!(counts.range(2..).all(|(_, &n)| n == 1), "{counts:?}");
    assert_eq!(merged["stats"]["requests"], 43);
    // Each shard's checkpoint is gone once its part is written.
    let checkpoints = parts.join("pages/nightly-1/checkpoint");
    assert!(
        !std::fs::read_dir(&checkpoints)
            .map(
                |dir| dir.flatten().any(|shard| std::fs::read_dir(shard.path())
                    .unwrap()
                    .flatten()
                    .any(|f| f
                        .file_name()
                        .to_string_lossy()
                        .ends_with(".checkpoint.json")))
            )
            .unwrap_or(false)
    );
}

#[test]
fn without_a_total_each_shard_finds_its_own_end() {
    let server = logged(DemoConfig {
        records: 1730,
        totals: false,
        ..DemoConfig::default()
    });
    let work = Workspace::new();
    let job = work.job(
        "no-total.toml",
        &orders_job(&server, PAGES_NO_TOTAL, 6, ALL_BUILTINS),
    );
    let (single, merged, before) = single_and_sharded(&server, &work, &job, 3);
    assert_eq!(essence(&merged), essence(&single));
    assert_eq!(merged["records"], 1730);
    // 35 pages of data (the last short): each asked for once, the first once per shard;
    // past the end, each shard runs ahead a little, never onto another shard's pages.
    let counts = requests_per_page(&server, before);
    assert_eq!(counts[&1], 3, "{counts:?}");
    assert!(counts.range(2..).all(|(_, &n)| n == 1), "{counts:?}");
    assert!(
        (2..=35).all(|page| counts.contains_key(&page)),
        "{counts:?}"
    );
}

#[test]
fn cursor_partitions_are_dealt_whole_and_merge_exactly() {
    let server = logged(DemoConfig {
        records: 900,
        ..DemoConfig::default()
    });
    let work = Workspace::new();
    let cursor = "kind = \"cursor\"\nparam = \"cursor\"\nnext = \"/meta/next_cursor\"\nsize_param = \"limit\"\nsize = 25";
    let text = orders_job(&server, cursor, 4, &every_reducer())
        .replace(
            &format!("url = \"{}\"", server.url("/orders")),
            &format!("url = \"{}?status={{status}}\"", server.url("/cursor/orders")),
        )
        .replace(
            "[source.pagination]",
            "[source.partitions]\nstatus = [\"paid\", \"open\", \"shipped\", \"cancelled\", \"refunded\"]\n\n[source.pagination]",
        );
    let job = work.job("cursor.toml", &text);
    let (single, merged, before) = single_and_sharded(&server, &work, &job, 4);
    assert_eq!(essence(&merged), essence(&single));
    // Every request once: cursor chains are not split, each runs in one shard.
    assert_eq!(
        server.stats().log().len() - before,
        single["stats"]["requests"].as_u64().unwrap() as usize
    );
}

#[test]
fn parent_records_are_dealt_and_their_child_chains_merge_exactly() {
    let server = logged(DemoConfig {
        records: 1500,
        ..DemoConfig::default()
    });
    let work = Workspace::new();
    let text = format!(
        r#"
[source]
url = "{customers}"
records = "/data"
[source.pagination]
kind = "page"
size_param = "per_page"
size = 100
total_records = "/meta/total"

[child]
url = "{orders}?customer={{customer}}"
records = "/data"
vars = {{ customer = "/id" }}
[child.pagination]
kind = "page"
size_param = "per_page"
size = 20
total_records = "/meta/total"

[fetch]
concurrency = 8

{ALL_BUILTINS}
{plugins}
"#,
        customers = server.url("/customers"),
        orders = server.url("/orders"),
        plugins = plugin_reducers(),
    );
    let job = work.job("children.toml", &text);
    let (single, merged, before) = single_and_sharded(&server, &work, &job, 3);
    assert_eq!(essence(&merged), essence(&single));
    assert_eq!(merged["parent"], single["parent"]);
    // Each child request once; the parents' pages once per shard.
    let log = server.stats().log();
    let children: Vec<&String> = log[before..]
        .iter()
        .filter(|t| t.contains("customer="))
        .collect();
    let mut unique = children.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(
        children.len(),
        unique.len(),
        "a child page was asked for twice"
    );
    let parents = log[before..].len() - children.len();
    assert_eq!(
        parents as u64,
        3 * single["parent"]["pages"].as_u64().unwrap()
    );
}

#[test]
fn a_shard_killed_and_started_again_resumes_from_its_checkpoint_beside_the_parts() {
    let server = logged(DemoConfig {
        records: 6000,
        latency: Duration::from_millis(30),
        ..DemoConfig::default()
    });
    let work = Workspace::new();
    let job = work.job(
        "killed.toml",
        &orders_job(&server, PAGES, 2, &every_reducer()),
    );
    let parts = work.path().join("parts");
    let parts_text = parts.to_str().unwrap();
    let checkpoint = parts.join("killed/nightly-1/checkpoint/1/killed.checkpoint.json");
    let mut shard = start_shard(&job, parts_text, 1, 2, &["--checkpoint-every", "30ms"]);
    let mut waited = 0;
    while crate::resume::saved(&checkpoint).is_none_or(|c| c["pages"].as_u64().unwrap_or(0) < 3) {
        assert!(waited < 3000, "no checkpoint of shard 1 within 30 s");
        std::thread::sleep(Duration::from_millis(10));
        waited += 1;
    }
    shard.kill().unwrap(); // SIGKILL: what a node lost or an OOM kill does
    let _ = shard.wait();
    let saved = crate::resume::saved(&checkpoint).unwrap()["pages"]
        .as_u64()
        .unwrap();
    let before = server.stats().log().len();
    for index in [1, 0] {
        let output = start_shard(&job, parts_text, index, 2, &[])
            .wait_with_output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let resumed_requests = server.stats().log().len() - before;
    let merged = pagefold(&[
        "merge",
        job.to_str().unwrap(),
        "--parts",
        parts_text,
        "--run-id",
        "nightly-1",
        "-q",
    ])
    .result();
    let single = run_job(&job, &[]).result();
    assert_eq!(essence(&merged), essence(&single));
    assert_eq!(merged["stats"]["resumed"]["pages"], saved);
    // Shard 0 made all its requests (60 pages and the first); shard 1 only those it lacked.
    assert!(
        resumed_requests as u64 <= 121 - saved + 1,
        "{resumed_requests} requests after the kill, {saved} pages saved"
    );
}

#[test]
fn parts_that_do_not_belong_together_are_refused_by_name() {
    let server = demo_server(DemoConfig {
        records: 500,
        ..DemoConfig::default()
    });
    let work = Workspace::new();
    let job = work.job("refused.toml", &orders_job(&server, PAGES, 4, ALL_BUILTINS));
    let job_text = job.to_str().unwrap();
    let parts = work.path().join("parts");
    let parts_text = parts.to_str().unwrap();
    let shard = |index: u32, of: u32, run_id: &str| {
        pagefold(&[
            "run",
            job_text,
            "-q",
            "--shard",
            &format!("{index}/{of}"),
            "--parts",
            parts_text,
            "--run-id",
            run_id,
        ])
    };
    let merge =
        |run_id: &str| pagefold(&["merge", job_text, "--parts", parts_text, "--run-id", run_id]);
    let masks = crate::support::Masks::new().path(work.path(), "[WORK]");
    let snapshot = |name: &str, text: String| {
        insta::with_settings!({ filters => masks.filters() }, {
            insta::assert_snapshot!(name, text);
        });
    };

    assert_eq!(shard(0, 3, "r1").code(), 0);
    assert_eq!(shard(2, 3, "r1").code(), 0);
    let missing = merge("r1");
    assert_eq!(missing.code(), 1);
    snapshot("merge_missing_part", missing.stderr());

    // A part of another split of the same run.
    assert_eq!(shard(1, 2, "r1").code(), 0);
    let other_split = merge("r1");
    assert_eq!(other_split.code(), 1);
    snapshot("merge_part_of_another_split", other_split.stderr());
    std::fs::remove_file(parts.join("refused/r1/part-1-of-2.json")).unwrap();

    // A part written by the job before it was edited.
    assert_eq!(shard(1, 3, "r1").code(), 0);
    let text = std::fs::read_to_string(&job).unwrap();
    std::fs::write(&job, text.replace("concurrency = 4", "concurrency = 5")).unwrap();
    let edited = merge("r1");
    assert_eq!(edited.code(), 1);
    snapshot("merge_part_of_an_edited_job", edited.stderr());
    std::fs::write(&job, text).unwrap();

    // A part copied in from another run.
    assert_eq!(shard(1, 3, "r2").code(), 0);
    std::fs::copy(
        parts.join("refused/r2/part-1-of-3.json"),
        parts.join("refused/r1/part-1-of-3.json"),
    )
    .unwrap();
    let other_run = merge("r1");
    assert_eq!(other_run.code(), 1);
    snapshot("merge_part_of_another_run", other_run.stderr());

    // No part at all; no run id.
    let nothing = merge("r9");
    snapshot("merge_no_part", nothing.stderr());
    let no_id = pagefold(&["merge", job_text, "--parts", parts_text]);
    assert_eq!(no_id.code(), 2);
    snapshot("merge_no_run_id", no_id.stderr());
}

#[test]
fn shard_arguments_are_checked_before_anything_runs() {
    let work = Workspace::new();
    let job = work.job(
        "args.toml",
        "[source]\nurl = \"http://127.0.0.1:9/x\"\n\n[[reduce]]\nname = \"n\"\nuse = \"count\"\n",
    );
    let job_text = job.to_str().unwrap();
    let parts = work.path().join("parts");
    let parts_text = parts.to_str().unwrap();
    let out_of_range = pagefold(&[
        "run", job_text, "--shard", "4/4", "--parts", parts_text, "--run-id", "x",
    ]);
    assert_eq!(out_of_range.code(), 2);
    let auto = crate::support::command()
        .args([
            "run", job_text, "--shard", "auto/4", "--parts", parts_text, "--run-id", "x",
        ])
        .env_remove("JOB_COMPLETION_INDEX")
        .output()
        .unwrap();
    assert_eq!(auto.status.code(), Some(2));
    let no_parts = pagefold(&["run", job_text, "--shard", "0/4"]);
    assert_eq!(no_parts.code(), 2);
    let incremental = work.job(
        "inc.toml",
        "[source]\nurl = \"http://127.0.0.1:9/x\"\n[source.incremental]\nparam = \"since\"\nfield = \"/updated_at\"\n\n[[reduce]]\nname = \"n\"\nuse = \"count\"\n",
    );
    let refused = pagefold(&[
        "run",
        incremental.to_str().unwrap(),
        "--shard",
        "0/2",
        "--parts",
        parts_text,
        "--run-id",
        "x",
    ]);
    assert_eq!(refused.code(), 2, "{}", refused.stderr());
    let masks = crate::support::Masks::new().path(work.path(), "[WORK]");
    let shown = [
        out_of_range.stderr(),
        String::from_utf8_lossy(&auto.stderr).into_owned(),
        no_parts.stderr(),
        refused.stderr(),
    ]
    .join("\n");
    insta::with_settings!({ filters => masks.filters() }, {
        insta::assert_snapshot!("shard_arguments", shown);
    });
    assert!(!parts.exists(), "nothing was written");
}

#[test]
fn plan_shows_how_the_work_divides() {
    let server = demo_server(DemoConfig {
        records: 2000,
        ..DemoConfig::default()
    });
    let work = Workspace::new();
    let pages = work.job(
        "plan-pages.toml",
        &orders_job(&server, PAGES, 8, ALL_BUILTINS),
    );
    let cursor = "kind = \"cursor\"\nparam = \"cursor\"\nnext = \"/meta/next_cursor\"\nsize_param = \"limit\"\nsize = 25";
    let one_cursor = work.job(
        "plan-cursor.toml",
        &orders_job(&server, cursor, 8, ALL_BUILTINS)
            .replace(&server.url("/orders"), &server.url("/cursor/orders"))
            .replace("[fetch]", "[fetch]\nrate = \"40/s\""),
    );
    let partitions = work.job(
        "plan-partitions.toml",
        &orders_job(&server, PAGES, 8, ALL_BUILTINS)
            .replace(&server.url("/orders"), &format!("{}?status={{status}}", server.url("/orders")))
            .replace(
            "[source.pagination]",
            "[source.partitions]\nstatus = [\"paid\", \"open\", \"shipped\", \"cancelled\", \"refunded\"]\n\n[source.pagination]",
        ),
    );
    let shown: Vec<String> = [
        pagefold(&["plan", pages.to_str().unwrap(), "--shards", "4", "--probe"]),
        pagefold(&["plan", one_cursor.to_str().unwrap(), "--shards", "3"]),
        pagefold(&["plan", partitions.to_str().unwrap(), "--shards", "2"]),
    ]
    .iter()
    .map(crate::support::Run::shown)
    .collect();
    let masks = crate::support::Masks::new()
        .path(work.path(), "[WORK]")
        .rule(r"\d+(\.\d+)?(ms|µs|s) a request", "[latency] a request")
        .rule(
            r"records reported, \d+(\.\d+)?(ms|µs|s)",
            "records reported, [latency]",
        )
        .rule(r"~\d+(\.\d+)?(ms|µs|s) at", "~[time] at");
    insta::with_settings!({ filters => masks.filters() }, {
        insta::assert_snapshot!("plan_shards", shown.join("\n"));
    });
}
