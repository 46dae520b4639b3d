//! Numbers as people read them, in `customers.csv` and `summary.json`: money to the cent, any
//! other measure (a probability, a share, a mean, a time in weeks) to 6 significant digits
//! but never fewer than 4 decimals, and no float noise (`170.92999999999998` is `170.93`,
//! `57.857142857142854` is `57.8571`, `0.6480565592140552` is `0.648057`). Parquet keeps
//! full precision.
//!
//! Values are rounded through integers (`n / 10^d`), so what is written is the decimal the
//! rounding gives, and a rounded `f64` prints (shortest round-trip digits) as the same text.

use crate::columns as col;

/// How a number is rounded for people.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rounding {
    /// To the cent: 2 decimals (written with both in CSV: `7.00`).
    Money,
    /// 6 significant digits, at least 4 decimals: `0.648057`, `57.8571`, `16576247.59`.
    Measure,
    /// As stored: the shortest digits that read back as the same number (values read from the
    /// user's own columns, written as the user wrote them).
    Exact,
}

/// Significant digits of a [`Rounding::Measure`].
const SIGNIFICANT: i32 = 6;
/// Fewest decimals of a [`Rounding::Measure`] (a large sum keeps its cents and more).
const MIN_DECIMALS: i32 = 4;
/// Largest scaled value rounded through an `i64` (below 2^53, so exact as an `f64` too).
const MAX_SCALED: f64 = 9.0e15;

impl Rounding {
    /// The rounding of a customer-table column: money columns to the cent, the measures the
    /// engine computes to 6 significant digits, any other column (a customer attribute) as
    /// stored.
    pub fn of_column(name: &str) -> Rounding {
        match name {
            col::MONETARY
            | col::AVG_ORDER_VALUE
            | "monetary_value"
            | "profit"
            | "return_amount"
            | col::EXPECTED_VALUE
            | col::CLV
            | col::CLV_P05
            | col::CLV_P95 => Rounding::Money,
            // expected purchases over any horizon and their intervals, purchase chances
            n if n.starts_with("expected_purchases_") || n.starts_with("p_purchase_") => {
                Rounding::Measure
            }
            n if n.starts_with("expected_value_month_") => Rounding::Money,
            "frequency"
            | "recency"
            | "T"
            | "items"
            | "avg_interpurchase_days"
            | "satisfaction"
            | col::P_ALIVE
            | col::P_ALIVE_ON
            | col::CONTRIBUTION_SHARE
            | "next_best_category_score" => Rounding::Measure,
            _ => Rounding::Exact,
        }
    }

    /// `x` rounded: the `f64` nearest to the rounded decimal (non-finite values as they are,
    /// `-0` as `0`).
    pub fn round(self, x: f64) -> f64 {
        if !x.is_finite() || x == 0.0 || self == Rounding::Exact {
            return if x == 0.0 { 0.0 } else { x };
        }
        let r = match self.scaled(x) {
            Some((n, d)) => n as f64 / 10f64.powi(d),
            None => match self {
                // beyond an i64 in cents: money that large keeps its digits
                Rounding::Money => x,
                _ => format!("{:.*e}", (SIGNIFICANT - 1) as usize, x)
                    .parse()
                    .unwrap_or(x),
            },
        };
        if r == 0.0 { 0.0 } else { r }
    }

    /// Appends `x` rounded to `buf`: money with two decimals (`7.00`), a measure without
    /// trailing zeros (`2`, `0.5`), tiny and huge values with an exponent (`1.5e-101`).
    pub fn write(self, x: f64, buf: &mut String) {
        if !x.is_finite() || self == Rounding::Exact {
            return write_shortest(x, buf);
        }
        let Some((n, d)) = self.scaled(x) else {
            return write_shortest(self.round(x), buf);
        };
        let d = d as usize;
        let mut digits = itoa::Buffer::new();
        let text = digits.format(n.unsigned_abs());
        // the digits of |n| with the point `d` places from the right
        let (whole, frac) = if text.len() > d {
            text.split_at(text.len() - d)
        } else {
            ("0", text)
        };
        let pad = d - frac.len();
        let frac = match self {
            Rounding::Money => frac,
            _ => frac.trim_end_matches('0'),
        };
        if n < 0 {
            buf.push('-');
        }
        buf.push_str(whole);
        if !(frac.is_empty() && self != Rounding::Money) {
            buf.push('.');
            // leading zeros of the fraction (`0.05`), kept only when digits follow
            if !frac.is_empty() || self == Rounding::Money {
                buf.extend(std::iter::repeat_n('0', pad));
            }
            buf.push_str(frac);
        }
    }

