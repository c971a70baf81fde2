//! `[[reduce]]`: the reducers, built-in (`use`) or plugins (`plugin`).

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use pagefold_json::Pointer;
use serde::Deserialize;
use toml::Spanned;

use super::Problem;
use super::sketch::{SketchKeys, SketchOptions};

/// A `[[reduce]]` entry as written.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReduceEntry {
    /// The key of its value in the result (default: its `use`, or the plugin's name).
    #[schemars(with = "Option<String>")]
    name: Option<Spanned<String>>,
    /// A built-in reducer: count, sum, min, max, mean, approx_quantiles, count_by, distinct,
    /// approx_distinct, top_k or collect.
    #[serde(rename = "use")]
    #[schemars(with = "Option<String>")]
    builtin: Option<Spanned<String>>,
    /// A reducer plugin: its library, relative to the job file's folder.
    #[schemars(with = "Option<PathBuf>")]
    plugin: Option<Spanned<PathBuf>>,
    /// The JSON Pointer of the field it reads in each record (e.g. "/amount").
    #[schemars(with = "Option<String>")]
    field: Option<Spanned<Pointer>>,
    /// `top_k` only: how many values to keep (default 10).
    #[schemars(with = "Option<usize>")]
    k: Option<Spanned<usize>>,
    /// `approx_distinct` only: 2^precision registers, from 4 to 18 (default 14: 16 KiB, about
    /// 0.8 % standard error).
    #[schemars(with = "Option<u8>", range(min = 4, max = 18))]
    precision: Option<Spanned<i64>>,
    /// `approx_quantiles` only: the quantiles reported, each from 0 to 1 (default
    /// [0.5, 0.95, 0.99]: p50, p95, p99).
    #[schemars(with = "Option<Vec<f64>>")]
    q: Option<Spanned<Vec<Spanned<f64>>>>,
    /// `approx_quantiles` only: the relative error bound of every quantile, from 0.0001 to 0.5
    /// (default 0.01: within 1 % of the true value).
    #[schemars(with = "Option<f64>", range(min = 0.0001, max = 0.5))]
    relative_accuracy: Option<Spanned<f64>>,
    /// A plugin's settings, handed to it as JSON.
    #[schemars(with = "Option<serde_json::Map<String, serde_json::Value>>")]
    config: Option<Spanned<toml::Table>>,
}

/// A checked `[[reduce]]` entry.
#[derive(Debug, Clone)]
pub struct ReduceSpec {
    /// The key of its value in the result document.
    pub name: String,
    /// What it runs.
    pub reducer: ReducerUse,
    /// Of a plugin: where `plugin` and `config` are written, for what only loading and
    /// building the plugin finds (no such symbol, a config it rejects).
    pub places: PluginPlaces,
}

/// Where a plugin reducer's keys are written in the job file (messages empty).
#[derive(Debug, Clone, Default)]
pub struct PluginPlaces {
    /// `plugin = "…"`.
    pub plugin: Option<Box<super::Located>>,
    /// `config = …` (`None` without one: the verdict then points at `plugin`).
    pub config: Option<Box<super::Located>>,
}

/// A built-in reducer or a plugin.
#[derive(Debug, Clone)]
pub enum ReducerUse {
    /// `use = "…"`.
    Builtin {
        /// Which one.
        kind: BuiltinKind,
        /// The field it reads, for those that read one.
        field: Option<Pointer>,
        /// `k` of `top_k`.
        k: usize,
        /// `precision` of `approx_distinct`; `q` and `relative_accuracy` of
        /// `approx_quantiles`.
        sketch: SketchOptions,
    },
    /// `plugin = "…"`.
    Plugin {
        /// The library (resolved against the job file's folder).
        path: PathBuf,
        /// `config`, as JSON.
        config: serde_json::Value,
    },
}

