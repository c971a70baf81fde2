//! pagefold's benchmark: `cargo run --release -p pagefold-bench`.
//!
//! Starts the demo API on loopback with controlled latency and page size, runs the scenarios
//! below with the release `pagefold` binary (a process of its own, so its peak RSS is its own),
//! and prints one table: wall time beside the ideal (`ceil(pages / concurrency) × latency`),
//! pages/s, MB/s of page bodies, peak RSS, and the targets met or missed. It is not a test: it
//! never fails, it prints figures.
//!
//! The demo API runs as a process of its own (`pagefold demo-api --prerender`) and serves
//! pages rendered once at start, so the figures measure pagefold and loopback HTTP, not the
//! fake API's JSON encoding (both share this machine's cores).
//!
//! Each pagefold scenario runs `--repeat` times (default 3) against one server: the table shows
//! the median wall time (and that run's CPU time), and the largest peak RSS. The usual script
//! and scenario 17 (latency-bound, 13 s) run once.
//!
//! Scenarios 1, 2, 3a and 10 (a server that serves 4 requests at once, whatever it is sent)
//! then check the summary line's estimate of one page after another against a real run at
//! concurrency 1 (see `sequential.rs`): within ±30 %, or said to be off.
//!
//! `--only 1,3` runs some scenarios (`3` is 3a and 3b, not 13); `--pages-scale 0.1` shrinks
//! every page count (a quick look); `--big` adds what is too long for the default run (which
//! stays under 5 minutes on a 2-core machine): scenario 15, and scenario 16 at 2 000 pages.
//! `--trace` measures what `pagefold run --trace` costs on each scenario run: runs with and
//! without it, alternated, their median wall times, and the trace's bytes a request (see
//! `trace_cost.rs`).
//!
//! Scenario 12 splits a job into 4 shards and merges them, beside one process (see
//! `shards.rs`).
//!
//! Scenario 11 times the database output (`[output] url`) on its own: see [`database`].
//!
//! Scenarios 13 to 17 live in modules of their own, each handing back a [`Section`]: its rows
//! of the table, its targets (printed with the others) and its lines of detail.
//!
//! * 13, the floor ([`floor`]): the same pages fetched by a minimal hyper client
//!   (`src/bin/floor.rs`, reading only, then validating with serde_json) and by pagefold (fetch
//!   only, one `count`, five reducers), in CPU seconds per GB of page bodies.
//! * 14, small pages ([`small_pages`]): 200 000 pages of 10 beside 2 000: CPU a request, RSS.
//! * 15, `--big` ([`distinct`]): 10 000 000 distinct values, `distinct` and `approx_distinct`.
//! * 16, dlt side by side ([`dlt`]): dlt's `RESTClient.paginate` over the same pages.
//! * 17, cursor chains ([`cursors`]): 8 cursor partitions of 250 pages at 50 ms.

