//! jaq's load and compile errors in words, each with the place in the program it is about,
//! so that the job file's error shows a caret under it like every other.

use std::fmt;
use std::ops::Range;

use jaq_core::load::{self, lex, parse};

/// A `map` program jaq cannot load or compile: what is wrong, and where in the program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileError {
    /// What is wrong, in a fragment that reads after "`map` is not a jq program: ".
    pub message: String,
    /// The bytes of the program it is about, when jaq says.
    pub at: Option<Range<usize>>,
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`map` is not a jq program: {}", self.message)
    }
}

impl std::error::Error for CompileError {}

/// Brackets a program may nest: jaq's lexer and parser recurse once a level, so a program of
/// a few thousand `[` would overflow the stack before it could say what is wrong.
pub const MAX_PROGRAM_NESTING: usize = 64;

/// `Err` at the first bracket nested past [`MAX_PROGRAM_NESTING`] levels. Brackets in strings
/// count too: a program needs more than that of them unclosed in its strings to be refused
/// wrongly.
pub(super) fn within_nesting(code: &str) -> Result<(), CompileError> {
    let mut depth = 0usize;
    for (at, byte) in code.bytes().enumerate() {
        match byte {
            b'(' | b'[' | b'{' => {
                depth += 1;
                if depth > MAX_PROGRAM_NESTING {
                    return Err(CompileError {
                        message: format!(
                            "brackets nest more than {MAX_PROGRAM_NESTING} levels deep here"
                        ),
                        at: Some(at..at + 1),
                    });
                }
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// Where `part` (a slice jaq returned of `code`) is in `code`; jaq's errors are slices of
/// the program text, so their addresses say where they are.
fn offset(code: &str, part: &str) -> Option<Range<usize>> {
    let start = (part.as_ptr() as usize).checked_sub(code.as_ptr() as usize)?;
    (start + part.len() <= code.len()).then(|| start..start + part.len())
}

/// What `found` is, in words: a token in backticks, or the end of the program.
fn found(text: &str) -> String {
    if text.is_empty() {
        "the end of the program".into()
    } else {
        let shown: String = text.chars().take(40).collect();
        format!("`{shown}`")
    }
}

/// The first of jaq's load errors, in words.
pub(super) fn load_error<P>(code: &str, errors: load::Errors<&str, P>) -> CompileError {
    let first = errors.into_iter().next().map(|(_, error)| error);
    match first {
        Some(load::Error::Lex(errors)) if !errors.is_empty() => {
            let (expect, at) = &errors[0];
            lex_error(code, expect, at)
        }
        Some(load::Error::Parse(errors)) if !errors.is_empty() => {
            let (expect, at) = &errors[0];
            let wanted = parse_expect(expect);
            CompileError {
                message: format!("expected {wanted}, found {}", found(at)),
                at: offset(code, at).map(|at| widened(code, at)),
            }
        }
        Some(load::Error::Io(_)) => CompileError {
            message: "`map` cannot import or include jq modules".into(),
            at: None,
        },
        _ => CompileError {
            message: "jaq cannot read it".into(),
            at: None,
        },
    }
}

fn lex_error(code: &str, expect: &lex::Expect<&str>, at: &str) -> CompileError {
    match expect {
        // The slice is the opening delimiter itself: the caret goes under it.
        lex::Expect::Delim(open) => {
            let closing = match *open {
                "(" => "`)`",
                "[" => "`]`",
                "{" => "`}`",
                "\"" => "`\"`",
                _ => "its closing delimiter",
            };
            CompileError {
                message: format!("this `{open}` is never closed by {closing}"),
                at: offset(code, open),
            }
        }
        other => {
            let wanted = match other {
                lex::Expect::Digit => "a digit",
                lex::Expect::Ident => "a name",
                lex::Expect::Escape => "a string escape such as `\\n`",
                lex::Expect::Unicode => "four hexadecimal digits after `\\u`",
                _ => "a jq token",
            };
            CompileError {
                message: format!("expected {wanted}, found {}", found(first_char(at))),
                at: offset(code, first_char(at)).map(|at| widened(code, at)),
            }
        }
    }
}

/// What the parser wanted, in words.
fn parse_expect(expect: &parse::Expect<&str>) -> String {
    match expect {
        parse::Expect::Just(token) => format!("`{token}`"),
        other => other.as_str().to_owned(),
    }
}

/// The first character of `text` (the lexer's error slice is the rest of the program).
fn first_char(text: &str) -> &str {
    text.char_indices()
        .nth(1)
        .map_or(text, |(end, _)| &text[..end])
}

/// An empty range (the end of the program) widened to one character before it, so that the
/// caret has something to stand under.
fn widened(code: &str, at: Range<usize>) -> Range<usize> {
    if at.is_empty() && at.start >= code.len() {
        let start = code
            .char_indices()
            .next_back()
            .map_or(0, |(start, _)| start);
        start..code.len()
    } else {
        at
    }
}

/// The first of jaq's compile errors (a name not defined), in words.
pub(super) fn compile_error<P>(
    code: &str,
    errors: jaq_core::compile::Errors<&str, P>,
) -> CompileError {
    let first = errors.into_iter().flat_map(|(_, errors)| errors).next();
    match first {
        Some((name, undefined)) => {
            let message = match undefined {
                jaq_core::compile::Undefined::Filter(arity) => {
                    format!("`{name}/{arity}` is not a filter jq knows")
                }
                other => format!("the {} `{name}` is not defined", other.as_str()),
            };
            CompileError {
                message,
                at: offset(code, name),
            }
        }
        None => CompileError {
            message: "jaq cannot compile it".into(),
            at: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::super::MapProgram;

    fn error(code: &str) -> (String, Option<&str>) {
        let error = MapProgram::compile(code).err().expect("an error");
        let at = error.at.clone().map(|at| &code[at]);
        (error.message, at)
    }

    #[test]
    fn errors_say_what_and_where() {
        assert_eq!(
            error("select(.status == "),
            ("this `(` is never closed by `)`".into(), Some("("))
        );
        assert_eq!(
            error(".a | foo(1)"),
            ("`foo/1` is not a filter jq knows".into(), Some("foo"))
        );
        assert_eq!(
            error("$nope"),
            ("the variable `$nope` is not defined".into(), Some("$nope"))
        );
        let (message, at) = error(".a |");
        assert_eq!(message, "expected term, found the end of the program");
        assert_eq!(at, Some("|"));
        let deep = format!(".a | {}", "[".repeat(5000));
        let (message, at) = error(&deep);
        assert_eq!(message, "brackets nest more than 64 levels deep here");
        assert_eq!(at, Some("["));
        let (message, at) = error(".a ]");
        assert!(message.ends_with("found `]`"), "{message}");
        assert_eq!(at, Some("]"));
    }
}
