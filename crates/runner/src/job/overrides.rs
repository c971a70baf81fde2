//! `--set key.path=value`: a job-file value replaced for one run. The value is read as TOML
//! (`8`, `true`, `"text"`, `[1, 2]`), or taken as a string when it is not TOML (`open`). The
//! job is then checked as a whole, like the file, and the override is part of its identity.

/// The job text with each `key.path=value` of `sets` applied, or what is wrong with one.
///
/// # Errors
///
/// When an override is not `key=value`, or its path goes through a value that is not a table.
pub fn apply(text: &str, sets: &[String]) -> Result<String, String> {
    let mut document: toml::Table = toml::from_str(text).map_err(|error| error.to_string())?;
    for set in sets {
        let (path, value) = set
            .split_once('=')
            .ok_or_else(|| format!("`--set {set}`: write it as `key.path=value`"))?;
        let keys: Vec<&str> = path.trim().split('.').collect();
        if keys.iter().any(|key| key.is_empty()) {
            return Err(format!("`--set {set}`: `{path}` is not a key path"));
        }
        let value = parse_value(value.trim());
        let (last, tables) = keys.split_last().expect("split gives at least one key");
        let mut table = &mut document;
        for key in tables {
            let entry = table
                .entry((*key).to_owned())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            table = entry.as_table_mut().ok_or_else(|| {
                format!("`--set {set}`: `{key}` is not a table, so it has no `{last}`")
            })?;
        }
        table.insert((*last).to_owned(), value);
    }
    toml::to_string(&document).map_err(|error| error.to_string())
}

fn parse_value(text: &str) -> toml::Value {
    toml::from_str::<toml::Table>(&format!("v = {text}"))
        .ok()
        .and_then(|mut table| table.remove("v"))
        .unwrap_or_else(|| toml::Value::String(text.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_toml_or_strings_and_tables_are_made() {
        let text = "[source]\nurl = \"http://x/\"\n[fetch]\nconcurrency = 4\n";
        let out = apply(
            text,
            &[
                "fetch.concurrency=8".into(),
                "source.query.status=open".into(),
                "fetch.timeout=\"5s\"".into(),
            ],
        )
        .unwrap();
        let table: toml::Table = toml::from_str(&out).unwrap();
        assert_eq!(table["fetch"]["concurrency"].as_integer(), Some(8));
        assert_eq!(table["source"]["query"]["status"].as_str(), Some("open"));
        assert_eq!(table["fetch"]["timeout"].as_str(), Some("5s"));
        assert!(apply(text, &["fetch".into()]).is_err());
        assert!(apply(text, &["source.url.x=1".into()]).is_err());
    }
}
