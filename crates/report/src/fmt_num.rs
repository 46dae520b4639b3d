//! Number formatting for display (the page shows strings; sort keys stay numeric).

use crate::Lang;

/// `x` with `dec` decimals and thousands separators; "–" for non-finite.
pub fn num(x: f64, dec: usize) -> String {
    if !x.is_finite() {
        return "–".into();
    }
    let s = format!("{:.*}", dec, x.abs());
    let (int, frac) = s.split_once('.').map_or((s.as_str(), ""), |(a, b)| (a, b));
    let neg = x < 0.0 && s.chars().any(|c| c.is_ascii_digit() && c != '0');
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    out.push_str(&clientele_core::thousands(int));
    if !frac.is_empty() {
        out.push('.');
        out.push_str(frac);
    }
    out
}

/// An integer count.
pub fn int(x: f64) -> String {
    num(x, 0)
}

/// A share 0..1 as a percentage with one decimal.
pub fn pct(x: f64) -> String {
    if !x.is_finite() {
        return "–".into();
    }
    format!("{}%", num(x * 100.0, 1))
}

/// Money with two decimals.
pub fn money(x: f64) -> String {
    num(x, 2)
}

/// A compact large number: 万/亿 in Chinese, K/M/B in English.
pub fn compact(x: f64, lang: Lang) -> String {
    if !x.is_finite() {
        return "–".into();
    }
    let a = x.abs();
    match lang {
        Lang::Zh => {
            if a >= 1e8 {
                format!("{}亿", num(x / 1e8, 2))
            } else if a >= 1e4 {
                format!("{}万", num(x / 1e4, 1))
            } else {
                num(x, if a >= 100.0 { 0 } else { 2 })
            }
        }
        Lang::En => {
            if a >= 1e9 {
                format!("{}B", num(x / 1e9, 2))
            } else if a >= 1e6 {
                format!("{}M", num(x / 1e6, 2))
            } else if a >= 1e4 {
                format!("{}K", num(x / 1e3, 1))
            } else {
                num(x, if a >= 100.0 { 0 } else { 2 })
            }
        }
    }
}

/// Rounds for chart data (keeps payloads small and snapshots stable).
pub fn round(x: f64, dec: i32) -> f64 {
    let p = 10f64.powi(dec);
    (x * p).round() / p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(num(5106353.24, 2), "5,106,353.24");
        assert_eq!(int(23570.0), "23,570");
        assert_eq!(int(999.0), "999");
        assert_eq!(num(-1234.5, 1), "-1,234.5");
        assert_eq!(num(-0.0, 1), "0.0");
        assert_eq!(pct(0.16419), "16.4%");
        assert_eq!(compact(5106353.24, Lang::Zh), "510.6万");
        assert_eq!(compact(5106353.24, Lang::En), "5.11M");
        assert_eq!(compact(232.43, Lang::En), "232");
        assert_eq!(compact(36.99, Lang::Zh), "36.99");
        assert_eq!(compact(f64::NAN, Lang::Zh), "–");
    }
}
