//! Where in a job file a message is about: the file, line and column, and the line itself
//! with a caret under the place, cut to a readable width so that a line of megabytes (a
//! generated list of values) is never echoed whole.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// Characters of a source line shown around the place; a longer line is cut, with `…` where
/// text was left out.
const SHOWN: usize = 100;

/// Characters of a message kept; the parser's messages quote values, and a value can be a
/// whole line of megabytes.
const MESSAGE: usize = 400;

/// A message about a place in a job file.
#[derive(Debug, Clone)]
pub struct Located {
    /// The file.
    pub path: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column (in characters).
    pub column: usize,
    /// The line's text, for the caret display (cut to about [`SHOWN`] characters around the
    /// column when it is longer).
    pub source_line: String,
    /// How many characters to underline.
    pub width: usize,
    /// The column of the place in `source_line` as cut (the same as `column` when the line
    /// is short).
    shown_column: usize,
    /// What is wrong.
    pub message: String,
    /// What to do, if there is something to say.
    pub hint: Option<String>,
}

impl fmt::Display for Located {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.path.display(),
            self.line,
            self.column,
            self.message
        )
    }
}

impl Located {
    /// The offending line with a caret under the place, as the error display shows it; a
    /// long line shows the [`SHOWN`] characters around the place.
    pub fn snippet(&self) -> String {
        let number = self.line.to_string();
        let pad = " ".repeat(number.len());
        let caret = format!(
            "{}{}",
            " ".repeat(self.shown_column.saturating_sub(1)),
            "^".repeat(self.width.max(1))
        );
        format!("{pad} |\n{number} | {}\n{pad} | {caret}", self.source_line)
    }
}

/// `line` cut to about [`SHOWN`] characters around `column`, with the column and width of
/// the underline in what is shown.
fn window(line: &str, column: usize, width: usize) -> (String, usize, usize) {
    let length = line.chars().count();
    if length <= SHOWN {
        return (line.to_owned(), column, width);
    }
    // A third of the window before the place, the rest after it.
    let place = column.saturating_sub(1).min(length);
    let start = place.saturating_sub(SHOWN / 3);
    let end = (start + SHOWN).min(length);
    let mut shown: String = line.chars().skip(start).take(end - start).collect();
    let mut column = place - start + 1;
    if start > 0 {
        shown.insert(0, '…');
        column += 1;
    }
    if end < length {
        shown.push('…');
    }
    let width = width.min(end.saturating_sub(place)).max(1);
    (shown, column, width)
}

/// A job file is text a person writes: one past this size is a mistake (a data file named
/// by accident, a generator gone wrong), refused before it is read whole.
pub(crate) const MAX_JOB_FILE: u64 = 10 * 1024 * 1024;

/// The text of the job file at `path`, refused when it is larger than [`MAX_JOB_FILE`]
/// (checked on the size the file system gives, then again while reading, for a pipe or a
/// device that has no size).
pub(crate) fn read_job_text(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let too_large = |size: String| {
        std::io::Error::new(
            std::io::ErrorKind::FileTooLarge,
            format!(
                "the file is {size}; a job file is at most 10 MiB (is it the job file, or data?)"
            ),
        )
    };
    let file = std::fs::File::open(path)?;
    let size = file.metadata()?.len();
    if size > MAX_JOB_FILE {
        return Err(too_large(format!("{size} bytes")));
    }
    let mut bytes = Vec::new();
    file.take(MAX_JOB_FILE + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_JOB_FILE {
        return Err(too_large("more than 10 MiB".into()));
    }
    String::from_utf8(bytes).map_err(|error| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "the file is not UTF-8 text (a byte that is not UTF-8 at byte {})",
                error.utf8_error().valid_up_to()
            ),
        )
    })
}

/// `message`, its middle left out when it is longer than [`MESSAGE`] characters.
fn readable(message: String) -> String {
    if message.chars().count() <= MESSAGE {
        return message;
    }
    let head: String = message.chars().take(MESSAGE * 3 / 4).collect();
    let tail: Vec<char> = message.chars().rev().take(MESSAGE / 4).collect();
    let tail: String = tail.into_iter().rev().collect();
    format!("{head} … {tail}")
}

/// The place of `span` in `text` (the file at `path`), with the message and hint.
pub(crate) fn locate(
    path: &Path,
    text: &str,
    span: Range<usize>,
    message: String,
    hint: Option<String>,
) -> Located {
    let start = floor_char_boundary(text, span.start.min(text.len()));
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
    let line = text[..start].matches('\n').count() + 1;
    let column = text[line_start..start].chars().count() + 1;
    let end = floor_char_boundary(text, span.end.clamp(start, line_end));
    let width = text[start..end].chars().count();
    // The line is kept as it is shown: the column in the message is the one in the file,
    // the caret goes under the place in the cut line.
    let (source_line, shown_column, width) = window(
        text[line_start..line_end].trim_end_matches('\r'),
        column,
        width,
    );
    Located {
        path: path.to_owned(),
        line,
        column,
        source_line,
        width,
        shown_column,
        message: readable(message),
        hint,
    }
}

