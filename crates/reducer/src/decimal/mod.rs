//! Exact decimal numbers: what a JSON number's text says, kept exactly.
//!
//! JSON numbers are decimal text, and users sum money: `0.1 + 0.2` must be `0.3`, not the
//! binary float nearest to it. A [`Decimal`] is `mantissa × 10^exponent` with an integer of
//! any size, so sums of any numbers, in any order, are exact.

use std::cmp::Ordering;
use std::fmt;

use num_bigint::{BigInt, Sign};
use num_traits::{Signed, ToPrimitive, Zero};

/// Exponents a [`Decimal`] takes: far past what `f64` holds (±308), near enough that no
/// number can make a sum take more than a few kilobytes.
pub const MAX_EXPONENT: i64 = 10_000;

/// An exact decimal number, normalized: no trailing zeros in its mantissa (zero is `0 × 10^0`),
/// so equal numbers have equal fields.
///
/// ```
/// use pagefold_reducer::Decimal;
///
/// let sum = ["0.1", "0.2", "1.005", "2.675"]
///     .iter()
///     .map(|text| Decimal::parse(text).unwrap())
///     .fold(Decimal::zero(), |sum, x| sum.add(&x));
/// assert_eq!(sum.to_json_text(true), "3.98");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Decimal {
    mantissa: BigInt,
    exponent: i64,
}

/// Text that is not a JSON number a sum can hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecimalError {
    /// Not a JSON number.
    #[error("`{0}` is not a JSON number")]
    NotANumber(String),
    /// A number whose exponent is beyond [`MAX_EXPONENT`].
    #[error(
        "`{0}` is beyond what can be summed exactly (numbers from 1e-{MAX_EXPONENT} to 1e{MAX_EXPONENT})"
    )]
    OutOfRange(String),
}

impl Decimal {
    /// Zero.
    pub fn zero() -> Self {
        Self {
            mantissa: BigInt::zero(),
            exponent: 0,
        }
    }

    fn normalized(mut mantissa: BigInt, mut exponent: i64) -> Self {
        if mantissa.is_zero() {
            return Self::zero();
        }
        // Most numbers fit a machine integer: strip their zeros there.
        if let Some(mut small) = mantissa.to_i128() {
            while small % 10 == 0 {
                small /= 10;
                exponent += 1;
            }
            return Self {
                mantissa: BigInt::from(small),
                exponent,
            };
        }
        let ten = BigInt::from(10);
        loop {
            let (quotient, remainder) = (&mantissa / &ten, &mantissa % &ten);
            if !remainder.is_zero() {
                break;
            }
            mantissa = quotient;
            exponent += 1;
        }
        Self { mantissa, exponent }
    }

    /// Reads a JSON number's text exactly (`-12`, `3.98`, `1e400`).
    ///
    /// # Errors
    ///
    /// When the text is not a JSON number, or its exponent is beyond [`MAX_EXPONENT`].
    pub fn parse(text: &str) -> Result<Self, DecimalError> {
        let not_a_number = || DecimalError::NotANumber(text.chars().take(40).collect());
        let (negative, rest) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (number, exponent) = match rest.find(['e', 'E']) {
            Some(at) => (&rest[..at], Some(&rest[at + 1..])),
            None => (rest, None),
        };
        let (whole, fraction) = match number.split_once('.') {
            Some((whole, fraction)) => (whole, Some(fraction)),
            None => (number, None),
        };
        let digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
        if !digits(whole)
            || (whole.len() > 1 && whole.starts_with('0'))
            || fraction.is_some_and(|fraction| !digits(fraction))
        {
            return Err(not_a_number());
        }
        let written_exponent: i64 = match exponent {
            None => 0,
            Some(exponent) => {
                let unsigned = exponent.trim_start_matches(['+', '-']);
                if !digits(unsigned) || exponent.len() - unsigned.len() > 1 {
                    return Err(not_a_number());
                }
                // Anything past 19 digits is out of range anyway.
                match exponent.parse::<i64>() {
                    Ok(value) => value,
                    Err(_) => {
                        return Err(DecimalError::OutOfRange(text.chars().take(40).collect()));
                    }
                }
            }
        };
        let fraction = fraction.unwrap_or("");
        let all_digits = format!("{whole}{fraction}");
        let significant = all_digits.trim_start_matches('0');
        if significant.is_empty() {
            return Ok(Self::zero());
        }
        let exponent = written_exponent
            .checked_sub(i64::try_from(fraction.len()).unwrap_or(i64::MAX))
            .ok_or_else(|| DecimalError::OutOfRange(text.chars().take(40).collect()))?;
        // The number's magnitude: its leading digit's power of ten.
        let magnitude = exponent.saturating_add(significant.len() as i64 - 1);
        if !(-MAX_EXPONENT..=MAX_EXPONENT).contains(&magnitude)
            || significant.len() as i64 > 2 * MAX_EXPONENT
        {
            return Err(DecimalError::OutOfRange(text.chars().take(40).collect()));
        }
        let mut mantissa: BigInt = match significant.parse::<i128>() {
            Ok(small) => BigInt::from(small),
            Err(_) => significant.parse().map_err(|_| not_a_number())?,
        };
        if negative {
            mantissa = -mantissa;
        }
        Ok(Self::normalized(mantissa, exponent))
    }

