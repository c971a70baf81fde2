//! Crash and resume: a run killed at any moment (kill -9) or stopped by SIGTERM resumes from
//! its checkpoint to exactly the result of an uninterrupted run.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use pagefold_demo_api::DemoConfig;
use serde_json::{Value, json};

use crate::support::{ALL_BUILTINS, Workspace, assert_builtins, demo_server, orders, orders_job};

fn start(job: &Path, checkpoints: &Path) -> Child {
    crate::support::command()
        .args(["run", "-q", "--checkpoint-every", "30ms", "--checkpoint"])
        .arg(checkpoints)
        .arg(job)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("pagefold starts")
}

fn finish(child: Child) -> (i32, Value, String) {
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let result = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
    (output.status.code().unwrap_or(-1), result, stderr)
}

fn slow_job(
    work: &Workspace,
    totals: bool,
) -> (
    pagefold_demo_api::DemoServer,
    DemoConfig,
    std::path::PathBuf,
) {
    let config = DemoConfig {
        records: 6000,
        totals,
        latency: Duration::from_millis(30),
        ..DemoConfig::default()
    };
    let server = demo_server(config.clone());
    let pagination = if totals {
        "kind = \"page\"\nsize_param = \"per_page\"\nsize = 50\ntotal_records = \"/meta/total\""
    } else {
        "kind = \"page\"\nsize_param = \"per_page\"\nsize = 50"
    };
    let job = work.job(
        "slow.toml",
        &orders_job(&server, pagination, 4, ALL_BUILTINS),
    );
    (server, config, job)
}

#[test]
fn killed_at_any_moment_the_same_command_resumes_exactly() {
    let mut resumed_from_a_checkpoint = 0;
    for totals in [true, false] {
        for kill_after in [150, 450] {
            let work = Workspace::new();
            let checkpoints = work.path().join("checkpoints");
            let (server, config, job) = slow_job(&work, totals);
            let mut child = start(&job, &checkpoints);
            std::thread::sleep(Duration::from_millis(kill_after));
            child.kill().unwrap(); // SIGKILL: nothing runs after this
            let _ = child.wait();
            // A checkpoint saved before any page was reduced resumes nothing.
            let saved_pages = saved(&checkpoints.join("slow.checkpoint.json"))
                .and_then(|checkpoint| checkpoint["pages"].as_u64())
                .unwrap_or(0);
            let saved = saved_pages > 0;

            let (code, result, stderr) = finish(start(&job, &checkpoints));
            assert_eq!(
                code, 0,
                "totals {totals}, killed after {kill_after} ms:\n{stderr}"
            );
            assert_builtins(&result, &orders(&config));
            assert_eq!(result["pages"], json!(120));
            assert!(
                !checkpoints.join("slow.checkpoint.json").exists(),
                "a finished run removes its checkpoint"
            );
            if saved {
                resumed_from_a_checkpoint += 1;
                // The resumed run did not fetch again what the checkpoint held, but for the
                // first page, which is fetched again for what it says (the total); without a
                // total, the window also runs past the end (at most twice the concurrency).
                let requests = result["stats"]["requests"].as_u64().unwrap();
                let past_end = if totals { 0 } else { 2 * 4 };
                assert!(
                    requests <= 120 - saved_pages + 1 + past_end,
                    "totals {totals}, killed after {kill_after} ms: {requests} requests on resume \
                     of a checkpoint of {saved_pages} pages"
                );
                assert_eq!(result["stats"]["resumed"]["pages"], json!(saved_pages));
            }
            drop(server);
        }
    }
    assert!(
        resumed_from_a_checkpoint >= 2,
        "only {resumed_from_a_checkpoint} runs were killed after a checkpoint"
    );
}

#[test]
fn sigterm_saves_progress_writes_nothing_and_exits_143() {
    let work = Workspace::new();
    let checkpoints = work.path().join("checkpoints");
    let (_server, config, job) = slow_job(&work, true);
    let text = std::fs::read_to_string(&job).unwrap() + "\n[output]\npath = \"out.json\"\n";
    std::fs::write(&job, text).unwrap();
    let child = start(&job, &checkpoints);
    // Stopped once it has saved progress: its signal handlers are in place by then.
    wait_for_progress(&checkpoints.join("slow.checkpoint.json"));
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let (code, _, stderr) = finish(child);
    assert_eq!(code, 143, "{stderr}");
    assert!(
        stderr.contains("error: stopped by SIGTERM; progress saved in"),
        "{stderr}"
    );
    assert!(
        stderr.contains("hint: nothing was written; run the same command again to resume"),
        "{stderr}"
    );
    assert!(!work.path().join("out.json").exists(), "no partial output");
    let checkpoint = saved(&checkpoints.join("slow.checkpoint.json")).unwrap();
    assert!(
        checkpoint["pages"].as_u64().unwrap() > 0,
        "the checkpoint holds the progress"
    );

    let (code, _, stderr) = finish(start(&job, &checkpoints));
    assert_eq!(code, 0, "{stderr}");
    let result: Value =
        serde_json::from_str(&std::fs::read_to_string(work.path().join("out.json")).unwrap())
            .unwrap();
    assert_builtins(&result, &orders(&config));
}