/// The largest char boundary at or below `at` (a span from the parser always is one; a span
/// mapped back through `${env.…}` expansion might not be).
fn floor_char_boundary(text: &str, mut at: usize) -> usize {
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// The bytes of `text` where `within` (a byte range of the decoded string value written at
/// `span`, quotes included) is written: escapes decoded on the way. `None` when the value is
/// not a string as expected or uses a line-ending backslash (the whole value is shown then).
pub(crate) fn inside_string(
    text: &str,
    span: Range<usize>,
    within: Range<usize>,
) -> Option<Range<usize>> {
    let raw = text.get(span.clone())?;
    let (quote, escapes) = [("'''", false), ("\"\"\"", true), ("'", false), ("\"", true)]
        .into_iter()
        .find(|(quote, _)| raw.starts_with(quote))?;
    let mut body_start = span.start + quote.len();
    if quote.len() == 3 {
        // A newline right after the opening quotes is not part of the value.
        let after = &text[body_start..];
        if after.starts_with("\r\n") {
            body_start += 2;
        } else if after.starts_with('\n') {
            body_start += 1;
        }
    }
    let body = text.get(body_start..span.end.saturating_sub(quote.len()))?;
    // Walk the written text and the decoded value side by side.
    let (mut written, mut decoded) = (0usize, 0usize);
    let (mut start, mut end) = (None, None);
    let mut chars = body.char_indices().peekable();
    loop {
        if decoded == within.start && start.is_none() {
            start = Some(written);
        }
        if decoded >= within.end && end.is_none() {
            end = Some(written);
            break;
        }
        let Some((at, c)) = chars.next() else { break };
        let (length, value_length) = if escapes && c == '\\' {
            let (_, kind) = *chars.peek()?;
            let digits = match kind {
                'u' => 4,
                'U' => 8,
                'x' => 2,
                'b' | 't' | 'n' | 'f' | 'r' | 'e' | '"' | '\\' => 0,
                // A line-ending backslash: text left out of the value.
                _ => return None,
            };
            let hex = body.get(at + 2..at + 2 + digits)?;
            let value = if digits == 0 {
                1
            } else {
                char::from_u32(u32::from_str_radix(hex, 16).ok()?)?.len_utf8()
            };
            for _ in 0..=digits {
                chars.next();
            }
            (2 + digits, value)
        } else {
            (c.len_utf8(), c.len_utf8())
        };
        written = at + length;
        decoded += value_length;
    }
    let start = body_start + start?;
    let end = body_start + end.unwrap_or(written).max(start - body_start);
    Some(start..end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_line_is_cut_around_the_place() {
        let line = format!("values = [{}\"x\"]", "1, ".repeat(1_000_000));
        let at = line.find('"').unwrap();
        let located = locate(
            Path::new("job.toml"),
            &line,
            at..at + 3,
            "expected a number".into(),
            None,
        );
        assert_eq!(located.column, at + 1);
        let snippet = located.snippet();
        assert!(snippet.len() < 400, "{snippet}");
        let lines: Vec<&str> = snippet.lines().collect();
        assert!(lines[1].starts_with("1 | …1, 1, "), "{snippet}");
        assert!(lines[1].ends_with("\"x\"]"), "{snippet}");
        // The caret is under the `"x"` of the cut line.
        let caret = lines[2].find('^').unwrap();
        assert_eq!(
            lines[1].chars().skip(caret).take(3).collect::<String>(),
            "\"x\""
        );
        assert_eq!(lines[2].matches('^').count(), 3);
    }

    #[test]
    fn places_in_a_string_value_are_found_through_escapes() {
        let place = |written: &str, value: &str, part: &str| {
            let text = format!("map = {written}\n");
            let span = 6..6 + written.len();
            let start = value.find(part).unwrap();
            inside_string(&text, span, start..start + part.len()).map(|at| text[at].to_owned())
        };
        let value = r#"select(.status == "paid") | foo"#;
        let basic = r#""select(.status == \"paid\") | foo""#;
        assert_eq!(place(basic, value, "foo").as_deref(), Some("foo"));
        assert_eq!(
            place(basic, value, "\"paid\"").as_deref(),
            Some(r#"\"paid\""#)
        );
        let literal = r#"'select(.status == "paid") | foo'"#;
        assert_eq!(place(literal, value, "foo").as_deref(), Some("foo"));
        let multi = "'''\nselect(.status == \"paid\") | foo'''";
        assert_eq!(place(multi, value, "foo").as_deref(), Some("foo"));
        assert_eq!(
            place(r#""\u00e9 | foo""#, "é | foo", "foo").as_deref(),
            Some("foo")
        );
    }

    #[test]
    fn a_long_message_keeps_its_ends() {
        let message = format!(
            "invalid type: string \"{}\", expected u64",
            "a".repeat(10_000)
        );
        let shown = readable(message);
        assert!(shown.chars().count() < MESSAGE + 5);
        assert!(shown.starts_with("invalid type: string \"aaa"));
        assert!(shown.ends_with("\", expected u64"));
    }
}
