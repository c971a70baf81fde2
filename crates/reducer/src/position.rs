//! Where a record came from.

use serde::{Deserialize, Serialize};

/// The place of a record in the whole run: which request chain, which page of it, which record
/// of the page. Positions are totally ordered (chain, then page, then record) and do not
/// depend on when a page arrived, so a reducer that cares about order ("the first 10") sorts
/// by position and stays deterministic.
///
/// ```
/// use pagefold_reducer::Position;
///
/// let first = Position { chain: 0, page: 0, record: 1 };
/// let later = Position { chain: 0, page: 1, record: 0 };
/// assert!(first < later);
/// ```
#[repr(C)]
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct Position {
    /// The request chain (one per partition); 0 when the job has a single chain.
    pub chain: u32,
    /// The page within the chain, counting from 0.
    pub page: u64,
    /// The record within the page, counting from 0.
    pub record: u32,
}
