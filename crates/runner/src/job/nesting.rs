//! How deep arrays and inline tables nest in a job file, measured before the TOML parser
//! reads it: the parser recurses once a level, so a file of a few thousand `[` would
//! overflow the stack (an abort, not an error).

use std::ops::Range;

/// Deeper than this is not a job file a person writes (real ones nest three or four levels).
pub(crate) const MAX_NESTING: usize = 64;

/// `Err` with the span of the first bracket past [`MAX_NESTING`] levels of `[` and `{` (outside
/// strings and comments).
pub(crate) fn check(text: &str) -> Result<(), Range<usize>> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut at = 0;
    while at < bytes.len() {
        match bytes[at] {
            b'#' => {
                // A comment runs to the end of the line.
                at = memchr(b'\n', bytes, at).unwrap_or(bytes.len());
                continue;
            }
            quote @ (b'"' | b'\'') => {
                at = string_end(bytes, at, quote);
                continue;
            }
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Err(at..at + 1);
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        at += 1;
    }
    Ok(())
}

/// The stack the TOML parser runs with: what [`MAX_NESTING`] levels take in an unoptimised
/// build (about 100 KiB a level, for the parser and serde together), with room to spare.
const PARSER_STACK: usize = 32 * 1024 * 1024;

/// `toml::from_str` on a thread of its own with [`PARSER_STACK`] bytes of stack: the job may
/// be loaded on any thread (a runtime's worker has 2 MiB), and the memory is only reserved.
pub(crate) fn parse_on_large_stack<T>(text: &str) -> Result<T, toml::de::Error>
where
    T: serde::de::DeserializeOwned + Send,
{
    std::thread::scope(|scope| {
        let parser = std::thread::Builder::new()
            .name("job-file".into())
            .stack_size(PARSER_STACK)
            .spawn_scoped(scope, || toml::from_str(text));
        match parser {
            Ok(parser) => parser
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            // No thread to be had: parse here, within the nesting checked before.
            Err(_) => toml::from_str(text),
        }
    })
}

fn memchr(byte: u8, bytes: &[u8], from: usize) -> Option<usize> {
    bytes[from..]
        .iter()
        .position(|b| *b == byte)
        .map(|i| from + i)
}

/// The index after the string that opens at `start` with `quote` (one or three of them); the
/// end of the text when it is not closed (the parser says so then).
fn string_end(bytes: &[u8], start: usize, quote: u8) -> usize {
    let triple = bytes[start..].starts_with(&[quote; 3]);
    let escapes = quote == b'"';
    let mut at = start + if triple { 3 } else { 1 };
    while at < bytes.len() {
        let byte = bytes[at];
        if escapes && byte == b'\\' {
            at += 2;
            continue;
        }
        if byte == quote {
            if !triple {
                return at + 1;
            }
            if bytes[at..].starts_with(&[quote; 3]) {
                // Up to two more quotes may close a multi-line string (`""""` ends in `"`).
                let mut end = at + 3;
                while end < bytes.len() && bytes[end] == quote && end < at + 5 {
                    end += 1;
                }
                return end;
            }
        }
        if byte == b'\n' && !triple {
            // A one-line string ends at the line's end at the latest.
            return at;
        }
        at += 1;
    }
    bytes.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_brackets_outside_strings_and_comments() {
        assert_eq!(check("a = [[1], {b = [2]}]\n[t]\n[[u]]\n"), Ok(()));
        let deep = format!("a = {}", "[".repeat(65));
        assert_eq!(check(&deep), Err(68..69));
        let quoted = format!(
            "a = \"{0}\"\nb = '{0}'\nc = \"\"\"\n{0}\"\"\"\n# {0}\nd = '''{0}'''\n",
            "[".repeat(100)
        );
        assert_eq!(check(&quoted), Ok(()));
        assert_eq!(check(&format!("a = \"\\\"{}\"", "[".repeat(100))), Ok(()));
    }
}
