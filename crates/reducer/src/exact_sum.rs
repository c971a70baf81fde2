//! Sums that merge exactly, in decimal.

use serde::{Deserialize, Serialize};

use crate::Number;
use crate::decimal::{Decimal, DecimalError};
use crate::number::json_number;

/// A sum that is exact whatever the order of additions: every number is added as the exact
/// decimal its JSON text says ([`Decimal`]), so `0.1 + 0.2` is `0.3`, integers stay exact at
/// any size, and merging workers' sums in any order gives the same total, to the last digit:
/// what a reducer needs to keep the merge laws.
///
/// ```
/// use pagefold_reducer::{ExactSum, Number};
///
/// let mut a = ExactSum::default();
/// a.add_text("0.1").unwrap();
/// a.add(Number::Float(0.2));
/// let mut b = ExactSum::default();
/// b.add(Number::Integer(1));
/// b.merge(&a);
/// assert_eq!(b.to_json(), serde_json::json!(1.3));
/// ```
///
/// A saved sum is canonical: two sums of the same numbers save to the same bytes whatever the
/// order they were added in (so a law check that compares saved states passes).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(into = "Saved", try_from = "Saved")]
pub struct ExactSum {
    sum: Decimal,
    /// What was added since the last fold into `sum`, as `mantissa × 10^exponent` in a
    /// machine integer: most numbers an API sends (`42`, `427.39`) add here without the
    /// allocations of a big decimal, and are folded into `sum` when the next would overflow.
    recent: (i128, i64),
    saw_float: bool,
}

impl Default for ExactSum {
    fn default() -> Self {
        Self {
            sum: Decimal::zero(),
            recent: (0, 0),
            saw_float: false,
        }
    }
}

/// Two sums are equal when their values are, however much of each is still in `recent`.
impl PartialEq for ExactSum {
    fn eq(&self, other: &Self) -> bool {
        self.saw_float == other.saw_float && self.exact() == other.exact()
    }
}

/// A JSON number's text as `mantissa × 10^exponent` when it is plain (`-12`, `427.39`: no
/// exponent, at most 18 digits, so it fits an `i64`); `None` sends it the exact slow way,
/// which also refuses what is not a number.
fn small_decimal(text: &str) -> Option<(i128, i64)> {
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty()
        || (whole.len() > 1 && whole.starts_with('0'))
        || !digits(whole)
        || !digits(fraction)
        || (fraction.is_empty() && unsigned.len() != whole.len())
        || whole.len() + fraction.len() > 18
    {
        return None;
    }
    // At most 18 digits: a u64 holds them, and its arithmetic is a fraction of i128's.
    let mut mantissa: u64 = 0;
    for byte in whole.bytes().chain(fraction.bytes()) {
        mantissa = mantissa * 10 + u64::from(byte - b'0');
    }
    let mantissa = i128::from(mantissa);
    let exponent = -(fraction.len() as i64);
    Some((if negative { -mantissa } else { mantissa }, exponent))
}

/// 10⁰ to 10³⁸: every power of ten an `i128` holds.
const POWERS_OF_TEN: [i128; 39] = {
    let mut powers = [1i128; 39];
    let mut at = 1;
    while at < powers.len() {
        powers[at] = powers[at - 1] * 10;
        at += 1;
    }
    powers
};

impl ExactSum {
    /// Adds a number. A float is taken as the decimal it prints as (`0.1` is `0.1`, as the
    /// JSON text it was read from said); an infinity or NaN is not a number and is ignored.
    pub fn add(&mut self, number: Number) {
        match number {
            Number::Integer(n) => self.add_small(n, 0),
            Number::Float(x) => {
                if let Some(x) = Decimal::from_f64(x) {
                    self.sum = self.sum.add(&x);
                    self.saw_float = true;
                }
            }
        }
    }

