//! jaq's native filters, with the one that reads JSON replaced: `fromjson` reads text out
//! of a record, which may nest a million levels in a string, and jaq's reader recurses once a
//! level. Ours measures the text first, with the same limit as records.

use jaq_core::native::{Fun, run, v};
use jaq_core::{Cv, Error, Exn, RunPtr, ValXs};
use jaq_json::Val;

use super::guard::{MAX_INPUT_DEPTH, Watched};

/// Every native filter of jaq's core, standard and JSON libraries, `fromjson` replaced.
pub(super) fn all() -> impl Iterator<Item = Fun<Watched>> {
    jaq_core::funs()
        .chain(jaq_std::funs())
        .chain(jaq_json::funs().filter(|(name, ..)| *name != "fromjson"))
        .chain(std::iter::once(run::<Watched>((
            "fromjson",
            v(0),
            fromjson as RunPtr<Watched>,
        ))))
}

/// `fromjson`, refusing text that nests deeper than [`MAX_INPUT_DEPTH`].
fn fromjson(cv: Cv<'_, Watched>) -> ValXs<'_, Val> {
    let text = match cv.1.try_as_utf8_bytes_owned() {
        Ok(text) => text,
        Err(error) => return Box::new(std::iter::once(Err(Exn::from(error)))),
    };
    let depth = crate::engine::reduce::builtin::value::nesting(&String::from_utf8_lossy(&text));
    if depth > MAX_INPUT_DEPTH {
        let error = Error::str(format!(
            "cannot parse text nested {depth} levels deep as JSON; `map` reads up to {MAX_INPUT_DEPTH} levels"
        ));
        return Box::new(std::iter::once(Err(Exn::from(error))));
    }
    let values: Vec<_> = jaq_json::read::parse_many(&text)
        .map(|value| {
            value.map_err(|error| Exn::from(Error::str(format!("cannot parse as JSON: {error}"))))
        })
        .collect();
    Box::new(values.into_iter())
}
