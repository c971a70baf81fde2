//! What users read, pinned as insta snapshots (`snapshots/it__wording__*.snap`): every
//! `--help`, `validate` and `plan` of the example jobs, `plan --probe`, `history` and the
//! summary line of a run. Filters hide only what changes from run to run (ports, temporary
//! folders, the clock, durations); the bad-input corpus has its own snapshots (`corpus.rs`).

use std::path::{Path, PathBuf};

use pagefold_demo_api::{DemoConfig, DemoServer};

use crate::support::{DURATION, Masks, Run, Workspace, command, demo_server, pagefold};

/// The repository, whose `jobs/` the examples are run from (as `jobs/NAME.toml`, the way the
/// README shows them).
fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Dummy values of the examples' `${env.…}`: long enough to be hidden as real ones are.
const EXAMPLE_ENV: [(&str, &str); 2] = [
    ("GITHUB_TOKEN", "ghp_dummy_token_for_snapshots"),
    ("STRIPE_KEY", "sk_test_dummy_key_for_snapshots"),
];

/// The example jobs, by file stem.
fn example_jobs() -> Vec<String> {
    let mut stems: Vec<String> = std::fs::read_dir(repository().join("jobs"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "toml"))
        .map(|path| path.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    stems.sort();
    assert!(stems.len() >= 7, "{stems:?}");
    stems
}

/// `pagefold ARGS` in the repository, with the examples' environment.
fn in_repository(args: &[&str]) -> Run {
    let output = command()
        .current_dir(repository())
        .args(args)
        .envs(EXAMPLE_ENV)
        .output()
        .expect("pagefold runs");
    Run { output }
}

/// The next run times of a schedule, which move with the clock: the day and date, the zone
/// where it has summer time, and the UTC time in brackets. The local time of day stays.
fn schedule_masks(masks: Masks) -> Masks {
    masks
        .rule(
            r"\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d{4}-\d{2}-\d{2} ",
            "[day] [date] ",
        )
        .rule(r"next run \d{4}-\d{2}-\d{2} ", "next run [date] ")
        .rule(r"(\d{2}:\d{2}:\d{2}) CES?T\b", "$1 [CET or CEST]")
        .rule(r"\(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z\)", "([UTC time])")
}

#[test]
fn help_of_every_command() {
    let commands: [&[&str]; 18] = [
        &["--help"],
        &["-h"],
        &["run", "--help"],
        &["validate", "--help"],
        &["schedule", "--help"],
        &["history", "--help"],
        &["report", "--help"],
        &["plan", "--help"],
        &["merge", "--help"],
        &["demo", "--help"],
        &["demo-api", "--help"],
        &["plugin", "--help"],
        &["plugin", "new", "--help"],
        &["plugin", "check", "--help"],
        &["init", "--help"],
        &["completions", "--help"],
        &["man", "--help"],
        &["schema", "--help"],
    ];
    for args in commands {
        // As a user sees it: without the state folder the tests set (`[env: PAGEFOLD_STATE=]`).
        let output = command()
            .env_remove("PAGEFOLD_STATE")
            .args(args)
            .output()
            .expect("pagefold runs");
        let run = Run { output };
        let mut name = vec!["help", "pagefold"];
        name.extend(args.iter().filter(|arg| !arg.starts_with('-')));
        if args.last() == Some(&"-h") {
            name.push("short");
        }
        insta::assert_snapshot!(name.join("-"), run.shown());
    }
}

#[test]
fn validate_every_example_job() {
    let masks = schedule_masks(Masks::new());
    insta::with_settings!({ filters => masks.filters() }, {
        for stem in example_jobs() {
            let run = if stem == "plugins" {
                validate_plugins_example()
            } else {
                in_repository(&["validate", &format!("jobs/{stem}.toml")])
            };
            assert_eq!(run.code(), 0, "{}", run.stderr());
            insta::assert_snapshot!(format!("validate-{stem}"), run.shown());
        }
    });
}

/// `validate` loads and builds plugins: the plugins example is validated as a copy (in a
/// `jobs` folder of its own) that names the plugins the tests build, not the release builds
/// the example tells its reader to make.
fn validate_plugins_example() -> Run {
    let work = Workspace::new();
    let jobs = work.path().join("jobs");
    std::fs::create_dir(&jobs).unwrap();
    let plugins = crate::plugins::plugin("quantiles");
    let text = std::fs::read_to_string(repository().join("jobs/plugins.toml"))
        .unwrap()
        .replace(
            "../target/release/",
            &format!("{}/", plugins.parent().unwrap().display()),
        );
    std::fs::write(jobs.join("plugins.toml"), text).unwrap();
    let output = command()
        .current_dir(work.path())
        .args(["validate", "jobs/plugins.toml"])
        .output()
        .expect("pagefold runs");
    Run { output }
}

#[test]
fn validate_an_example_without_its_token() {
    let output = command()
        .current_dir(repository())
        .env_remove("GITHUB_TOKEN")
        .args(["validate", "jobs/github-issues.toml"])
        .output()
        .expect("pagefold runs");
    insta::assert_snapshot!(
        "validate-github-issues-without-token",
        Run { output }.shown()
    );
}

#[test]
fn validate_a_scheduled_job_shows_its_next_runs() {
    let work = Workspace::new();
    let job = work.job(
        "mondays.toml",
        "schedule = \"0 6 * * 1\"\n[source]\nurl = \"http://127.0.0.1:9/orders\"\n\
         [[reduce]]\nuse = \"count\"\n",
    );
    let run = pagefold(&["validate", job.to_str().unwrap()]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    // Mondays at 06:00 UTC: only the dates move with the clock.
    let masks = Masks::new()
        .path(work.path(), "[work]")
        .rule(r"\b\d{4}-\d{2}-\d{2}( |T)06:00:00", "[date]${1}06:00:00");
    insta::with_settings!({ filters => masks.filters() }, {
        insta::assert_snapshot!("validate-scheduled", run.shown());
    });
}

#[test]
fn plan_of_every_example_job() {
    let masks = schedule_masks(Masks::new())
        .path(&repository().canonicalize().unwrap(), "[repository]")
        .rule(r"/\d{4}-\d{2}-\d{2}\.", "/[date].");
    insta::with_settings!({ filters => masks.filters() }, {
        for stem in example_jobs() {
            let run = in_repository(&["plan", &format!("jobs/{stem}.toml")]);
            assert_eq!(run.code(), 0, "{}", run.stderr());
            insta::assert_snapshot!(format!("plan-{stem}"), run.shown());
        }
    });
}

/// A page-numbered job over `server`'s orders, `size` a page, with the total read from the
/// first page; its `[fetch]` table's body is `fetch`.
fn demo_job(server: &DemoServer, size: u64, fetch: &str) -> String {
    format!(
        "name = \"orders\"\n[source]\nurl = \"{}\"\nrecords = \"/data\"\n\
         [source.pagination]\nkind = \"page\"\nsize_param = \"per_page\"\nsize = {size}\n\
         total_records = \"/meta/total\"\n[fetch]\n{fetch}\n\
         [[reduce]]\nname = \"orders\"\nuse = \"count\"\n\
         [[reduce]]\nname = \"revenue\"\nuse = \"sum\"\nfield = \"/amount\"\n",
        server.url("/orders")
    )
}

#[test]
fn plan_with_a_probe_of_a_demo_job() {
    let server = demo_server(DemoConfig {
        records: 230,
        ..DemoConfig::default()
    });
    let work = Workspace::new();
    let job = work.job("probed.toml", &demo_job(&server, 20, "concurrency = 4"));
    let run = pagefold(&["plan", job.to_str().unwrap(), "--probe"]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert_eq!(server.stats().requests(), 1, "one request a chain");
    // The first page's latency, and the time estimated from it.
    let masks = Masks::new()
        .path(work.path(), "[work]")
        .rule(
            &format!(r"(records reported), {DURATION}\n"),
            "$1, [time]\n",
        )
        .rule(
            &format!(r"; ~{DURATION} at (\d+) in flight and {DURATION} a request"),
            "; ~[time] at $3 in flight and [time] a request",
        );
    // `max_pages` short of the API's pages: the estimate holds to it, and says so.
    let capped = work.job(
        "capped.toml",
        &demo_job(&server, 20, "concurrency = 4")
            .replace("total_records =", "max_pages = 5\ntotal_records ="),
    );
    let capped = pagefold(&["plan", capped.to_str().unwrap(), "--probe"]);
    assert_eq!(capped.code(), 0, "{}", capped.stderr());
    // A field no record of the first page has: said before any full run.
    let typo = work.job(
        "typo.toml",
        &demo_job(&server, 20, "concurrency = 4").replace("\"/amount\"", "\"/amout\""),
    );
    let typo = pagefold(&["plan", typo.to_str().unwrap(), "--probe"]);
    assert_eq!(typo.code(), 0, "{}", typo.stderr());
    insta::with_settings!({ filters => masks.filters() }, {
        insta::assert_snapshot!("plan-probe", run.shown());
        insta::assert_snapshot!("plan-probe-max-pages", capped.shown());
        insta::assert_snapshot!("plan-probe-typo", typo.shown());
    });
}

#[test]
fn history_after_two_runs_and_a_failed_one() {
    let server = demo_server(DemoConfig {
        records: 120,
        ..DemoConfig::default()
    });
    let work = Workspace::new();
    // One request in flight: the failed run asks for its first page only, twice.
    let fetch = "concurrency = 1\nretries = 1\nbackoff = { base = \"1ms\", max = \"1ms\" }";
    let job = work.job("orders.toml", &demo_job(&server, 50, fetch));
    let state = work.path().join("state");
    let (job, state) = (job.to_str().unwrap(), state.to_str().unwrap());
    let out = work.path().join("out.json");
    for extra in [&[][..], &["-o", out.to_str().unwrap()][..]] {
        let mut args = vec!["run", job, "-q", "--state", state];
        args.extend_from_slice(extra);
        let run = pagefold(&args);
        assert_eq!(run.code(), 0, "{}", run.stderr());
    }
    drop(server);
    let failed = pagefold(&["run", job, "-q", "--state", state]);
    assert_eq!(failed.code(), 1, "{}", failed.stderr());

    let masks = Masks::new()
        .path(work.path(), "[work]")
        .rule(
            r"\b\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC  \d+\.\ds\b",
            "[date] [time] UTC  [took]",
        )
        .rule(r"\b\d{8}T\d{6}Z-[0-9a-f]{4}\b", "[run id]")
        .rule(
            r"\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z\b",
            "[RFC 3339 time]",
        )
        .rule(
            &format!(r"(failed after \d+ attempts?) in {DURATION}\b"),
            "$1 in [time]",
        );
    insta::with_settings!({ filters => masks.filters() }, {
        insta::assert_snapshot!("history-failed-run", failed.shown());
        let table = pagefold(&["history", job, "--state", state]);
        insta::assert_snapshot!("history-table", table.shown());
        let json = pagefold(&["history", "orders", "--json", "--state", state]);
        insta::assert_snapshot!("history-json", json.shown());
        let last = pagefold(&["history", "orders", "-n", "1", "--state", state]);
        insta::assert_snapshot!("history-table-last", last.shown());
        let none = pagefold(&["history", "never-run", "--state", state]);
        insta::assert_snapshot!("history-none", none.shown());
    });
}

#[test]
fn the_summary_line_of_a_run() {
    // A latency that dwarfs the rest: 4 in flight make the run clearly faster than one page
    // after another, so the ratio is printed.
    let server = demo_server(DemoConfig {
        records: 230,
        latency: std::time::Duration::from_millis(30),
        ..DemoConfig::default()
    });
    let work = Workspace::new();
    // One reduce worker whose queue holds every page: reducing never holds fetching back,
    // so the line has no clause about it.
    let job = work.job(
        "orders.toml",
        &demo_job(&server, 20, "concurrency = 4\nworkers = 1"),
    );
    let out = work.path().join("out.json");
    let run = pagefold(&["run", job.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let masks = Masks::new()
        .path(work.path(), "[work]")
        .rule(r"\(\d+\.\d MB, ", "([size] MB, ")
        .rule(r" in \d+\.\d{2}s with ", " in [time] with ")
        .rule(
            r"would take ~\d+\.\d{2}s \(\d+\.\d× faster\)",
            "would take ~[time] ([ratio]× faster)",
        );
    insta::with_settings!({ filters => masks.filters() }, {
        insta::assert_snapshot!("run-summary", run.shown());
    });
}
