//! Job files past what a person writes: a file over 10 MiB is refused before it is read
//! whole, and an error on a line of megabytes shows the part of the line around the place,
//! not the line.

use crate::support::{Masks, Workspace, pagefold};

#[test]
fn a_job_file_over_10_mib_is_refused() {
    let work = Workspace::new();
    let padding = format!("# {}\n", "x".repeat(11 * 1024 * 1024));
    let path = work.job(
        "huge.toml",
        &format!("{padding}[source]\nurl = \"http://127.0.0.1:9/\"\n"),
    );
    for command in ["validate", "run", "plan"] {
        let run = pagefold(&[command, path.to_str().unwrap()]);
        assert_eq!(run.code(), 2, "{command}:\n{}", run.stderr());
        assert!(
            run.stderr().contains("a job file is at most 10 MiB"),
            "{command}:\n{}",
            run.stderr()
        );
        let masks = Masks::new().path(work.path(), "[work]");
        insta::with_settings!({ filters => masks.filters(), snapshot_suffix => command }, {
            insta::assert_snapshot!("job_file_over_10_mib", run.shown());
        });
    }
}

/// Regression: the error echoed the whole line (29 MB for a list of 3 million values).
#[test]
fn errors_on_a_line_of_megabytes_show_a_readable_part_of_it() {
    let work = Workspace::new();
    let values: Vec<String> = (0..200_000).map(|n| n.to_string()).collect();
    let too_many = format!(
        "[source]\nurl = \"http://127.0.0.1:9/?v={{v}}\"\n[source.partitions]\nv = [{}]\n",
        values.join(", ")
    );
    let headers: Vec<String> = (0..100_000).map(|n| format!("h{n} = \"{n}\"")).collect();
    let bad_type = format!(
        "[source]\nurl = \"http://127.0.0.1:9/\"\nheaders = {{ {}, last = 5 }}\n",
        headers.join(", ")
    );
    for (name, text, expected) in [
        (
            "too-many.toml",
            too_many,
            "partition `v` has more than 100000 values",
        ),
        ("bad-type.toml", bad_type, "expected a string"),
    ] {
        let path = work.job(name, &text);
        let run = pagefold(&["validate", path.to_str().unwrap()]);
        let stderr = run.stderr();
        assert_eq!(
            run.code(),
            2,
            "{name}: {}",
            &stderr[..stderr.len().min(2000)]
        );
        assert!(
            stderr.contains(expected),
            "{name}: {}",
            &stderr[..stderr.len().min(2000)]
        );
        assert!(
            stderr.len() < 2_000,
            "{name}: {} bytes of stderr",
            stderr.len()
        );
        let masks = Masks::new().path(work.path(), "[work]");
        insta::with_settings!({ filters => masks.filters(), snapshot_suffix => name }, {
            insta::assert_snapshot!("error_on_a_long_line", run.shown());
        });
    }
}
