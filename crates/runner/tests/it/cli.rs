//! The command line as cargo and uv users expect it: completions that load in the shell, man
//! pages that render, `-o -` for stdout, `history` that lists the jobs of a state folder.

use std::process::Command;

use serde_json::json;

use crate::support::{Workspace, demo_server, orders_job, pagefold};

#[test]
fn bash_completion_loads_and_completes_a_command() {
    let script = pagefold(&["completions", "bash"]);
    assert_eq!(script.code(), 0, "{}", script.stderr());
    let work = Workspace::new();
    let path = work.job("pagefold.bash", &script.stdout());
    let syntax = Command::new("bash").arg("-n").arg(&path).status().unwrap();
    assert!(syntax.success(), "bash -n refuses the script");
    // Loaded as a shell loads it, `pagefold r<TAB>` offers `run`.
    let completed = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source {}; COMP_WORDS=(pagefold r); COMP_CWORD=1; _pagefold pagefold r pagefold; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            path.display()
        ))
        .output()
        .unwrap();
    let offered = String::from_utf8_lossy(&completed.stdout);
    assert!(offered.lines().any(|line| line == "run"), "{offered}");
    for shell in ["zsh", "fish", "powershell", "elvish"] {
        let script = pagefold(&["completions", shell]);
        assert_eq!(script.code(), 0, "{shell}");
        assert!(script.stdout().contains("pagefold"), "{shell}");
    }
}

/// Whether `shell` is installed; if not, says so loudly.
fn shell_exists(shell: &str) -> bool {
    let found = Command::new(shell)
        .arg("-c")
        .arg("exit 0")
        .status()
        .is_ok_and(|status| status.success());
    if !found {
        eprintln!("SKIPPED: no `{shell}` here to load pagefold's {shell} completion in");
    }
    found
}

#[test]
fn fish_completion_loads_and_completes_a_command() {
    if !shell_exists("fish") {
        return;
    }
    let work = Workspace::new();
    let path = work.job(
        "pagefold.fish",
        &pagefold(&["completions", "fish"]).stdout(),
    );
    let completed = Command::new("fish")
        .arg("--no-config")
        .arg("-c")
        .arg(format!(
            "source {}; complete -C 'pagefold r'",
            path.display()
        ))
        .output()
        .unwrap();
    assert!(completed.status.success(), "{completed:?}");
    let offered = String::from_utf8_lossy(&completed.stdout);
    assert!(
        offered.lines().any(|line| line.starts_with("run\t")),
        "{offered}"
    );
}

#[test]
fn zsh_completion_passes_the_syntax_check_and_registers() {
    if !shell_exists("zsh") {
        return;
    }
    let work = Workspace::new();
    let path = work.job("_pagefold", &pagefold(&["completions", "zsh"]).stdout());
    let syntax = Command::new("zsh").arg("-n").arg(&path).status().unwrap();
    assert!(syntax.success(), "zsh -n refuses the script");
    // Loaded under the completion system, it is the completer of `pagefold`.
    let loaded = Command::new("zsh")
        .arg("-f")
        .arg("-c")
        .arg(format!(
            "autoload -U compinit; compinit -u -D; source {}; print -r -- $_comps[pagefold]",
            path.display()
        ))
        .env("HOME", work.path())
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&loaded.stdout).trim(),
        "_pagefold",
        "{loaded:?}"
    );
}

#[test]
fn man_pages_render_and_name_every_command() {
    let work = Workspace::new();
    let dir = work.path().join("man");
    let made = pagefold(&["man", dir.to_str().unwrap()]);
    assert_eq!(made.code(), 0, "{}", made.stderr());
    let render = |page: &str| {
        let output = Command::new("man")
            .arg("-l")
            .arg(dir.join(page))
            .env("MANWIDTH", "100")
            .env("MANPAGER", "cat")
            .output();
        match output {
            Ok(output) if output.status.success() => {
                Some(String::from_utf8_lossy(&output.stdout).into_owned())
            }
            _ => None,
        }
    };
    let Some(main) = render("pagefold.1") else {
        eprintln!(
            "SKIPPED: `man -l` is not available here; the pages were written but not rendered"
        );
        return;
    };
    for command in [
        "run",
        "validate",
        "schedule",
        "history",
        "plan",
        "demo",
        "demo-api",
        "plugin",
        "init",
        "completions",
        "man",
        "schema",
    ] {
        assert!(
            main.contains(&format!("pagefold-{command}(1)")),
            "{command}:\n{main}"
        );
        let page = render(&format!("pagefold-{command}.1")).expect("each page renders");
        assert!(page.contains("SYNOPSIS"), "{command}");
    }
}

#[test]
fn a_dash_writes_the_result_to_stdout_whatever_the_job_says() {
    let server = demo_server(pagefold_demo_api::DemoConfig {
        records: 120,
        ..pagefold_demo_api::DemoConfig::default()
    });
    let work = Workspace::new();
    let text = counting(&server) + "\n[output]\npath = \"out.json\"\n";
    let job = work.job("dash.toml", &text);
    let run = pagefold(&["run", job.to_str().unwrap(), "-q", "-o", "-"]);
    assert_eq!(run.result()["records"], json!(120));
    assert!(!work.path().join("out.json").exists());
    assert!(!work.path().join("-").exists());
}

/// A job counting the demo orders, 50 a page.
fn counting(server: &pagefold_demo_api::DemoServer) -> String {
    orders_job(
        server,
        "kind = \"page\"\nsize_param = \"per_page\"\nsize = 50",
        4,
        "[[reduce]]\nuse = \"count\"\n",
    )
}

