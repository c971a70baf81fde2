//! Scenario 12: one job split into shards (`run --shard I/N --parts DIR`, see the runner's
//! `shard` module) against the same job in one process, at the same total concurrency: 4
//! shards of 16 in flight beside one process of 64, at 50 ms a request. Splitting must cost
//! nothing the API would notice: the target is a wall time within 1.1× of the one process's
//! (shards and merge included). Then the merge alone, of 4 parts that hold 1 000 000 distinct
//! values between them (a `distinct` over every order id).

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::demo_api::DemoApi;
use crate::measure::{Measured, median_of};

/// Shards in the scenario.
const SHARDS: u32 = 4;

/// What scenario 12 measured.
pub(crate) struct ShardFigures {
    pub(crate) one: Measured,
    pub(crate) sharded: Measured,
    /// The merge of the big parts, and how many distinct values they held.
    pub(crate) merge: Option<(Duration, u64)>,
}

fn job(server: &DemoApi, concurrency: usize, reducers: &str) -> String {
    format!(
        "[source]\nurl = \"{url}\"\nrecords = \"/data\"\n[source.pagination]\nkind = \"page\"\nsize_param = \"per_page\"\nsize = 50\n\
         total_records = \"/meta/total\"\nmax_pages = 1000000\n[fetch]\nconcurrency = {concurrency}\nretries = 8\n{reducers}",
        url = server.url("/orders"),
    )
}

const AGGREGATES: &str = "[[reduce]]\nname = \"orders\"\nuse = \"count\"\n[[reduce]]\nname = \"revenue\"\nuse = \"sum\"\nfield = \"/amount\"\n\
    [[reduce]]\nname = \"by_status\"\nuse = \"count_by\"\nfield = \"/status\"\n";

/// Runs every shard at once and waits for all: the wall time of the whole, and whether all
/// succeeded.
fn run_shards(binary: &Path, job: &Path, parts: &Path, run_id: &str) -> (Duration, bool) {
    let started = Instant::now();
    let children: Vec<Child> = (0..SHARDS)
        .map(|index| {
            Command::new(binary)
                .args([
                    "run",
                    "-q",
                    "--shard",
                    &format!("{index}/{SHARDS}"),
                    "--parts",
                ])
                .arg(parts)
                .args(["--run-id", run_id])
                .arg(job)
                .stderr(Stdio::null())
                .spawn()
                .expect("a shard starts")
        })
        .collect();
    let mut success = true;
    for mut child in children {
        success &= child.wait().is_ok_and(|status| status.success());
    }
    (started.elapsed(), success)
}

fn merge_command(binary: &Path, job: &Path, parts: &Path, run_id: &str, output: &Path) -> Command {
    let mut command = Command::new(binary);
    command
        .args(["merge", "-q", "--parts"])
        .arg(parts)
        .args(["--run-id", run_id, "-o"])
        .arg(output)
        .arg(job);
    command
}

fn records_of(path: &Path) -> Option<u64> {
    let bytes = std::fs::read(path).ok()?;
    serde_json::from_slice::<serde_json::Value>(&bytes).ok()?["records"].as_u64()
}

/// Runs scenario 12 with `pages` pages of 50 orders.
pub(crate) fn run(binary: &Path, pages: u64, distinct_pages: u64, folder: &Path) -> ShardFigures {
    let server = DemoApi::start(binary, pages, 50, Duration::from_millis(50), true, &[]);
    let one_job = folder.join("scenario-12-one.toml");
    std::fs::write(&one_job, job(&server, 64, AGGREGATES)).expect("the job file is written");
    let one_output = folder.join("scenario-12-one.json");
    let mut one = Command::new(binary);
    one.args(["run", "-q", "-o"]).arg(&one_output).arg(&one_job);
    let sample = median_of(&mut one, 1);
    let expected = pages * 50;
    let note = |records: Option<u64>| match records {
        Some(n) if n == expected => String::new(),
        other => format!("WRONG: {other:?} records, expected {expected}"),
    };
    let one = Measured {
        wall: sample.wall,
        cpu: sample.cpu,
        peak_rss_kib: sample.peak_rss_kib,
        body_bytes: 0,
        records: records_of(&one_output),
        waited_on_reducers: None,
        note: note(records_of(&one_output)),
    };

    let sharded_job = folder.join("scenario-12-shards.toml");
    std::fs::write(&sharded_job, job(&server, 16, AGGREGATES)).expect("the job file is written");
    let parts = folder.join("scenario-12-parts");
    let cpu_before = children_cpu();
    let (shards_wall, success) = run_shards(binary, &sharded_job, &parts, "bench");
    let merged_output = folder.join("scenario-12-merged.json");
    let merge_started = Instant::now();
    let merged_ok = merge_command(binary, &sharded_job, &parts, "bench", &merged_output)
        .status()
        .is_ok_and(|status| status.success());
    let wall = shards_wall + merge_started.elapsed();
    let records = records_of(&merged_output);
    let sharded = Measured {
        wall,
        cpu: children_cpu().saturating_sub(cpu_before),
        peak_rss_kib: 0,
        body_bytes: 0,
        records,
        waited_on_reducers: None,
        note: if success && merged_ok {
            note(records)
        } else {
            "FAILED".into()
        },
    };
    drop(server);

    let merge = (distinct_pages > 0).then(|| {
        let server = DemoApi::start(binary, distinct_pages, 50, Duration::ZERO, true, &[]);
        let distinct = "[[reduce]]\nname = \"ids\"\nuse = \"distinct\"\nfield = \"/id\"\n";
        let job_path = folder.join("scenario-12-distinct.toml");
        std::fs::write(&job_path, job(&server, 64, distinct)).expect("the job file is written");
        let parts = folder.join("scenario-12-distinct-parts");
        run_shards(binary, &job_path, &parts, "distinct");
        let output = folder.join("scenario-12-distinct.json");
        let started = Instant::now();
        let _ = merge_command(binary, &job_path, &parts, "distinct", &output).status();
        let took = started.elapsed();
        let values = std::fs::read(&output)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
            .and_then(|result| result["reducers"]["ids"].as_u64())
            .unwrap_or(0);
        (took, values)
    });
    ShardFigures {
        one,
        sharded,
        merge,
    }
}

/// User + system CPU of every reaped child so far.
fn children_cpu() -> Duration {
    // SAFETY: an all-zero `rusage` is a valid value; getrusage only writes into it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: RUSAGE_CHILDREN with a valid pointer.
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    let time = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    time(usage.ru_utime) + time(usage.ru_stime)
}

/// The comparison and the merge, under the table.
pub(crate) fn print(figures: &ShardFigures) {
    let ratio = figures.sharded.wall.as_secs_f64() / figures.one.wall.as_secs_f64().max(1e-9);
    println!(
        "\nshards: {SHARDS} × 16 in flight took {:.2}s (merge included) against {:.2}s for one \
         process of 64: {ratio:.2}× ({}: within 1.1×)",
        figures.sharded.wall.as_secs_f64(),
        figures.one.wall.as_secs_f64(),
        // Faster than one process is as good as the same.
        if ratio <= 1.1 { "met" } else { "MISSED" },
    );
    if let Some((took, values)) = figures.merge {
        println!(
            "shards: merging {SHARDS} parts holding {values} distinct values took {:.2}s",
            took.as_secs_f64()
        );
    }
}
