//! What a trace records: compact events, with times in µs since the run's start.

/// Which kind of chain a track is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// A chain of the job's own source (one per partition).
    Partition,
    /// A chain of the parent source, with `[child]`.
    Parent,
    /// A child chain.
    Child,
}

/// A chain's track: its role and number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Track {
    pub(crate) role: Role,
    pub(crate) chain: u32,
}

/// One thing that happened, with times in µs since the run's start.
#[derive(Debug)]
pub(crate) enum Event {
    Request(Request),
    /// A chain waited for room in the channel to the reducers.
    HeldBack {
        track: Track,
        at: u64,
        duration: u64,
    },
    Retry {
        track: Track,
        at: u64,
        url: Box<str>,
        reason: Box<str>,
        wait: u64,
        asked: bool,
    },
    Pause {
        at: u64,
        reason: Box<str>,
        wait: u64,
    },
    Limit {
        at: u64,
        from: usize,
        to: usize,
    },
    Checkpoint {
        at: u64,
    },
    Counters {
        at: u64,
        in_flight: usize,
        limit: usize,
        queued: usize,
    },
}

impl Event {
    /// When it happened (a request: when it was sent), in µs since the run's start.
    pub(crate) fn at(&self) -> u64 {
        match self {
            Self::Request(request) => request.sent,
            Self::HeldBack { at, .. }
            | Self::Retry { at, .. }
            | Self::Pause { at, .. }
            | Self::Limit { at, .. }
            | Self::Checkpoint { at }
            | Self::Counters { at, .. } => *at,
        }
    }
}

/// One HTTP request (an attempt at a page).
#[derive(Debug)]
pub(crate) struct Request {
    pub(crate) track: Track,
    pub(crate) index: u64,
    pub(crate) attempt: u32,
    /// Redacted, without the origin (which the trace names once).
    pub(crate) url: Url,
    pub(crate) queued: u64,
    pub(crate) throttled: u64,
    pub(crate) sent: u64,
    pub(crate) headers: Option<u64>,
    pub(crate) ended: u64,
    pub(crate) status: Option<u16>,
    pub(crate) bytes: u64,
    pub(crate) failure: Option<Box<str>>,
}

/// A URL kept in a shard's arena: a range of it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Url {
    pub(crate) start: u32,
    pub(crate) end: u32,
}
