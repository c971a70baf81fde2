//! Scenario 17: cursor chains side by side. A cursor chain is sequential by nature (each page
//! names the next), so its parallelism comes from partitions: 8 partitions
//! (`/cursor/orders?part={part}`, `part` from 0 to 7; the demo API ignores the parameter, so
//! each is a chain of the same 250 pages of 50) at 50 ms a request. The ideal is one chain's
//! time, 250 × 50 ms; the target, within 1.1× of it.

use std::path::Path;
use std::time::Duration;

use crate::demo_api::DemoApi;
use crate::pagefold_run::run_job;
use crate::report::Target;
use crate::scenarios::{AGGREGATES, Scenario};
use crate::section::{Row, Section, times};

const PARTITIONS: u64 = 8;
const PAGE_SIZE: u64 = 50;
const LATENCY: Duration = Duration::from_millis(50);

/// Runs scenario 17 with chains of `chain` pages, once whatever `--repeat` says.
pub(crate) fn run(binary: &Path, chain: u64, folder: &Path) -> Section {
    let server = DemoApi::start(binary, chain, PAGE_SIZE, LATENCY, true, &[]);
    let pages = chain * PARTITIONS;
    // Cursor chains end where the API says, with no total.
    let scenario = Scenario {
        totals: false,
        ..Scenario::plain(
            ("17", "cursor chains: 8 partitions"),
            (pages, PAGE_SIZE),
            LATENCY,
            64,
            AGGREGATES,
        )
    };
    let job = format!(
        "[source]\nurl = \"{url}?part={{part}}\"\nrecords = \"/data\"\n\
         [source.partitions]\npart = {{ from = 0, to = {last} }}\n\
         [source.pagination]\nkind = \"cursor\"\nparam = \"cursor\"\nnext = \"/meta/next_cursor\"\n\
         has_more = \"/meta/has_more\"\nsize_param = \"limit\"\nsize = {PAGE_SIZE}\nmax_pages = 1000000\n\
         [fetch]\nconcurrency = 64\nretries = 8\n{AGGREGATES}",
        url = server.url("/cursor/orders"),
        last = PARTITIONS - 1,
    );
    // Latency-bound and 13 s long: one run says what three would, and keeps the benchmark
    // within its 5 minutes.
    let (measured, _, _) = run_job(binary, &scenario, &job, &server, folder, 1, false);
    let ideal = LATENCY * chain as u32;
    let ratio = crate::section::is_good(&measured)
        .then(|| measured.wall.as_secs_f64() / ideal.as_secs_f64());
    let targets = vec![Target {
        label: format!(
            "scenario 17: {PARTITIONS} cursor chains of {chain} pages within 1.1× of {chain} × 50 ms ({})",
            times(ratio)
        ),
        met: ratio.map(|r| r <= 1.1),
    }];
    let rows = vec![Row {
        name: format!("cursor chains: {PARTITIONS} partitions of {chain}"),
        ..Row::of(&scenario, measured, Some(ideal))
    }];
    Section {
        rows,
        targets,
        details: Vec::new(),
    }
}
