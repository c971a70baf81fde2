//! Fast extraction from JSON that was already checked to be well-formed.
//!
//! pagefold checks every page once ([`PointerSet::extract_split_text`]: a strict walk, serde
//! where it hands over), finding the records array in the same pass. Reading the fields of
//! each record again with a checking parser would check the same bytes a second time; this
//! scanner trusts them instead and only finds boundaries: strings are skipped eight bytes a
//! step, nested values by counting brackets. It never panics and
//! never reads out of bounds on malformed input; it reports [`ScanError`] when the structure
//! does not add up, but it does not promise to notice every malformation (that is the first
//! pass's job).

use crate::PointerSet;
use crate::extract::Node;
use crate::quote::quote_or_backslash;

/// The text being scanned is not the JSON the scanner was promised.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed JSON near byte {at}")]
pub struct ScanError {
    at: usize,
}

pub(crate) struct Cursor<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pub(crate) at: usize,
    /// Slots not yet found: at 0 the walk stops where it is ([`PointerSet::scan_first`]).
    /// `usize::MAX` when the walk must go to the end of the value.
    missing: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Self {
            text,
            bytes: text.as_bytes(),
            at: 0,
            missing: usize::MAX,
        }
    }

    /// Whether every slot is found and the walk may stop.
    fn found_all(&self) -> bool {
        self.missing == 0
    }

    pub(crate) fn error(&self) -> ScanError {
        ScanError { at: self.at }
    }

    #[inline(always)]
    pub(crate) fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    #[inline(always)]
    pub(crate) fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\n' | b'\r' | b'\t')) {
            self.at += 1;
        }
    }

    #[inline(always)]
    pub(crate) fn expect(&mut self, byte: u8) -> Result<(), ScanError> {
        self.skip_whitespace();
        if self.peek() == Some(byte) {
            self.at += 1;
            Ok(())
        } else {
            Err(self.error())
        }
    }

    /// From an opening quote to just past the closing one; returns the contents and whether
    /// they hold escapes.
    #[inline(always)]
    fn string(&mut self) -> Result<(&'a str, bool), ScanError> {
        let start = self.at + 1;
        let mut at = start;
        let mut escaped = false;
        loop {
            let rest = self.bytes.get(at..).ok_or_else(|| self.error())?;
            at += quote_or_backslash(rest).ok_or_else(|| self.error())?;
            if self.bytes[at] == b'"' {
                break;
            }
            escaped = true;
            at += 2;
        }
        self.at = at + 1;
        let contents = self.text.get(start..at).ok_or_else(|| self.error())?;
        Ok((contents, escaped))
    }

    /// Skips one value (after whitespace) and returns its text.
    pub(crate) fn value(&mut self) -> Result<&'a str, ScanError> {
        self.skip_whitespace();
        let start = self.at;
        match self.peek().ok_or_else(|| self.error())? {
            b'"' => {
                self.string()?;
            }
            b'{' | b'[' => {
                let mut depth = 0usize;
                loop {
                    match self.peek().ok_or_else(|| self.error())? {
                        b'"' => {
                            self.string()?;
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                self.at += 1;
                                break;
                            }
                        }
                        _ => {}
                    }
                    self.at += 1;
                }
            }
            _ => {
                while !matches!(
                    self.peek(),
                    None | Some(b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t')
                ) {
                    self.at += 1;
                }
                if self.at == start {
                    return Err(self.error());
                }
            }
        }
        self.text.get(start..self.at).ok_or_else(|| self.error())
    }

    /// A pointer's value, and one fewer to look for.
    #[inline(always)]
    fn found(&mut self, slot: usize, value: &'a str, out: &mut [Option<&'a str>]) {
        if out[slot].replace(value).is_none() && self.missing != usize::MAX {
            self.missing -= 1;
        }
    }

    /// Walks the value at the cursor, filling the slots of `node` and its children. A field
    /// (a pointer's end, nothing below it), the common case, is taken here, inlined where the
    /// walk meets it; anything else is walked out of line.
    #[inline(always)]
    fn walk(&mut self, node: &Node, out: &mut [Option<&'a str>]) -> Result<(), ScanError> {
        match node.slot {
            Some(slot) if node.children.is_empty() => {
                let value = self.value()?;
                self.found(slot, value, out);
                Ok(())
            }
            _ => self.walk_within(node, out),
        }
    }

    fn walk_within(&mut self, node: &Node, out: &mut [Option<&'a str>]) -> Result<(), ScanError> {
        if let Some(slot) = node.slot {
            let value = self.value()?;
            self.found(slot, value, out);
            if !node.children.is_empty() {
                let inner = Node {
                    slot: None,
                    children: node.children.clone(),
                };
                Cursor::new(value).walk(&inner, out)?;
            }
            return Ok(());
        }
        if node.children.is_empty() {
            return self.value().map(drop);
        }
        self.skip_whitespace();
        match self.peek().ok_or_else(|| self.error())? {
            b'{' => {
                self.at += 1;
                self.skip_whitespace();
                if self.peek() == Some(b'}') {
                    self.at += 1;
                    return Ok(());
                }
                loop {
                    self.skip_whitespace();
                    if self.peek() != Some(b'"') {
                        return Err(self.error());
                    }
                    let (key, escaped) = self.string()?;
                    self.expect(b':')?;
                    let child = if escaped {
                        let key: String = serde_json::from_str(&format!("\"{key}\""))
                            .map_err(|_| self.error())?;
                        node.children.iter().find(|c| c.token == key)
                    } else {
                        node.children.iter().find(|c| c.token == key)
                    };
                    match child {
                        Some(child) => self.walk(&child.node, out)?,
                        None => {
                            self.value()?;
                        }
                    }
                    if self.found_all() {
                        return Ok(());
                    }
                    self.skip_whitespace();
                    match self.peek() {
                        Some(b',') => self.at += 1,
                        Some(b'}') => {
                            self.at += 1;
                            return Ok(());
                        }
                        _ => return Err(self.error()),
                    }
                }
            }
            b'[' => {
                self.at += 1;
                self.skip_whitespace();
                if self.peek() == Some(b']') {
                    self.at += 1;
                    return Ok(());
                }
                let mut index = 0;
                loop {
                    match node.children.iter().find(|c| c.index == Some(index)) {
                        Some(child) => self.walk(&child.node, out)?,
                        None => {
                            self.value()?;
                        }
                    }
                    if self.found_all() {
                        return Ok(());
                    }
                    index += 1;
                    self.skip_whitespace();
                    match self.peek() {
                        Some(b',') => self.at += 1,
                        Some(b']') => {
                            self.at += 1;
                            return Ok(());
                        }
                        _ => return Err(self.error()),
                    }
                }
            }
            _ => self.value().map(drop),
        }
    }
}

impl PointerSet {
    /// Like [`PointerSet::extract`], for JSON already known to be well-formed: values come back
    /// as their JSON text, found by a scan that trusts the structure (several times faster).
    ///
    /// ```
    /// use pagefold_json::{Pointer, PointerSet};
    ///
    /// let city: Pointer = "/address/city".parse().unwrap();
    /// let set = PointerSet::new([&city]);
    /// let mut found = set.scan_slots();
    /// set.scan(r#"{"id":7,"address":{"city":"Oslo"}}"#, &mut found).unwrap();
    /// assert_eq!(found[0], Some(r#""Oslo""#));
    /// ```
    ///
    /// # Errors
    ///
    /// When the structure does not add up (see the module docs: not every malformation is
    /// noticed).
    pub fn scan<'a>(&self, json: &'a str, out: &mut [Option<&'a str>]) -> Result<(), ScanError> {
        out.fill(None);
        Cursor::new(json).walk(&self.root, out)
    }

    /// Like [`PointerSet::scan`], but stops as soon as every pointer has a value: the rest of
    /// the document is not read (nor checked). For one record whose bounds are known, where
    /// the fields a job reads often come first. Of a key given twice, the first is taken.
    ///
    /// ```
    /// use pagefold_json::{Pointer, PointerSet};
    ///
    /// let id: Pointer = "/id".parse().unwrap();
    /// let set = PointerSet::new([&id]);
    /// let mut found = set.scan_slots();
    /// // Stops after `"id"`: what follows is not read.
    /// set.scan_first(r#"{"id":7,"rest":[1,2,3]}"#, &mut found).unwrap();
    /// assert_eq!(found[0], Some("7"));
    /// ```
    ///
    /// # Errors
    ///
    /// As for [`PointerSet::scan`], in the part that was read.
    pub fn scan_first<'a>(
        &self,
        json: &'a str,
        out: &mut [Option<&'a str>],
    ) -> Result<(), ScanError> {
        out.fill(None);
        let mut cursor = Cursor::new(json);
        cursor.missing = self.distinct;
        if cursor.found_all() {
            return Ok(());
        }
        cursor.walk(&self.root, out)
    }

    /// A fresh output buffer for [`PointerSet::scan`].
    pub fn scan_slots<'a>(&self) -> Vec<Option<&'a str>> {
        vec![None; self.len]
    }

    /// [`PointerSet::scan`] on each element of a JSON array, appending [`PointerSet::len`]
    /// slots per element to `out`. Returns the element count.
    ///
    /// # Errors
    ///
    /// As for [`PointerSet::scan`].
    pub fn scan_each<'a>(
        &self,
        array: &'a str,
        out: &mut Vec<Option<&'a str>>,
    ) -> Result<usize, ScanError> {
        // One walk over the array: each element is walked where it stands, not split off first.
        let mut cursor = Cursor::new(array);
        cursor.expect(b'[')?;
        cursor.skip_whitespace();
        if cursor.peek() == Some(b']') {
            return Ok(0);
        }
        let mut count = 0;
        loop {
            let base = out.len();
            out.resize(base + self.len, None);
            cursor.walk(&self.root, &mut out[base..])?;
            count += 1;
            cursor.skip_whitespace();
            match cursor.peek() {
                Some(b',') => cursor.at += 1,
                Some(b']') => return Ok(count),
                _ => return Err(cursor.error()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Pointer;

    fn scan(pointers: &[&str], json: &str) -> Vec<Option<String>> {
        let pointers: Vec<Pointer> = pointers.iter().map(|p| p.parse().unwrap()).collect();
        let set = PointerSet::new(&pointers);
        let mut out = set.scan_slots();
        set.scan(json, &mut out).unwrap();
        out.iter().map(|v| v.map(str::to_owned)).collect()
    }

    #[test]
    fn agrees_with_the_parser() {
        let json = r#" { "a" : { "b" : [10, {"c":"x\"}"}] }, "skip": {"deep":[1,"]",3]}, "n": null, "e\u0041": -1.5e3 } "#;
        let pointers = [
            "/a/b/0", "/a/b/1/c", "/n", "/missing", "/a/b/9", "/eA", "/skip",
        ];
        let scanned = scan(&pointers, json);
        let parsed: Vec<Pointer> = pointers.iter().map(|p| p.parse().unwrap()).collect();
        let set = PointerSet::new(&parsed);
        let mut found = set.slots();
        set.extract(json, &mut found).unwrap();
        let expected: Vec<Option<String>> = found
            .iter()
            .map(|v| v.map(|v| v.get().to_owned()))
            .collect();
        assert_eq!(scanned, expected);
    }

    #[test]
    fn each_element_of_an_array() {
        let id: Pointer = "/id".parse().unwrap();
        let set = PointerSet::new([&id]);
        let mut rows = Vec::new();
        assert_eq!(
            set.scan_each(r#"[{"id":1},{"x":"}"},{"id":"3"}]"#, &mut rows)
                .unwrap(),
            3
        );
        assert_eq!(rows, [Some("1"), None, Some(r#""3""#)]);
        rows.clear();
        assert_eq!(set.scan_each(" [ ] ", &mut rows).unwrap(), 0);
    }

    #[test]
    fn malformed_text_is_an_error_not_a_panic() {
        let id: Pointer = "/id".parse().unwrap();
        let set = PointerSet::new([&id]);
        for bad in [
            r#"{"id":"#,
            r#"{"id" 1}"#,
            r#"{"id":"unterminated}"#,
            r#"[{"id":1}"#,
            "",
            "{",
            r#"{"a":1,}"#,
            "[1 2]",
        ] {
            let mut rows = Vec::new();
            let _ = set.scan_each(bad, &mut rows);
            let mut out = set.scan_slots();
            let _ = set.scan(bad, &mut out);
        }
        assert!(crate::elements("[1 2]").any(|e| e.is_err()));
        assert!(crate::elements("{}").next().unwrap().is_err());
    }

    #[test]
    fn scan_first_finds_what_scan_finds_and_stops_early() {
        let pointers: Vec<Pointer> = ["/b/c", "/a", "/d/1", "/a"]
            .iter()
            .map(|p| p.parse().unwrap())
            .collect();
        let set = PointerSet::new(&pointers);
        let json = r#"{"a":"x","b":{"c":[1,{"e":2}],"z":3},"d":[0,"y"],"tail":[{"q":"\""}]}"#;
        let (mut first, mut whole) = (set.scan_slots(), set.scan_slots());
        set.scan_first(json, &mut first).unwrap();
        set.scan(json, &mut whole).unwrap();
        assert_eq!(first, whole);
        // Past the last wanted field, nothing is read: not even what would be an error.
        let broken = r#"{"a":1,"b":{"c":2},"d":[0,1], ]]]"#;
        set.scan_first(broken, &mut first).unwrap();
        assert_eq!(first[2], Some("1"));
        assert!(set.scan(broken, &mut whole).is_err());
        // A field that is missing makes it read to the end.
        let lacking = r#"{"a":1,"b":{"c":2}}"#;
        set.scan_first(lacking, &mut first).unwrap();
        assert_eq!(first[2], None);
    }
}
