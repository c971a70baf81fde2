//! `pagefold report`: one self-contained HTML file that draws a run's trace and a job's
//! history, to see where the time went and how runs compare.
//!
//! The data is gathered in Rust ([`data`]: the trace written by `--trace`, the history and
//! the result documents of the state folder), embedded in the page as JSON in a
//! `<script type="application/json">`, and drawn as inline SVG by a small hand-written script
//! (`report.js`, included with `include_str!`, as are `report.css` and `page.html`). Nothing is
//! fetched when the page is viewed: no CDN, no fonts, no images. Light and dark themes follow
//! `prefers-color-scheme`, with a toggle; every mark has its numbers in an SVG `<title>`
//! (shown on hover) and in `data-` attributes, which the browser test reads back.
//!
//! ```no_run
//! use pagefold::report::{ReportInput, render};
//!
//! let input = ReportInput {
//!     job: "orders".into(),
//!     trace: Some(std::fs::read_to_string("run.trace.json").unwrap()),
//!     history: Vec::new(),
//!     results: Vec::new(),
//! };
//! let html = render(&input).unwrap();
//! std::fs::write("report.html", html).unwrap();
//! ```

pub mod data;

pub use data::{ReportError, ReportInput};

const TEMPLATE: &str = include_str!("page.html");
const STYLE: &str = include_str!("report.css");
const SCRIPT: &str = include_str!("report.js");

/// The report as one HTML document.
///
/// # Errors
///
/// When the trace is not a trace pagefold wrote (not JSON, or no `traceEvents`).
pub fn render(input: &ReportInput) -> Result<String, ReportError> {
    let data = data::gather(input)?;
    // `</` inside a script element would end it: JSON allows `<\/` for it.
    let json = data.to_string().replace("</", "<\\/");
    let title = html_escape(&format!("pagefold report: {}", input.job));
    Ok(TEMPLATE
        .replace("{{title}}", &title)
        .replace("{{style}}", STYLE)
        .replace("{{data}}", &json)
        .replace("{{script}}", SCRIPT))
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
