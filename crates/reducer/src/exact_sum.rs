//! Sums that merge exactly.

use serde::{Deserialize, Serialize};

/// A JSON number, exact when it is an integer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Number {
    /// An integer, exact.
    Integer(i128),
    /// Anything else.
    Float(f64),
}

impl Number {
    /// The number as a float (rounded when an integer is beyond 2⁵³).
    pub fn as_f64(self) -> f64 {
        match self {
            Self::Integer(n) => n as f64,
            Self::Float(x) => x,
        }
    }

    /// The number as a JSON value (a float when an integer fits neither `i64` nor `u64`).
    pub fn to_json(self) -> serde_json::Value {
        match self {
            Self::Integer(n) => i64::try_from(n)
                .map(Into::into)
                .or_else(|_| u64::try_from(n).map(Into::into))
                .unwrap_or_else(|_| (n as f64).into()),
            Self::Float(x) => x.into(),
        }
    }
}

impl Number {
    /// Reads a JSON number from its text (`12`, `-1.5e3`): an integer when it has no fraction
    /// or exponent and fits an `i128`, else a float. `None` if the text is not a number.
    ///
    /// ```
    /// use pagefold_reducer::Number;
    ///
    /// assert_eq!(Number::parse("42"), Some(Number::Integer(42)));
    /// assert_eq!(Number::parse("0.5"), Some(Number::Float(0.5)));
    /// assert_eq!(Number::parse("\"7\""), None);
    /// ```
    pub fn parse(text: &str) -> Option<Number> {
        if !text
            .as_bytes()
            .first()
            .is_some_and(|b| *b == b'-' || b.is_ascii_digit())
        {
            return None;
        }
        if !text.contains(['.', 'e', 'E'])
            && let Ok(n) = text.parse::<i128>()
        {
            return Some(Number::Integer(n));
        }
        text.parse::<f64>().ok().map(Number::Float)
    }
}

/// A sum that is exact whatever the order of additions: integers in an `i128`, floats as
/// Shewchuk's non-overlapping partials (the algorithm of Python's `math.fsum`), rounded once
/// at the end. So merging workers' sums in any order gives the same, correctly rounded total:
/// what a reducer needs to keep the merge laws with floating-point data.
///
/// ```
/// use pagefold_reducer::{ExactSum, Number};
///
/// let mut a = ExactSum::default();
/// a.add(Number::Float(0.1));
/// a.add(Number::Float(0.2));
/// let mut b = ExactSum::default();
/// b.add(Number::Integer(1));
/// b.merge(&a);
/// assert_eq!(b.total(), Number::Float(1.3));
/// ```
///
/// A saved sum is canonical: two sums of the same numbers save to the same bytes whatever the
/// order they were added in (so a law check that compares saved states passes).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(into = "Saved", from = "Saved")]
pub struct ExactSum {
    integer: i128,
    partials: Vec<f64>,
    saw_float: bool,
}

impl ExactSum {
    /// Adds a number.
    pub fn add(&mut self, number: Number) {
        match number {
            Number::Integer(n) => match self.integer.checked_add(n) {
                Some(sum) => self.integer = sum,
                None => self.add_float(n as f64, true),
            },
            Number::Float(x) => self.add_float(x, true),
        }
    }

    fn add_float(&mut self, mut x: f64, is_float: bool) {
        self.saw_float |= is_float;
        let mut kept = 0;
        for j in 0..self.partials.len() {
            let mut y = self.partials[j];
            if x.abs() < y.abs() {
                std::mem::swap(&mut x, &mut y);
            }
            let high = x + y;
            let low = y - (high - x);
            if low != 0.0 {
                self.partials[kept] = low;
                kept += 1;
            }
            x = high;
        }
        self.partials.truncate(kept);
        self.partials.push(x);
    }

    /// Adds everything another sum holds (associative and commutative).
    pub fn merge(&mut self, other: &ExactSum) {
        self.saw_float |= other.saw_float;
        for &partial in &other.partials {
            self.add_float(partial, false);
        }
        match self.integer.checked_add(other.integer) {
            Some(sum) => self.integer = sum,
            None => self.add_float(other.integer as f64, true),
        }
    }

