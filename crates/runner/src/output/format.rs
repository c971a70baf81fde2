//! `output.format`: the result document as pretty JSON, or the reducers' values as rows, one
//! per reducer, or one per key (or element) of a reducer whose value is a map (or list):
//! JSON Lines (`ndjson`) or CSV with the columns `reducer,key,value`.

use serde::Deserialize;
use serde_json::Value;

use super::ResultDocument;

/// `output.format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputFormat {
    /// The whole result document (reducers, counts, warnings, stats), pretty-printed.
    #[default]
    Json,
    /// One JSON object a line: `{"reducer": …, "key": …, "value": …}` (`key` only for a map
    /// or list value).
    Ndjson,
    /// `reducer,key,value` rows; a value that is itself an object or list is compact JSON.
    Csv,
}

impl OutputFormat {
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
                let mut write = |fields: [&str; 3]| {
                    writer
                        .write_record(fields)
                        .expect("CSV into memory cannot fail");
                };
                write(["reducer", "key", "value"]);
                for row in rows(self) {
                    let value = match row.value {
                        Value::String(text) => text.clone(),
                        Value::Null => String::new(),
                        other => other.to_string(),
                    };
                    write([row.reducer, row.key.as_deref().unwrap_or(""), &value]);
                }
                let bytes = writer.into_inner().expect("CSV into memory cannot fail");
                String::from_utf8(bytes).expect("CSV of strings is UTF-8")
            }
        }
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
            "reducer,key,value\ntotal,,12\nby_city,\"Lima, PE\",3\nby_city,Oslo,2\n\
             top,0,\"{\"\"count\"\":2,\"\"value\"\":\"\"a\"\"}\"\nnote,,\"say \"\"hi\"\"\"\n"
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
    fn the_extension_implies_the_format() {
        assert_eq!(OutputFormat::from_extension("a/b.CSV"), OutputFormat::Csv);
        assert_eq!(
            OutputFormat::from_extension("b.jsonl"),
            OutputFormat::Ndjson
        );
        assert_eq!(OutputFormat::from_extension("b.json"), OutputFormat::Json);
    }
}
