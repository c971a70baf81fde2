//! A sealed file: JSON content wrapped with what it is, its format and a checksum, so that a
//! file cut short by a crash or a full disk, damaged on disk, or edited by hand is told apart
//! from a file of another job and refused for what it is.
//!
//! ```json
//! {"pagefold":"checkpoint","format":3,"sha256":"9f86…","content":{…}}
//! ```
//!
//! The checksum covers the bytes of `content` exactly as written (read back as a raw value,
//! never re-serialised). It guards against accidents, not attackers: whoever can write the
//! file can write a matching checksum. Checkpoints use it; the parts of sharded runs are meant
//! to (another `kind`, the same envelope).

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// Why a sealed file cannot be opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Damage {
    /// The text ends before the JSON does.
    #[error(
        "it ends early ({bytes} bytes), as a crash or a full disk while writing would leave it"
    )]
    Truncated {
        /// Its length.
        bytes: usize,
    },
    /// Not JSON, or not an envelope.
    #[error("it is not a pagefold file ({0})")]
    NotSealed(String),
    /// Written before files were sealed.
    #[error("it was written by an older pagefold, without a checksum")]
    Unsealed,
    /// Another kind of file (a part where a checkpoint was expected, say).
    #[error("it is a pagefold {found}, not a {expected}")]
    OtherKind {
        /// What it says it is.
        found: String,
        /// What was expected.
        expected: String,
    },
    /// Another format of the same kind.
    #[error("it is in format {found}, and this pagefold reads format {expected}")]
    OtherFormat {
        /// Its format.
        found: u32,
        /// The format read.
        expected: u32,
    },
    /// The checksum does not match the content.
    #[error(
        "its checksum does not match its content: it was edited or damaged after it was written"
    )]
    Checksum,
}

#[derive(Serialize)]
struct Sealing<'a> {
    pagefold: &'a str,
    format: u32,
    sha256: String,
    content: &'a RawValue,
}

#[derive(Deserialize)]
struct Opening<'a> {
    pagefold: Option<String>,
    format: Option<u32>,
    sha256: Option<String>,
    #[serde(borrow)]
    content: Option<&'a RawValue>,
}

/// `content` (JSON text) sealed as a `kind` file of `format`.
///
/// # Panics
///
/// When `content` is not JSON (it comes from `serde_json`, so it is).
pub fn seal(kind: &str, format: u32, content: &str) -> String {
    let content: &RawValue = serde_json::from_str(content).expect("the content is JSON");
    serde_json::to_string(&Sealing {
        pagefold: kind,
        format,
        sha256: sha256(content.get()),
        content,
    })
    .expect("an envelope serializes")
}

/// The content of a sealed `kind` file of `format`, checked.
///
/// # Errors
///
/// When it is cut short, not sealed, of another kind or format, or its checksum fails.
pub fn open<'a>(kind: &str, format: u32, text: &'a str) -> Result<&'a str, Damage> {
    let opening: Opening<'a> = serde_json::from_str(text).map_err(|error| {
        if error.is_eof() {
            Damage::Truncated { bytes: text.len() }
        } else {
            Damage::NotSealed(error.to_string())
        }
    })?;
    let Some(found) = opening.pagefold else {
        return Err(Damage::Unsealed);
    };
    if found != kind {
        return Err(Damage::OtherKind {
            found,
            expected: kind.to_owned(),
        });
    }
    let (Some(found), Some(sum), Some(content)) = (opening.format, opening.sha256, opening.content)
    else {
        return Err(Damage::NotSealed(
            "`format`, `sha256` or `content` is missing".into(),
        ));
    };
    if found != format {
        return Err(Damage::OtherFormat {
            found,
            expected: format,
        });
    }
    if sha256(content.get()) != sum {
        return Err(Damage::Checksum);
    }
    Ok(content.get())
}

fn sha256(text: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, text.as_bytes());
    super::hex(digest.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_content_opens_as_written() {
        let sealed = seal("checkpoint", 3, r#"{"pages":5,"done":[[0,0,4]]}"#);
        assert_eq!(
            open("checkpoint", 3, &sealed),
            Ok(r#"{"pages":5,"done":[[0,0,4]]}"#)
        );
    }

    #[test]
    fn each_damage_is_named() {
        let sealed = seal("checkpoint", 3, r#"{"pages":5}"#);
        let cut = &sealed[..sealed.len() - 7];
        assert_eq!(
            open("checkpoint", 3, cut),
            Err(Damage::Truncated { bytes: cut.len() })
        );
        let edited = sealed.replace("\"pages\":5", "\"pages\":9");
        assert_eq!(open("checkpoint", 3, &edited), Err(Damage::Checksum));
        assert_eq!(
            open("checkpoint", 3, r#"{"format":2,"pages":5}"#),
            Err(Damage::Unsealed)
        );
        assert!(matches!(
            open("part", 3, &sealed),
            Err(Damage::OtherKind { .. })
        ));
        assert!(matches!(
            open("checkpoint", 4, &sealed),
            Err(Damage::OtherFormat { found: 3, .. })
        ));
        assert!(matches!(
            open("checkpoint", 3, "not json"),
            Err(Damage::NotSealed(_))
        ));
        assert!(matches!(
            open("checkpoint", 3, "\u{0}\u{0}\u{0}"),
            Err(Damage::NotSealed(_))
        ));
    }
}
