//! The files that run pagefold on a cluster: every manifest of `deploy/kubernetes` passes
//! `kubernetes-validate --strict` against the schemas of one Kubernetes version (PyPI's
//! `kubernetes-validate` ships them: no cluster, no network; `.ci/run` installs it), and the
//! same manifests with a typo do not. Without the validator those tests say so loudly and
//! return: they are never faked. And every flag that the manifests, the Dockerfile and the
//! README's section on sharded runs pass to pagefold is one that its `--help` lists, so a
//! renamed flag breaks this test rather than a night's run.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::{Workspace, pagefold};

/// The oldest Kubernetes the manifests are written for: `podFailurePolicy` is stable from
/// 1.31, and per-index retries are on by default from 1.29.
const KUBERNETES: &str = "1.31.0";

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn manifests() -> Vec<PathBuf> {
    let dir = repository().join("deploy/kubernetes");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .collect();
    files.sort();
    let names: Vec<&str> = files
        .iter()
        .map(|path| path.file_name().unwrap().to_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["configmap.yaml", "cronjob.yaml", "job.yaml", "secret.yaml"],
        "a manifest was added or removed: say here what is expected"
    );
    files
}

/// `kubernetes-validate` on PATH, or `None` after a loud notice that the test is skipped.
fn kubernetes_validate(test: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("kubernetes-validate"))
            .find(|path| path.is_file())
    });
    if found.is_none() {
        eprintln!(
            "SKIPPED: kubernetes-validate not found on PATH: {test} needs it (pip install kubernetes-validate, as .ci/run does)"
        );
    }
    found
}

/// `kubernetes-validate --strict` (an unknown field is an error, as it is not without it)
/// against `KUBERNETES`. `--quiet` leaves only warnings and errors; it also spares a Job with
/// `generateName`, which the validator's success line reads a `name` from and crashes on.
fn validate(validator: &Path, files: &[PathBuf]) -> Output {
    Command::new(validator)
        .args(["--strict", "--kubernetes-version", KUBERNETES, "--quiet"])
        .args(files)
        .output()
        .expect("kubernetes-validate runs")
}

fn said(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn the_kubernetes_manifests_pass_kubernetes_validate() {
    let files = manifests();
    let Some(validator) = kubernetes_validate("the check of the Kubernetes manifests") else {
        return;
    };
    let output = validate(&validator, &files);
    // Silence too: a warning is a kind it has no schema for, whose manifest it did not check.
    assert!(
        output.status.success() && said(&output).is_empty(),
        "kubernetes-validate {KUBERNETES} rejects deploy/kubernetes:\n{}",
        said(&output)
    );
}

#[test]
fn kubernetes_validate_rejects_the_manifests_with_a_typo() {
    let Some(validator) = kubernetes_validate("the rejection of broken manifests") else {
        return;
    };
    // (file, text in it, replaced by, what the rejection names)
    let cases = [
        (
            "job.yaml",
            "completionMode:",
            "completionMod:",
            "completionMod",
        ),
        (
            "cronjob.yaml",
            "completionMode:",
            "completionMod:",
            "completionMod",
        ),
        (
            "job.yaml",
            "readOnlyRootFilesystem:",
            "readOnlyRootFileSystem:",
            "readOnlyRootFileSystem",
        ),
        (
            "cronjob.yaml",
            "backoffLimitPerIndex:",
            "backoffLimitPerIndexes:",
            "backoffLimitPerIndexes",
        ),
        (
            "job.yaml",
            "parallelism: 4",
            "parallelism: four",
            "'four' is not of type",
        ),
        ("secret.yaml", "stringData:", "stringdata:", "stringdata"),
    ];
    let ws = Workspace::new();
    for (name, from, to, named) in cases {
        let text = std::fs::read_to_string(repository().join("deploy/kubernetes").join(name))
            .expect("the manifest is read");
        assert_eq!(
            text.matches(from).count(),
            1,
            "`{from}` is not in {name} exactly once: the case breaks nothing"
        );
        let broken = ws.path().join(name);
        std::fs::write(&broken, text.replace(from, to)).unwrap();
        let output = validate(&validator, &[broken]);
        assert!(
            !output.status.success() && said(&output).contains(named),
            "{name} with `{to}` for `{from}` should be rejected naming `{named}`; kubernetes-validate said:\n{}",
            said(&output)
        );
    }
}

/// Every pagefold invocation written in `text` as a one-line JSON array (`args: […]` in a
/// manifest, the exec form of `RUN`, `CMD` in a Dockerfile), without the leading `pagefold`.
/// A manifest's `args:` or `command:` written any other way is refused: it would go unchecked.
fn json_invocations(source: &str, text: &str, into: &mut Vec<(String, Vec<String>)>) {
    for line in text.lines().map(str::trim) {
        let array = if let Some(rest) = line.strip_prefix("args:") {
            rest.to_owned()
        } else if line.starts_with("command:") {
            panic!(
                "{source}: `{line}`: pass arguments with `args:` and keep the image's entrypoint"
            );
        } else if let Some(rest) = line.strip_prefix("RUN [") {
            format!("[{rest}")
        } else if let Some(rest) = line.strip_prefix("CMD ") {
            rest.to_owned()
        } else {
            continue;
        };
        let words: Vec<String> = serde_json::from_str(array.trim()).unwrap_or_else(|e| {
            panic!("{source}: `{line}` is not a one-line JSON array of strings, which this test reads: {e}")
        });
        let words = match words.split_first() {
            Some((first, rest)) if first == "pagefold" => rest.to_vec(),
            // A `RUN` of another program, not pagefold's.
            _ if line.starts_with("RUN") => continue,
            // `args` and `CMD` go to the entrypoint, pagefold.
            _ => words,
        };
        into.push((source.to_owned(), words));
    }
}

/// Every `pagefold run|merge|plan …` in the README's section on sharded runs, continuation
/// lines joined, up to the end of its shell command; words are split at spaces, which is
/// enough to find the flags.
fn readme_invocations(into: &mut Vec<(String, Vec<String>)>) {
    let readme = std::fs::read_to_string(repository().join("README.md")).unwrap();
    let start = readme
        .find("\n## When one machine is not enough\n")
        .expect("README: the section `When one machine is not enough`");
    let section = &readme[start + 1..];
    let section = &section[..section[3..]
        .find("\n## ")
        .map_or(section.len(), |end| end + 3)];
    let joined = section.replace("\\\n", " ");
    for line in joined.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        for (at, pair) in words.windows(2).enumerate() {
            let subcommand = pair[1];
            if pair[0].trim_start_matches('`') == "pagefold"
                && ["run", "merge", "plan"].contains(&subcommand)
            {
                let rest = words[at + 1..]
                    .iter()
                    .take_while(|word| !["&&", "||", "|", ";", "&", "#"].contains(*word))
                    .map(|word| {
                        word.trim_end_matches(['`', ',', '.', ';', ')', '"'])
                            .to_owned()
                    })
                    .collect();
                into.push(("README.md".to_owned(), rest));
            }
        }
    }
}

