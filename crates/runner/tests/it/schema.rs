//! `pagefold schema` checked by an independent validator (Python's `jsonschema`, which shares
//! nothing with the parser): every example job, every job of the README and every corpus job
//! the parser accepts is valid; every corpus job the parser rejects for a type, a value that
//! is not one of the choices, a missing or an unknown key is invalid.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::support::{Workspace, pagefold};

/// Validates each TOML file against the schema; prints `{"file": "ok" | "why"}`. A file whose
/// name ends in `.fragment.toml` is a README excerpt: it is laid over a minimal job first.
const VALIDATE: &str = r#"
import json, sys, tomllib
import jsonschema
schema = json.load(open(sys.argv[1]))
validator = jsonschema.Draft7Validator(schema)
def merge(base, over):
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            merge(base[key], value)
        else:
            base[key] = value
    return base
verdicts = {}
for path in sys.argv[2:]:
    try:
        job = tomllib.load(open(path, "rb"))
    except tomllib.TOMLDecodeError as error:
        verdicts[path] = "not TOML: %s" % error
        continue
    if path.endswith(".fragment.toml"):
        job = merge({"source": {"url": "http://127.0.0.1:1/items"}}, job)
    errors = sorted(validator.iter_errors(job), key=lambda e: list(e.path))
    verdicts[path] = "ok" if not errors else "; ".join(
        "/".join(map(str, e.path)) + ": " + e.message for e in errors)
print(json.dumps(verdicts))
"#;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The verdicts, or `None` (said loudly) where Python or its `jsonschema` is missing.
fn validate(schema: &Path, files: &[PathBuf]) -> Option<serde_json::Map<String, Value>> {
    let output = Command::new("python3")
        .arg("-c")
        .arg(VALIDATE)
        .arg(schema)
        .args(files)
        .output();
    match output {
        Ok(output) if output.status.success() => Some(
            serde_json::from_slice::<Value>(&output.stdout)
                .expect("the validator prints JSON")
                .as_object()
                .expect("an object")
                .clone(),
        ),
        Ok(output) => {
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(
                stderr.contains("No module named 'jsonschema'"),
                "the validator failed: {stderr}"
            );
            eprintln!("SKIPPED: Python's `jsonschema` is missing (pip install jsonschema)");
            None
        }
        Err(error) => {
            eprintln!("SKIPPED: no python3 to validate the schema with: {error}");
            None
        }
    }
}

fn toml_files(dir: &Path, into: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            toml_files(&path, into);
        } else if path.extension().is_some_and(|ext| ext == "toml") {
            into.push(path);
        }
    }
}

fn schema_file(work: &Workspace) -> PathBuf {
    let printed = pagefold(&["schema"]);
    assert_eq!(printed.code(), 0, "{}", printed.stderr());
    let path = work.path().join("pagefold.schema.json");
    std::fs::write(&path, printed.stdout()).unwrap();
    path
}

#[test]
fn every_example_and_readme_job_is_valid() {
    let work = Workspace::new();
    let schema = schema_file(&work);
    let mut files = Vec::new();
    toml_files(&root().join("jobs"), &mut files);
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let blocks: Vec<&str> = readme
        .split("```toml\n")
        .skip(1)
        .map(|block| block.split("\n```").next().unwrap())
        .collect();
    assert!(blocks.len() >= 5, "the README's job excerpts");
    for (index, block) in blocks.iter().enumerate() {
        files.push(work.job(&format!("readme-{index}.fragment.toml"), block));
    }
    let Some(verdicts) = validate(&schema, &files) else {
        return;
    };
    assert_eq!(verdicts.len(), files.len());
    let invalid: Vec<_> = verdicts.iter().filter(|(_, v)| *v != "ok").collect();
    assert!(invalid.is_empty(), "{invalid:#?}");
}

#[test]
fn the_schema_rejects_what_the_parser_rejects_for_types_and_keys() {
    let work = Workspace::new();
    let schema = schema_file(&work);
    let mut corpus = Vec::new();
    toml_files(&root().join("crates/runner/tests/corpus"), &mut corpus);
    // Jobs of the corpus as the corpus test fills them in; a closed port is as good as any.
    let files: Vec<PathBuf> = corpus
        .iter()
        .map(|path| {
            let text = std::fs::read_to_string(path)
                .unwrap_or_default()
                .replace("{api}", "http://127.0.0.1:1")
                .replace("{closed}", "http://127.0.0.1:1")
                .replace("{corpus}", "/nonexistent");
            work.job(path.file_name().unwrap().to_str().unwrap(), &text)
        })
        .collect();
    let Some(verdicts) = validate(&schema, &files) else {
        return;
    };
    let mut rejected_for_shape = 0;
    for file in &files {
        let verdict = verdicts[file.to_str().unwrap()].as_str().unwrap();
        if verdict.starts_with("not TOML") {
            continue;
        }
        let parsed = pagefold(&["validate", file.to_str().unwrap()]);
        let error = parsed.stderr();
        let shape = [
            "unknown key",
            "invalid type",
            "expected a number",
            "expected a whole number",
            "unknown variant",
            "missing field",
        ]
        .iter()
        .any(|words| error.lines().next().unwrap_or_default().contains(words));
        if parsed.code() == 0 {
            assert_eq!(verdict, "ok", "{}: the parser takes it", file.display());
        } else if shape {
            rejected_for_shape += 1;
            assert_ne!(verdict, "ok", "{}: {error}", file.display());
        }
    }
    assert!(
        rejected_for_shape >= 10,
        "the corpus has {rejected_for_shape} jobs wrong in type or keys"
    );
}