#[test]
fn a_checkpoint_of_a_changed_job_is_refused() {
    let work = Workspace::new();
    let checkpoints = work.path().join("checkpoints");
    let (_server, _config, job) = slow_job(&work, true);
    let child = start(&job, &checkpoints);
    // Stopped once it has saved progress (a fixed wait lost the race on a loaded machine:
    // the signal came before its handlers).
    wait_for_progress(&checkpoints.join("slow.checkpoint.json"));
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let (code, _, _) = finish(child);
    assert_eq!(code, 143);

    let edited = std::fs::read_to_string(&job)
        .unwrap()
        .replace("concurrency = 4", "concurrency = 5");
    std::fs::write(&job, edited).unwrap();
    let (code, _, stderr) = finish(start(&job, &checkpoints));
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("was saved by a different job: the job file was edited"),
        "{stderr}"
    );
    assert!(
        stderr.contains("hint: resuming would mix results of two different jobs"),
        "{stderr}"
    );
}

#[test]
fn plugin_states_survive_a_kill_through_their_own_serialization() {
    let work = Workspace::new();
    let checkpoints = work.path().join("checkpoints");
    let (_server, config, job) = slow_job(&work, true);
    let reducers = format!(
        "[[reduce]]\nname = \"cents\"\nplugin = \"{}\"\nconfig = {{ field = \"/amount_cents\" }}\n\
         [[reduce]]\nname = \"groups\"\nplugin = \"{}\"\nconfig = {{ key = \"/status\", field = \"/amount_cents\" }}\n",
        crate::plugins::plugin("sum_field").display(),
        crate::plugins::plugin("group_stats").display()
    );
    let text = std::fs::read_to_string(&job).unwrap();
    let text = text[..text.find("[[reduce]]").unwrap()].to_owned() + &reducers;
    std::fs::write(&job, text).unwrap();
    let mut child = start(&job, &checkpoints);
    wait_for_progress(&checkpoints.join("slow.checkpoint.json"));
    child.kill().unwrap();
    let _ = child.wait();
    assert!(
        checkpoints.join("slow.checkpoint.json").exists(),
        "killed after a checkpoint"
    );

    let (code, result, stderr) = finish(start(&job, &checkpoints));
    assert_eq!(code, 0, "{stderr}");
    let data = orders(&config);
    assert_eq!(
        result["reducers"]["cents"],
        json!(data.iter().map(|o| o.amount_cents).sum::<u64>())
    );
    let paid: Vec<_> = data.iter().filter(|o| o.status == "paid").collect();
    assert_eq!(
        result["reducers"]["groups"]["paid"]["records"],
        json!(paid.len())
    );
    assert_eq!(
        result["reducers"]["groups"]["paid"]["sum"],
        json!(paid.iter().map(|o| o.amount_cents).sum::<u64>())
    );
    assert!(result["stats"]["requests"].as_u64().unwrap() < 120);
}

/// `pagefold run` with the environment `env`, checkpointing into `checkpoints` every 30 ms.
fn start_with_env(job: &Path, checkpoints: &Path, env: &[(&str, &str)]) -> Child {
    crate::support::command()
        .args(["run", "-q", "--checkpoint-every", "30ms", "--checkpoint"])
        .arg(checkpoints)
        .arg(job)
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("pagefold starts")
}

/// What the checkpoint at `path` holds (the content of its sealed envelope), if it is there.
pub(crate) fn saved(path: &Path) -> Option<Value> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut envelope: Value = serde_json::from_str(&text).ok()?;
    Some(envelope["content"].take())
}