    /// An integer.
    pub fn from_i128(value: i128) -> Self {
        Self::normalized(BigInt::from(value), 0)
    }

    /// `mantissa` × 10^`exponent`.
    pub(crate) fn from_parts(mantissa: i128, exponent: i64) -> Self {
        Self::normalized(BigInt::from(mantissa), exponent)
    }

    /// The decimal that a finite float prints as (its shortest round-trip text: `0.1` is
    /// `0.1`, as the JSON text it came from said); `None` for infinities and NaN.
    pub fn from_f64(value: f64) -> Option<Self> {
        if !value.is_finite() {
            return None;
        }
        Self::parse(&format!("{value:e}")).ok()
    }

    /// `self + other`, exactly.
    pub fn add(&self, other: &Self) -> Self {
        if other.is_zero() {
            return self.clone();
        }
        if self.is_zero() {
            return other.clone();
        }
        let exponent = self.exponent.min(other.exponent);
        // The common case, in machine integers: mantissas of a few digits, exponents close.
        if let (Some(a), Some(b)) = (self.mantissa.to_i64(), other.mantissa.to_i64()) {
            let scale = |m: i64, e: i64| {
                u32::try_from(e - exponent)
                    .ok()
                    .and_then(|shift| 10i128.checked_pow(shift))
                    .and_then(|factor| i128::from(m).checked_mul(factor))
            };
            if let Some(sum) = scale(a, self.exponent)
                .zip(scale(b, other.exponent))
                .and_then(|(a, b)| a.checked_add(b))
            {
                return Self::normalized(BigInt::from(sum), exponent);
            }
        }
        let scaled = |x: &Self| &x.mantissa * pow10(x.exponent - exponent);
        Self::normalized(scaled(self) + scaled(other), exponent)
    }

    /// Whether the number is an integer.
    pub fn is_integer(&self) -> bool {
        self.exponent >= 0
    }

    /// Whether it is zero.
    pub fn is_zero(&self) -> bool {
        self.mantissa.is_zero()
    }

    /// The nearest `f64` (an infinity past its range, 0 below it).
    pub fn to_f64(&self) -> f64 {
        self.to_json_text(true).parse().unwrap_or(f64::NAN)
    }

    /// The integer, if it is one and fits an `i128`.
    pub fn to_i128(&self) -> Option<i128> {
        if !self.is_integer() {
            return None;
        }
        (&self.mantissa * pow10(self.exponent)).to_i128()
    }

    /// `self / divisor`, correctly rounded (half to even) to `digits` significant digits.
    ///
    /// # Panics
    ///
    /// When `divisor` or `digits` is zero.
    pub fn div_rounded(&self, divisor: u64, digits: u32) -> Self {
        assert!(divisor > 0 && digits > 0, "a divisor and digits");
        if self.is_zero() {
            return Self::zero();
        }
        // Scale the dividend so that the quotient has at least `digits` + 1 digits.
        let dividend_digits = self.mantissa.abs().to_string().len() as i64;
        let divisor_digits = divisor.to_string().len() as i64;
        let shift = (i64::from(digits) + 2 + divisor_digits - dividend_digits).max(0);
        let dividend = &self.mantissa * pow10(shift);
        let divisor = BigInt::from(divisor);
        let quotient = &dividend / &divisor;
        let inexact = !(&dividend % &divisor).is_zero();
        Self::round_to(quotient, self.exponent - shift, digits, inexact)
    }

    /// `mantissa × 10^exponent` rounded to `digits` significant digits, half to even; `sticky`:
    /// something non-zero was cut below the mantissa already.
    fn round_to(mantissa: BigInt, exponent: i64, digits: u32, sticky: bool) -> Self {
        let length = mantissa.abs().to_string().len() as i64;
        let cut = length - i64::from(digits);
        if cut <= 0 {
            return Self::normalized(mantissa, exponent);
        }
        let unit = pow10(cut);
        let negative = mantissa.sign() == Sign::Minus;
        let magnitude = mantissa.abs();
        let (mut kept, rest) = (&magnitude / &unit, &magnitude % &unit);
        let half = &unit / BigInt::from(2);
        let round_up = match rest.cmp(&half) {
            Ordering::Greater => true,
            Ordering::Less => false,
            Ordering::Equal if sticky => true,
            Ordering::Equal => (&kept % BigInt::from(2)) == BigInt::from(1),
        };
        if round_up {
            kept += 1;
        }
        Self::normalized(if negative { -kept } else { kept }, exponent + cut)
    }