/// The built-in reducers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuiltinKind {
    /// Records.
    Count,
    /// Sum of a numeric field.
    Sum,
    /// Smallest value of a field.
    Min,
    /// Largest value of a field.
    Max,
    /// Mean of a numeric field.
    Mean,
    /// Quantiles of a numeric field, within a relative error, in fixed memory.
    ApproxQuantiles,
    /// Records per value of a field.
    CountBy,
    /// Distinct values of a field.
    Distinct,
    /// Distinct values of a field, estimated in fixed memory.
    ApproxDistinct,
    /// The `k` most frequent values of a field.
    TopK,
    /// Every value of a field, in page order.
    Collect,
}

impl BuiltinKind {
    /// Every built-in, in the order the README documents them.
    pub const ALL: [Self; 11] = [
        Self::Count,
        Self::Sum,
        Self::Min,
        Self::Max,
        Self::Mean,
        Self::ApproxQuantiles,
        Self::CountBy,
        Self::Distinct,
        Self::ApproxDistinct,
        Self::TopK,
        Self::Collect,
    ];

    /// The name a job file uses.
    pub fn name(self) -> &'static str {
        match self {
            Self::Count => "count",
            Self::Sum => "sum",
            Self::Min => "min",
            Self::Max => "max",
            Self::Mean => "mean",
            Self::ApproxQuantiles => "approx_quantiles",
            Self::CountBy => "count_by",
            Self::Distinct => "distinct",
            Self::ApproxDistinct => "approx_distinct",
            Self::TopK => "top_k",
            Self::Collect => "collect",
        }
    }

    /// Whether it needs `field`.
    pub fn needs_field(self) -> bool {
        self != Self::Count
    }
}

impl fmt::Display for BuiltinKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for BuiltinKind {
    type Err = ();

    fn from_str(name: &str) -> Result<Self, ()> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.name() == name)
            .ok_or(())
    }
}

const DEFAULT_K: usize = 10;

fn config_to_json(value: &toml::Value) -> Result<serde_json::Value, String> {
    super::json::toml_to_json(value, "config", "the plugin")
}

pub(crate) fn check_all(entries: &[Spanned<ReduceEntry>], problems: &mut Vec<Problem>) {
    let mut names = BTreeSet::new();
    for entry in entries {
        let span = entry.span();
        let entry = entry.get_ref();
        entry.check(span.clone(), problems);
        let name = entry.name();
        if !names.insert(name.clone()) {
            let at = entry.name.as_ref().map_or(span, Spanned::span);
            problems.push(
                Problem::new(at, format!("two reducers are named `{name}`"))
                    .hint("give each [[reduce]] a distinct `name`: it is the key of its value in the result"),
            );
        }
    }
}

impl ReduceEntry {
    /// The spans of `plugin` and `config`.
    pub(crate) fn plugin_spans(&self) -> [Option<std::ops::Range<usize>>; 2] {
        [
            self.plugin.as_ref().map(Spanned::span),
            self.config.as_ref().map(Spanned::span),
        ]
    }

    fn name(&self) -> String {
        if let Some(name) = &self.name {
            return name.get_ref().clone();
        }
        if let Some(builtin) = &self.builtin {
            return builtin.get_ref().clone();
        }
        self.plugin
            .as_ref()
            .and_then(|p| p.get_ref().file_stem())
            .map(|stem| stem.to_string_lossy().trim_start_matches("lib").to_owned())
            .unwrap_or_default()
    }

