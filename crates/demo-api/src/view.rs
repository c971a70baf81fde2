//! The orders a request sees: all of them, or those its filters select.

use std::collections::HashMap;

use crate::{Dataset, Order};

/// The orders matching a request's `status`, `customer`, `since` and `until` (dates, `until`
/// exclusive) and `updated_since` (a time, inclusive) filters, in id order. Positions in the view are what pages count.
pub(crate) struct View {
    /// `None`: every order from `first`, position = index - `first`.
    indices: Option<Vec<u64>>,
    first: u64,
    len: u64,
    dataset: Dataset,
}

impl View {
    pub fn new(dataset: Dataset, query: &HashMap<String, String>) -> Self {
        let status = query.get("status");
        let customer = query.get("customer");
        let since = query.get("since");
        let until = query.get("until");
        // An unreadable time selects nothing, as a strict API would refuse it.
        let updated_since = query.get("updated_since").map(|text| {
            chrono::DateTime::parse_from_rfc3339(text)
                .map(|time| time.with_timezone(&chrono::Utc))
                .ok()
        });
        // `updated_at` grows with the index: the orders changed since a time are a suffix.
        let first = match updated_since {
            None => 0,
            Some(None) => dataset.len,
            Some(Some(since)) => {
                let start = crate::dataset::updated_at(0);
                let seconds = (since - start).num_seconds().max(0) as u64;
                (seconds.div_ceil(60) * 2).min(dataset.len)
            }
        };
        if status.is_none() && customer.is_none() && since.is_none() && until.is_none() {
            return Self {
                indices: None,
                first,
                len: dataset.len - first,
                dataset,
            };
        }
        let indices: Vec<u64> = (first..dataset.len)
            .filter(|&index| {
                let order = dataset.order(index);
                status.is_none_or(|s| order.status == s)
                    && customer.is_none_or(|c| order.customer == *c)
                    && since.is_none_or(|since| order.created.as_str() >= since.as_str())
                    && until.is_none_or(|until| order.created.as_str() < until.as_str())
            })
            .collect();
        Self {
            len: indices.len() as u64,
            indices: Some(indices),
            first,
            dataset,
        }
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    /// The orders at positions `start..end` (clamped to the view).
    pub fn slice(&self, start: u64, end: u64) -> Vec<Order> {
        let end = end.min(self.len);
        (start.min(end)..end)
            .map(|position| {
                let index = self
                    .indices
                    .as_ref()
                    .map_or(self.first + position, |indices| indices[position as usize]);
                self.dataset.order(index)
            })
            .collect()
    }

    /// The position just after the order with this id, if it is in the view.
    pub fn after_id(&self, id: u64) -> Option<u64> {
        let index = id.checked_sub(1)?;
        match &self.indices {
            None => (self.first..self.first + self.len)
                .contains(&index)
                .then(|| index - self.first + 1),
            Some(indices) => indices
                .binary_search(&index)
                .ok()
                .map(|position| position as u64 + 1),
        }
    }
}

/// The non-negative integer `key` of a query, if present.
pub(crate) fn query_number(
    query: &HashMap<String, String>,
    key: &str,
) -> Result<Option<u64>, String> {
    query
        .get(key)
        .map(|value| {
            value
                .parse::<u64>()
                .map_err(|_| format!("`{key}` must be a non-negative integer, not `{value}`"))
        })
        .transpose()
}