    /// As JSON text. `float_style`: as serde_json prints a float (`3.0`, `1e+20`, `1.5e-7`,
    /// thresholds included), for sums of numbers that had a fraction or an exponent; else
    /// as a plain integer when it is one.
    pub fn to_json_text(&self, float_style: bool) -> String {
        let negative = self.mantissa.sign() == Sign::Minus;
        let digits = self.mantissa.abs().to_string();
        let sign = if negative { "-" } else { "" };
        if !float_style && self.is_integer() {
            if self.is_zero() {
                return "0".into();
            }
            let zeros = "0".repeat(usize::try_from(self.exponent).unwrap_or(0));
            return format!("{sign}{digits}{zeros}");
        }
        if self.is_zero() {
            return "0.0".into();
        }
        let n = digits.len() as i64;
        // The value is 0.DIGITS × 10^point.
        let point = n + self.exponent;
        let text = if (-4..=16).contains(&point) {
            if point >= n {
                format!("{digits}{}.0", "0".repeat((point - n) as usize))
            } else if point > 0 {
                format!(
                    "{}.{}",
                    &digits[..point as usize],
                    &digits[point as usize..]
                )
            } else {
                format!("0.{}{digits}", "0".repeat((-point) as usize))
            }
        } else {
            let exponent = point - 1;
            let exponent = if exponent > 0 {
                format!("+{exponent}")
            } else {
                exponent.to_string()
            };
            if n == 1 {
                format!("{digits}e{exponent}")
            } else {
                format!("{}.{}e{exponent}", &digits[..1], &digits[1..])
            }
        };
        format!("{sign}{text}")
    }

    /// The canonical saved form: `MANTISSAeEXPONENT`.
    pub fn to_saved(&self) -> String {
        format!("{}e{}", self.mantissa, self.exponent)
    }
}

impl Ord for Decimal {
    fn cmp(&self, other: &Self) -> Ordering {
        let exponent = self.exponent.min(other.exponent);
        // `min`/`max` compare every record: machine integers when the numbers allow.
        if let (Some(a), Some(b)) = (self.mantissa.to_i64(), other.mantissa.to_i64()) {
            let scale = |m: i64, e: i64| {
                u32::try_from(e - exponent)
                    .ok()
                    .and_then(|shift| 10i128.checked_pow(shift))
                    .and_then(|factor| i128::from(m).checked_mul(factor))
            };
            if let (Some(a), Some(b)) = (scale(a, self.exponent), scale(b, other.exponent)) {
                return a.cmp(&b);
            }
        }
        let scaled = |x: &Self| &x.mantissa * pow10(x.exponent - exponent);
        match (self.mantissa.sign(), other.mantissa.sign()) {
            (a, b) if a != b => sign_rank(a).cmp(&sign_rank(b)),
            _ => scaled(self).cmp(&scaled(other)),
        }
    }
}

impl PartialOrd for Decimal {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_json_text(!self.is_integer()))
    }
}

fn sign_rank(sign: Sign) -> i8 {
    match sign {
        Sign::Minus => -1,
        Sign::NoSign => 0,
        Sign::Plus => 1,
    }
}

fn pow10(exponent: i64) -> BigInt {
    num_traits::pow(BigInt::from(10), usize::try_from(exponent).unwrap_or(0))
}

/// The exact decimal value of a finite float (every float is a finite binary, hence decimal,
/// fraction): for sums saved before sums were decimal.
pub(crate) fn exact_binary(value: f64) -> Decimal {
    if value == 0.0 || !value.is_finite() {
        return Decimal::zero();
    }
    let bits = value.to_bits();
    let negative = bits >> 63 == 1;
    let raw_exponent = ((bits >> 52) & 0x7ff) as i64;
    let fraction = bits & ((1 << 52) - 1);
    let (mantissa, exponent) = if raw_exponent == 0 {
        (fraction, -1074)
    } else {
        (fraction | (1 << 52), raw_exponent - 1075)
    };
    let mantissa = BigInt::from(mantissa);
    let exact = if exponent >= 0 {
        Decimal::normalized(
            mantissa * num_traits::pow(BigInt::from(2), exponent as usize),
            0,
        )
    } else {
        // m / 2^k = m × 5^k / 10^k.
        let k = (-exponent) as usize;
        Decimal::normalized(mantissa * num_traits::pow(BigInt::from(5), k), -(k as i64))
    };
    if negative {
        Decimal::normalized(-exact.mantissa, exact.exponent)
    } else {
        exact
    }
}

impl std::str::FromStr for Decimal {
    type Err = DecimalError;

    /// Reads [`Decimal::to_saved`]'s form, or any JSON number.
    fn from_str(text: &str) -> Result<Self, DecimalError> {
        Self::parse(text)
    }
}

#[cfg(test)]
mod tests;
