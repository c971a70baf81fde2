//! The orders a request sees: all of them, or those its filters select.

use std::collections::HashMap;

use crate::{Dataset, Order};

/// The orders matching a request's `status`, `customer`, `since` and `until` (dates, `until`
/// exclusive) and `updated_since` (a time, inclusive) filters, in id order. Positions in the view are what pages count.
pub(crate) struct View {
    /// `None`: every order, position = index.
    indices: Option<Vec<u64>>,
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
        if status.is_none()
            && customer.is_none()
            && since.is_none()
            && until.is_none()
            && updated_since.is_none()
        {
            return Self {
                indices: None,
                len: dataset.len,
                dataset,
            };
        }
        let indices: Vec<u64> = (0..dataset.len)
            .filter(|&index| {
                let order = dataset.order(index);
                status.is_none_or(|s| order.status == s)
                    && customer.is_none_or(|c| order.customer == *c)
                    && since.is_none_or(|since| order.created.as_str() >= since.as_str())
                    && until.is_none_or(|until| order.created.as_str() < until.as_str())
                    && updated_since.is_none_or(|since| {
                        since.is_some_and(|since| crate::dataset::updated_at(index) >= since)
                    })
            })
            .collect();
        Self {
            len: indices.len() as u64,
            indices: Some(indices),
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
                    .map_or(position, |indices| indices[position as usize]);
                self.dataset.order(index)
            })
            .collect()
    }

    /// The position just after the order with this id, if it is in the view.
    pub fn after_id(&self, id: u64) -> Option<u64> {
        let index = id.checked_sub(1)?;
        match &self.indices {
            None => (index < self.len).then_some(index + 1),
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
