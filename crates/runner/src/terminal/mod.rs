//! Everything a user reads on the terminal: the progress bar, the closing summary, warnings,
//! and errors with their causes and hint. Text reaches the user through here, always through
//! the redaction of secrets ([`crate::secrets`]).

pub mod failure;
pub mod progress;
pub mod summary;

/// Prints `warning: TEXT` on stderr, secrets hidden (`warning:` in colour on a terminal).
pub fn warn(text: &str) {
    let style = anstyle::Style::new()
        .bold()
        .fg_color(Some(anstyle::AnsiColor::Yellow.into()));
    anstream::eprintln!("{style}warning:{style:#} {}", crate::secrets::redact(text));
}

/// Prints a line for the user on stderr (a notice, the summary), secrets hidden.
pub fn say(text: &str) {
    eprintln!("{}", crate::secrets::redact(text));
}

/// Prints a line of a command's own output on stdout (a table, a plan), secrets hidden.
pub fn print(text: &str) {
    print!("{}", crate::secrets::redact(text));
}

/// Sends log lines to stderr at the chosen verbosity (0: warnings, 1: info, 2: debug), through
/// the redaction of secrets.
pub fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    // Only our crates log at the chosen level: hyper and reqwest at debug print headers,
    // which may hold credentials.
    let filter = format!("warn,pagefold={level},pagefold_fetch={level},pagefold_demo_api={level}");
    // Colour codes only for a terminal that wants them: a log piped to a file stays plain.
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty());
    tracing_subscriber::fmt()
        .with_ansi(colour)
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(|| crate::secrets::RedactingStderr)
        .with_target(false)
        .init();
}