mod cursors;
mod database;
mod demo_api;
mod distinct;
mod dlt;
mod floor;
mod keys;
mod measure;
mod nightly;
mod pagefold_run;
mod python;
mod report;
mod scenarios;
mod section;
mod sequential;
mod shards;
mod small_pages;
mod trace_cost;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use keys::run_keys;
use measure::Measured;
use nightly::run_incremental;
use pagefold_run::Estimate;
use pagefold_run::run_pagefold;
use python::run_python;
use report::{ideal, print_row, print_targets};
use scenarios::Scenario;
use section::Section;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let only: Option<Vec<String>> =
        flag(&args, "--only").map(|list| list.split(',').map(str::to_owned).collect());
    let repeat: usize = flag(&args, "--repeat")
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let scale: f64 = flag(&args, "--pages-scale")
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    let trace = args.iter().any(|a| a == "--trace");
    let big = args.iter().any(|a| a == "--big");
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the workspace");
    build_release(&workspace);
    // Where `cargo build` put them: `CARGO_TARGET_DIR` when set (relative to the workspace,
    // or absolute: joining an absolute path replaces the base).
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| workspace.join("target"), |dir| workspace.join(dir));
    let binary = target.join("release/pagefold");
    let floor = target.join("release/floor");
    let plugin = target.join("release").join(format!(
        "{}sum_field{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    ));
    let sum_plugin = format!(
        "[[reduce]]\nname = \"revenue\"\nplugin = \"{}\"\nconfig = {{ field = \"/amount\" }}\n",
        plugin.display()
    );
    let scaled = |pages: u64| ((pages as f64 * scale).round() as u64).max(1);
    let ms = Duration::from_millis;
    let scenarios = scenarios::all(scale, sum_plugin);
    // `--only 3` runs 3a and 3b, not 13.
    let wanted = |id: &str| {
        only.as_ref().is_none_or(|only| {
            only.iter().any(|o| {
                id.strip_prefix(o.as_str())
                    .is_some_and(|rest| rest.chars().all(|c| c.is_ascii_alphabetic()))
            })
        })
    };

    let work = tempfile::tempdir().expect("a temporary folder");
    println!(
        "{:<4} {:<38} {:>6} {:>4} {:>6} {:>4} {:>8} {:>8} {:>6} {:>6} {:>8} {:>7} {:>8}  note",
        "#",
        "scenario",
        "pages",
        "size",
        "lat",
        "conc",
        "wall",
        "ideal",
        "ratio",
        "CPU",
        "pages/s",
        "MB/s",
        "RSS MiB",
    );
    let mut results: Vec<(&str, Measured, Option<Duration>)> = Vec::new();
    let mut trace_costs = Vec::new();
    let mut estimates: Vec<(&Scenario, Estimate)> = Vec::new();
    for scenario in scenarios.iter().filter(|s| wanted(s.id)) {
        let (measured, estimate, cost) =
            run_pagefold(&binary, scenario, work.path(), repeat, trace);
        trace_costs.extend(cost.map(|cost| (scenario.id, cost)));
        if scenario.check_sequential {
            estimates.push((scenario, estimate));
        }
        // A server that serves only some requests at once bounds the ideal, not concurrency.
        let capacity = scenario
            .faults
            .iter()
            .position(|flag| *flag == "--capacity")
            .and_then(|i| scenario.faults.get(i + 1)?.parse().ok())
            .unwrap_or(scenario.concurrency);
        let ideal = ideal(
            scenario.pages,
            capacity.min(scenario.concurrency),
            scenario.latency,
        );
        print_row(
            scenario.id,
            scenario.name,
            scenario.pages,
            scenario.page_size,
            scenario.latency,
            scenario.concurrency,
            &measured,
            ideal,
        );
        results.push((scenario.id, measured, ideal));
    }
    if wanted("6") {
        let pages = scaled(2000);
        let measured = run_python(&binary, pages, 50, ms(50), work.path());
        let ideal = ideal(pages, 64, ms(50));
        print_row(
            "6",
            "the usual script (python, requests)",
            pages,
            50,
            ms(50),
            0,
            &measured,
            ideal,
        );
        results.push(("6", measured, ideal));
    }
    if wanted("8") {
        let (before, added) = (scaled(2000), scaled(100));
        let (full, incremental) = run_incremental(&binary, before, added, work.path(), repeat);
        let all = before + added;
        print_row(
            "8a",
            "nightly, full run",
            all,
            50,
            ms(20),
            64,
            &full,
            ideal(all, 64, ms(20)),
        );
        print_row(
            "8b",
            "nightly, incremental (new pages only)",
            added,
            50,
            ms(20),
            64,
            &incremental,
            ideal(added, 64, ms(20)),
        );
        results.push(("8a", full, ideal(all, 64, ms(20))));
        results.push(("8b", incremental, ideal(added, 64, ms(20))));
    }
    if wanted("9") {
        let pages = scaled(120);
        let ideal_one = Duration::from_secs_f64(pages as f64 / 20.0);
        for (id, keys) in [("9a", 1), ("9b", 4)] {
            let measured = run_keys(&binary, pages, keys, work.path());
            let ideal = ideal_one / keys as u32;
            let name = format!(
                "keys: 20/s a token, {keys} key{}",
                if keys == 1 { "" } else { "s" }
            );
            print_row(id, &name, pages, 50, ms(0), 16, &measured, Some(ideal));
            results.push((id, measured, Some(ideal)));
        }
    }
    let mut sections: Vec<Section> = Vec::new();
    let mut section = |section: Section| {
        section.print_rows();
        sections.push(section);
    };
    if wanted("13") {
        section(floor::run(
            &binary,
            &floor,
            scaled(20_000),
            work.path(),
            repeat,
        ));
    }
    if wanted("14") {
        let (few, many) = (scaled(2000), scaled(200_000));
        section(small_pages::run(&binary, few, many, work.path(), repeat));
    }
    if wanted("15") {
        if big {
            section(distinct::run(&binary, scaled(100_000), work.path()));
        } else if only.is_some() {
            println!("15   (10 000 000 distinct values: with --big)");
        }
    }
    if wanted("16") {
        let pages = scaled(if big { 2000 } else { 200 });
        section(dlt::run(&binary, pages, &target, work.path(), repeat));
    }
    if wanted("17") {
        section(cursors::run(&binary, scaled(250), work.path()));
    }
    print_targets(&results, sections.iter().flat_map(|s| &s.targets));
    for line in sections.iter().flat_map(|s| &s.details) {
        println!("{line}");
    }
    for (id, cost) in &trace_costs {
        trace_cost::print(id, cost);
    }
    if !estimates.is_empty() {
        sequential::print_header();
        for (scenario, estimate) in estimates {
            let checked = sequential::check(&binary, scenario, &estimate, work.path());
            sequential::print_row(scenario, &estimate, &checked);
        }
    }
    if wanted("11") {
        database::run_database(work.path(), scale);
    }
    if wanted("12") {
        let pages = scaled(2000);
        let figures = shards::run(&binary, pages, scaled(20_000), work.path());
        let ideal = ideal(pages, 64, ms(50));
        print_row(
            "12a",
            "one process, 64 in flight",
            pages,
            50,
            ms(50),
            64,
            &figures.one,
            ideal,
        );
        print_row(
            "12b",
            "4 shards of 16 in flight, merged",
            pages,
            50,
            ms(50),
            64,
            &figures.sharded,
            ideal,
        );
        shards::print(&figures);
    }
}

fn flag(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

fn build_release(workspace: &Path) {
    eprintln!("building the release binary, the sum_field plugin and the floor client…");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let build = |packages: &[&str], what: &str| {
        let status = Command::new(&cargo)
            .current_dir(workspace)
            .args(["build", "--release", "--quiet"])
            .args(packages)
            .status()
            .expect("cargo runs");
        assert!(status.success(), "the release build of {what} failed");
    };
    build(
        &["-p", "pagefold", "-p", "sum_field"],
        "pagefold and sum_field",
    );
    // `cargo run` built the benchmark, not the floor client beside it.
    build(
        &["-p", "pagefold-bench", "--bin", "floor"],
        "the floor client",
    );
}
