//! The records array of a page split into its elements while serde checks the page: each
//! element's byte range, found in the same pass (see [`crate::PointerSet::extract_split`]).

use serde::de::{IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

/// What [`PointerSet::extract_split`] found at the slot it splits.
#[derive(Debug, Clone, Default)]
pub struct ArraySplit {
    slot: usize,
    /// Where the text starts, to turn the elements' addresses into offsets.
    base: usize,
    found: Found,
    elements: Vec<std::ops::Range<usize>>,
    array: Option<std::ops::Range<usize>>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Found {
    #[default]
    Nothing,
    Array,
    Other,
}

impl ArraySplit {
    /// A split of the value at `slot` (see [`PointerSet::slot_of`]).
    pub fn new(slot: usize) -> Self {
        Self {
            slot,
            ..Self::default()
        }
    }

    pub(crate) fn reset(&mut self, json: &str) {
        self.base = json.as_ptr() as usize;
        self.found = Found::Nothing;
        self.elements.clear();
        self.array = None;
    }

    /// The array's own range, brackets included, found from its first and last elements
    /// (only whitespace separates them from the brackets).
    pub(crate) fn bracket(&mut self, json: &str) {
        let (Some(first), Some(last)) = (self.elements.first(), self.elements.last()) else {
            return;
        };
        let start = json[..first.start].rfind('[');
        let end = json[last.end..].find(']').map(|at| last.end + at + 1);
        self.array = start.zip(end).map(|(start, end)| start..end);
    }

    /// Marks the value at the slot as found, and not (or not yet) an array.
    pub(crate) fn mark_other(&mut self) {
        self.found = Found::Other;
    }

    /// Marks the value at the slot as an array whose elements are all pushed.
    pub(crate) fn mark_array(&mut self) {
        self.found = Found::Array;
    }

    /// The array's range in the text, brackets included, where the walk that found it knew it.
    pub(crate) fn set_array(&mut self, array: std::ops::Range<usize>) {
        self.array = Some(array);
    }

    /// One element's range in the text.
    pub(crate) fn push(&mut self, element: std::ops::Range<usize>) {
        self.elements.push(element);
    }

    /// The slot split.
    pub(crate) fn slot(&self) -> usize {
        self.slot
    }

    /// The visitor of the value at the slot: anything but an array leaves it marked `Other`.
    pub(crate) fn visitor(&mut self) -> SplitVisitor<'_> {
        self.mark_other();
        SplitVisitor { split: self }
    }

    /// The elements' byte ranges in the text, when an array with elements was found.
    pub fn elements(&self) -> &[std::ops::Range<usize>] {
        &self.elements
    }

    /// The array's byte range in the text (brackets included), when an array was found and
    /// its place is known: always after the strict walk of
    /// [`crate::PointerSet::extract_split_text`]; after serde's pass only for an array with
    /// elements (serde does not say where an empty one is). A value of another type, or none
    /// at all, gives `None`, and the caller reads the slot the plain way.
    pub fn array(&self) -> Option<std::ops::Range<usize>> {
        self.array.clone()
    }

    /// Whether an array was found at the slot (possibly empty).
    pub fn is_array(&self) -> bool {
        self.found == Found::Array
    }
}

/// Reads the array to split, element by element; any other value is skipped.
pub(crate) struct SplitVisitor<'o> {
    split: &'o mut ArraySplit,
}

impl<'de> Visitor<'de> for SplitVisitor<'_> {
    type Value = ();

    accept_scalars!();

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let base = self.split.base;
        while let Some(element) = seq.next_element::<&'de RawValue>()? {
            let start = element.get().as_ptr() as usize - base;
            self.split.elements.push(start..start + element.get().len());
        }
        self.split.mark_array();
        Ok(())
    }
}
