//! `output.format`: the result document as pretty JSON, or the reducers' values as rows: JSON
//! Lines (`ndjson`: one per reducer, or per key or element of a map or list), or CSV in long
//! form, one row per value with the columns `reducer,key,rank,value` and never JSON in a cell,
//! so that `count_by` and `top_k` open in a spreadsheet as they are.

use serde::Deserialize;
use serde_json::Value;

use super::ResultDocument;

/// `output.format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OutputFormat {
    /// The whole result document (reducers, counts, warnings, stats), pretty-printed.
    #[default]
    Json,
    /// One JSON object a line: `{"reducer": …, "key": …, "value": …}` (`key` only for a map
    /// or list value).
    Ndjson,
    /// `reducer,key,rank,value` rows, one per value (see [`long_rows`]).
    Csv,
}

impl OutputFormat {
    /// As the job file spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Ndjson => "ndjson",
            Self::Csv => "csv",
        }
    }

    /// The format an output path's extension implies, for when `format` is not set.
    pub fn from_extension(path: &str) -> Self {
        let lower = path.to_ascii_lowercase();
        if lower.ends_with(".csv") {
            Self::Csv
        } else if lower.ends_with(".ndjson") || lower.ends_with(".jsonl") {
            Self::Ndjson
        } else {
            Self::Json
        }
    }
}

/// One row: a reducer, the key within its value (if the value is a map or list), the value.
struct Row<'a> {
    reducer: &'a str,
    key: Option<String>,
    value: &'a Value,
}

fn rows(document: &ResultDocument) -> Vec<Row<'_>> {
    let mut rows = Vec::new();
    for (reducer, value) in &document.reducers {
        match value {
            Value::Object(map) => rows.extend(map.iter().map(|(key, value)| Row {
                reducer,
                key: Some(key.clone()),
                value,
            })),
            Value::Array(items) => {
                rows.extend(items.iter().enumerate().map(|(index, value)| Row {
                    reducer,
                    key: Some(index.to_string()),
                    value,
                }))
            }
            scalar => rows.push(Row {
                reducer,
                key: None,
                value: scalar,
            }),
        }
    }
    rows
}

impl ResultDocument {
    /// The document in `format`, ending with a newline, with every credential hidden (an API
    /// may echo one into its records).
    pub fn render(&self, format: OutputFormat) -> String {
        crate::secrets::redact_credentials(&self.render_as_is(format))
    }

    fn render_as_is(&self, format: OutputFormat) -> String {
        match format {
            OutputFormat::Json => self.to_json(),
            OutputFormat::Ndjson => {
                let mut text = String::new();
                for row in rows(self) {
                    let mut line = serde_json::Map::new();
                    line.insert("reducer".into(), row.reducer.into());
                    if let Some(key) = row.key {
                        line.insert("key".into(), key.into());
                    }
                    line.insert("value".into(), row.value.clone());
                    text.push_str(&Value::Object(line).to_string());
                    text.push('\n');
                }
                text
            }
            OutputFormat::Csv => {
                let mut writer = csv::Writer::from_writer(Vec::new());
                let mut write = |fields: [&str; 4]| {
                    writer
                        .write_record(fields)
                        .expect("CSV into memory cannot fail");
                };
                write(["reducer", "key", "rank", "value"]);
                for (reducer, value) in &self.reducers {
                    for row in long_rows(value) {
                        let rank = row.rank.map(|rank| rank.to_string()).unwrap_or_default();
                        write([reducer, &row.key, &rank, &row.value]);
                    }
                }
                let bytes = writer.into_inner().expect("CSV into memory cannot fail");
                String::from_utf8(bytes).expect("CSV of strings is UTF-8")
            }
        }
    }
}

/// One value of a reducer in long form.
#[derive(Debug, PartialEq, Eq)]
pub struct LongRow {
    /// Where it is in the reducer's value: a map key, `a.b` for nested maps, the value a
    /// `top_k` entry counts; empty for a scalar.
    pub key: String,
    /// Its place in a list (from 1), e.g. a `top_k` rank.
    pub rank: Option<usize>,
    /// The value as text: numbers exactly as JSON wrote them, strings as they are.
    pub value: String,
}

/// A reducer's value as rows of single values: a scalar is one row; a map a row per key
/// (nested maps as `outer.inner`); a list a row per element, ranked, where a `top_k` entry
/// `{"value": v, "count": n}` is the row `(v, rank, n)` and an object's fields are rows of
/// that rank.
pub fn long_rows(value: &Value) -> Vec<LongRow> {
    long_values(value)
        .into_iter()
        .map(|row| LongRow {
            key: row.key,
            rank: row.rank,
            value: scalar(row.value),
        })
        .collect()
}

