//! One pass over a JSON document that captures the values named by a set of pointers.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use crate::Pointer;
use crate::split::ArraySplit;

/// A set of [`Pointer`]s compiled into a trie, so one walk of a document finds all of them.
///
/// The values are returned as [`RawValue`] slices of the input, in *slots* numbered in the order
/// the pointers were given. A pointer that does not resolve (a missing key, an index past the
/// end, a key into a number) leaves its slot `None`: that is not an error, because records
/// routinely lack optional fields.
///
/// ```
/// use pagefold_json::{Pointer, PointerSet};
///
/// let data: Pointer = "/data".parse().unwrap();
/// let total: Pointer = "/meta/total".parse().unwrap();
/// let set = PointerSet::new([&data, &total]);
/// let mut found = set.slots();
/// set.extract(r#"{"data":[1,2],"meta":{}}"#, &mut found).unwrap();
/// assert_eq!(found[0].unwrap().get(), "[1,2]");
/// assert!(found[1].is_none());
/// ```
#[derive(Debug, Clone)]
pub struct PointerSet {
    pub(crate) root: Node,
    pub(crate) len: usize,
    /// The slots values can land in (a pointer given twice has one).
    pub(crate) distinct: usize,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Node {
    /// The slot of the pointer that ends here, if one does.
    pub(crate) slot: Option<usize>,
    pub(crate) children: Vec<Child>,
}

#[derive(Debug, Clone)]
pub(crate) struct Child {
    pub(crate) token: String,
    /// The token read as an array index, when it is one.
    pub(crate) index: Option<usize>,
    pub(crate) node: Node,
}

impl PointerSet {
    /// Compiles pointers; the `n`th pointer's value lands in slot `n`. A pointer given twice
    /// fills the slot of its first occurrence only; use [`PointerSet::slot_of`] to find it.
    pub fn new<'p>(pointers: impl IntoIterator<Item = &'p Pointer>) -> Self {
        let mut root = Node::default();
        let mut len = 0;
        let mut distinct = 0;
        for pointer in pointers {
            let mut node = &mut root;
            for token in pointer.tokens() {
                let position = match node.children.iter().position(|c| &c.token == token) {
                    Some(position) => position,
                    None => {
                        node.children.push(Child {
                            token: token.clone(),
                            index: parse_index(token),
                            node: Node::default(),
                        });
                        node.children.len() - 1
                    }
                };
                node = &mut node.children[position].node;
            }
            if node.slot.is_none() {
                node.slot = Some(len);
                distinct += 1;
            }
            len += 1;
        }
        Self {
            root,
            len,
            distinct,
        }
    }

    /// How many pointers the set was built from (the length [`PointerSet::slots`] returns).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the set was built from no pointers.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The slot that holds `pointer`'s value, if the set contains it.
    pub fn slot_of(&self, pointer: &Pointer) -> Option<usize> {
        let mut node = &self.root;
        for token in pointer.tokens() {
            node = &node.children.iter().find(|c| &c.token == token)?.node;
        }
        node.slot
    }

    /// A fresh output buffer for [`PointerSet::extract`].
    pub fn slots<'a>(&self) -> Vec<Option<&'a RawValue>> {
        vec![None; self.len]
    }

    /// Walks `json` once and fills `out` (which must have [`PointerSet::len`] slots) with the
    /// values the pointers name. Slots of pointers that do not resolve are set to `None`.
    ///
    /// # Errors
    ///
    /// When `json` is not one well-formed JSON document (trailing data included); the error
    /// carries the line and column.
    ///
    /// # Panics
    ///
    /// If `out` is shorter than [`PointerSet::len`].
    pub fn extract<'a>(
        &self,
        json: &'a str,
        out: &mut [Option<&'a RawValue>],
    ) -> Result<(), serde_json::Error> {
        out.fill(None);
        let mut deserializer = serde_json::Deserializer::from_str(json);
        NodeSeed {
            node: &self.root,
            out,
            split: None,
        }
        .deserialize(&mut deserializer)?;
        deserializer.end()
    }

    /// Like [`PointerSet::extract`], and splits the array at `slot` into its elements in the
    /// same pass, as each element is checked: what a page needs of its records array, without
    /// walking it a second time. The array's own slot is left `None`; what was found there
    /// (an array, something else, nothing) is in `split`, with the elements' byte ranges in
    /// `json`.
    ///
    /// ```
    /// use pagefold_json::{ArraySplit, Pointer, PointerSet};
    ///
    /// let data: Pointer = "/data".parse().unwrap();
    /// let set = PointerSet::new([&data]);
    /// let json = r#"{"data": [1, {"a": 2}]}"#;
    /// let mut found = set.slots();
    /// let mut split = ArraySplit::new(set.slot_of(&data).unwrap());
    /// set.extract_split(json, &mut found, &mut split).unwrap();
    /// let elements: Vec<&str> = split.elements().iter().map(|r| &json[r.clone()]).collect();
    /// assert_eq!(elements, ["1", r#"{"a": 2}"#]);
    /// assert_eq!(&json[split.array().unwrap()], r#"[1, {"a": 2}]"#);
    /// ```
    ///
    /// # Errors
    ///
    /// As [`PointerSet::extract`].
    pub fn extract_split<'a>(
        &self,
        json: &'a str,
        out: &mut [Option<&'a RawValue>],
        split: &mut ArraySplit,
    ) -> Result<(), serde_json::Error> {
        out.fill(None);
        split.reset(json);
        let mut deserializer = serde_json::Deserializer::from_str(json);
        NodeSeed {
            node: &self.root,
            out,
            split: Some(split),
        }
        .deserialize(&mut deserializer)?;
        deserializer.end()?;
        split.bracket(json);
        Ok(())
    }
}

