//! Embeds the source of the plugin SDK (`pagefold-reducer` and the `pagefold-json` it depends
//! on) in the binary, for `pagefold plugin new`: a generated plugin carries the SDK it was made
//! with, so it builds on any machine with crates.io alone.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The SDK's crates, as `(folder in this repository, folder in a generated plugin)`.
const CRATES: [(&str, &str); 2] = [("../reducer", "reducer"), ("../json", "json")];

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            files(&path, out);
        } else {
            out.push(path);
        }
    }
}

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let mut code = String::from("/// The SDK's files: path in a generated plugin, text.\n");
    code.push_str("pub(crate) const SDK_FILES: &[(&str, &str)] = &[\n");
    for (source, target) in CRATES {
        let root = manifest.join(source);
        println!("cargo::rerun-if-changed={}", root.display());
        let mut found = Vec::new();
        for top in ["Cargo.toml", "README.md", "build.rs"] {
            if root.join(top).exists() {
                found.push(root.join(top));
            }
        }
        files(&root.join("src"), &mut found);
        for path in found {
            println!("cargo::rerun-if-changed={}", path.display());
            let relative = path.strip_prefix(&root).expect("under the crate");
            let relative = relative.to_string_lossy().replace('\\', "/");
            let absolute = path.canonicalize().expect("the file exists");
            writeln!(
                code,
                "    ({:?}, include_str!({:?})),",
                format!("{target}/{relative}"),
                absolute.display().to_string()
            )
            .expect("writing to a String");
        }
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("set by cargo")).join("sdk_files.rs");
    std::fs::write(out, code).expect("OUT_DIR is writable");
}