    /// `x` as `n / 10^d` rounded half away from zero, when that fits an `i64`; `None` for a
    /// measure that needs an exponent (below 1e-5 or from 1e16).
    fn scaled(self, x: f64) -> Option<(i64, i32)> {
        let d = match self {
            Rounding::Money => 2,
            Rounding::Measure => {
                let a = x.abs();
                if !(1e-5..1e16).contains(&a) {
                    return None;
                }
                let magnitude = a.log10().floor() as i32;
                (SIGNIFICANT - 1 - magnitude).max(MIN_DECIMALS)
            }
            Rounding::Exact => return None,
        };
        let scaled = (x * 10f64.powi(d)).round();
        (scaled.abs() < MAX_SCALED).then_some((scaled as i64, d))
    }
}

/// The shortest digits that read back as the same number, with an exponent when tiny or huge
/// (a P(alive) of 1.5e-101 was a 100-digit decimal).
pub(crate) fn write_shortest(x: f64, buf: &mut String) {
    use std::fmt::Write;
    let a = x.abs();
    // Writing into a String cannot fail.
    let _ = if a != 0.0 && a.is_finite() && !(1e-5..1e16).contains(&a) {
        write!(buf, "{x:e}")
    } else {
        write!(buf, "{x}")
    };
}

/// The digits of a whole number with a comma between thousands (`1234567` → `1,234,567`),
/// as both languages write them.
pub fn thousands(digits: &str) -> String {
    let bytes = digits.as_bytes();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in bytes.iter().enumerate() {
        if i > 0 && (bytes.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(char::from(*c));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(r: Rounding, x: f64) -> String {
        let mut s = String::new();
        r.write(x, &mut s);
        s
    }

    #[test]
    fn money_is_written_to_the_cent() {
        let m = Rounding::Money;
        for (x, text) in [
            (289.8233333333333, "289.82"),
            (170.92999999999998, "170.93"),
            (2500315.63000009, "2500315.63"),
            (26.575499999999998, "26.58"),
            (7.0, "7.00"),
            (0.05, "0.05"),
            (-12.345, "-12.35"),
            (-0.004, "0.00"),
            (0.0, "0.00"),
            (1e300, "1e300"),
        ] {
            assert_eq!(written(m, x), text, "{x}");
        }
    }

    #[test]
    fn measures_keep_six_significant_digits_and_four_decimals() {
        let m = Rounding::Measure;
        for (x, text) in [
            (57.857142857142854, "57.8571"),
            (0.6480565592140552, "0.648057"),
            (0.000012146912371109302, "0.0000121469"),
            (16576247.590000024, "16576247.59"),
            (2.0, "2"),
            (0.5, "0.5"),
            (3.3333333333333335, "3.33333"),
            (-0.6175087411851923, "-0.617509"),
            (1.5e-101, "1.5e-101"),
            (2.05177129992001e-10, "2.05177e-10"),
            (0.0, "0"),
            (f64::NAN, "NaN"),
        ] {
            assert_eq!(written(m, x), text, "{x}");
        }
    }

    #[test]
    fn a_rounded_value_prints_as_the_written_text() {
        for r in [Rounding::Money, Rounding::Measure] {
            for x in [
                289.8233333333333,
                57.857142857142854,
                0.6480565592140552,
                1.5e-101,
                20286636.84000009,
                -0.004,
                123456.789,
                0.000012146912371109302,
            ] {
                let text = written(r, x)
                    .trim_end_matches('0')
                    .trim_end_matches('.')
                    .to_string();
                let mut shortest = String::new();
                write_shortest(r.round(x), &mut shortest);
                let shortest = if shortest == "0" {
                    "0".to_string()
                } else {
                    shortest
                };
                let text = if text.is_empty() || text == "-" {
                    "0".to_string()
                } else {
                    text
                };
                assert_eq!(shortest, text, "{r:?} {x}");
                // and rounding again changes nothing
                assert_eq!(r.round(r.round(x)), r.round(x));
            }
        }
    }

    #[test]
    fn attribute_columns_are_written_as_stored() {
        assert_eq!(Rounding::of_column("monetary"), Rounding::Money);
        assert_eq!(Rounding::of_column("p_alive"), Rounding::Measure);
        assert_eq!(Rounding::of_column("latitude"), Rounding::Exact);
        assert_eq!(written(Rounding::Exact, 31.2304167), "31.2304167");
    }
}