    /// Adds a JSON number from its text, exactly (`12`, `1.005`, `1e400`).
    ///
    /// # Errors
    ///
    /// When the text is not a JSON number, or is beyond ±1e10000.
    pub fn add_text(&mut self, text: &str) -> Result<(), DecimalError> {
        if let Some((mantissa, exponent)) = small_decimal(text) {
            self.add_small(mantissa, exponent);
            // A fraction, even `.0`, makes the exponent negative.
            self.saw_float |= exponent != 0;
            return Ok(());
        }
        let number = Decimal::parse(text)?;
        self.sum = self.sum.add(&number);
        self.saw_float |= text.contains(['.', 'e', 'E']);
        Ok(())
    }

    /// Adds `mantissa × 10^exponent` to `recent`, in machine integers while they suffice.
    fn add_small(&mut self, mantissa: i128, exponent: i64) {
        let (held, held_exponent) = self.recent;
        if held == 0 {
            self.recent = (mantissa, exponent);
            return;
        }
        let common = held_exponent.min(exponent);
        let scaled = |value: i128, from: i64| {
            let factor = *usize::try_from(from - common)
                .ok()
                .and_then(|shift| POWERS_OF_TEN.get(shift))?;
            // Most values and factors fit 64 bits, whose product cannot overflow 128: one
            // widening multiply, not a checked 128-bit one.
            match (i64::try_from(value), i64::try_from(factor)) {
                (Ok(value), Ok(factor)) => Some(i128::from(value) * i128::from(factor)),
                _ => value.checked_mul(factor),
            }
        };
        match scaled(held, held_exponent)
            .zip(scaled(mantissa, exponent))
            .and_then(|(a, b)| a.checked_add(b))
        {
            Some(sum) => self.recent = (sum, common),
            None => {
                // Past what a machine integer holds: fold what is held into the decimal.
                self.sum = self.sum.add(&Decimal::from_parts(held, held_exponent));
                self.recent = (mantissa, exponent);
            }
        }
    }

    /// Adds everything another sum holds (associative and commutative).
    pub fn merge(&mut self, other: &ExactSum) {
        self.sum = self.sum.add(&other.sum);
        self.add_small(other.recent.0, other.recent.1);
        self.saw_float |= other.saw_float;
    }

    /// The exact sum.
    pub fn exact(&self) -> Decimal {
        match self.recent {
            (0, _) => self.sum.clone(),
            (mantissa, exponent) => self.sum.add(&Decimal::from_parts(mantissa, exponent)),
        }
    }

    /// The total as a [`Number`]: an integer when only integers were added and it fits an
    /// `i128`, else the nearest float (use [`ExactSum::to_json`] for the exact value).
    pub fn total(&self) -> Number {
        let sum = self.exact();
        match sum.to_i128() {
            Some(n) if !self.saw_float => Number::Integer(n),
            _ => Number::Float(sum.to_f64()),
        }
    }

    /// The exact total as a JSON number: an integer when only integers were added, else
    /// written as serde_json writes floats (`3.98`, `1.0`, `1e+20`), every digit kept.
    pub fn to_json(&self) -> serde_json::Value {
        json_number(&self.exact().to_json_text(self.saw_float))
    }

    /// The mean of `count` numbers that sum to this: the exact quotient rounded to 17
    /// significant digits (what a float holds), as JSON; `null` for no numbers.
    pub fn mean(&self, count: u64) -> serde_json::Value {
        if count == 0 {
            return serde_json::Value::Null;
        }
        let mean = self.exact().div_rounded(count, 17);
        let as_float = mean.to_f64();
        // Within the range of a float: the float, printed as short as it goes (0.995, not
        // 0.99500000000000000); beyond it, the decimal.
        if as_float.is_finite() && (as_float != 0.0 || mean.is_zero()) {
            json_number(
                &Decimal::from_f64(as_float)
                    .map_or_else(|| mean.to_json_text(true), |float| float.to_json_text(true)),
            )
        } else {
            json_number(&mean.to_json_text(true))
        }
    }
}

