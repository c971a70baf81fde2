//! Prometheus's text exposition format (version 0.0.4), which scrapes, node_exporter's
//! textfile collector and the Pushgateway all read: `# HELP` and `# TYPE` before each family,
//! then one sample a line. Written by hand rather than with a client crate because it is this
//! small, and because the crates' encoders write OpenMetrics (`# EOF`, `_created`), which the
//! textfile collector and `promtool check metrics` do not take.
//!
//! ```
//! use pagefold::observe::exposition::{Exposition, Kind};
//!
//! let mut text = Exposition::default();
//! text.family("demo_runs_total", Kind::Counter, "Runs.");
//! text.sample("demo_runs_total", &[("job_name", "say \"hi\"")], 3.0);
//! assert_eq!(
//!     text.finish(),
//!     "# HELP demo_runs_total Runs.\n# TYPE demo_runs_total counter\n\
//!      demo_runs_total{job_name=\"say \\\"hi\\\"\"} 3\n"
//! );
//! ```

use std::fmt::Write as _;

/// A metric family's type, as `# TYPE` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Only goes up (and starts again from zero when the process does).
    Counter,
    /// Goes up and down.
    Gauge,
    /// Observations counted into buckets, with their sum and count.
    Histogram,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Counter => "counter",
            Self::Gauge => "gauge",
            Self::Histogram => "histogram",
        }
    }
}

/// Text in the exposition format, built family by family.
#[derive(Debug, Default)]
pub struct Exposition {
    text: String,
}

impl Exposition {
    /// Starts a family: its `# HELP` and `# TYPE` lines. Its samples follow.
    pub fn family(&mut self, name: &str, kind: Kind, help: &str) {
        let help = help.replace('\\', r"\\").replace('\n', r"\n");
        let _ = writeln!(self.text, "# HELP {name} {help}");
        let _ = writeln!(self.text, "# TYPE {name} {}", kind.as_str());
    }

    /// One sample: `name{label="value",…} value`.
    pub fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.text.push_str(name);
        if !labels.is_empty() {
            self.text.push('{');
            for (index, (label, value)) in labels.iter().enumerate() {
                if index > 0 {
                    self.text.push(',');
                }
                let _ = write!(self.text, "{label}=\"{}\"", escape_label(value));
            }
            self.text.push('}');
        }
        let _ = writeln!(self.text, " {}", number(value));
    }

    /// A histogram's samples: a cumulative `_bucket` per upper bound, `+Inf`, `_sum` and
    /// `_count`. `counts[i]` is the number of observations in bucket `i` alone (at most
    /// `bounds[i]`, more than the bound before), and the last count is those above every bound.
    ///
    /// # Panics
    ///
    /// When `counts` does not have one element more than `bounds`.
    pub fn histogram(
        &mut self,
        name: &str,
        labels: &[(&str, &str)],
        bounds: &[f64],
        counts: &[u64],
        sum: f64,
    ) {
        assert_eq!(
            counts.len(),
            bounds.len() + 1,
            "a count a bucket, and one above"
        );
        let bucket = format!("{name}_bucket");
        let mut cumulative = 0;
        let bounds_text: Vec<String> = bounds.iter().map(|bound| number(*bound)).collect();
        let uppers = bounds_text.iter().map(String::as_str).chain(["+Inf"]);
        for (le, count) in uppers.zip(counts) {
            cumulative += count;
            let mut with_le = labels.to_vec();
            with_le.push(("le", le));
            self.sample(&bucket, &with_le, cumulative as f64);
        }
        self.sample(&format!("{name}_sum"), labels, sum);
        self.sample(&format!("{name}_count"), labels, cumulative as f64);
    }

    /// Appends what `other` holds.
    pub fn append(&mut self, other: Self) {
        self.text.push_str(&other.text);
    }

    /// The text.
    pub fn finish(self) -> String {
        self.text
    }
}

/// A label value with `\`, `"` and line feeds escaped, as the format wants.
fn escape_label(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len());
    for character in value.chars() {
        match character {
            '\\' => escaped.push_str(r"\\"),
            '"' => escaped.push_str("\\\""),
            '\n' => escaped.push_str(r"\n"),
            other => escaped.push(other),
        }
    }
    escaped
}

/// A sample value as Go's parser reads it: whole numbers without a fraction, `+Inf`, `NaN`.
fn number(value: f64) -> String {
    if value.is_nan() {
        "NaN".into()
    } else if value.is_infinite() {
        if value > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{value:.0}")
    } else {
        // Rust's shortest representation that reads back as the same number.
        format!("{value}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_help_and_numbers_are_escaped_and_spelled_as_prometheus_reads_them() {
        let mut text = Exposition::default();
        text.family("x_seconds", Kind::Gauge, "Back\\slash and\nnew line.");
        text.sample("x_seconds", &[("a", "q\"b\\c\nd"), ("b", "é")], 1.5);
        text.sample("x_seconds", &[], f64::INFINITY);
        text.sample("x_seconds", &[], 1_764_432_000.0);
        text.sample("x_seconds", &[], f64::NAN);
        assert_eq!(
            text.finish(),
            "# HELP x_seconds Back\\\\slash and\\nnew line.\n# TYPE x_seconds gauge\n\
             x_seconds{a=\"q\\\"b\\\\c\\nd\",b=\"é\"} 1.5\nx_seconds +Inf\n\
             x_seconds 1764432000\nx_seconds NaN\n"
        );
    }

    #[test]
    fn a_histogram_counts_cumulatively_up_to_inf() {
        let mut text = Exposition::default();
        text.histogram("d_seconds", &[("j", "a")], &[0.5, 1.0], &[1, 0, 2], 7.25);
        assert_eq!(
            text.finish(),
            "d_seconds_bucket{j=\"a\",le=\"0.5\"} 1\nd_seconds_bucket{j=\"a\",le=\"1\"} 1\n\
             d_seconds_bucket{j=\"a\",le=\"+Inf\"} 3\nd_seconds_sum{j=\"a\"} 7.25\n\
             d_seconds_count{j=\"a\"} 3\n"
        );
    }
}
