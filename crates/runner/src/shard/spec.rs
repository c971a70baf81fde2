//! Which shard a process is: `I/N` on the command line, or `auto/N` with the index from
//! `JOB_COMPLETION_INDEX`, which Kubernetes sets in each pod of an Indexed Job.

use std::fmt;
use std::str::FromStr;

/// The environment variable Kubernetes sets to a pod's index in an Indexed Job.
pub const COMPLETION_INDEX_ENV: &str = "JOB_COMPLETION_INDEX";

/// The most shards a run may be split into: far past where more processes stop paying, low
/// enough that a typo (`--shard 0/40000`) is caught.
pub const MAX_SHARDS: u32 = 4096;

/// Shard `index` (0-based) of `of`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This shard, `0..of`.
    pub index: u32,
    /// The number of shards.
    pub of: u32,
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.of)
    }
}

/// A `--shard` value that is not `I/N` or `auto/N`, or an index out of range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShardError {
    /// Not of the form `I/N`.
    #[error("`{0}` is not a shard: expected `I/N` (0-based, e.g. `0/4`) or `auto/N`")]
    Form(String),
    /// `N` is 0 or too large.
    #[error("`{0}`: the number of shards must be 1 to {MAX_SHARDS}")]
    Count(String),
    /// `I` is not below `N`.
    #[error("`{value}`: the shard index must be below {of} (shards are numbered from 0)")]
    Index {
        /// What was given.
        value: String,
        /// The number of shards.
        of: u32,
    },
    /// `auto/N` without `JOB_COMPLETION_INDEX`, or with a value that is not a number.
    #[error(
        "`auto/{of}` takes the shard index from `{COMPLETION_INDEX_ENV}`, which is {found}: \
         run it in a Kubernetes Indexed Job, or give the index (`--shard 0/{of}`)"
    )]
    NoIndex {
        /// The number of shards.
        of: u32,
        /// What the variable held, in words.
        found: String,
    },
}

/// A `--shard` argument before the index of `auto` is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShardArg {
    /// `I/N`.
    Given(Shard),
    /// `auto/N`.
    Auto {
        /// The number of shards.
        of: u32,
    },
}

impl FromStr for ShardArg {
    type Err = ShardError;

    fn from_str(value: &str) -> Result<Self, ShardError> {
        let form = || ShardError::Form(value.to_owned());
        let (index, of) = value.split_once('/').ok_or_else(form)?;
        let of: u32 = of.trim().parse().map_err(|_| form())?;
        if !(1..=MAX_SHARDS).contains(&of) {
            return Err(ShardError::Count(value.to_owned()));
        }
        let index = index.trim();
        if index == "auto" {
            return Ok(Self::Auto { of });
        }
        let index: u32 = index.parse().map_err(|_| form())?;
        if index >= of {
            return Err(ShardError::Index {
                value: value.to_owned(),
                of,
            });
        }
        Ok(Self::Given(Shard { index, of }))
    }
}

impl ShardArg {
    /// The number of shards.
    pub fn of(&self) -> u32 {
        match self {
            Self::Given(shard) => shard.of,
            Self::Auto { of } => *of,
        }
    }

    /// The shard, reading `JOB_COMPLETION_INDEX` for `auto/N` through `env`.
    ///
    /// # Errors
    ///
    /// For `auto/N` when the variable is unset, not a number, or not below `N`.
    pub fn resolve(&self, env: impl Fn(&str) -> Option<String>) -> Result<Shard, ShardError> {
        let of = match self {
            Self::Given(shard) => return Ok(*shard),
            Self::Auto { of } => *of,
        };
        let Some(text) = env(COMPLETION_INDEX_ENV) else {
            return Err(ShardError::NoIndex {
                of,
                found: "not set".into(),
            });
        };
        match text.trim().parse::<u32>() {
            Ok(index) if index < of => Ok(Shard { index, of }),
            Ok(index) => Err(ShardError::NoIndex {
                of,
                found: format!("{index}, not below {of}"),
            }),
            Err(_) => Err(ShardError::NoIndex {
                of,
                found: format!("`{}`, not a number", text.trim()),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_parse_and_auto_reads_the_completion_index() {
        assert_eq!(
            "2/4".parse::<ShardArg>(),
            Ok(ShardArg::Given(Shard { index: 2, of: 4 }))
        );
        assert!(matches!(
            "4/4".parse::<ShardArg>(),
            Err(ShardError::Index { .. })
        ));
        assert!(matches!(
            "0/0".parse::<ShardArg>(),
            Err(ShardError::Count(_))
        ));
        assert!(matches!(
            "1-4".parse::<ShardArg>(),
            Err(ShardError::Form(_))
        ));
        let auto: ShardArg = "auto/4".parse().unwrap();
        let env = |value: &'static str| move |_: &str| Some(value.to_owned());
        assert_eq!(auto.resolve(env("3")), Ok(Shard { index: 3, of: 4 }));
        assert!(auto.resolve(env("4")).is_err());
        assert!(auto.resolve(env("x")).is_err());
        assert!(auto.resolve(|_| None).is_err());
    }
}
