//! `pagefold init URL`: on every endpoint the demo API serves by GET, the job it writes runs
//! unchanged and counts exactly; what it writes and says is pinned by snapshots; credentials
//! never enter the file or the output.

use pagefold_demo_api::{DemoAuth, DemoConfig, DemoServer};
use serde_json::json;

use crate::support::{Workspace, demo_server, pagefold, pagefold_with_env};

const RECORDS: u64 = 1234;

fn server(auth: Option<DemoAuth>) -> DemoServer {
    demo_server(DemoConfig {
        records: RECORDS,
        auth,
        ..DemoConfig::default()
    })
}

/// Ports and temporary folders out of what is pinned.
fn pinned(text: &str, work: &Workspace) -> String {
    let text = text.replace(&work.path().display().to_string(), "[work]");
    let mut out = String::new();
    let mut rest = text.as_str();
    while let Some(at) = rest.find("127.0.0.1:") {
        out.push_str(&rest[..at + "127.0.0.1:".len()]);
        rest = rest[at + "127.0.0.1:".len()..].trim_start_matches(|c: char| c.is_ascii_digit());
        out.push_str("[port]");
    }
    out.push_str(rest);
    out
}

#[test]
fn init_writes_a_job_that_runs_unchanged_on_every_endpoint() {
    let cases = [
        ("orders", "/orders", RECORDS),
        ("orders-sized", "/orders?per_page=50", RECORDS),
        ("offsets", "/orders?offset=0&limit=50", RECORDS),
        ("bare", "/orders/bare?per_page=100", RECORDS),
        ("cursor", "/cursor/orders?limit=100", RECORDS),
        ("stripe", "/stripe/orders?limit=100", RECORDS),
        ("next-url", "/next/orders?per_page=100", RECORDS),
        ("links", "/links/orders?per_page=100", RECORDS),
        ("customers", "/customers?per_page=100", 500),
        ("drf", "/drf/orders?page_size=100", RECORDS),
        ("headers", "/headers/orders?per_page=100", RECORDS),
    ];
    for (name, path, records) in cases {
        let server = server(None);
        let work = Workspace::new();
        let job = work.path().join(format!("{name}.toml"));
        let init = pagefold(&["init", &server.url(path), "-o", job.to_str().unwrap()]);
        assert_eq!(init.code(), 0, "{name}: {}", init.stderr());
        let text = std::fs::read_to_string(&job).unwrap();
        insta::assert_snapshot!(format!("init-{name}-file"), pinned(&text, &work));
        insta::assert_snapshot!(format!("init-{name}-stderr"), pinned(&init.stderr(), &work));
        let run = pagefold(&["run", job.to_str().unwrap(), "-q"]);
        let result = run.result();
        assert_eq!(result["records"], json!(records), "{name}: {text}");
        assert_eq!(result["reducers"]["records"], json!(records), "{name}");
    }
}

#[test]
fn an_existing_file_is_kept_unless_forced() {
    let server = server(None);
    let work = Workspace::new();
    let job = work.job("kept.toml", "# mine\n");
    let init = pagefold(&["init", &server.url("/orders"), "-o", job.to_str().unwrap()]);
    assert_eq!(init.code(), 2, "{}", init.stderr());
    insta::assert_snapshot!("init-exists", pinned(&init.stderr(), &work));
    assert_eq!(std::fs::read_to_string(&job).unwrap(), "# mine\n");
    let init = pagefold(&[
        "init",
        &server.url("/orders"),
        "-o",
        job.to_str().unwrap(),
        "--force",
    ]);
    assert_eq!(init.code(), 0, "{}", init.stderr());
    assert!(
        std::fs::read_to_string(&job)
            .unwrap()
            .contains("kind = \"page\"")
    );
}

#[test]
fn credentials_are_named_by_their_variables_never_written() {
    const TOKEN: &str = "tok-Init-9d7f2c1b";
    const KEY: &str = "key-Init-4a8e6b0d";
    for (auth, args, env) in [
        (
            DemoAuth::Bearer(TOKEN.into()),
            vec!["--bearer-env", "DEMO_TOKEN"],
            ("DEMO_TOKEN", TOKEN),
        ),
        (
            DemoAuth::Header("x-api-key".into(), KEY.into()),
            vec!["--header", "X-API-Key: key-Init-4a8e6b0d"],
            ("X_API_KEY", KEY),
        ),
    ] {
        let server = server(Some(auth));
        let work = Workspace::new();
        let job = work.path().join("secret.toml");
        let url = server.url("/orders?per_page=100");
        let mut command = vec!["init", url.as_str(), "-o", job.to_str().unwrap()];
        command.extend(args.iter().copied());
        let init = pagefold_with_env(&command, &[("DEMO_TOKEN", TOKEN)]);
        assert_eq!(init.code(), 0, "{}", init.stderr());
        let text = std::fs::read_to_string(&job).unwrap();
        for secret in [TOKEN, KEY] {
            assert!(!text.contains(secret), "{text}");
            assert!(!init.stderr().contains(secret), "{}", init.stderr());
        }
        assert!(text.contains(&format!("${{env.{}}}", env.0)), "{text}");
        let run = pagefold_with_env(&["run", job.to_str().unwrap(), "-q"], &[env]);
        assert_eq!(run.result()["records"], json!(RECORDS));
    }
}

/// The README's compatibility table: every example job runs against the demo API, exactly.
#[test]
fn every_job_of_the_compatibility_table_runs() {
    let jobs = [
        ("demo.toml", RECORDS),
        ("compat/offset.toml", RECORDS),
        ("compat/page-increment.toml", RECORDS),
        ("compat/json-link.toml", RECORDS),
        ("compat/header-link.toml", RECORDS),
        ("compat/json-cursor.toml", RECORDS),
        ("compat/last-record-cursor.toml", RECORDS),
        ("compat/single-page.toml", 100),
        ("cursor-header.toml", RECORDS),
        ("header-totals.toml", RECORDS),
        ("drf-orders.toml", RECORDS),
        ("graphql-orders.toml", RECORDS),
        ("graphql-pages.toml", RECORDS),
        ("search-after.toml", RECORDS),
    ];
    let readme = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md"),
    )
    .unwrap();
    for (name, records) in jobs {
        assert!(
            readme.contains(&format!("(jobs/{name})")),
            "the README's table links jobs/{name}"
        );
        let server = server(None);
        let work = Workspace::new();
        let text = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../jobs")
                .join(name),
        )
        .unwrap()
        .replace("127.0.0.1:7878", &server.addr().to_string());
        let job = work.job("compat.toml", &text);
        let run = pagefold(&["run", job.to_str().unwrap(), "-q"]);
        let result = run.result();
        assert_eq!(result["records"], json!(records), "{name}");
    }
}
