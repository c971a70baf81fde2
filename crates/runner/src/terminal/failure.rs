//! The one way pagefold prints an error: `error: …`, the place in the job file if there is one,
//! `caused by: …` lines, and a `hint: …` that says what to do.

use std::error::Error;
use std::fmt::Write as _;

/// An error on its way to the user, with the exit code it ends the process with.
#[derive(Debug)]
pub struct Failure {
    /// The exit code.
    pub code: u8,
    /// What failed.
    pub message: String,
    /// Text shown under the message, e.g. the job file line with a caret.
    pub snippet: Option<String>,
    /// The chain of causes.
    pub causes: Vec<String>,
    /// What to do.
    pub hint: Option<String>,
}

impl Failure {
    /// A failure from an error and its `source()` chain.
    pub fn from_error(code: u8, error: &(dyn Error + 'static)) -> Self {
        let mut causes = Vec::new();
        let mut source = error.source();
        while let Some(cause) = source {
            let text = cause.to_string();
            if !causes.contains(&text) {
                causes.push(text);
            }
            source = cause.source();
        }
        Self {
            code,
            message: error.to_string(),
            snippet: None,
            causes,
            hint: None,
        }
    }

    /// Adds a hint.
    pub fn with_hint(mut self, hint: Option<String>) -> Self {
        self.hint = hint;
        self
    }

    /// The text printed on stderr, with every secret hidden.
    pub fn render(&self) -> String {
        crate::secrets::redact(&self.render_raw())
    }

    /// [`Failure::render`] with `error:` and `hint:` in colour, for a terminal: print it with
    /// [`Failure::print`], which strips the colour when stderr is not one (or `NO_COLOR`).
    pub fn render_styled(&self) -> String {
        let error = anstyle::Style::new()
            .bold()
            .fg_color(Some(anstyle::AnsiColor::Red.into()));
        let hint = anstyle::Style::new()
            .bold()
            .fg_color(Some(anstyle::AnsiColor::Cyan.into()));
        let text = self.render();
        let text = match text.strip_prefix("error:") {
            Some(rest) => format!("{error}error:{error:#}{rest}"),
            None => text,
        };
        text.replace("\nhint:", &format!("\n{hint}hint:{hint:#}"))
    }

    /// Prints the failure on stderr: coloured on a terminal, plain otherwise.
    pub fn print(&self) {
        anstream::eprint!("{}", self.render_styled());
    }

    fn render_raw(&self) -> String {
        let mut text = format!("error: {}\n", self.message);
        if let Some(snippet) = &self.snippet {
            for line in snippet.lines() {
                let _ = writeln!(text, "  {line}");
            }
        }
        for cause in &self.causes {
            let _ = writeln!(text, "  caused by: {cause}");
        }
        if let Some(hint) = &self.hint {
            let _ = writeln!(text, "hint: {hint}");
        }
        text
    }
}

/// `error` and its causes on one line (`a: b: c`, a cause already in the text left out), for
/// the history, alerts and logs. Not redacted: the caller redacts where it writes.
pub fn one_line(error: &(dyn Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let message = cause.to_string();
        if !text.contains(&message) {
            text.push_str(": ");
            text.push_str(&message);
        }
        source = cause.source();
    }
    text
}
