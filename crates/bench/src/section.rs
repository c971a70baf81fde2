//! What a scenario of its own module hands back to the table: its rows, printed as it ends,
//! and its targets and lines of detail, printed with everyone else's under the table.

use std::time::Duration;

use crate::measure::Measured;
use crate::report::{Target, print_row};
use crate::scenarios::Scenario;

/// One row of the table.
pub(crate) struct Row {
    pub(crate) id: &'static str,
    pub(crate) name: String,
    pub(crate) pages: u64,
    pub(crate) page_size: u64,
    pub(crate) latency: Duration,
    /// Requests in flight; 0 prints `py`, a Python client.
    pub(crate) concurrency: usize,
    pub(crate) measured: Measured,
    pub(crate) ideal: Option<Duration>,
}

impl Row {
    /// The row of `scenario`, measured; the name and the rest may be changed after.
    pub(crate) fn of(scenario: &Scenario, measured: Measured, ideal: Option<Duration>) -> Self {
        Self {
            id: scenario.id,
            name: scenario.name.into(),
            pages: scenario.pages,
            page_size: scenario.page_size,
            latency: scenario.latency,
            concurrency: scenario.concurrency,
            measured,
            ideal,
        }
    }
}

/// A scenario's rows, targets and detail lines.
#[derive(Default)]
pub(crate) struct Section {
    pub(crate) rows: Vec<Row>,
    pub(crate) targets: Vec<Target>,
    pub(crate) details: Vec<String>,
}

impl Section {
    pub(crate) fn print_rows(&self) {
        for row in &self.rows {
            print_row(
                row.id,
                &row.name,
                row.pages,
                row.page_size,
                row.latency,
                row.concurrency,
                &row.measured,
                row.ideal,
            );
        }
    }

    /// The row `id`, when its run succeeded with the right records.
    pub(crate) fn good(&self, id: &str) -> Option<&Measured> {
        self.rows
            .iter()
            .find(|row| row.id == id)
            .map(|row| &row.measured)
            .filter(|measured| is_good(measured))
    }
}

/// Whether a run's note says it failed, gave a wrong count or did not run.
pub(crate) fn is_good(measured: &Measured) -> bool {
    !["FAILED", "WRONG", "skipped", "not available"]
        .iter()
        .any(|bad| measured.note.starts_with(bad))
}

/// `x` as a ratio, or `-` when there is none.
pub(crate) fn times(ratio: Option<f64>) -> String {
    ratio.map_or("-".into(), |r| format!("{r:.2}×"))
}