    /// The total: an integer when only integers were added, else the correctly rounded float.
    pub fn total(&self) -> Number {
        if !self.saw_float {
            return Number::Integer(self.integer);
        }
        let mut all = self.clone();
        // An i128 splits into exact f64 pieces: each takes the top 53 bits of what is left.
        let mut rest = all.integer;
        all.integer = 0;
        while rest != 0 {
            let piece = rest as f64;
            let exact = piece as i128;
            all.add_float(piece, false);
            rest -= exact;
        }
        Number::Float(round_partials(&all.partials))
    }
}

/// How an [`ExactSum`] is saved: its partials replaced by the canonical expansion of their
/// exact sum, largest last (the same fields, so older saved sums still load).
#[derive(Serialize, Deserialize)]
struct Saved {
    integer: i128,
    partials: Vec<f64>,
    saw_float: bool,
}

impl From<ExactSum> for Saved {
    fn from(sum: ExactSum) -> Self {
        Saved {
            integer: sum.integer,
            partials: canonical(sum.partials),
            saw_float: sum.saw_float,
        }
    }
}

impl From<Saved> for ExactSum {
    fn from(saved: Saved) -> Self {
        ExactSum {
            integer: saved.integer,
            partials: saved.partials,
            saw_float: saved.saw_float,
        }
    }
}

/// The expansion of the exact sum of `partials` that depends on that sum only: its correctly
/// rounded value, then the correctly rounded value of what is left, and so on (each step is
/// exact, and at most ~40 are needed for any sum of doubles).
fn canonical(partials: Vec<f64>) -> Vec<f64> {
    let mut rest = ExactSum {
        integer: 0,
        partials,
        saw_float: true,
    };
    let mut expansion = Vec::new();
    for _ in 0..64 {
        let high = round_partials(&rest.partials);
        if high == 0.0 {
            break;
        }
        expansion.push(high);
        if !high.is_finite() {
            break;
        }
        rest.add_float(-high, false);
    }
    expansion.reverse();
    expansion
}

/// The correctly rounded sum of non-overlapping partials (the last step of `math.fsum`).
fn round_partials(partials: &[f64]) -> f64 {
    let mut n = partials.len();
    if n == 0 {
        return 0.0;
    }
    n -= 1;
    let mut high = partials[n];
    let mut low = 0.0;
    while n > 0 {
        let x = high;
        n -= 1;
        let y = partials[n];
        high = x + y;
        let y_rounded = high - x;
        low = y - y_rounded;
        if low != 0.0 {
            break;
        }
    }
    if n > 0 && ((low < 0.0 && partials[n - 1] < 0.0) || (low > 0.0 && partials[n - 1] > 0.0)) {
        let y = low * 2.0;
        let x = high + y;
        if y == x - high {
            high = x;
        }
    }
    high
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_sums_do_not_depend_on_order() {
        let values = [1e16, 1.0, -1e16, 0.1, 0.2, 0.3, 1e-10];
        let mut forward = ExactSum::default();
        values.iter().for_each(|&x| forward.add(Number::Float(x)));
        let mut backward = ExactSum::default();
        values
            .iter()
            .rev()
            .for_each(|&x| backward.add(Number::Float(x)));
        assert_eq!(forward.total(), backward.total());
        assert_eq!(forward.total(), Number::Float(1.6000000001));
    }

    #[test]
    fn saved_sums_do_not_depend_on_order() {
        let values = [1e16, 1.0, -1e16, 0.1, 0.2, 0.3, 1e-10, 7.5e-300];
        let mut forward = ExactSum::default();
        values.iter().for_each(|&x| forward.add(Number::Float(x)));
        let mut backward = ExactSum::default();
        values
            .iter()
            .rev()
            .for_each(|&x| backward.add(Number::Float(x)));
        let saved = serde_json::to_string(&forward).unwrap();
        assert_eq!(saved, serde_json::to_string(&backward).unwrap());
        let loaded: ExactSum = serde_json::from_str(&saved).unwrap();
        assert_eq!(loaded.total(), forward.total());
    }

    #[test]
    fn integers_stay_exact_and_mix_with_floats() {
        let mut sum = ExactSum::default();
        sum.add(Number::Integer(i64::MAX as i128));
        sum.add(Number::Integer(i64::MAX as i128));
        assert_eq!(sum.total(), Number::Integer(2 * i64::MAX as i128));
        sum.add(Number::Float(0.5));
        assert_eq!(sum.total(), Number::Float(1.8446744073709552e19));
    }
}
