//! Job file errors, table-driven: each bad file and the exact message a user gets.

use std::path::Path;

use super::{Job, JobError};

const GOOD: &str = r#"
[source]
url = "http://127.0.0.1:8080/orders"
records = "/data"
[source.pagination]
kind = "page"
size_param = "per_page"
size = 50
total_records = "/meta/total"
[[reduce]]
name = "orders"
use = "count"
"#;

fn error_of(text: &str) -> String {
    match Job::parse(Path::new("jobs/x.toml"), text) {
        Ok(_) => panic!("expected an error for:\n{text}"),
        Err(JobError::Invalid(located)) => located.to_string(),
        Err(other) => panic!("unexpected error {other}"),
    }
}

#[test]
fn a_good_job_parses_with_defaults() {
    let job = Job::parse(Path::new("jobs/orders.toml"), GOOD).unwrap();
    assert_eq!(job.name, "orders");
    assert_eq!(job.fetch.concurrency(), 16);
    assert_eq!(job.fetch.options().retries, 3);
    assert_eq!(job.reduce[0].name, "orders");
}

#[test]
fn errors_name_the_place_and_what_is_expected() {
    let cases: &[(&str, &str)] = &[
        (
            "[source\nurl = 1",
            "jobs/x.toml:1:8: unclosed table, expected `]`",
        ),
        (
            "[source]\nurl = \"http://x/\"\nrecord = \"/data\"\n",
            "jobs/x.toml:3:1: unknown key `record`",
        ),
        (
            "[source]\nurl = 5\n",
            "jobs/x.toml:2:7: invalid type: integer `5`, expected a string",
        ),
        (
            "[source]\nrecords = \"/data\"\n",
            "jobs/x.toml:1:1: missing field `url`",
        ),
        (
            "[source]\nurl = \"http://x/\"\nrecords = \"data\"\n",
            "jobs/x.toml:3:11: `data` is not a JSON Pointer: it must be empty or start with `/` (did you mean `/data`?)",
        ),
        (
            "[source]\nurl = \"ftp://x/\"\n",
            "jobs/x.toml:2:7: `ftp://x/` is not an http or https URL (the scheme is `ftp`)",
        ),
        (
            "[source]\nurl = \"not a url\"\n",
            "jobs/x.toml:2:7: `not a url` is not a URL: relative URL without a base",
        ),
        (
            "[source]\nurl = \"http://x/\"\n[source.pagination]\nkind = \"cursr\"\n",
            "jobs/x.toml:4:8: unknown variant `cursr`, expected one of `page`, `offset`, `none`, `cursor`, `next_url`, `link_header`",
        ),
        (
            "[source]\nurl = \"http://x/\"\n[source.pagination]\nkind = \"cursor\"\nparam = \"after\"\n",
            "jobs/x.toml:3:1: kind = \"cursor\" needs one of `next` (where the cursor is), `next_from_last_record` or `cursor_header`",
        ),
        (
            "[source]\nurl = \"http://x/\"\n[source.pagination]\nkind = \"page\"\nsize_param = \"n\"\n",
            "jobs/x.toml:3:1: `size_param` is set but `size` is not: set the page size to ask for",
        ),
        (
            "[source]\nurl = \"http://x/\"\n[fetch]\ntimeout = \"30 parsecs\"\n",
            "jobs/x.toml:4:11: invalid value: string \"30 parsecs\", expected a duration",
        ),
        (
            "[source]\nurl = \"http://x/\"\n[fetch]\nconcurrency = 0\n",
            "jobs/x.toml:4:15: `concurrency` must be from 1 to 4096, not 0",
        ),
        (
            "[source]\nurl = \"http://x/\"\n[[reduce]]\nuse = \"summ\"\n",
            "jobs/x.toml:4:7: unknown built-in reducer `summ`; built-ins are: count, sum, min, max, mean, approx_quantiles, count_by, distinct, approx_distinct, top_k, collect",
        ),
        (
            "[source]\nurl = \"http://x/\"\n[[reduce]]\nuse = \"sum\"\n",
            "jobs/x.toml:4:7: `sum` needs `field`, the JSON Pointer of the value it reads",
        ),
        (
            "[source]\nurl = \"http://x/\"\n[[reduce]]\nuse = \"distinct\"\nfield = \"/a\"\nprecision = 12\n",
            "jobs/x.toml:6:13: `precision` belongs to `approx_distinct`, not `distinct`",
        ),
        (
            "[source]\nurl = \"http://x/\"\n[[reduce]]\nuse = \"approx_distinct\"\nfield = \"/a\"\nprecision = 20\n",
            "jobs/x.toml:6:13: `precision` must be from 4 to 18 (2^precision registers), not 20",
        ),
        (
            "[source]\nurl = \"http://x/\"\n[[reduce]]\nuse = \"approx_quantiles\"\nfield = \"/a\"\nq = [0.5, 99]\n",
            "jobs/x.toml:6:11: `q` holds 99, but quantiles are from 0 to 1 (0.95 is p95)",
        ),
        (
            "[source]\nurl = \"http://x/\"\n[[reduce]]\nuse = \"approx_quantiles\"\nfield = \"/a\"\nq = []\n",
            "jobs/x.toml:6:5: `q` is empty: name at least one quantile",
        ),
        (
            "[source]\nurl = \"http://x/\"\n[[reduce]]\nuse = \"approx_quantiles\"\nfield = \"/a\"\nrelative_accuracy = 1\n",
            "jobs/x.toml:6:21: `relative_accuracy` must be from 0.0001 to 0.5 (0.01 is 1 %), not 1",
        ),
        (
            "[source]\nurl = \"http://x/\"\n[[reduce]]\nuse = \"approx_distinct\"\nfield = \"/a\"\nrelative_accuracy = 0.1\n",
            "jobs/x.toml:6:21: `relative_accuracy` belongs to `approx_quantiles`, not `approx_distinct`",
        ),
        (
            "[source]\nurl = \"http://x/\"\n[[reduce]]\nplugin = \"libq.so\"\nq = [0.5]\n",
            "jobs/x.toml:5:5: `q` is for built-ins; a plugin reads its settings from `config`",
        ),
        (
            "[source]\nurl = \"http://x/\"\n[[reduce]]\nuse = \"count\"\n[[reduce]]\nuse = \"count\"\n",
            "jobs/x.toml:5:1: two reducers are named `count`",
        ),
        (
            "[source]\nurl = \"http://x/\"\n[[reduce]]\nplugin = \"libq.so\"\nfield = \"/a\"\n",
            "jobs/x.toml:5:9: `field` is for built-ins; a plugin reads its settings from `config`",
        ),
        (
            "[source]\nurl = \"http://x/\"\n[[reduce]]\nname = \"x\"\n",
            "jobs/x.toml:3:1: a [[reduce]] entry needs `use` (a built-in) or `plugin` (a library)",
        ),
        (
            "[source]\nurl = \"http://x/\"\n[[reduce]]\nplugin = \"libq.so\"\nconfig = { since = 2024-01-01 }\n",
            "jobs/x.toml:5:10: `config` holds the TOML date 2024-01-01; write it as a string (\"2024-01-01\") for the plugin",
        ),
        (
            "[source]\nurl = \"http://x/{repo}/issues\"\n",
            "jobs/x.toml:1:1: `{repo}` is used but no partition (or `vars` of [child]) defines `repo`",
        ),
        (
            "[source]\nurl = \"http://x/issues\"\n[source.partitions]\nrepo = [\"a\"]\n",
            "jobs/x.toml:3:1: partition `repo` is used nowhere: put `{repo}` in the URL, a query value or a header",
        ),
        (
            "[source]\nurl = \"http://x/{n}\"\n[source.partitions]\nn = { from = 3, to = 1 }\n",
            "jobs/x.toml:4:5: partition `n` needs `from` ≤ `to` and a positive `step`",
        ),
        (
            "schedule = \"0 */6 * 13 *\"\n[source]\nurl = \"http://x/\"\n",
            "jobs/x.toml:1:21: invalid month field `13` in the cron expression: Number out of bounds.",
        ),
        (
            "schedule = \"0 6 * *\"\n[source]\nurl = \"http://x/\"\n",
            "jobs/x.toml:1:12: a cron expression has 5 or 6 fields, `0 6 * *` has 4",
        ),
        (
            "schedule = \"0 6 30 2 *\"\n[source]\nurl = \"http://x/\"\n",
            "jobs/x.toml:1:12: the cron expression `0 6 30 2 *` never matches a date",
        ),
        (
            "schedule = \"@daily\"\ntimezone = \"Europe/Berln\"\n[source]\nurl = \"http://x/\"\n",
            "jobs/x.toml:2:12: unknown time zone `Europe/Berln`",
        ),
        (
            "overlap = \"queue\"\n[source]\nurl = \"http://x/\"\n",
            "jobs/x.toml:1:11: `overlap` needs a `schedule`",
        ),
        (
            "schedule = \"@hourly\"\nmissed = \"later\"\n[source]\nurl = \"http://x/\"\n",
            "jobs/x.toml:2:10: unknown variant `later`, expected `skip` or `run_once`",
        ),
        (
            "[source]\nurl = \"http://x/\"\n[output]\npath = \"out/{name}-{day}.json\"\n",
            "jobs/x.toml:4:20: unknown placeholder `{day}`: use {name}, {date}, {time}, {run_id}, or {date:FORMAT}",
        ),
        (
            "[source]\nurl = \"http://x/\"\n[output]\npath = \"out.txt\"\nformat = \"xml\"\n",
            "jobs/x.toml:5:10: unknown variant `xml`, expected one of `json`, `ndjson`, `csv`",
        ),
        (
            "[source]\nurl = \"http://x/\"\n[source.incremental]\nfield = \"/updated_at\"\n",
            "jobs/x.toml:3:1: missing field `param`",
        ),
        (
            "[source]\nurl = \"http://x/\"\n[source.incremental]\nfield = \"/u\"\nparam = \"since\"\n[child]\nurl = \"http://x/{id}\"\nvars = { id = \"/id\" }\n",
            "jobs/x.toml:3:1: [source.incremental] does not work with [child] yet: the mark would be of the parents",
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(&error_of(text), expected, "for:\n{text}");
    }
}

#[test]
fn a_schedule_and_its_defaults() {
    let text = format!("schedule = \"*/30 * * * * *\"\ntimezone = \"Europe/Berlin\"\n{GOOD}");
    let job = Job::parse(Path::new("jobs/orders.toml"), &text).unwrap();
    let schedule = job.schedule.unwrap();
    assert_eq!(schedule.expression, "*/30 * * * * *");
    assert_eq!(schedule.overlap, super::Overlap::Skip);
    assert_eq!(schedule.missed, super::Missed::Skip);
    assert_eq!(job.timezone, chrono_tz::Europe::Berlin);
    assert!(
        Job::parse(Path::new("j.toml"), GOOD)
            .unwrap()
            .schedule
            .is_none()
    );
}

#[test]
fn the_snippet_points_at_the_value() {
    let Err(JobError::Invalid(located)) = Job::parse(Path::new("x.toml"), "[source]\nurl = 5\n")
    else {
        panic!("expected an error");
    };
    assert_eq!(located.snippet(), "  |\n2 | url = 5\n  |       ^");
}

#[test]
fn plugin_paths_are_relative_to_the_job_file() {
    let text = "[source]\nurl = \"http://x/\"\n[[reduce]]\nplugin = \"plugins/libq.so\"\nconfig = { q = [0.5] }\n";
    let job = Job::parse(Path::new("/jobs/x.toml"), text).unwrap();
    match &job.reduce[0].reducer {
        super::ReducerUse::Plugin { path, config } => {
            assert_eq!(path, Path::new("/jobs/plugins/libq.so"));
            assert_eq!(config, &serde_json::json!({ "q": [0.5] }));
        }
        other => panic!("expected a plugin, got {other:?}"),
    }
    assert_eq!(job.reduce[0].name, "q");
}

#[test]
fn sketch_settings_reach_the_reducer_and_default_elsewhere() {
    let text = format!(
        "{GOOD}[[reduce]]\nuse = \"approx_distinct\"\nfield = \"/id\"\nprecision = 16\n\
         [[reduce]]\nuse = \"approx_quantiles\"\nfield = \"/n\"\nq = [0.1, 1]\nrelative_accuracy = 0.02\n"
    );
    let job = Job::parse(Path::new("jobs/x.toml"), &text).unwrap();
    let sketch = |index: usize| match &job.reduce[index].reducer {
        super::ReducerUse::Builtin { sketch, .. } => sketch.clone(),
        super::ReducerUse::Plugin { .. } => panic!("a built-in"),
    };
    assert_eq!(sketch(0), super::SketchOptions::default());
    assert_eq!(sketch(1).precision, 16);
    assert_eq!(sketch(2).quantiles, [0.1, 1.0]);
    assert_eq!(sketch(2).relative_accuracy, 0.02);
}
