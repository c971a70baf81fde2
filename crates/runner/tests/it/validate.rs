//! `pagefold validate` as a dry run of everything but the fetching: plugins loaded and built
//! with their `config`, the output folder proved writable without a trace, a plugin anyone may
//! rewrite pointed out.

use std::path::Path;

use crate::plugins::plugin;
use crate::support::{Masks, Workspace, pagefold};

/// A job of one plugin reducer and `output`, its source never asked for anything.
fn job_with(library: &Path, config: &str, output: &str) -> String {
    format!(
        "name = \"checked\"\n[source]\nurl = \"http://127.0.0.1:9/orders\"\nrecords = \"/data\"\n\n\
         [[reduce]]\nname = \"revenue\"\nplugin = \"{}\"\nconfig = {config}\n{output}",
        library.display()
    )
}

fn masks(work: &Workspace) -> Masks {
    Masks::new()
        .path(work.path(), "[work]")
        .path(plugin("sum_field").parent().unwrap(), "[plugins]")
        // Carets under a path as long as the machine's folders make it.
        .rule(r"(\| +)\^{30,}", "$1[^ under the path]")
}

#[test]
fn a_config_the_plugin_rejects_is_exit_2_at_its_place() {
    let work = Workspace::new();
    let job = work.job(
        "rejected.toml",
        &job_with(&plugin("sum_field"), "{ feild = \"/amount\" }", ""),
    );
    let run = pagefold(&["validate", job.to_str().unwrap()]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    insta::with_settings!({ filters => masks(&work).filters() }, {
        insta::assert_snapshot!("validate-rejected-config", run.shown());
    });
}

#[test]
fn a_plugin_that_is_no_plugin_is_exit_2() {
    let work = Workspace::new();
    let job = work.job("no-symbol.toml", &job_with(&plugin("no_symbol"), "{}", ""));
    let run = pagefold(&["validate", job.to_str().unwrap()]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    insta::with_settings!({ filters => masks(&work).filters() }, {
        insta::assert_snapshot!("validate-no-symbol", run.shown());
    });
}

#[cfg(unix)]
#[test]
fn a_plugin_writable_by_others_is_pointed_out() {
    use std::os::unix::fs::PermissionsExt;
    let work = Workspace::new();
    let library = work.path().join("libshared_sum.so");
    std::fs::copy(plugin("sum_field"), &library).unwrap();
    std::fs::set_permissions(&library, std::fs::Permissions::from_mode(0o666)).unwrap();
    let job = work.job(
        "shared.toml",
        &job_with(&library, "{ field = \"/amount\" }", ""),
    );
    let run = pagefold(&["validate", job.to_str().unwrap()]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    insta::with_settings!({ filters => masks(&work).filters() }, {
        insta::assert_snapshot!("validate-plugin-writable-by-others", run.shown());
    });
}

#[test]
fn an_output_folder_that_cannot_be_made_is_exit_2() {
    let work = Workspace::new();
    // A file where a folder of the path should be: no user, root included, can write there.
    std::fs::write(work.path().join("taken"), "a file").unwrap();
    let job = work.job(
        "blocked.toml",
        &job_with(
            &plugin("sum_field"),
            "{ field = \"/amount\" }",
            "[output]\npath = \"taken/results/{date}.json\"\n",
        ),
    );
    let run = pagefold(&["validate", job.to_str().unwrap()]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    insta::with_settings!({ filters => masks(&work).rule(r"\d{4}-\d{2}-\d{2}", "[date]").filters() }, {
        insta::assert_snapshot!("validate-output-folder-blocked", run.shown());
    });
}

#[test]
fn an_output_folder_to_be_created_passes_and_nothing_is_left_behind() {
    let work = Workspace::new();
    let job = work.job(
        "fresh.toml",
        &job_with(
            &plugin("sum_field"),
            "{ field = \"/amount\" }",
            "[output]\npath = \"new/results/{date}.json\"\n",
        ),
    );
    let before: Vec<_> = std::fs::read_dir(work.path()).unwrap().collect();
    let run = pagefold(&["validate", job.to_str().unwrap()]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let after: Vec<_> = std::fs::read_dir(work.path()).unwrap().collect();
    assert_eq!(before.len(), after.len(), "validate left something behind");
    assert!(!work.path().join("new").exists());
}