/// How an [`ExactSum`] is saved: the decimal as `MANTISSAeEXPONENT`. Sums saved before sums
/// were decimal (an `i128` and binary float partials) still load, exactly.
#[derive(Serialize, Deserialize)]
struct Saved {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sum: Option<String>,
    #[serde(default, skip_serializing_if = "is_zero")]
    integer: i128,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    partials: Vec<f64>,
    saw_float: bool,
}

fn is_zero(value: &i128) -> bool {
    *value == 0
}

impl From<ExactSum> for Saved {
    fn from(sum: ExactSum) -> Self {
        Saved {
            sum: Some(sum.exact().to_saved()),
            integer: 0,
            partials: Vec::new(),
            saw_float: sum.saw_float,
        }
    }
}

impl TryFrom<Saved> for ExactSum {
    type Error = DecimalError;

    fn try_from(saved: Saved) -> Result<Self, DecimalError> {
        let mut sum = match &saved.sum {
            Some(text) => Decimal::parse(text)?,
            None => Decimal::zero(),
        };
        sum = sum.add(&Decimal::from_i128(saved.integer));
        for partial in saved.partials {
            sum = sum.add(&crate::decimal::exact_binary(partial));
        }
        Ok(ExactSum {
            sum,
            recent: (0, 0),
            saw_float: saved.saw_float,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sum_of(texts: &[&str]) -> ExactSum {
        let mut sum = ExactSum::default();
        for text in texts {
            sum.add_text(text).unwrap();
        }
        sum
    }

    #[test]
    fn money_adds_up() {
        let sum = sum_of(&["0.1", "0.2", "1.005", "2.675"]);
        assert_eq!(sum.to_json().to_string(), "3.98");
        assert_eq!(sum.mean(4).to_string(), "0.995");
    }

    #[test]
    fn extremes_stay_exact_in_any_order() {
        let values = ["1e308", "1e308", "-1e308", "1"];
        let forward = sum_of(&values);
        let mut backward = values;
        backward.reverse();
        assert_eq!(forward, sum_of(&backward));
        assert_eq!(
            forward.to_json().to_string(),
            format!("1.{}1e+308", "0".repeat(307))
        );
        assert_eq!(sum_of(&["1e400"]).to_json().to_string(), "1e+400");
    }

    #[test]
    fn machine_integers_fold_into_the_decimal_when_they_would_overflow() {
        let texts: Vec<&str> = (0..400)
            .map(|i| match i % 3 {
                0 => "999999999999999999",
                1 => "0.000000000000000001",
                _ => "-123456789.123456789",
            })
            .collect();
        let mut slow = Decimal::zero();
        for text in &texts {
            slow = slow.add(&Decimal::parse(text).unwrap());
        }
        let fast = sum_of(&texts);
        assert_eq!(fast.exact(), slow);
        assert_eq!(fast.to_json().to_string(), slow.to_json_text(true));
    }

    #[test]
    fn integers_stay_exact_past_64_bits() {
        let max = i64::MAX.to_string();
        let sum = sum_of(&[&max, &max, &max, &max]);
        assert_eq!(sum.to_json().to_string(), "36893488147419103228");
        assert_eq!(sum.total(), Number::Integer(4 * i128::from(i64::MAX)));
    }

    #[test]
    fn saved_sums_do_not_depend_on_order_and_old_ones_load() {
        let forward = sum_of(&["1e16", "1", "-1e16", "0.1", "0.2", "0.3", "1e-10"]);
        let backward = sum_of(&["1e-10", "0.3", "0.2", "0.1", "-1e16", "1", "1e16"]);
        let saved = serde_json::to_string(&forward).unwrap();
        assert_eq!(saved, serde_json::to_string(&backward).unwrap());
        let loaded: ExactSum = serde_json::from_str(&saved).unwrap();
        assert_eq!(loaded, forward);
        let old: ExactSum =
            serde_json::from_str(r#"{"integer": 3, "partials": [0.5], "saw_float": true}"#)
                .unwrap();
        assert_eq!(old.to_json().to_string(), "3.5");
    }
}

#[cfg(test)]
mod properties {
    //! Any order and any split across workers give the same sum, to the last digit, with the
    //! numbers at the edges of what JSON APIs send.

    use proptest::prelude::*;

    use super::*;

    const EDGES: [&str; 14] = [
        "1e308",
        "-1e308",
        "1.7976931348623157e308",
        "5e-324",
        "-2.2250738585072014e-308",
        "18446744073709551615",
        "18446744073709551617",
        "-9223372036854775809",
        "0.1",
        "1.005",
        "0.1234567890123456789012345678901",
        "-0",
        "1e400",
        "-1e-400",
    ];

    fn number() -> impl Strategy<Value = String> {
        prop_oneof![
            (0..EDGES.len()).prop_map(|index| EDGES[index].to_owned()),
            any::<i64>().prop_map(|n| n.to_string()),
            // Plain decimals, as money: the machine-integer path of `add_text`.
            (any::<i64>(), 0usize..19).prop_map(|(n, places)| {
                let digits = n.unsigned_abs().to_string();
                let sign = if n < 0 { "-" } else { "" };
                match digits.len().checked_sub(places) {
                    Some(whole) if whole > 0 => {
                        format!("{sign}{}.{}", &digits[..whole], &digits[whole..])
                            .trim_end_matches('.')
                            .to_owned()
                    }
                    _ => format!("{sign}0.{}{digits}", "0".repeat(places - digits.len())),
                }
            }),
            any::<f64>()
                .prop_filter("finite", |x| x.is_finite())
                .prop_map(|x| format!("{x:e}")),
        ]
    }

    proptest! {
        #[test]
        fn order_and_split_do_not_matter(
            numbers in prop::collection::vec(number(), 0..24),
            split in any::<prop::sample::Index>(),
            seed in any::<u64>(),
        ) {
            let mut whole = ExactSum::default();
            for text in &numbers {
                whole.add_text(text).unwrap();
            }
            // Another order: rotated and reversed by the seed.
            let mut shuffled = numbers.clone();
            if !shuffled.is_empty() {
                let turn = (seed as usize) % shuffled.len();
                shuffled.rotate_left(turn);
                if seed % 2 == 0 {
                    shuffled.reverse();
                }
            }
            let at = if shuffled.is_empty() { 0 } else { split.index(shuffled.len() + 1) };
            let (left, right) = shuffled.split_at(at);
            let mut a = ExactSum::default();
            let mut b = ExactSum::default();
            left.iter().for_each(|text| a.add_text(text).unwrap());
            right.iter().for_each(|text| b.add_text(text).unwrap());
            b.merge(&a);
            prop_assert_eq!(&b, &whole);
            prop_assert_eq!(b.to_json().to_string(), whole.to_json().to_string());
            let saved = serde_json::to_string(&b).unwrap();
            prop_assert_eq!(&saved, &serde_json::to_string(&whole).unwrap());
            let loaded: ExactSum = serde_json::from_str(&saved).unwrap();
            prop_assert_eq!(loaded, whole);
        }

        #[test]
        fn small_integers_sum_as_integers(numbers in prop::collection::vec(any::<i32>(), 0..50)) {
            let mut sum = ExactSum::default();
            numbers.iter().for_each(|n| sum.add(Number::Integer(i128::from(*n))));
            let expected: i64 = numbers.iter().map(|n| i64::from(*n)).sum();
            prop_assert_eq!(sum.to_json().to_string(), expected.to_string());
        }

        #[test]
        fn floats_sum_to_the_exact_decimal_of_their_texts(
            cents in prop::collection::vec(-1_000_000i64..1_000_000, 1..40)
        ) {
            // Amounts with two decimals: the exact sum is the sum of the cents.
            let mut sum = ExactSum::default();
            for c in &cents {
                sum.add_text(&format!("{}{}.{:02}", if *c < 0 { "-" } else { "" }, c.abs() / 100, c.abs() % 100)).unwrap();
            }
            let total: i64 = cents.iter().sum();
            let expected = Decimal::parse(&format!("{total}e-2")).unwrap();
            prop_assert_eq!(sum.exact(), expected);
        }
    }
}
