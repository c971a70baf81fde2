//! Where the records are in a page: the body itself when it is an array, else the largest
//! array of objects in it.

use serde_json::Value;

/// An array of objects found in a page.
#[derive(Debug, Clone)]
pub(crate) struct Found {
    /// Its JSON Pointer (`""`: the body).
    pub(crate) pointer: String,
    /// How many elements it has.
    pub(crate) len: usize,
}

/// The records array, and the other arrays of objects seen (for the notes).
pub(crate) fn find(body: &Value) -> Option<(Found, Vec<Found>)> {
    if let Value::Array(items) = body {
        return Some((
            Found {
                pointer: String::new(),
                len: items.len(),
            },
            Vec::new(),
        ));
    }
    let mut all = Vec::new();
    walk(body, String::new(), 0, &mut all);
    // The largest; on a tie the shallowest (a connection's `nodes` before `edges/…`).
    all.sort_by(|a, b| {
        b.len
            .cmp(&a.len)
            .then(
                a.pointer
                    .matches('/')
                    .count()
                    .cmp(&b.pointer.matches('/').count()),
            )
            .then(a.pointer.cmp(&b.pointer))
    });
    let mut all = all.into_iter();
    let best = all.next()?;
    Some((best, all.collect()))
}

fn walk(value: &Value, at: String, depth: usize, into: &mut Vec<Found>) {
    if depth > 6 {
        return;
    }
    match value {
        Value::Array(items) if items.first().is_none_or(Value::is_object) && !at.is_empty() => {
            into.push(Found {
                pointer: at,
                len: items.len(),
            });
        }
        Value::Object(map) => {
            for (key, value) in map {
                let token = key.replace('~', "~0").replace('/', "~1");
                walk(value, format!("{at}/{token}"), depth + 1, into);
            }
        }
        _ => {}
    }
}

/// The records at `pointer`.
pub(crate) fn at<'a>(body: &'a Value, pointer: &str) -> &'a [Value] {
    body.pointer(pointer)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_largest_array_of_objects_wins() {
        let body = serde_json::json!({
            "data": [{"id": 1}, {"id": 2}],
            "meta": { "tags": [{"t": 1}] },
            "ids": [1, 2, 3]
        });
        let (best, others) = find(&body).unwrap();
        assert_eq!(best.pointer, "/data");
        assert_eq!(others[0].pointer, "/meta/tags");
        assert_eq!(find(&serde_json::json!([1])).unwrap().0.pointer, "");
    }
}
