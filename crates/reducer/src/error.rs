//! The one error type a reducer returns.

/// An error a reducer reports: a bad config, or a record it cannot fold.
///
/// The message should say what is wrong and, where it can, what to do; pagefold prints it after
/// the reducer's name and the page it was folding.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ReducerError {
    message: String,
}

impl ReducerError {
    /// An error with the given message (lower case, no trailing period, values in backticks).
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl From<String> for ReducerError {
    fn from(message: String) -> Self {
        Self::new(message)
    }
}

impl From<&str> for ReducerError {
    fn from(message: &str) -> Self {
        Self::new(message)
    }
}
