//! The decimal's laws: parsing, exact arithmetic, order and text.

use super::*;

fn d(text: &str) -> Decimal {
    Decimal::parse(text).unwrap()
}

#[test]
fn prints_as_serde_json_prints_floats() {
    for x in [
        1e15,
        1e16,
        0.0001,
        0.00001,
        1e-6,
        1.5e-7,
        0.1,
        3.98,
        1234.0,
        1e308,
        5e-324,
        -2.5e-300,
        123456789.125,
    ] {
        let json = serde_json::to_string(&x).unwrap();
        assert_eq!(
            Decimal::from_f64(x).unwrap().to_json_text(true),
            json,
            "{x}"
        );
    }
}

#[test]
fn sums_and_compares_exactly() {
    assert_eq!(d("0.1").add(&d("0.2")), d("0.3"));
    assert_eq!(d("1e308").add(&d("1e308")).add(&d("-1e308")), d("1e308"));
    assert!(d("1e400") > d("9.99e399"));
    assert!(d("-0") == d("0"));
    assert_eq!(
        d("170141183460469231731687303715884105727")
            .add(&d("1"))
            .to_json_text(false),
        "170141183460469231731687303715884105728"
    );
    assert_eq!(d("12.50").to_saved(), "125e-1");
}

#[test]
fn refuses_what_is_not_a_json_number() {
    for text in [
        "", "-", "01", "1.", ".5", "1e", "1e+-3", "\"1\"", "0x10", "1_000",
    ] {
        assert!(
            matches!(Decimal::parse(text), Err(DecimalError::NotANumber(_))),
            "{text}"
        );
    }
    assert!(matches!(
        Decimal::parse("1e99999"),
        Err(DecimalError::OutOfRange(_))
    ));
    assert!(matches!(
        Decimal::parse("1e-99999"),
        Err(DecimalError::OutOfRange(_))
    ));
}

#[test]
fn divides_with_rounding_half_to_even() {
    assert_eq!(d("3.98").div_rounded(4, 17), d("0.995"));
    assert_eq!(d("1").div_rounded(3, 5), d("0.33333"));
    assert_eq!(d("2").div_rounded(3, 5), d("0.66667"));
    assert_eq!(d("0.125").div_rounded(1, 2), d("0.12"));
}

#[test]
fn floats_convert_exactly() {
    assert_eq!(exact_binary(0.5), d("0.5"));
    assert_eq!(
        exact_binary(0.1),
        d("0.1000000000000000055511151231257827021181583404541015625")
    );
}
