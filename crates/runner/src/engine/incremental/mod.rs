//! Incremental runs: the mark (the largest value of a field seen, with the records near it)
//! as a reducer of its own, so that it folds on every worker, merges, and is saved in
//! checkpoints like any other; the filter that keeps a record seen by the last run from being
//! folded twice; and what is kept between runs in the state directory.
//!
//! The mark keeps a hash of every record within `lag` of the largest value. The next run asks
//! for records from `mark - lag`; those it gets back unchanged are the ones hashed, and are not
//! folded again, while a record written late in that window is new and is folded.

mod filter;
mod mark;
mod persisted;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};

pub use filter::{MarkFilter, attach};
pub use mark::{MARK_NAME, MarkKey, MarkReducer, MarkState, PreviousMark};
pub use persisted::{IncrementalError, Persisted, incremental_start, keep_incremental};

use crate::engine::reduce::Partial;
/// The value to send as `param`: the mark less `lag`, spelled as the API spelled the mark.
pub fn since_value(raw: &str, lag: Option<Duration>) -> Result<String, String> {
    let lag = lag.unwrap_or_default();
    if raw.starts_with('"') {
        let text: String = serde_json::from_str(raw).map_err(|error| error.to_string())?;
        return match DateTime::parse_from_rfc3339(&text) {
            Ok(time) if !lag.is_zero() => {
                let lag = chrono::Duration::from_std(lag).map_err(|error| error.to_string())?;
                let earlier = time - lag;
                Ok(if text.ends_with('Z') || text.ends_with('z') {
                    earlier
                        .with_timezone(&Utc)
                        .to_rfc3339_opts(SecondsFormat::AutoSi, true)
                } else {
                    earlier.to_rfc3339_opts(SecondsFormat::AutoSi, false)
                })
            }
            Ok(_) => Ok(text),
            Err(_) if lag.is_zero() => Ok(text),
            Err(_) => Err(format!(
                "`lag` needs times (RFC 3339) or numbers, but the mark is the string {raw}"
            )),
        };
    }
    if lag.is_zero() {
        return Ok(raw.to_owned());
    }
    let value: f64 = raw
        .parse()
        .map_err(|_| format!("the mark {raw} is not a number or a string"))?;
    let earlier = value - lag.as_secs_f64();
    Ok(if earlier.fract() == 0.0 && earlier.abs() < 9e15 {
        format!("{}", earlier as i64)
    } else {
        earlier.to_string()
    })
}

/// What an incremental run starts from (see [`crate::engine::run::RunOptions::incremental`]).
#[derive(Debug, Clone, Default)]
pub struct IncrementalStart {
    /// The value sent as `param`, if any (none: all records).
    pub since: Option<String>,
    /// The last successful run's mark.
    pub previous: Arc<PreviousMark>,
    /// The job reducers' states to start from (with `carry`), in job order.
    pub reducer_states: Option<Vec<Vec<u8>>>,
    /// The mark's state to start from: the mark never goes back, even after a run that
    /// found nothing new.
    pub mark_state: Option<Vec<u8>>,
    /// Why this run fetches everything although a mark was kept, for the result's warnings.
    pub note: Option<String>,
}

impl IncrementalStart {
    /// The first worker's starting states: the carried ones (with `carry`), fresh ones for
    /// the rest, and the mark's. `None` when nothing is carried.
    ///
    /// # Errors
    ///
    /// When a state cannot be created or read back.
    pub fn restored(
        &self,
        reducers: &crate::engine::reduce::Reducers,
    ) -> Result<Option<Vec<Box<dyn Partial>>>, crate::engine::reduce::ReduceError> {
        if self.reducer_states.is_none() && self.mark_state.is_none() {
            return Ok(None);
        }
        let mut states = reducers.fresh_states()?;
        if let Some(carried) = &self.reducer_states {
            states.splice(..carried.len().min(states.len()), carried.iter().cloned());
        }
        if let (Some(mark), Some(last)) = (&self.mark_state, states.last_mut()) {
            last.clone_from(mark);
        }
        reducers.restore(&[states]).map(Some)
    }
}

/// What an incremental run ends with, for the next.
#[derive(Debug, Clone)]
pub struct IncrementalEnd {
    /// Every reducer's state and the mark's last.
    pub states: Vec<Vec<u8>>,
    /// The mark: the largest value seen, raw JSON.
    pub mark: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_order_and_lag() {
        let early = MarkKey::read("\"2026-01-01T00:00:00Z\"").unwrap();
        let late = MarkKey::read("\"2026-01-01T01:00:00+01:00\"").unwrap();
        assert_eq!(early, late, "the same instant in two offsets");
        assert!(MarkKey::read("5").unwrap() < early);
        assert!(early < MarkKey::read("\"zzz\"").unwrap());
        assert_eq!(MarkKey::read("null"), None);
        assert_eq!(
            since_value("\"2026-01-01T00:10:00Z\"", Some(Duration::from_secs(600))).unwrap(),
            "2026-01-01T00:00:00Z"
        );
        assert_eq!(
            since_value("1700000600", Some(Duration::from_secs(600))).unwrap(),
            "1700000000"
        );
        assert_eq!(since_value("\"abc\"", None).unwrap(), "abc");
        assert!(since_value("\"abc\"", Some(Duration::from_secs(1))).is_err());
    }
}
