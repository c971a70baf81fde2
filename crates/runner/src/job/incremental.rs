//! `[source.incremental]`: fetch only what is new since the last successful run.
//!
//! ```toml
//! [source.incremental]
//! field = "/updated_at"   # the records' field whose maximum is kept after a successful run
//! param = "since"         # sent with that maximum (less `lag`) on the next run
//! lag = "10m"             # re-ask for this much before the mark, for late writes
//! carry = true            # reducers go on from the last run's states: all-time totals
//! start = "2026-01-01T00:00:00Z"  # sent on the first run; none: the first run takes all
//! ```

use std::time::Duration;

use pagefold_json::Pointer;
use serde::Deserialize;

/// `[source.incremental]`.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IncrementalSpec {
    /// The field (JSON Pointer into each record): RFC 3339 times, numbers (epoch seconds for
    /// `lag`), or strings that sort.
    #[schemars(with = "String")]
    pub field: Pointer,
    /// The query parameter that carries the mark.
    pub param: String,
    /// How far before the mark to ask again; records seen by the last run are not folded
    /// twice.
    #[serde(default, with = "humantime_serde")]
    #[schemars(with = "Option<String>")]
    pub lag: Option<Duration>,
    /// Whether reducers start from the last successful run's states.
    #[serde(default)]
    pub carry: bool,
    /// The value sent on the first run.
    pub start: Option<String>,
}