/// Waits (at most 30 s) until `path` exists and holds a few pages.
pub(crate) fn wait_for_progress(path: &Path) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let pages = saved(path).and_then(|checkpoint| checkpoint["pages"].as_u64());
        if pages.is_some_and(|pages| pages >= 5) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no checkpoint at {}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn a_changed_environment_value_in_the_query_is_refused_and_a_rotated_token_resumes() {
    let work = Workspace::new();
    let checkpoints = work.path().join("checkpoints");
    let (server, config, job) = slow_job(&work, true);
    let text = std::fs::read_to_string(&job).unwrap().replace(
        "records = \"/data\"",
        "records = \"/data\"\nquery = { status = \"${env.PF_STATUS}\" }\n\
         [source.auth]\nkind = \"bearer\"\ntoken = \"${env.PF_TOKEN}\"",
    );
    std::fs::write(&job, text).unwrap();
    let first = [("PF_STATUS", "paid"), ("PF_TOKEN", "token-one-1234")];
    let mut child = start_with_env(&job, &checkpoints, &first);
    let checkpoint = checkpoints.join("slow.checkpoint.json");
    wait_for_progress(&checkpoint);
    child.kill().unwrap(); // SIGKILL: nothing runs after this
    let _ = child.wait();
    let saved = std::fs::read_to_string(&checkpoint).unwrap();
    assert!(!saved.contains("paid"), "the value is hashed with a key");

    // Another status: resuming would mix paid and open orders.
    let (code, _, stderr) = finish(start_with_env(
        &job,
        &checkpoints,
        &[("PF_STATUS", "open"), ("PF_TOKEN", "token-one-1234")],
    ));
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("was saved by a different job: `${env.PF_STATUS}` has another value"),
        "{stderr}"
    );
    assert!(
        stderr.contains("hint: resuming would mix results of two different jobs: set `PF_STATUS` back to the value of the stopped run, or delete"),
        "{stderr}"
    );
    assert!(!stderr.contains("open"), "no value is shown: {stderr}");

    // Another token for the same data: the same job, resumed exactly.
    let (code, result, stderr) = finish(start_with_env(
        &job,
        &checkpoints,
        &[("PF_STATUS", "paid"), ("PF_TOKEN", "token-two-5678")],
    ));
    assert_eq!(code, 0, "{stderr}");
    let paid: Vec<_> = orders(&config)
        .into_iter()
        .filter(|order| order.status == "paid")
        .collect();
    assert_builtins(&result, &paid);
    let requests = result["stats"]["requests"].as_u64().unwrap();
    let pages = paid.len().div_ceil(50) as u64;
    assert!(
        requests < pages,
        "resumed: {requests} requests of {pages} pages"
    );
    drop(server);
}

#[test]
fn a_checkpoint_of_another_plugin_is_refused_with_the_command_that_starts_over() {
    let work = Workspace::new();
    let checkpoints = work.path().join("checkpoints");
    let (_server, _config, job) = slow_job(&work, true);
    // The job names one library file; what is at that path changes between the runs.
    let library = work.path().join(format!(
        "{}reducer{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    ));
    std::fs::copy(crate::plugins::plugin("sum_field"), &library).unwrap();
    let reducers = format!(
        "[[reduce]]\nname = \"cents\"\nplugin = \"{}\"\nconfig = {{ field = \"/amount_cents\" }}\n",
        library.display()
    );
    let text = std::fs::read_to_string(&job).unwrap();
    let text = text[..text.find("[[reduce]]").unwrap()].to_owned() + &reducers;
    std::fs::write(&job, text).unwrap();
    let mut child = start(&job, &checkpoints);
    wait_for_progress(&checkpoints.join("slow.checkpoint.json"));
    child.kill().unwrap();
    let _ = child.wait();

    // Another plugin whose state has the same shape (an exact sum) at the same path.
    std::fs::remove_file(&library).unwrap();
    std::fs::copy(crate::plugins::plugin("quantiles"), &library).unwrap();
    let (code, _, stderr) = finish(start(&job, &checkpoints));
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("cannot resume reducer `cents`: they were saved by plugin `sum_field`"),
        "{stderr}"
    );
    assert!(stderr.contains("hint: start over with `rm "), "{stderr}");
}

#[test]
fn a_killed_run_is_in_the_history_as_interrupted_and_its_resume_is_said_out_loud() {
    let work = Workspace::new();
    let state = work.path().join("state");
    let checkpoints = work.path().join("checkpoints");
    let (_server, config, job) = slow_job(&work, true);
    let out = work.path().join("out.json");
    let start = || {
        crate::support::command()
            .args(["run", "--checkpoint-every", "30ms", "--checkpoint"])
            .arg(&checkpoints)
            .arg("--state")
            .arg(&state)
            .arg("-o")
            .arg(&out)
            .arg(&job)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("pagefold starts")
    };
    let mut child = start();
    wait_for_progress(&checkpoints.join("slow.checkpoint.json"));
    child.kill().unwrap(); // SIGKILL: nothing runs after this
    let _ = child.wait();

    let (code, _, stderr) = finish(start());
    assert_eq!(code, 0, "{stderr}");
    let result: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    // The whole run is counted, and what part of it the killed run did is said.
    assert_eq!(result["pages"], json!(120));
    assert_eq!(result["records"], json!(6000));
    let resumed = result["stats"]["resumed"]["pages"].as_u64().unwrap();
    assert!((5..120).contains(&resumed), "{result}");
    assert_eq!(
        result["stats"]["resumed"]["records"],
        json!(resumed * 50),
        "{result}"
    );
    assert_builtins(&result, &orders(&config));
    let masks = crate::support::Masks::new()
        .path(work.path(), "[work]")
        .rule(r"run `[^`]+`, started \S+, did", "run `[run]`, started [time], did")
        .rule(r"\(pid \d+\)", "(pid [pid])")
        .rule(r": \d+ of 120 pages \(\d+ records\)", ": [n] of 120 pages ([n × 50] records)")
        .rule(r"\(\d+\.\d MB, \d+ requests\)", "([size] MB, [n] requests)")
        .rule(r"\d+\.\d{2}s", "[time]")
        // Saving a checkpoint every 30 ms slows a debug build enough that either can be true;
        // `stats.rs` pins both wordings.
        .rule(
            r"one page after another would take ~\[time\] \(\d+\.\d× faster\)|no faster than one page after another would be \(~\[time\]\)",
            "[one page after another]",
        );
    insta::with_settings!({ filters => masks.filters() }, {
        insta::assert_snapshot!("resumed-after-a-kill", stderr);
    });

    let history = crate::support::pagefold(&[
        "history",
        "slow",
        "--json",
        "--state",
        state.to_str().unwrap(),
    ]);
    assert_eq!(history.code(), 0, "{}", history.stderr());
    let statuses: Vec<String> = history
        .stdout()
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap()["status"].to_string())
        .collect();
    assert_eq!(
        statuses,
        ["\"interrupted\"", "\"ok\""],
        "{}",
        history.stdout()
    );
    assert!(
        !state
            .join("jobs/slow/running")
            .read_dir()
            .unwrap()
            .any(|_| true),
        "no run left a trace"
    );
}

