//! `table_prefix`: what the tables' names start with.

/// `table_prefix`: what the tables' names start with (default `pagefold_`: the tables
/// `pagefold_runs`, `pagefold_values` and `pagefold_schema`).
///
/// Invariant: letters, digits and `_`, starting with a letter or `_`, at most 40 characters,
/// so that every name made from it is a plain SQL identifier in both databases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TablePrefix(String);

impl Default for TablePrefix {
    fn default() -> Self {
        Self("pagefold_".into())
    }
}

impl TablePrefix {
    /// Checks `text`.
    ///
    /// # Errors
    ///
    /// What is wrong with it, as a message.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut chars = text.chars();
        let starts_well = chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
        if !starts_well || !text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!("`{text}` is not a table prefix"));
        }
        if text.len() > 40 {
            return Err(format!(
                "`table_prefix` is {} characters long; at most 40",
                text.len()
            ));
        }
        Ok(Self(text.to_owned()))
    }

    /// The prefix.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_plain_identifiers() {
        assert_eq!(TablePrefix::parse("bi_").unwrap().as_str(), "bi_");
        assert!(TablePrefix::parse("").is_err());
        assert!(TablePrefix::parse("1x").is_err());
        assert!(TablePrefix::parse("a;drop").is_err());
        assert!(TablePrefix::parse(&"a".repeat(41)).is_err());
    }
}
