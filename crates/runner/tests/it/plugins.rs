//! Reducer plugins, built from this workspace and loaded by the binary.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use pagefold_demo_api::{DemoConfig, Order};
use serde_json::{Value, json};

use crate::support::{Masks, Workspace, demo_server, orders, orders_job, run_job};

const PLUGINS: [&str; 10] = [
    "quantiles",
    "group_stats",
    "top_records",
    "sum_field",
    "abi_mismatch",
    "no_symbol",
    "panicky",
    "slow",
    "bad_hll",
    "crashy",
];

/// The library of plugin crate `name`, built once per test run. The build uses a target folder
/// of its own, so it never waits on the lock of the `cargo test` that runs us.
pub(crate) fn plugin(name: &str) -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    let folder = BUILT.get_or_init(|| {
        let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
        let target = workspace.join("target/test-plugins");
        let mut cargo = std::process::Command::new(env!("CARGO"));
        cargo
            .current_dir(&workspace)
            .args(["build", "--quiet", "--target-dir"])
            .arg(&target)
            // Optimised (a little), so that runs do not warn about a debug build; the one debug
            // build the tests need is the crate `plugin new` writes.
            .env("CARGO_PROFILE_DEV_OPT_LEVEL", "1");
        for plugin in PLUGINS {
            cargo.args(["-p", plugin]);
        }
        let status = cargo.status().expect("cargo runs");
        assert!(status.success(), "building the plugins failed");
        target.join("debug")
    });
    folder.join(libloading_name(name))
}