    fn check(&self, span: std::ops::Range<usize>, problems: &mut Vec<Problem>) {
        let all = BuiltinKind::ALL.map(BuiltinKind::name).join(", ");
        match (&self.builtin, &self.plugin) {
            (None, None) => problems.push(
                Problem::new(
                    span,
                    "a [[reduce]] entry needs `use` (a built-in) or `plugin` (a library)",
                )
                .hint(format!("built-ins: {all}")),
            ),
            (Some(builtin), Some(_)) => problems.push(Problem::new(
                builtin.span(),
                "`use` and `plugin` cannot both be set: a reducer is a built-in or a plugin",
            )),
            (Some(builtin), None) => match builtin.get_ref().parse::<BuiltinKind>() {
                Err(()) => problems.push(
                    Problem::new(
                        builtin.span(),
                        format!(
                            "unknown built-in reducer `{}`; built-ins are: {all}",
                            builtin.get_ref()
                        ),
                    )
                    .hint(
                        "for a reducer of your own, write a plugin and set `plugin` to its library",
                    ),
                ),
                Ok(kind) => {
                    if kind.needs_field() && self.field.is_none() {
                        problems.push(
                            Problem::new(
                                builtin.span(),
                                format!(
                                    "`{kind}` needs `field`, the JSON Pointer of the value it reads"
                                ),
                            )
                            .hint("e.g. field = \"/amount\""),
                        );
                    }
                    if !kind.needs_field()
                        && let Some(field) = &self.field
                    {
                        problems.push(Problem::new(
                            field.span(),
                            "`count` counts records and takes no `field`",
                        ));
                    }
                    if let Some(k) = &self.k {
                        if kind != BuiltinKind::TopK {
                            problems.push(Problem::new(
                                k.span(),
                                format!("`k` belongs to `top_k`, not `{kind}`"),
                            ));
                        } else if *k.get_ref() == 0 {
                            problems.push(Problem::new(k.span(), "`k` must be at least 1"));
                        }
                    }
                    self.sketch_keys().check(kind, problems);
                    if let Some(config) = &self.config {
                        problems.push(Problem::new(
                            config.span(),
                            "`config` is for plugins; built-ins take `field` (and `k`)",
                        ));
                    }
                }
            },
            (None, Some(_)) => {
                if let Some(config) = &self.config
                    && let Err(problem) =
                        config_to_json(&toml::Value::Table(config.get_ref().clone()))
                {
                    problems.push(Problem::new(config.span(), problem));
                }
                for (key, span) in [
                    ("field", self.field.as_ref().map(Spanned::span)),
                    ("k", self.k.as_ref().map(Spanned::span)),
                    ("precision", self.precision.as_ref().map(Spanned::span)),
                    ("q", self.q.as_ref().map(Spanned::span)),
                    (
                        "relative_accuracy",
                        self.relative_accuracy.as_ref().map(Spanned::span),
                    ),
                ] {
                    if let Some(span) = span {
                        problems.push(
                            Problem::new(span, format!("`{key}` is for built-ins; a plugin reads its settings from `config`"))
                                .hint(format!("write config = {{ {key} = … }}")),
                        );
                    }
                }
            }
        }
    }

    /// `precision`, `q` and `relative_accuracy` as written.
    fn sketch_keys(&self) -> SketchKeys<'_> {
        SketchKeys {
            precision: self.precision.as_ref(),
            q: self.q.as_ref(),
            relative_accuracy: self.relative_accuracy.as_ref(),
        }
    }

    /// The checked reducer; `None` only when [`check_all`] has reported a problem.
    pub(crate) fn resolved(self, base: &Path) -> Option<ReduceSpec> {
        let name = self.name();
        let sketch = self.sketch_keys().options();
        let reducer = match (self.builtin, self.plugin) {
            (Some(builtin), _) => ReducerUse::Builtin {
                kind: builtin.get_ref().parse().ok()?,
                field: self.field.map(Spanned::into_inner),
                k: self.k.map_or(DEFAULT_K, Spanned::into_inner),
                sketch,
            },
            (None, Some(plugin)) => ReducerUse::Plugin {
                path: plugin_path(base, &plugin.into_inner()),
                config: match self.config {
                    Some(config) => {
                        config_to_json(&toml::Value::Table(config.into_inner())).ok()?
                    }
                    None => serde_json::Value::Object(Default::default()),
                },
            },
            (None, None) => return None,
        };
        Some(ReduceSpec {
            name,
            reducer,
            places: PluginPlaces::default(),
        })
    }
}

/// A plugin's library, as an absolute path against the job file's folder. Absolute, because
/// the dynamic loader reads a name without a `/` (`rel.so` in a job run from its own folder,
/// `libm.so.6`) as a library to search for on the system's path, not as the file beside the
/// job.
pub(crate) fn plugin_path(base: &Path, plugin: &Path) -> PathBuf {
    let joined = base.join(plugin);
    std::path::absolute(&joined).unwrap_or(joined)
}
