//! What a shard and a merge say when they end, pinned: a shard's part and who merges, the
//! merge's line with its slowest shard. Times, sizes and paths are masked; the words are not.

use pagefold_demo_api::DemoConfig;

use crate::shards::PAGES;
use crate::support::{Masks, Workspace, demo_server, orders_job, pagefold};

#[test]
fn the_closing_lines_of_shards_and_of_their_merge() {
    let server = demo_server(DemoConfig {
        records: 300,
        ..DemoConfig::default()
    });
    let work = Workspace::new();
    let job = work.job(
        "nightly.toml",
        &orders_job(
            &server,
            PAGES,
            4,
            "[[reduce]]\nname = \"orders\"\nuse = \"count\"\n",
        ),
    );
    let job = job.to_str().unwrap();
    let parts = work.path().join("parts");
    let parts = parts.to_str().unwrap();
    let out = work.path().join("merged.json");
    let out = out.to_str().unwrap();
    let shard = |index: u32| {
        pagefold(&[
            "run",
            job,
            "--shard",
            &format!("{index}/2"),
            "--parts",
            parts,
            "--run-id",
            "nightly-7",
            "--merge",
            "-o",
            out,
        ])
    };
    let masks = Masks::new()
        .path(work.path(), "[work]")
        .rule(r"\(\d+\.\d MB, ", "([size] MB, ")
        .rule(r"\d+\.\d{2}s", "[time]")
        // Three pages a shard, without latency: faster than one after another, or not.
        .rule(
            r"; (one page after another would take ~\[time\] \(\d+\.\d× faster\)|no faster than one page after another would be \(~\[time\]\))",
            "; [beside one page after another]",
        );
    let snapshot = |name: &str, text: String| {
        insta::with_settings!({ filters => masks.filters() }, {
            insta::assert_snapshot!(name, text);
        });
    };

    // The first shard to end writes its part and leaves the merge to the last.
    let first = shard(0);
    assert_eq!(first.code(), 0, "{}", first.stderr());
    snapshot("shard_first_to_end", first.shown());
    // The last merges both parts into the output.
    let last = shard(1);
    assert_eq!(last.code(), 0, "{}", last.stderr());
    snapshot("shard_last_to_end_merges", last.shown());
    // `pagefold merge` on its own says the same of the merge.
    let merge = pagefold(&[
        "merge",
        job,
        "--parts",
        parts,
        "--run-id",
        "nightly-7",
        "-o",
        out,
    ]);
    assert_eq!(merge.code(), 0, "{}", merge.stderr());
    snapshot("merge_alone", merge.shown());
    let merged: serde_json::Value = serde_json::from_slice(&std::fs::read(out).unwrap()).unwrap();
    assert_eq!(merged["reducers"]["orders"], serde_json::json!(300));
}