fn libloading_name(name: &str) -> String {
    format!(
        "{}{name}{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    )
}

const PAGES: &str =
    "kind = \"page\"\nsize_param = \"per_page\"\nsize = 40\ntotal_records = \"/meta/total\"";

fn mixed_reducers() -> String {
    format!(
        r#"
[[reduce]]
name = "orders"
use = "count"

[[reduce]]
name = "cents"
use = "sum"
field = "/amount_cents"

[[reduce]]
name = "cents_by_plugin"
plugin = "{sum}"
config = {{ field = "/amount_cents" }}

[[reduce]]
name = "by_status"
plugin = "{groups}"
config = {{ key = "/status", field = "/amount_cents" }}

[[reduce]]
name = "biggest"
plugin = "{top}"
config = {{ by = "/amount_cents", n = 3 }}

[[reduce]]
name = "quantiles"
plugin = "{quantiles}"
config = {{ field = "/amount_cents", q = [0.5, 0.9] }}
"#,
        sum = plugin("sum_field").display(),
        groups = plugin("group_stats").display(),
        top = plugin("top_records").display(),
        quantiles = plugin("quantiles").display(),
    )
}

fn expected_groups(orders: &[Order]) -> Value {
    let mut groups = serde_json::Map::new();
    for status in pagefold_demo_api::STATUSES {
        let cents: Vec<u64> = orders
            .iter()
            .filter(|o| o.status == status)
            .map(|o| o.amount_cents)
            .collect();
        if cents.is_empty() {
            continue;
        }
        let sum: u64 = cents.iter().sum();
        groups.insert(
            status.into(),
            json!({
                "records": cents.len(), "count": cents.len(), "sum": sum,
                "min": *cents.iter().min().unwrap() as f64, "max": *cents.iter().max().unwrap() as f64,
                "mean": sum as f64 / cents.len() as f64,
            }),
        );
    }
    groups.into()
}

#[test]
fn a_job_mixing_builtins_and_plugins_is_exact() {
    let config = DemoConfig {
        records: 1500,
        ..DemoConfig::default()
    };
    let server = demo_server(config.clone());
    let data = orders(&config);
    let work = Workspace::new();
    let job = work.job(
        "mixed.toml",
        &orders_job(&server, PAGES, 8, &mixed_reducers()),
    );
    let result = run_job(&job, &[]).result();
    let reducers = &result["reducers"];

    let cents: u64 = data.iter().map(|o| o.amount_cents).sum();
    assert_eq!(reducers["orders"], json!(1500));
    assert_eq!(reducers["cents"], json!(cents));
    assert_eq!(reducers["cents_by_plugin"], json!(cents));
    assert_eq!(reducers["by_status"], expected_groups(&data));

    let mut by_amount: Vec<&Order> = data.iter().collect();
    by_amount.sort_by(|a, b| b.amount_cents.cmp(&a.amount_cents).then(a.id.cmp(&b.id)));
    let biggest: Vec<Value> = by_amount[..3]
        .iter()
        .map(|o| serde_json::to_value(o).unwrap())
        .collect();
    assert_eq!(reducers["biggest"], json!(biggest));

    let mut sorted: Vec<u64> = data.iter().map(|o| o.amount_cents).collect();
    sorted.sort_unstable();
    let quantiles = &reducers["quantiles"];
    assert_eq!(quantiles["count"], json!(1500));
    assert_eq!(quantiles["min"], json!(sorted[0] as f64));
    assert_eq!(quantiles["max"], json!(sorted[1499] as f64));
    for (q, key) in [(0.5, "p50"), (0.9, "p90")] {
        let exact = sorted[(q * 1499.0) as usize] as f64;
        let estimate = quantiles[key].as_f64().unwrap();
        assert!(
            (estimate - exact).abs() <= 0.01 * exact,
            "{key}: {estimate} vs {exact}"
        );
    }
}

#[test]
fn plugin_results_do_not_depend_on_workers_or_concurrency() {
    let config = DemoConfig {
        records: 1200,
        max_page_size: 30,
        totals: false,
        ..DemoConfig::default()
    };
    let server = demo_server(config);
    let work = Workspace::new();
    let pages = "kind = \"page\"\nsize_param = \"per_page\"\nsize = 30";
    let one = run_job(
        &work.job(
            "one.toml",
            &orders_job(&server, pages, 1, &mixed_reducers()),
        ),
        &["--workers", "1"],
    )
    .result();
    let many = run_job(
        &work.job(
            "many.toml",
            &orders_job(&server, pages, 32, &mixed_reducers()),
        ),
        &["--workers", "4"],
    )
    .result();
    assert_eq!(one["reducers"], many["reducers"]);
    assert_eq!(one["records"], json!(1200));
}

/// Runs a job whose only reducer is `reducer`, expecting failure before any request.
fn failing(reducer: &str) -> (String, u64) {
    let server = demo_server(DemoConfig {
        records: 100,
        ..DemoConfig::default()
    });
    let work = Workspace::new();
    let text = format!(
        "{}\n[output]\npath = \"out.json\"\n",
        orders_job(&server, PAGES, 4, reducer)
    );
    let job = work.job("failing.toml", &text);
    let run = run_job(&job, &[]);
    assert_eq!(run.code(), 1, "{}", run.stderr());
    assert!(!work.path().join("out.json").exists());
    (run.stderr(), server.stats().requests())
}

#[test]
fn a_plugin_built_for_another_abi_is_refused_with_what_to_do() {
    let path = plugin("abi_mismatch");
    let (stderr, requests) = failing(&format!(
        "[[reduce]]\nname = \"old\"\nplugin = \"{}\"\n",
        path.display()
    ));
    let expected = format!(
        "error: reducer `old`: plugin `{}` was built for pagefold plugin ABI 0.3, but this pagefold speaks ABI 1.1\n\
         hint: rebuild the plugin against pagefold-reducer 0.1.0 (ABI 1.1)\n",
        path.display()
    );
    assert_eq!(stderr, expected);
    assert_eq!(requests, 0, "nothing is fetched when a plugin cannot load");
}

#[test]
fn a_library_without_the_entry_point_is_not_a_plugin() {
    let path = plugin("no_symbol");
    let (stderr, _) = failing(&format!(
        "[[reduce]]\nname = \"x\"\nplugin = \"{}\"\n",
        path.display()
    ));
    let expected = format!(
        "error: reducer `x`: `{}` is a library but not a pagefold plugin: it has no `pagefold_reducer_plugin` symbol\n",
        path.display()
    );
    assert!(stderr.starts_with(&expected), "{stderr}");
    assert!(
        stderr.contains("hint: a plugin calls `pagefold_reducer::export_reducer!(YourReducer)`"),
        "{stderr}"
    );
}

#[test]
fn a_file_that_is_not_a_library_or_is_missing_is_a_clear_error() {
    let work = Workspace::new();
    let fake = work.path().join("libfake.so");
    std::fs::write(&fake, "#!/bin/sh\necho not a library\n").unwrap();
    let (stderr, _) = failing(&format!(
        "[[reduce]]\nname = \"x\"\nplugin = \"{}\"\n",
        fake.display()
    ));
    assert!(
        stderr.starts_with(&format!(
            "error: reducer `x`: `{}` is not a loadable library: ",
            fake.display()
        )),
        "{stderr}"
    );

    let missing = work.path().join("libmissing.so");
    let (stderr, _) = failing(&format!(
        "[[reduce]]\nname = \"x\"\nplugin = \"{}\"\n",
        missing.display()
    ));
    assert!(
        stderr.starts_with(&format!(
            "error: reducer `x`: plugin `{}` does not exist\n",
            missing.display()
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains("hint: build the plugin with `cargo build --release`"),
        "{stderr}"
    );
}

#[test]
fn a_panicking_plugin_is_reported_not_a_crash() {
    let server = demo_server(DemoConfig {
        records: 200,
        ..DemoConfig::default()
    });
    let work = Workspace::new();
    let reducer = format!(
        "[[reduce]]\nname = \"cursed\"\nplugin = \"{}\"\nconfig = {{ panic_on_id = 77 }}\n",
        plugin("panicky").display()
    );
    let job = work.job("panics.toml", &orders_job(&server, PAGES, 4, &reducer));
    let run = run_job(&job, &[]);
    assert_eq!(run.code(), 1, "{}", run.stderr());
    let stderr = run.stderr();
    assert!(
        stderr.starts_with("error: reducer `cursed` (plugin `panicky` 0.1.0) panicked: record 77 is cursed (at tests/plugins/panicky/src/lib.rs:"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "on `{}`",
            server.url("/orders?page=2&per_page=40")
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains("hint: this is a bug in the plugin"),
        "{stderr}"
    );
    assert_eq!(run.stdout(), "");
}

#[test]
fn a_bad_plugin_config_says_what_is_wrong() {
    let quantiles = plugin("quantiles");
    let (stderr, _) = failing(&format!(
        "[[reduce]]\nname = \"q\"\nplugin = \"{}\"\nconfig = {{ field = \"/amount\", q = [95] }}\n",
        quantiles.display()
    ));
    let expected = format!(
        "error: reducer `q`: plugin `quantiles` (`{}`) rejected its config: `q` holds 95, but quantiles are from 0 to 1 (0.95 is p95)\n\
         hint: check the reducer's `config` in the job file\n",
        quantiles.display()
    );
    assert_eq!(stderr, expected);

    let (stderr, _) = failing(&format!(
        "[[reduce]]\nname = \"q\"\nplugin = \"{}\"\nconfig = {{ feild = \"/amount\" }}\n",
        quantiles.display()
    ));
    assert!(
        stderr.contains("rejected its config: invalid config: unknown field `feild`, expected one of `field`, `q`, `relative_accuracy`"),
        "{stderr}"
    );
}

/// Copies the files of the crate at `from` (its target folder aside) to `to`.
fn copy_crate(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let path = entry.path();
        if entry.file_name() == "target" {
            continue;
        }
        if path.is_dir() {
            copy_crate(&path, &to.join(entry.file_name()));
        } else {
            std::fs::copy(&path, to.join(entry.file_name())).unwrap();
        }
    }
}

/// The target folder builds of generated crates share with the test plugins.
fn generated_target() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/test-plugins")
}

fn plugin_new(name: &str, dir: &Path) -> PathBuf {
    let run = crate::support::pagefold(&["plugin", "new", name, "--dir", dir.to_str().unwrap()]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    dir.join(name)
}

#[test]
fn plugin_new_writes_a_crate_that_builds_and_loads_anywhere() {
    let work = Workspace::new();
    let written = plugin_new("order_total", &work.path().join("first"));
    let readme = std::fs::read_to_string(written.join("README.md")).unwrap();
    assert!(
        readme.contains("plugin = \"order_total/target/release/liborder_total.so\""),
        "{readme}"
    );
    let manifest = std::fs::read_to_string(written.join("Cargo.toml")).unwrap();
    assert!(
        !manifest.contains(env!("CARGO_MANIFEST_DIR")) && !manifest.contains("/crates/"),
        "the crate names nothing of this repository: {manifest}"
    );

    // Only its files, elsewhere, offline: the SDK comes with it, the rest from Cargo's cache.
    let crate_dir = work.path().join("elsewhere/order_total");
    copy_crate(&written, &crate_dir);
    std::fs::remove_dir_all(&written).unwrap();
    let target = generated_target();
    let status = std::process::Command::new(env!("CARGO"))
        .current_dir(&crate_dir)
        .args(["build", "--quiet", "--offline", "--target-dir"])
        .arg(&target)
        .status()
        .unwrap();
    assert!(status.success(), "the generated plugin builds");

    let config = DemoConfig {
        records: 321,
        ..DemoConfig::default()
    };
    let server = demo_server(config.clone());
    let library = target.join("debug").join(libloading_name("order_total"));
    let reducer = format!(
        "[[reduce]]\nname = \"total\"\nplugin = \"{}\"\nconfig = {{ field = \"/amount_cents\" }}\n",
        library.display()
    );
    let job = work.job("generated.toml", &orders_job(&server, PAGES, 4, &reducer));
    let run = run_job(&job, &[]);
    let cents: u64 = orders(&config).iter().map(|o| o.amount_cents).sum();
    assert_eq!(run.result()["reducers"]["total"], json!(cents));
    assert!(
        run.stderr().contains(
            "warning: reducer `total`: plugin `order_total` 0.1.0 was built without optimisations"
        ),
        "a debug build is a warning at run time: {}",
        run.stderr()
    );

    // `plugin check` of that debug build.
    let check = crate::support::pagefold(&[
        "plugin",
        "check",
        library.to_str().unwrap(),
        "--config",
        r#"{"field": "/amount_cents"}"#,
    ]);
    let masks = Masks::new().path(&target, "[plugins]");
    insta::with_settings!({ filters => masks.filters() }, {
        insta::assert_snapshot!("plugin-check-debug-build", check.shown());
    });

    let again = plugin_new_fails("order_total", &work.path().join("elsewhere"));
    assert!(again.contains("already exists"), "{again}");
}

fn plugin_new_fails(name: &str, dir: &Path) -> String {
    let run = crate::support::pagefold(&["plugin", "new", name, "--dir", dir.to_str().unwrap()]);
    assert_eq!(run.code(), 2);
    run.stderr()
}

#[test]
fn a_generated_crate_without_export_reducer_fails_its_own_tests() {
    let work = Workspace::new();
    let crate_dir = plugin_new("forgetful", work.path());
    let lib = crate_dir.join("src/lib.rs");
    let source = std::fs::read_to_string(&lib).unwrap();
    let without = source.replace("export_reducer!(Forgetful);", "");
    assert_ne!(without, source, "the template calls the macro");
    std::fs::write(&lib, without).unwrap();
    let output = std::process::Command::new(env!("CARGO"))
        .current_dir(&crate_dir)
        .args(["test", "--quiet", "--offline", "--target-dir"])
        .arg(generated_target())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success(),
        "cargo test passed without the macro"
    );
    assert!(stderr.contains("pagefold_reducer_plugin"), "{stderr}");
}

#[test]
fn plugin_check_shows_what_a_plugin_is() {
    let work = Workspace::new();
    let fake = work.path().join("libfake.so");
    std::fs::write(&fake, "not a library").unwrap();
    let masks = Masks::new()
        .path(&generated_target(), "[plugins]")
        .path(work.path(), "[work]")
        .rule(r"(opt-level )\d", "${1}N");
    let cases = [
        (
            "plugin-check-example",
            vec![
                "plugin".to_owned(),
                "check".into(),
                plugin("quantiles").display().to_string(),
                "--config".into(),
                r#"{"field": "/amount", "q": [0.5]}"#.into(),
            ],
        ),
        (
            "plugin-check-bad-config",
            vec![
                "plugin".to_owned(),
                "check".into(),
                plugin("quantiles").display().to_string(),
                "--config".into(),
                r#"{"field": "/amount", "q": [95]}"#.into(),
            ],
        ),
        (
            "plugin-check-abi-mismatch",
            vec![
                "plugin".to_owned(),
                "check".into(),
                plugin("abi_mismatch").display().to_string(),
            ],
        ),
        (
            "plugin-check-not-a-library",
            vec![
                "plugin".to_owned(),
                "check".into(),
                fake.display().to_string(),
            ],
        ),
    ];
    for (name, args) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = crate::support::pagefold(&args);
        insta::with_settings!({ filters => masks.filters() }, {
            insta::assert_snapshot!(name, run.shown());
        });
    }
}

/// A reducer slower than the request timeout holds fetching back (the channel to the reducers
/// is full), but requests in flight meanwhile go on on their own tasks: none times out, and
/// none is retried.
#[test]
fn a_reducer_slower_than_the_request_timeout_causes_no_timeouts() {
    let config = DemoConfig {
        records: 30 * 50,
        ..DemoConfig::default()
    };
    let server = demo_server(config);
    let work = Workspace::new();
    let reducer = format!(
        "[[reduce]]\nname = \"count\"\nplugin = \"{}\"\nconfig = {{ sleep_ms = 100 }}\n",
        plugin("slow").display()
    );
    let text = orders_job(
        &server,
        "kind = \"page\"\nsize_param = \"per_page\"\nsize = 50",
        8,
        &reducer,
    )
    .replace(
        "timeout = \"10s\"\nretries = 3",
        "timeout = \"300ms\"\nretries = 0\nworkers = 1",
    );
    let job = work.job("slow.toml", &text);
    let result = run_job(&job, &[]).result();
    assert_eq!(result["reducers"]["count"], 1500);
    assert_eq!(result["stats"]["retries"], 0);
    assert!(
        result["stats"]["waited_on_reducers_seconds"]
            .as_f64()
            .unwrap()
            > 0.3,
        "fetching was held back longer than the timeout: {result}"
    );
}

/// `plugin = "rel.so"` in a job run from its own folder (the joined path has no `/`), and
/// `plugin = "libm.so.6"` (a system library's name): the file beside the job is loaded, never
/// one the dynamic loader finds on the system's path.
#[test]
fn a_plugin_path_without_a_slash_is_the_file_beside_the_job() {
    let server = demo_server(DemoConfig {
        records: 90,
        ..DemoConfig::default()
    });
    let expected: u64 = orders(&DemoConfig {
        records: 90,
        ..DemoConfig::default()
    })
    .iter()
    .map(|order| order.amount_cents)
    .sum();
    for name in ["rel.so", "libm.so.6"] {
        let ws = Workspace::new();
        std::fs::copy(plugin("sum_field"), ws.path().join(name)).unwrap();
        ws.job(
            "job.toml",
            &orders_job(
                &server,
                PAGES,
                4,
                &format!(
                    "[[reduce]]\nname = \"cents\"\nplugin = \"{name}\"\nconfig = {{ field = \"/amount_cents\" }}\n"
                ),
            ),
        );
        let output = crate::support::command()
            .current_dir(ws.path())
            .args(["run", "job.toml", "-q"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "{name}: {stderr}");
        let result: Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(result["reducers"]["cents"], json!(expected), "{name}");
    }
}
