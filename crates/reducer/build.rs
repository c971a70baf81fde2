//! Records the optimisation level this crate is compiled with, for the plugin table (ABI 1.1):
//! `pagefold plugin check` and the runner warn about a plugin built without optimisations.
//! Cargo compiles a plugin's dependencies with the plugin's profile, so this is the plugin's.

fn main() {
    let level = std::env::var("OPT_LEVEL").unwrap_or_else(|_| "unknown".to_owned());
    println!("cargo::rustc-env=PAGEFOLD_REDUCER_OPT_LEVEL={level}");
    println!("cargo::rerun-if-env-changed=OPT_LEVEL");
}
