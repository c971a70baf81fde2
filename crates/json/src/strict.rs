//! The fast path of [`PointerSet::extract_split_text`]: one strict walk that checks a
//! document is JSON by the grammar serde_json applies, finds the pointers' values and splits
//! the records array, at a third of serde's cost per byte.
//!
//! It answers only "valid, and here is what the pointers name" or "hand it to serde". Serde
//! then decides, and its error says what is wrong and where: so an error is never this walk's
//! word. The walk hands over on anything malformed and on the rare shapes whose reading it
//! does not copy (a key with an escape on a pointer's path, a wanted key given twice, a
//! pointer below another one's value). What it must never do is pass a document serde would
//! refuse: its grammar is serde's `ignore_value`, and a property test holds the two together.

use crate::PointerSet;
use crate::extract::Node;
use crate::quote::string_stop;
use crate::split::ArraySplit;

impl PointerSet {
    /// [`PointerSet::extract_split`], with the values as text: the same values, the same
    /// split, the same errors, at a third of the cost where the document is JSON (a strict
    /// walk finds them; serde reads only what it hands over, and says what is wrong).
    ///
    /// ```
    /// use pagefold_json::{ArraySplit, Pointer, PointerSet};
    ///
    /// let data: Pointer = "/data".parse().unwrap();
    /// let total: Pointer = "/total".parse().unwrap();
    /// let set = PointerSet::new([&data, &total]);
    /// let json = r#"{"data": [1, {"a": "b"}], "total": 2}"#;
    /// let mut found = vec![None; set.len()];
    /// let mut split = ArraySplit::new(set.slot_of(&data).unwrap());
    /// set.extract_split_text(json, &mut found, &mut split).unwrap();
    /// let elements: Vec<&str> = split.elements().iter().map(|r| &json[r.clone()]).collect();
    /// assert_eq!(elements, ["1", r#"{"a": "b"}"#]);
    /// assert_eq!(found[1], Some("2"));
    /// assert!(set.extract_split_text("[1,]", &mut found, &mut split).is_err());
    /// ```
    ///
    /// # Errors
    ///
    /// As [`PointerSet::extract`]: serde's, with line and column.
    pub fn extract_split_text<'a>(
        &self,
        json: &'a str,
        out: &mut [Option<&'a str>],
        split: &mut ArraySplit,
    ) -> Result<(), serde_json::Error> {
        out.fill(None);
        split.reset(json);
        if Strict::new(json).document(self, out, split).is_ok() {
            return Ok(());
        }
        let mut raw = self.slots();
        self.extract_split(json, &mut raw, split)?;
        for (text, raw) in out.iter_mut().zip(raw) {
            *text = raw.map(serde_json::value::RawValue::get);
        }
        Ok(())
    }
}

/// The walk stops here; serde reads the document instead.
pub(crate) struct HandOver;

type Walked = Result<(), HandOver>;

pub(crate) struct Strict<'a> {
    text: &'a str,
    bytes: &'a [u8],
    at: usize,
    /// The closing bytes of the containers being skipped, innermost last: skipping is a loop,
    /// not a recursion, so no depth overflows the stack (serde's `ignore_value` has no limit
    /// either).
    closers: Vec<u8>,
}

