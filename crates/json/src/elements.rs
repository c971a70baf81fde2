//! The elements of a JSON array as text, found by the scanner without parsing them.

use crate::scan::{Cursor, ScanError};

/// The elements of a JSON array, as text, without parsing them.
///
/// ```
/// let elements: Vec<&str> = pagefold_json::elements(r#" [1, {"a": [2]}, "x,y"] "#)
///     .collect::<Result<_, _>>()
///     .unwrap();
/// assert_eq!(elements, ["1", r#"{"a": [2]}"#, r#""x,y""#]);
/// ```
pub fn elements(array: &str) -> Elements<'_> {
    let mut cursor = Cursor::new(array);
    let state = match cursor.expect(b'[') {
        Err(error) => State::Failed(error),
        Ok(()) => {
            cursor.skip_whitespace();
            if cursor.peek() == Some(b']') {
                State::Done
            } else {
                State::More
            }
        }
    };
    Elements { cursor, state }
}

/// The iterator of [`elements`].
pub struct Elements<'a> {
    cursor: Cursor<'a>,
    state: State,
}

enum State {
    More,
    Done,
    Failed(ScanError),
}

impl<'a> Iterator for Elements<'a> {
    type Item = Result<&'a str, ScanError>;

    fn next(&mut self) -> Option<Self::Item> {
        match std::mem::replace(&mut self.state, State::Done) {
            State::Done => None,
            State::Failed(error) => Some(Err(error)),
            State::More => {
                let element = match self.cursor.value() {
                    Ok(element) => element,
                    Err(error) => return Some(Err(error)),
                };
                self.cursor.skip_whitespace();
                match self.cursor.peek() {
                    Some(b',') => {
                        self.cursor.at += 1;
                        self.state = State::More;
                    }
                    Some(b']') => self.cursor.at += 1,
                    _ => self.state = State::Failed(self.cursor.error()),
                }
                Some(Ok(element))
            }
        }
    }
}
