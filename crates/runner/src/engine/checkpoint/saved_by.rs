//! Whether saved reducer states can be read back by the job as it is now: the same job, the
//! same reducers, and each plugin's states read by the plugin and state format that wrote them.
//! Checkpoints and shard parts both hold saved states, and both are checked here.

use crate::engine::reduce::PluginIdentity;
use crate::identity::{Change, Fingerprint};

/// Who saves or reads reducer states: a job's identity, its reducers' names, and per reducer
/// the plugin behind it (none for a built-in).
pub struct SavedBy<'a> {
    /// The job's identity.
    pub identity: &'a Fingerprint,
    /// Its reducers' names, in job order.
    pub reducers: &'a [String],
    /// Per reducer, the plugin behind it, if any.
    pub plugins: &'a [Option<PluginIdentity>],
}

/// Why states saved by one job cannot be read by another: the first difference found.
#[derive(Debug)]
pub enum Mismatch {
    /// The job itself changed (its text, its reducers, a built-in swapped for a plugin).
    Job(Change),
    /// A plugin's states were written by another plugin or state format.
    Plugin {
        /// The reducer whose plugin differs.
        reducer: String,
        /// What differs, in words.
        reason: String,
    },
}

impl SavedBy<'_> {
    /// Why `self` cannot read what `saved` wrote, if it cannot.
    pub fn refuses(&self, saved: &SavedBy<'_>) -> Option<Mismatch> {
        let change = self
            .identity
            .change_from(saved.identity, true)
            .or_else(|| (self.reducers != saved.reducers).then_some(Change::Text));
        if let Some(change) = change {
            return Some(Mismatch::Job(change));
        }
        for ((reducer, now), before) in self.reducers.iter().zip(self.plugins).zip(saved.plugins) {
            match (now, before) {
                (Some(now), Some(before)) => {
                    if let Some(reason) = now.refuses(before) {
                        return Some(Mismatch::Plugin {
                            reducer: reducer.clone(),
                            reason,
                        });
                    }
                }
                (None, None) => {}
                // A built-in where a plugin was, or the other way round.
                _ => return Some(Mismatch::Job(Change::Text)),
            }
        }
        None
    }
}