impl<'a> Strict<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Self {
            text,
            bytes: text.as_bytes(),
            at: 0,
            closers: Vec::new(),
        }
    }

    /// The whole document: the pointers' values in `out`, the array at `split`'s slot split,
    /// and nothing but whitespace after the value.
    pub(crate) fn document(
        &mut self,
        set: &PointerSet,
        out: &mut [Option<&'a str>],
        split: &mut ArraySplit,
    ) -> Walked {
        self.walk(&set.root, out, Some(split))?;
        self.whitespace();
        if self.at == self.bytes.len() {
            Ok(())
        } else {
            Err(HandOver)
        }
    }

    fn peek(&self) -> Result<u8, HandOver> {
        self.bytes.get(self.at).copied().ok_or(HandOver)
    }

    #[inline(always)]
    fn whitespace(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.bytes.get(self.at) {
            self.at += 1;
        }
    }

    /// Past `byte`, after whitespace.
    fn expect(&mut self, byte: u8) -> Walked {
        self.whitespace();
        if self.peek()? == byte {
            self.at += 1;
            Ok(())
        } else {
            Err(HandOver)
        }
    }

    /// Follows the pointers' trie from `node` through the value that starts here.
    fn walk(
        &mut self,
        node: &Node,
        out: &mut [Option<&'a str>],
        split: Option<&mut ArraySplit>,
    ) -> Walked {
        self.whitespace();
        match split {
            Some(split) if node.children.is_empty() && node.slot == Some(split.slot()) => {
                return self.split_array(split);
            }
            _ => {}
        }
        if let Some(slot) = node.slot {
            if !node.children.is_empty() {
                return Err(HandOver);
            }
            let start = self.at;
            self.skip_value()?;
            out[slot] = Some(&self.text[start..self.at]);
            return Ok(());
        }
        if node.children.is_empty() {
            return self.skip_value();
        }
        match self.peek()? {
            b'{' => self.walk_object(node, out, split),
            b'[' => self.walk_array(node, out, split),
            // A scalar where the pointers go on: they find nothing here.
            _ => self.walked_scalar(),
        }
    }

    /// A scalar where serde's visitor reads the value rather than skipping it: serde then
    /// checks more than the grammar (a string's escapes must make text, a number must fit a
    /// float unless numbers are kept as text), so those are handed over.
    fn walked_scalar(&mut self) -> Walked {
        match self.peek()? {
            b'"' if !self.string()? => Ok(()),
            b't' | b'f' | b'n' => self.skip_value(),
            _ => Err(HandOver),
        }
    }

    fn walk_object(
        &mut self,
        node: &Node,
        out: &mut [Option<&'a str>],
        mut split: Option<&mut ArraySplit>,
    ) -> Walked {
        if self.empty(b'}')? {
            return Ok(());
        }
        // Which children were met, to hand over a wanted key given twice.
        let mut met = 0u64;
        loop {
            if self.peek()? != b'"' {
                return Err(HandOver);
            }
            let start = self.at + 1;
            if self.string()? {
                return Err(HandOver);
            }
            let key = &self.bytes[start..self.at - 1];
            self.expect(b':')?;
            match node
                .children
                .iter()
                .position(|child| child.token.as_bytes() == key)
            {
                Some(position) if position < 64 && met & (1 << position) == 0 => {
                    met |= 1 << position;
                    let child = &node.children[position].node;
                    self.walk(child, out, split.as_deref_mut())?;
                }
                Some(_) => return Err(HandOver),
                None => self.skip_value()?,
            }
            self.whitespace();
            match self.peek()? {
                b',' => {
                    self.at += 1;
                    self.whitespace();
                }
                b'}' => {
                    self.at += 1;
                    return Ok(());
                }
                _ => return Err(HandOver),
            }
        }
    }

    fn walk_array(
        &mut self,
        node: &Node,
        out: &mut [Option<&'a str>],
        mut split: Option<&mut ArraySplit>,
    ) -> Walked {
        if self.empty(b']')? {
            return Ok(());
        }
        let mut index = 0;
        loop {
            match node.children.iter().find(|c| c.index == Some(index)) {
                Some(child) => self.walk(&child.node, out, split.as_deref_mut())?,
                None => self.skip_value()?,
            }
            self.whitespace();
            match self.peek()? {
                b',' => self.at += 1,
                b']' => {
                    self.at += 1;
                    return Ok(());
                }
                _ => return Err(HandOver),
            }
            index += 1;
        }
    }

    /// The value at the split's slot: an array's range and its elements', an empty array's
    /// too; anything else is skipped and marked as not an array.
    fn split_array(&mut self, split: &mut ArraySplit) -> Walked {
        split.mark_other();
        let start = self.at;
        match self.peek()? {
            b'[' => {}
            // serde reads an object's keys here as text: rare enough to leave to it.
            b'{' => return Err(HandOver),
            _ => return self.walked_scalar(),
        }
        if !self.empty(b']')? {
            loop {
                self.whitespace();
                let start = self.at;
                self.skip_value()?;
                split.push(start..self.at);
                self.whitespace();
                match self.peek()? {
                    b',' => self.at += 1,
                    b']' => {
                        self.at += 1;
                        break;
                    }
                    _ => return Err(HandOver),
                }
            }
        }
        split.mark_array();
        split.set_array(start..self.at);
        Ok(())
    }

    /// Past an opening bracket and the whitespace after it; whether the container is empty
    /// (then past its `close` too).
    #[inline(always)]
    fn empty(&mut self, close: u8) -> Result<bool, HandOver> {
        self.at += 1;
        self.whitespace();
        let empty = self.peek()? == close;
        if empty {
            self.at += 1;
        }
        Ok(empty)
    }

    /// One value, after whitespace, checked as serde's `ignore_value` checks it.
    fn skip_value(&mut self) -> Walked {
        let outer = self.closers.len();
        loop {
            self.whitespace();
            match self.peek()? {
                b'"' => {
                    self.string()?;
                }
                open @ (b'{' | b'[') => {
                    let close = if open == b'{' { b'}' } else { b']' };
                    if !self.empty(close)? {
                        self.closers.push(close);
                        if close == b'}' {
                            self.key()?;
                        }
                        continue;
                    }
                }
                b't' => self.literal(b"true")?,
                b'f' => self.literal(b"false")?,
                b'n' => self.literal(b"null")?,
                b'-' | b'0'..=b'9' => self.number()?,
                _ => return Err(HandOver),
            }
            // After a value: close what it ends, or go on to the next element or member.
            loop {
                let Some(&close) = self.closers.last().filter(|_| self.closers.len() > outer)
                else {
                    return Ok(());
                };
                self.whitespace();
                match self.peek()? {
                    b',' => {
                        self.at += 1;
                        if close == b'}' {
                            self.whitespace();
                            self.key()?;
                        }
                        break;
                    }
                    byte if byte == close => {
                        self.at += 1;
                        self.closers.pop();
                    }
                    _ => return Err(HandOver),
                }
            }
        }
    }

    /// An object's key and its colon.
    #[inline(always)]
    fn key(&mut self) -> Walked {
        if self.peek()? != b'"' {
            return Err(HandOver);
        }
        self.string()?;
        self.expect(b':')
    }

    /// From an opening quote to past the closing one; whether the string held an escape.
    #[inline(always)]
    fn string(&mut self) -> Result<bool, HandOver> {
        let mut at = self.at + 1;
        let mut escaped = false;
        loop {
            let rest = self.bytes.get(at..).ok_or(HandOver)?;
            at += string_stop(rest).ok_or(HandOver)?;
            match self.bytes[at] {
                b'"' => break,
                b'\\' => {
                    escaped = true;
                    at += match self.bytes.get(at + 1) {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => 2,
                        Some(b'u')
                            if self
                                .bytes
                                .get(at + 2..at + 6)
                                .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit)) =>
                        {
                            6
                        }
                        _ => return Err(HandOver),
                    };
                }
                // A control character, which a string must escape.
                _ => return Err(HandOver),
            }
        }
        self.at = at + 1;
        Ok(escaped)
    }

    #[inline(always)]
    fn literal(&mut self, word: &[u8]) -> Walked {
        if self.bytes.get(self.at..self.at + word.len()) == Some(word) {
            self.at += word.len();
            Ok(())
        } else {
            Err(HandOver)
        }
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`; what may follow is the caller's
    /// concern.
    #[inline(always)]
    fn number(&mut self) -> Walked {
        if self.bytes[self.at] == b'-' {
            self.at += 1;
        }
        match self.peek()? {
            b'0' => {
                self.at += 1;
                if self.bytes.get(self.at).is_some_and(u8::is_ascii_digit) {
                    return Err(HandOver);
                }
            }
            b'1'..=b'9' => self.digits(),
            _ => return Err(HandOver),
        }
        if self.bytes.get(self.at) == Some(&b'.') {
            self.at += 1;
            self.some_digits()?;
        }
        if let Some(b'e' | b'E') = self.bytes.get(self.at) {
            self.at += 1;
            if let Some(b'+' | b'-') = self.bytes.get(self.at) {
                self.at += 1;
            }
            self.some_digits()?;
        }
        Ok(())
    }

    fn digits(&mut self) {
        while self.bytes.get(self.at).is_some_and(u8::is_ascii_digit) {
            self.at += 1;
        }
    }

    fn some_digits(&mut self) -> Walked {
        let start = self.at;
        self.digits();
        if self.at > start {
            Ok(())
        } else {
            Err(HandOver)
        }
    }
}

#[cfg(test)]
#[path = "strict_tests.rs"]
mod tests;
