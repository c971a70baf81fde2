//! `map`: a jq program (run by jaq, in-process) that turns each record into what reducers
//! see, or drops it (`select(…)`), or makes several of it. JSON Pointers stay the fast path;
//! this is for what they cannot say.

use jaq_core::load::{Arena, File, Loader};
use jaq_core::{Compiler, Ctx, Vars, data, unwrap_valr};
use jaq_json::Val;

/// A compiled jq program. Each worker compiles its own: jaq's values are not shared across
/// threads.
pub struct MapProgram {
    filter: jaq_core::Filter<data::JustLut<Val>>,
}

impl MapProgram {
    /// Compiles `code`.
    ///
    /// # Errors
    ///
    /// When `code` is not a jq program jaq can compile; the message says where.
    pub fn compile(code: &str) -> Result<Self, String> {
        let defs = jaq_core::defs()
            .chain(jaq_std::defs())
            .chain(jaq_json::defs());
        let funs = jaq_core::funs()
            .chain(jaq_std::funs())
            .chain(jaq_json::funs());
        let loader = Loader::new(defs);
        let arena = Arena::default();
        let modules = loader
            .load(&arena, File { code, path: () })
            .map_err(|errors| {
                format!(
                    "`{code}` is not a jq program: {}",
                    describe(&format!("{errors:?}"))
                )
            })?;
        let filter = Compiler::default()
            .with_funs(funs)
            .compile(modules)
            .map_err(|errors| {
                format!(
                    "`{code}` does not compile: {}",
                    describe(&format!("{errors:?}"))
                )
            })?;
        Ok(Self { filter })
    }

    /// Runs the program on one record (JSON text) and appends each output's JSON text.
    ///
    /// # Errors
    ///
    /// When the record is not JSON or the program fails on it.
    pub fn run(&self, record: &str, out: &mut Vec<String>) -> Result<(), String> {
        let input = jaq_json::read::parse_single(record.as_bytes())
            .map_err(|e| format!("the record is not JSON: {e}"))?;
        let ctx = Ctx::<data::JustLut<Val>>::new(&self.filter.lut, Vars::new([]));
        for output in self.filter.id.run((ctx, input)).map(unwrap_valr) {
            let value = output.map_err(|e| format!("the jq program failed: {e}"))?;
            out.push(value.to_string());
        }
        Ok(())
    }
}

/// jaq reports errors as data; the first quoted fragment is usually what went wrong.
fn describe(debug: &str) -> String {
    let shown: String = debug.chars().take(200).collect();
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_filters_and_multiplies_records() {
        let program =
            MapProgram::compile(r#"select(.status == "paid") | {amount: (.cents / 100), status}"#)
                .unwrap();
        let mut out = Vec::new();
        program
            .run(r#"{"status":"paid","cents":1250,"x":1}"#, &mut out)
            .unwrap();
        program
            .run(r#"{"status":"open","cents":5}"#, &mut out)
            .unwrap();
        assert_eq!(out, [r#"{"amount":12.5,"status":"paid"}"#]);
        let each = MapProgram::compile(".tags[]").unwrap();
        let mut out = Vec::new();
        each.run(r#"{"tags":["a","b"]}"#, &mut out).unwrap();
        assert_eq!(out, [r#""a""#, r#""b""#]);
        assert!(MapProgram::compile("select(").is_err());
        assert!(
            program
                .run(r#"{"status":"paid","cents":"x"}"#, &mut Vec::new())
                .is_err()
        );
    }
}