/// One value of a reducer in long form, as JSON: what [`LongRow`] holds as text, for the
/// outputs that keep a number a number (the database tables).
#[derive(Debug, PartialEq)]
pub struct LongValue<'a> {
    /// As [`LongRow::key`].
    pub key: String,
    /// As [`LongRow::rank`].
    pub rank: Option<usize>,
    /// The value: a number, string, boolean or null (or a list in a list).
    pub value: &'a Value,
}

/// The rows of [`long_rows`], their values as JSON.
pub fn long_values(value: &Value) -> Vec<LongValue<'_>> {
    let mut rows = Vec::new();
    flatten(value, String::new(), None, &mut rows);
    rows
}

fn flatten<'a>(value: &'a Value, key: String, rank: Option<usize>, rows: &mut Vec<LongValue<'a>>) {
    let join = |inner: &str| {
        if key.is_empty() {
            inner.to_owned()
        } else {
            format!("{key}.{inner}")
        }
    };
    match value {
        Value::Object(map) => {
            if let (Some(counted), Some(count), 2) = (map.get("value"), map.get("count"), map.len())
                && rank.is_some()
                && !counted.is_object()
                && !counted.is_array()
            {
                rows.push(LongValue {
                    key: join(&scalar(counted)),
                    rank,
                    value: count,
                });
                return;
            }
            for (inner, value) in map {
                flatten(value, join(inner), rank, rows);
            }
        }
        Value::Array(items) if rank.is_none() => {
            for (index, item) in items.iter().enumerate() {
                flatten(item, key.clone(), Some(index + 1), rows);
            }
        }
        other => rows.push(LongValue {
            key,
            rank,
            value: other,
        }),
    }
}

/// A JSON value as a cell: strings without quotes, `null` empty, a list in a list as JSON
/// (the one case the long form does not unfold).
fn scalar(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::output::tests::document;

    #[test]
    fn rows_per_reducer_key() {
        let mut doc = document();
        doc.reducers = vec![
            ("total".into(), json!(12)),
            ("by_city".into(), json!({"Oslo": 2, "Lima, PE": 3})),
            ("top".into(), json!([{"value": "a", "count": 2}])),
            ("note".into(), json!("say \"hi\"")),
        ];
        assert_eq!(
            doc.render(OutputFormat::Csv),
            "reducer,key,rank,value\ntotal,,,12\nby_city,\"Lima, PE\",,3\nby_city,Oslo,,2\n\
             top,a,1,2\nnote,,,\"say \"\"hi\"\"\"\n"
        );
        let lines: Vec<Value> = doc
            .render(OutputFormat::Ndjson)
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        assert_eq!(lines[0], json!({"reducer": "total", "value": 12}));
        assert_eq!(
            lines[1],
            json!({"reducer": "by_city", "key": "Lima, PE", "value": 3})
        );
        assert_eq!(lines.len(), 5);
    }

    #[test]
    fn the_long_form_unfolds_maps_lists_and_records() {
        let rows = |value: Value| -> Vec<(String, Option<usize>, String)> {
            long_rows(&value)
                .into_iter()
                .map(|row| (row.key, row.rank, row.value))
                .collect()
        };
        assert_eq!(
            rows(json!({"paid": {"records": 3, "sum": 10.5}})),
            [
                ("paid.records".into(), None, "3".into()),
                ("paid.sum".into(), None, "10.5".into())
            ]
        );
        assert_eq!(
            rows(json!([7, 8])),
            [
                ("".into(), Some(1), "7".into()),
                ("".into(), Some(2), "8".into())
            ]
        );
        assert_eq!(
            rows(json!([{"id": 4, "city": "Oslo"}])),
            [
                ("city".into(), Some(1), "Oslo".into()),
                ("id".into(), Some(1), "4".into())
            ]
        );
        assert_eq!(rows(json!(null)), [("".into(), None, "".into())]);
    }

    #[test]
    fn the_extension_implies_the_format() {
        assert_eq!(OutputFormat::from_extension("a/b.CSV"), OutputFormat::Csv);
        assert_eq!(
            OutputFormat::from_extension("b.jsonl"),
            OutputFormat::Ndjson
        );
        assert_eq!(OutputFormat::from_extension("b.json"), OutputFormat::Json);
    }
}