/// The subcommand of an invocation (`run`, `plugin check`, none for `--version`): its leading
/// bare words; the job file (`/jobs/orders.toml`) ends them.
fn subcommand(words: &[String]) -> Vec<String> {
    words
        .iter()
        .take_while(|word| {
            !word.starts_with('-')
                && !word.is_empty()
                && word.chars().all(|c| c.is_ascii_lowercase() || c == '-')
        })
        .cloned()
        .collect()
}

/// Whether clap's `--help` text lists `flag` as an option of its own (`      --flag <VALUE>`,
/// `  -o, --flag`), not only names it in another's description.
fn lists(help: &str, flag: &str) -> bool {
    help.lines().any(|line| {
        let line = line.trim_start();
        let line = match line.split_once(", ") {
            Some((short, rest)) if short.len() == 2 && short.starts_with('-') => rest,
            _ => line,
        };
        line.strip_prefix(flag)
            .is_some_and(|rest| !rest.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '-'))
    })
}

#[test]
fn every_flag_the_deploy_files_pass_is_a_pagefold_flag() {
    let mut invocations = Vec::new();
    for path in manifests() {
        let name = format!("deploy/kubernetes/{}", path.file_name().unwrap().display());
        json_invocations(
            &name,
            &std::fs::read_to_string(&path).unwrap(),
            &mut invocations,
        );
    }
    let dockerfile = std::fs::read_to_string(repository().join("Dockerfile")).unwrap();
    json_invocations("Dockerfile", &dockerfile, &mut invocations);
    readme_invocations(&mut invocations);
    // The files this test is for must be read: a change of their layout must not empty it.
    for (source, subcommand_expected) in [
        ("deploy/kubernetes/job.yaml", "run"),
        ("deploy/kubernetes/cronjob.yaml", "run"),
        ("Dockerfile", "plugin"),
        ("README.md", "run"),
        ("README.md", "merge"),
        ("README.md", "plan"),
    ] {
        assert!(
            invocations.iter().any(|(from, words)| from == source
                && words
                    .first()
                    .is_some_and(|word| word == subcommand_expected)),
            "no `pagefold {subcommand_expected}` found in {source}: {invocations:#?}"
        );
    }

    let mut missing = BTreeSet::new();
    for (source, words) in &invocations {
        let subcommand = subcommand(words);
        let mut args: Vec<&str> = subcommand.iter().map(String::as_str).collect();
        args.push("--help");
        let help = pagefold(&args);
        if help.code() != 0 {
            missing.insert(format!(
                "{source}: `pagefold {}` fails: {}",
                args.join(" "),
                help.stderr().trim()
            ));
            continue;
        }
        let help = help.stdout();
        for flag in words.iter().filter(|word| word.starts_with("--")) {
            let flag = flag.split('=').next().unwrap();
            if !lists(&help, flag) {
                missing.insert(format!(
                    "{source}: `{flag}` is not in `pagefold {}`",
                    args.join(" ")
                ));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "flags that pagefold does not have:\n{}",
        missing.into_iter().collect::<Vec<_>>().join("\n")
    );
}

#[test]
fn the_shard_count_is_the_same_in_the_three_places_it_is_written() {
    for name in ["job.yaml", "cronjob.yaml"] {
        let text =
            std::fs::read_to_string(repository().join("deploy/kubernetes").join(name)).unwrap();
        let number = |key: &str| -> String {
            let line = text
                .lines()
                .map(str::trim)
                .find_map(|line| line.strip_prefix(key))
                .unwrap_or_else(|| panic!("{name}: no `{key}`"));
            line.trim().to_owned()
        };
        let shards = text
            .split("\"auto/")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or_else(|| panic!("{name}: no `--shard auto/N`"))
            .to_owned();
        assert_eq!(
            (number("completions:"), number("parallelism:")),
            (shards.clone(), shards),
            "{name}: completions, parallelism and `--shard auto/N` must agree, or shards are \
             missing or run twice"
        );
    }
}
