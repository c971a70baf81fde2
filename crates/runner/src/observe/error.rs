//! What can go wrong while telling the outside world: an endpoint that cannot listen, a
//! metrics file that cannot be written, a delivery that did not arrive.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// A problem of the observe layer.
#[derive(Debug, thiserror::Error)]
pub enum ObserveError {
    /// The `/metrics` endpoint cannot listen on its address.
    #[error("cannot serve metrics on `{addr}`")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The metrics file cannot be written.
    #[error("cannot write the metrics file `{}`", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

impl ObserveError {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::Listen { .. } => {
                Some("choose another address or a free port, e.g. --metrics 127.0.0.1:9464".into())
            }
            Self::Write { .. } => Some(
                "choose a writable folder, e.g. node_exporter's --collector.textfile.directory"
                    .into(),
            ),
        }
    }
}

/// A request that did not arrive.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// The receiver answered with an error: a final one, or the last of the attempts.
    #[error("answered {status} ({attempts} attempt{} in {elapsed:.1?})", plural(*attempts))]
    Refused {
        /// Its last answer.
        status: reqwest::StatusCode,
        /// Attempts made.
        attempts: u32,
        /// Time spent.
        elapsed: Duration,
    },
    /// The receiver could not be reached.
    #[error("could not be reached ({attempts} attempt{} in {elapsed:.1?})", plural(*attempts))]
    Unreachable {
        /// Attempts made.
        attempts: u32,
        /// Time spent.
        elapsed: Duration,
        /// The last attempt's error.
        #[source]
        source: reqwest::Error,
    },
}

fn plural(count: u32) -> &'static str {
    if count == 1 { "" } else { "s" }
}

/// `error` and its causes on one line, secrets hidden.
pub(crate) fn describe(error: &(dyn std::error::Error + 'static)) -> String {
    crate::secrets::redact(&crate::terminal::failure::one_line(error))
}
