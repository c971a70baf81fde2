//! TOML values as JSON, for what the job file hands on as JSON: a plugin's `config`, a
//! request `body`.

/// A TOML value as the JSON it is handed on as (`key` names it in messages, `reader` says who
/// reads it). TOML has values JSON has not: dates, and
/// floats that are not finite; those are refused rather than silently turned into something
/// else.
pub(crate) fn toml_to_json(
    value: &toml::Value,
    key: &str,
    reader: &str,
) -> Result<serde_json::Value, String> {
    Ok(match value {
        toml::Value::String(text) => text.clone().into(),
        toml::Value::Integer(n) => (*n).into(),
        toml::Value::Float(x) => serde_json::Number::from_f64(*x)
            .map(serde_json::Value::Number)
            .ok_or_else(|| format!("`{key}` holds {x}, which JSON cannot carry to {reader}"))?,
        toml::Value::Boolean(b) => (*b).into(),
        toml::Value::Datetime(date) => {
            return Err(format!(
                "`{key}` holds the TOML date {date}; write it as a string (\"{date}\") for {reader}"
            ));
        }
        toml::Value::Array(items) => items
            .iter()
            .map(|item| toml_to_json(item, key, reader))
            .collect::<Result<Vec<_>, _>>()?
            .into(),
        toml::Value::Table(table) => table
            .iter()
            .map(|(name, value)| Ok((name.clone(), toml_to_json(value, key, reader)?)))
            .collect::<Result<serde_json::Map<_, _>, String>>()?
            .into(),
    })
}