#[test]
fn history_lists_the_jobs_of_a_state_folder_and_refuses_an_unknown_one() {
    let server = demo_server(pagefold_demo_api::DemoConfig {
        records: 60,
        ..pagefold_demo_api::DemoConfig::default()
    });
    let work = Workspace::new();
    let state = work.path().join("state");
    let state = state.to_str().unwrap();
    for (name, schedule) in [("alpha", ""), ("beta", "schedule = \"0 3 * * *\"\n")] {
        let text = format!("name = \"{name}\"\n{schedule}") + &counting(&server);
        let job = work.job(&format!("{name}.toml"), &text);
        let run = pagefold(&["run", job.to_str().unwrap(), "-q", "--state", state]);
        assert_eq!(run.code(), 0, "{}", run.stderr());
    }
    let listed = pagefold(&["history", "--state", state]);
    assert_eq!(listed.code(), 0, "{}", listed.stderr());
    let stdout = listed.stdout();
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[0].starts_with("job"), "{lines:?}");
    assert!(
        lines[1].starts_with("alpha") && lines[1].contains(" ok "),
        "{lines:?}"
    );
    assert!(lines[2].starts_with("beta"), "{lines:?}");
    assert!(
        lines[1].trim_end().ends_with(" -"),
        "no schedule: {lines:?}"
    );
    assert!(
        lines[2].trim_end().ends_with(" 03:00:00"),
        "next run: {lines:?}"
    );
    let unknown = pagefold(&["history", "gamma", "--state", state]);
    assert_eq!(unknown.code(), 1, "{}", unknown.stderr());
    assert!(
        unknown
            .stderr()
            .contains("hint: the jobs it holds: alpha, beta"),
        "{}",
        unknown.stderr()
    );
}

#[test]
fn history_shows_the_result_document_of_an_old_run() {
    let server = demo_server(pagefold_demo_api::DemoConfig {
        records: 60,
        ..pagefold_demo_api::DemoConfig::default()
    });
    let work = Workspace::new();
    let state = work.path().join("state");
    let state = state.to_str().unwrap();
    let text = counting(&server);
    let job = work.job("kept.toml", &text);
    let job = job.to_str().unwrap();
    let first = pagefold(&["run", job, "-q", "--state", state, "-o", "-"]);
    assert_eq!(first.code(), 0, "{}", first.stderr());
    let history = pagefold(&["history", job, "--state", state, "--json"]);
    let run_id =
        serde_json::from_str::<serde_json::Value>(history.stdout().lines().next().unwrap())
            .unwrap()["run_id"]
            .as_str()
            .unwrap()
            .to_owned();
    let shown = pagefold(&["history", job, "--state", state, "--show", &run_id]);
    assert_eq!(shown.code(), 0, "{}", shown.stderr());
    assert_eq!(
        shown.stdout(),
        first.stdout(),
        "the document as the run wrote it"
    );
    let unknown = pagefold(&["history", job, "--state", state, "--show", "nosuchrun"]);
    assert_eq!(unknown.code(), 1);
    assert!(
        unknown
            .stderr()
            .contains(&format!("hint: its latest runs: {run_id}")),
        "{}",
        unknown.stderr()
    );
}

#[test]
fn set_overrides_a_value_for_one_run_and_is_checked_like_the_file() {
    let config = pagefold_demo_api::DemoConfig {
        records: 300,
        ..pagefold_demo_api::DemoConfig::default()
    };
    let server = demo_server(config.clone());
    let work = Workspace::new();
    let text = orders_job(
        &server,
        "kind = \"page\"\nsize_param = \"per_page\"\nsize = 50",
        4,
        "[[reduce]]\nname = \"orders\"\nuse = \"count\"\n",
    );
    let job = work.job("set.toml", &text);
    let job = job.to_str().unwrap();
    let paid = crate::support::orders(&config)
        .iter()
        .filter(|order| order.status == "paid")
        .count();
    let run = pagefold(&[
        "run",
        job,
        "-q",
        "--set",
        "source.query.status=paid",
        "--set",
        "fetch.concurrency=2",
    ]);
    assert_eq!(run.result()["reducers"]["orders"], json!(paid));
    assert_eq!(
        std::fs::read_to_string(job).unwrap(),
        text,
        "the file is unchanged"
    );

    let typo = pagefold(&["run", job, "-q", "--set", "fetch.concurency=2"]);
    assert_eq!(typo.code(), 2, "{}", typo.stderr());
    assert!(
        typo.stderr()
            .contains("error: --set fetch.concurency=2: unknown key `concurency`"),
        "{}",
        typo.stderr()
    );
    assert!(
        typo.stderr().contains("hint: did you mean `concurrency`?"),
        "{}",
        typo.stderr()
    );
    let zero = pagefold(&["run", job, "-q", "--set", "fetch.concurrency=0"]);
    assert_eq!(zero.code(), 2, "{}", zero.stderr());
    assert!(
        zero.stderr()
            .contains("error: --set fetch.concurrency=0: `concurrency` must be from 1 to"),
        "{}",
        zero.stderr()
    );
}

#[test]
fn errors_warnings_and_logs_carry_no_colour_codes_into_a_pipe() {
    let work = Workspace::new();
    let job = work.job("bad.toml", "[source]\nurl = \"http://127.0.0.1:9/x\"\n[fetch]\nretries = 0\n[[reduce]]\nuse = \"count\"\n");
    let run = pagefold(&["run", job.to_str().unwrap(), "-vv"]);
    assert_eq!(run.code(), 1, "{}", run.stderr());
    assert!(run.stderr().contains("error: "), "{}", run.stderr());
    assert!(!run.stderr().contains('\u{1b}'), "{:?}", run.stderr());
}