fn parse_index(token: &str) -> Option<usize> {
    // RFC 6901: an array index is `0` or digits without a leading zero.
    let canonical = token == "0" || (!token.starts_with('0') && !token.is_empty());
    if canonical { token.parse().ok() } else { None }
}

struct NodeSeed<'s, 'o, 'a> {
    node: &'s Node,
    out: &'o mut [Option<&'a RawValue>],
    /// The slot to split into elements, if any (see [`PointerSet::extract_split`]).
    split: Option<&'o mut ArraySplit>,
}

impl<'de, 's, 'o> DeserializeSeed<'de> for NodeSeed<'s, 'o, 'de> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        let Self {
            node,
            out,
            mut split,
        } = self;
        let splits_here = node.children.is_empty()
            && node.slot.is_some()
            && split
                .as_ref()
                .is_some_and(|split| Some(split.slot()) == node.slot);
        if splits_here && let Some(split) = split.take() {
            return deserializer.deserialize_any(split.visitor());
        }
        if let Some(slot) = node.slot {
            let raw: &'de RawValue = serde::Deserialize::deserialize(deserializer)?;
            out[slot] = Some(raw);
            if !node.children.is_empty() {
                // Rare: both `/a` and `/a/b` are wanted. Walk the captured slice once more.
                let mut inner = serde_json::Deserializer::from_str(raw.get());
                NodeSeed {
                    node: &Node {
                        slot: None,
                        children: node.children.clone(),
                    },
                    out,
                    split: None,
                }
                .deserialize(&mut inner)
                .map_err(serde::de::Error::custom)?;
            }
            Ok(())
        } else if node.children.is_empty() {
            // No pointer goes through here (an empty set): skip the value.
            IgnoredAny::deserialize(deserializer).map(drop)
        } else {
            deserializer.deserialize_any(NodeVisitor { node, out, split })
        }
    }
}

use serde::Deserialize as _;

struct NodeVisitor<'s, 'o, 'a> {
    node: &'s Node,
    out: &'o mut [Option<&'a RawValue>],
    split: Option<&'o mut ArraySplit>,
}

impl<'de> Visitor<'de> for NodeVisitor<'_, '_, 'de> {
    type Value = ();

    accept_scalars!();

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        let children = &self.node.children;
        while let Some(found) = map.next_key_seed(KeySeed { children })? {
            match found {
                Some(position) => map.next_value_seed(NodeSeed {
                    node: &children[position].node,
                    out: self.out,
                    split: self.split.as_deref_mut(),
                })?,
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        let children = &self.node.children;
        let mut index = 0;
        loop {
            let wanted = children.iter().find(|c| c.index == Some(index));
            let more = match wanted {
                Some(child) => seq
                    .next_element_seed(NodeSeed {
                        node: &child.node,
                        out: self.out,
                        split: self.split.as_deref_mut(),
                    })?
                    .is_some(),
                None => seq.next_element::<IgnoredAny>()?.is_some(),
            };
            if !more {
                return Ok(());
            }
            index += 1;
        }
    }
}

/// Reads an object key and answers which child it selects, without allocating.
struct KeySeed<'s> {
    children: &'s [Child],
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = Option<usize>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E: serde::de::Error>(self, key: &str) -> Result<Self::Value, E> {
        Ok(self.children.iter().position(|c| c.token == key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn extract(pointers: &[&str], json: &str) -> Vec<Option<String>> {
        let pointers: Vec<Pointer> = pointers.iter().map(|p| p.parse().unwrap()).collect();
        let set = PointerSet::new(&pointers);
        let mut out = set.slots();
        set.extract(json, &mut out).unwrap();
        out.iter().map(|v| v.map(|v| v.get().to_owned())).collect()
    }

    #[test]
    fn finds_nested_keys_and_indices() {
        let json = r#"{"a":{"b":[10,{"c":"x"}]},"skip":{"deep":[1,2,3]},"n":null}"#;
        assert_eq!(
            extract(&["/a/b/0", "/a/b/1/c", "/n", "/missing", "/a/b/9"], json),
            [
                Some("10".into()),
                Some(r#""x""#.into()),
                Some("null".into()),
                None,
                None
            ]
        );
    }

    #[test]
    fn root_and_prefix_pointers_together() {
        let json = r#"{"a":{"b":1}}"#;
        assert_eq!(
            extract(&["", "/a", "/a/b"], json),
            [
                Some(json.into()),
                Some(r#"{"b":1}"#.into()),
                Some("1".into())
            ]
        );
    }

    #[test]
    fn escaped_keys_and_scalars_on_the_way() {
        assert_eq!(
            extract(&["/a~1b"], r#"{"a/b":true}"#),
            [Some("true".into())]
        );
        assert_eq!(extract(&["/a/b"], r#"{"a":5}"#), [None]);
        assert_eq!(extract(&["/01"], r#"[0,1]"#), [None]);
    }

    #[test]
    fn malformed_json_is_an_error_with_a_position() {
        let pointer: Pointer = "/a".parse().unwrap();
        let set = PointerSet::new([&pointer]);
        let mut out = set.slots();
        let error = set.extract(r#"{"a":1,"#, &mut out).unwrap_err();
        assert_eq!(error.line(), 1);
        let error = set.extract(r#"{"a":1} trailing"#, &mut out).unwrap_err();
        assert!(error.to_string().contains("trailing"), "{error}");
    }
}
