//! The job file's JSON Schema, derived from the serde types that parse it (their doc
//! comments become its descriptions), for editors: Even Better TOML and taplo complete and
//! check a job file against it.
//!
//! ```
//! let schema = pagefold::job::job_schema();
//! assert_eq!(schema["title"], "pagefold job");
//! assert_eq!(schema["additionalProperties"], false);
//! ```

use schemars::generate::SchemaSettings;

/// The schema (JSON Schema draft 7, which every TOML editor plug-in reads).
pub fn job_schema() -> serde_json::Value {
    let generator = SchemaSettings::draft07().into_generator();
    generator
        .into_root_schema_for::<super::JobFile>()
        .to_value()
}
