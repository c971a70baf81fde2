//! A compiled `map` program and its run on one record, within limits.

use jaq_core::load::{Arena, File, Loader};
use jaq_core::{Compiler, Ctx, Vars, unwrap_valr};
use jaq_json::Val;

use super::guard::{self, Exceeded, MAX_INPUT_DEPTH, Watch, Watched};
use super::syntax::{self, CompileError};

/// Outputs a program may make of one record: `range(1e9)` is a typo, not a page.
pub const MAX_OUTPUTS: usize = 10_000;

/// A compiled jq program. Each worker compiles its own: jaq's values are not shared across
/// threads.
pub struct MapProgram {
    filter: jaq_core::Filter<Watched>,
    /// Bytes of stack a run may use: small unless the program is told it runs on a thread
    /// started with [`super::MAP_STACK`].
    stack_budget: usize,
}

impl MapProgram {
    /// Compiles `code`.
    ///
    /// # Errors
    ///
    /// When `code` is not a jq program jaq can compile; the error says what and where.
    pub fn compile(code: &str) -> Result<Self, CompileError> {
        let defs = jaq_core::defs()
            .chain(jaq_std::defs())
            .chain(jaq_json::defs());
        let funs = super::natives::all();
        syntax::within_nesting(code)?;
        let loader = Loader::new(defs);
        let arena = Arena::default();
        let modules = loader
            .load(&arena, File { code, path: () })
            .map_err(|errors| syntax::load_error(code, errors))?;
        let filter = Compiler::default()
            .with_funs(funs)
            .compile(modules)
            .map_err(|errors| syntax::compile_error(code, errors))?;
        Ok(Self {
            filter,
            stack_budget: guard::SMALL_STACK_BUDGET,
        })
    }

    /// The program, allowed the stack of a thread started with [`super::MAP_STACK`] bytes of
    /// stack; it must only run on such a thread.
    pub fn on_map_stack(mut self) -> Self {
        self.stack_budget = guard::STACK_BUDGET;
        self
    }

    /// Runs the program on one record (JSON text) and appends each output's JSON text.
    ///
    /// # Errors
    ///
    /// When the record is not JSON or nests deeper than [`MAX_INPUT_DEPTH`], when the program
    /// fails on it, recurses too deep, runs longer than [`super::MAX_TIME`] or makes more
    /// than [`MAX_OUTPUTS`] outputs (or one that nests too deep).
    pub fn run(&self, record: &str, out: &mut Vec<String>) -> Result<(), String> {
        let depth = crate::engine::reduce::builtin::value::nesting(record);
        if depth > MAX_INPUT_DEPTH {
            return Err(format!(
                "the record is nested {depth} levels deep; `map` reads records up to {MAX_INPUT_DEPTH} levels"
            ));
        }
        let input = jaq_json::read::parse_single(record.as_bytes())
            .map_err(|e| format!("the record is not JSON: {e}"))?;
        let before = out.len();
        let _watching = super::watchdog::Watching::begin();
        let ran = guard::watched(&self.filter.lut, self.stack_budget, |watch: Watch<'_>| {
            let ctx = Ctx::<Watched>::new(watch, Vars::new([]));
            for output in self.filter.id.run((ctx, input)).map(unwrap_valr) {
                let value = output.map_err(|e| format!("the jq program failed: {e}"))?;
                if out.len() - before >= MAX_OUTPUTS {
                    return Err(format!(
                        "the jq program made more than {MAX_OUTPUTS} outputs of one record"
                    ));
                }
                out.push(written(value)?);
            }
            Ok(())
        });
        match ran {
            Ok(done) => done,
            Err(Exceeded::Stack) => Err(
                "the jq program recursed too deep (does a definition call itself without end?)"
                    .into(),
            ),
            Err(Exceeded::Time) => Err(format!(
                "the jq program ran longer than {}s on one record",
                super::MAX_TIME.as_secs()
            )),
        }
    }
}

/// An output's JSON text, when it nests no deeper than [`MAX_INPUT_DEPTH`] (measured without
/// recursion: writing it is recursive).
fn written(value: Val) -> Result<String, String> {
    let mut deepest = 0;
    let mut pending: Vec<(&Val, usize)> = vec![(&value, 1)];
    while let Some((value, depth)) = pending.pop() {
        let children: Box<dyn Iterator<Item = &Val>> = match value {
            Val::Arr(items) => Box::new(items.iter()),
            Val::Obj(entries) => Box::new(entries.values()),
            _ => continue,
        };
        deepest = deepest.max(depth);
        if deepest > MAX_INPUT_DEPTH {
            break;
        }
        pending.extend(children.map(|child| (child, depth + 1)));
    }
    if deepest > MAX_INPUT_DEPTH {
        // Dropping it would recurse as deep as it nests: it is left to the end of the process
        // (the run is ending with this error).
        std::mem::forget(value);
        return Err(format!(
            "the jq program made a value nested more than {MAX_INPUT_DEPTH} levels deep"
        ));
    }
    Ok(value.to_string())
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

    /// Each of these aborted the process or ran without end.
    #[test]
    fn hostile_programs_and_records_end_in_errors() {
        let deep = format!("{}1{}", "[".repeat(5000), "]".repeat(5000));
        let deep_text = format!("{{\"s\":{}}}", serde_json::Value::from(deep.clone()));
        let cases: [(&str, &str, &str); 6] = [
            (".", &deep, "nested 5000 levels deep"),
            ("def f: [f]; f", "1", "recursed too deep"),
            ("range(1000000000)", "1", "more than 10000 outputs"),
            (
                "reduce range(100000) as $i (0; [.])",
                "1",
                "nested more than 512 levels",
            ),
            ("def f: f + 1; f", "1", "recursed too deep"),
            (
                ".s | fromjson",
                &deep_text,
                "cannot parse text nested 5000 levels deep",
            ),
        ];
        for (code, record, expected) in cases {
            let program = MapProgram::compile(code).unwrap();
            let error = program.run(record, &mut Vec::new()).unwrap_err();
            assert!(error.contains(expected), "{code}: {error}");
        }
    }

    fn run(code: &str) -> String {
        let mut out = Vec::new();
        MapProgram::compile(code)
            .unwrap()
            .run("null", &mut out)
            .unwrap();
        out.join(",")
    }

    #[test]
    fn a_program_that_never_yields_is_stopped_in_time() {
        // jaq's own loops (`repeat`, `while`, recursion) are watched; a native generator
        // drained by a native (`last(range(1e15))`) is not, as jaq asks nothing meanwhile.
        assert_eq!(
            run(r#""[1, {\"a\": 2}] 3" | [fromjson]"#),
            r#"[[1,{"a":2}],3]"#
        );
        let program = MapProgram::compile("last(repeat(1))").unwrap();
        let started = std::time::Instant::now();
        let error = program.run("1", &mut Vec::new()).unwrap_err();
        assert!(error.contains("ran longer than 5s"), "{error}");
        assert!(started.elapsed() < super::super::MAX_TIME * 3);
    }
}