/// A checkpoint cut short (a crash or a full disk while it was written without the rename),
/// damaged, or edited by hand is refused for what it is, with the command that starts over;
/// a temporary file a crash left behind is removed when the next run starts.
#[test]
fn a_truncated_or_edited_checkpoint_is_refused_for_what_it_is_and_leftovers_are_cleaned() {
    let work = Workspace::new();
    let checkpoints = work.path().join("checkpoints");
    let (_server, config, job) = slow_job(&work, true);
    let checkpoint = checkpoints.join("slow.checkpoint.json");
    let mut child = start(&job, &checkpoints);
    wait_for_progress(&checkpoint);
    child.kill().unwrap(); // SIGKILL: nothing runs after this
    let _ = child.wait();
    let good = std::fs::read_to_string(&checkpoint).unwrap();
    let pages = saved(&checkpoint).unwrap()["pages"].as_u64().unwrap();

    let edited = good.replacen(
        &format!("\"pages\":{pages}"),
        &format!("\"pages\":{}", pages + 100),
        1,
    );
    assert_ne!(edited, good);
    for (damaged, reason) in [
        (
            good[..good.len() / 2].to_owned(),
            "cannot be resumed: it ends early",
        ),
        (
            edited,
            "cannot be resumed: its checksum does not match its content: it was edited or damaged after it was written",
        ),
    ] {
        std::fs::write(&checkpoint, damaged).unwrap();
        let (code, _, stderr) = finish(start(&job, &checkpoints));
        assert_eq!(code, 1, "{stderr}");
        assert!(stderr.contains(reason), "{stderr}");
        assert!(
            stderr.contains(&format!(
                "hint: what it holds cannot be trusted: start over with `rm {}`",
                checkpoint.display()
            )),
            "{stderr}"
        );
        assert!(!stderr.contains("two different jobs"), "{stderr}");
    }

    // The good checkpoint, and a half-written temporary one beside it: the run resumes, and
    // the leftover is gone.
    std::fs::write(&checkpoint, &good).unwrap();
    let leftover = checkpoints.join(".slow.checkpoint.json.x7Yq2a.tmp");
    std::fs::write(&leftover, &good[..good.len() / 3]).unwrap();
    let (code, result, stderr) = finish(start(&job, &checkpoints));
    assert_eq!(code, 0, "{stderr}");
    assert_builtins(&result, &orders(&config));
    assert_eq!(result["stats"]["resumed"]["pages"], json!(pages));
    assert!(
        !leftover.exists(),
        "the leftover temporary file was removed"
    );
    let left: Vec<String> = std::fs::read_dir(&checkpoints)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, ["identity.key"], "a finished run leaves its key only");
}
