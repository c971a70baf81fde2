//! The records the demo API serves, generated from their index.

use serde::Serialize;

/// The order statuses, in the order their weights are listed in [`Dataset::order`].
pub const STATUSES: [&str; 5] = ["paid", "open", "shipped", "cancelled", "refunded"];

/// One order, as the API sends it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Order {
    /// Unique, from 1.
    pub id: u64,
    /// One of 500 customers, `cust-000` to `cust-499`.
    pub customer: String,
    /// One of [`STATUSES`].
    pub status: &'static str,
    /// In cents, an integer from 100 to 99 999.
    pub amount_cents: u64,
    /// `amount_cents / 100` as a decimal number with two places.
    pub amount: f64,
    /// From 1 to 9.
    pub items: u64,
    /// Only on some orders, like optional fields of real APIs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coupon: Option<String>,
    /// A nested object, for pointers such as `/shipping/city`.
    pub shipping: Shipping,
    /// The day it was placed, `2026-01-01` to `2026-03-01`: 60 days, for date windows.
    pub created: String,
    /// When it last changed, RFC 3339: later for later orders, two orders a minute from
    /// 2026-01-01T00:00:00Z, for incremental runs (`updated_since`).
    pub updated_at: String,
}

/// Where an order ships.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Shipping {
    /// One of a few cities.
    pub city: &'static str,
}

const CITIES: [&str; 6] = ["Oslo", "Lima", "Pune", "Kyiv", "Lagos", "Quito"];

/// A deterministic collection of orders: order `i` is the same on every run and machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dataset {
    /// How many orders there are.
    pub len: u64,
    /// Varies every field but `id`.
    pub seed: u64,
}

impl Dataset {
    /// The order at `index` (from 0); its `id` is `index + 1`.
    pub fn order(&self, index: u64) -> Order {
        let mut bits = splitmix(index ^ self.seed.rotate_left(17));
        let mut next = |modulus: u64| {
            bits = splitmix(bits);
            bits % modulus
        };
        let status = match next(100) {
            0..40 => STATUSES[0],
            40..65 => STATUSES[1],
            65..85 => STATUSES[2],
            85..95 => STATUSES[3],
            _ => STATUSES[4],
        };
        let amount_cents = 100 + next(99_900);
        let coupon = (next(4) == 0).then(|| format!("SAVE{}", 5 * (1 + next(4))));
        Order {
            id: index + 1,
            customer: format!("cust-{:03}", next(CUSTOMERS)),
            status,
            amount_cents,
            amount: amount_cents as f64 / 100.0,
            items: 1 + next(9),
            coupon,
            created: date(index % DAYS),
            updated_at: updated_at(index).format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            shipping: Shipping {
                city: CITIES[next(CITIES.len() as u64) as usize],
            },
        }
    }

    /// Every order, in order.
    pub fn orders(&self) -> impl Iterator<Item = Order> + '_ {
        (0..self.len).map(|index| self.order(index))
    }
}

/// Customers orders name: `cust-000` to `cust-499`.
pub const CUSTOMERS: u64 = 500;

/// Days the orders' `created` dates span.
pub const DAYS: u64 = 60;

/// When the order at `index` last changed: two orders a minute from 2026-01-01T00:00:00Z.
pub fn updated_at(index: u64) -> chrono::DateTime<chrono::Utc> {
    let start = chrono::DateTime::from_timestamp(1_767_225_600, 0).expect("2026-01-01 is valid");
    start + chrono::Duration::minutes(i64::try_from(index / 2).unwrap_or(i64::MAX))
}

/// Day `day` (from 0) counted from 2026-01-01, as `YYYY-MM-DD`.
fn date(day: u64) -> String {
    let (month, day) = match day {
        0..31 => (1, day + 1),
        31..59 => (2, day - 30),
        _ => (3, day - 58),
    };
    format!("2026-{month:02}-{day:02}")
}

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_are_deterministic_and_varied() {
        let data = Dataset { len: 1000, seed: 7 };
        assert_eq!(data.order(5), data.order(5));
        let statuses: std::collections::BTreeSet<_> = data.orders().map(|o| o.status).collect();
        assert_eq!(statuses.len(), STATUSES.len());
        assert!(
            data.orders().any(|o| o.coupon.is_none()) && data.orders().any(|o| o.coupon.is_some())
        );
    }
}
