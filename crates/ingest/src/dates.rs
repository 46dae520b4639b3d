//! Order dates: the core's formats, with the checks that make a bad date a reject instead of
//! a guess: the time of an ISO datetime must be a time (`T25:00` is not), years lie within
//! 1000–9999 (so that no day arithmetic can overflow), and a custom format is checked before
//! any row is read.

use clientele_core::{DateFormat, Day};

use crate::IngestError;
use crate::rejects::Why;

/// Why a value is not an order date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DateError {
    /// Not a date in the format.
    NotADate,
    /// A date followed by a time that is not one (hour 25, minute 60, …).
    BadTime,
    /// A date outside the years 1000–9999.
    OutOfRange,
}

impl DateError {
    /// The reject reason for value `v`.
    #[cold]
    pub fn reason(self, v: &str, format: &DateFormat) -> Why {
        match self {
            DateError::NotADate => Why::new(
                format!("`{v}` is not a date (expected {})", format.describe()),
                format!("`{v}` 不是日期（应为 {}）", describe_zh(format)),
            ),
            DateError::BadTime => Why::new(
                format!("`{v}` has a time of day that does not exist"),
                format!("`{v}` 中的时刻不存在"),
            ),
            DateError::OutOfRange => Why::new(
                format!("`{v}` is outside the years 1000 to 9999"),
                format!("`{v}` 不在 1000 年到 9999 年之间"),
            ),
        }
    }
}

/// [`DateFormat::describe`] in Chinese.
fn describe_zh(format: &DateFormat) -> String {
    match format {
        DateFormat::Auto => "YYYY-MM-DD、YYYY/MM/DD、YYYYMMDD 或 ISO 日期时间；其他格式请加上 \
                             --date-format 或在 [columns] 中设置 date_format"
            .to_string(),
        DateFormat::Custom(f) => format!("格式 `{f}`"),
    }
}

/// First and last day accepted: 1000-01-01 and 9999-12-31.
const FIRST: i32 = -354_285;
const LAST: i32 = 2_932_896;

/// Whether `day` lies within the years 1000–9999.
pub(crate) fn in_range(day: Day) -> bool {
    (FIRST..=LAST).contains(&day.0)
}

/// `s` as a day in `format`.
pub(crate) fn parse(format: &DateFormat, s: &str) -> Result<Day, DateError> {
    let day = format.parse(s).ok_or(DateError::NotADate)?;
    if !in_range(day) {
        return Err(DateError::OutOfRange);
    }
    if matches!(format, DateFormat::Auto) && !time_ok(s.trim()) {
        return Err(DateError::BadTime);
    }
    Ok(day)
}

/// The time after an ISO date (`T` or a space, then `H:MM[:SS…]`) is a time of day; the core
/// checks only that it starts with a digit and has a `:`.
fn time_ok(s: &str) -> bool {
    let b = s.as_bytes();
    let Some(at) = b.iter().position(|&c| c == b'T' || c == b' ') else {
        return true;
    };
    let t = &b[at + 1..];
    // hours, minutes and maybe seconds: one or two digits each, within range; what follows
    // (fractions, offsets) is the core's to judge
    let Some((_, t)) = number(t, 23) else {
        return false;
    };
    let Some(t) = t.strip_prefix(b":") else {
        return false;
    };
    let Some((_, t)) = number(t, 59) else {
        return false;
    };
    match t.strip_prefix(b":") {
        Some(t) => number(t, 60).is_some(), // 60: a leap second
        None => true,
    }
}

/// The number of one or two digits that `t` starts with, if at most `max`, and the rest.
fn number(t: &[u8], max: u32) -> Option<(u32, &[u8])> {
    let n = t.iter().take_while(|c| c.is_ascii_digit()).count();
    if n == 0 || n > 2 {
        return None;
    }
    let v = t[..n].iter().fold(0, |v, &c| v * 10 + u32::from(c - b'0'));
    (v <= max).then_some((v, &t[n..]))
}

/// Checks a custom date format before any row is read: a format chrono cannot use, or one
/// that cannot give a whole date, would reject every row.
pub(crate) fn check_format(format: &DateFormat) -> Result<(), IngestError> {
    let DateFormat::Custom(f) = format else {
        return Ok(());
    };
    let bad = |reason: String| IngestError::BadDateFormat {
        format: f.clone(),
        reason,
    };
    let mut specs = Vec::new();
    let mut chars = f.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            continue;
        }
        // padding flags, `%.3f`-style fractions and `%:z`-style offsets
        while let Some(&p) = chars.peek() {
            if matches!(p, '-' | '_' | '0' | '#' | ':' | '.' | '3' | '6' | '9') {
                chars.next();
            } else {
                break;
            }
        }
        let Some(spec) = chars.next() else {
            return Err(bad("ends with a lone `%`".into()));
        };
        if !"YCyqmbBhdeaAwuUWGgVjDxFvHkIlPpMSfRTXrZzstn%".contains(spec) {
            return Err(bad(format!("has an unknown specifier `%{spec}`")));
        }
        specs.push(spec);
    }
    let has = |set: &str| specs.iter().any(|&c| set.contains(c));
    if has("DxFvs") {
        return Ok(());
    }
    if !has("YyGg") {
        return Err(bad("has no year (%Y or %y)".into()));
    }
    let day_of_year = has("mbBh") && has("de") || has("j") || has("UWV") && has("aAwu");
    if !day_of_year {
        return Err(bad("has no month and day (%m and %d, or %j)".into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_ends_are_the_years_1000_and_9999() {
        assert_eq!(Day::from_ymd(1000, 1, 1), Some(Day(FIRST)));
        assert_eq!(Day::from_ymd(9999, 12, 31), Some(Day(LAST)));
    }

    #[test]
    fn times_must_exist_and_years_be_in_range() {
        let auto = DateFormat::Auto;
        for s in [
            "2024-01-01",
            "2024-01-01T23:59",
            "2024-01-01 00:00:60",
            "2024-01-01T10:22:33.123+08:00",
            "2024-01-01 9:05",
        ] {
            assert!(parse(&auto, s).is_ok(), "{s}");
        }
        for s in [
            "2024-01-01T25:00",
            "2024-01-01T24:00",
            "2024-01-01 10:60",
            "2024-01-01T10:00:61",
            "2024-01-01T123:00",
        ] {
            assert_eq!(parse(&auto, s), Err(DateError::BadTime), "{s}");
        }
        assert_eq!(parse(&auto, "09990101"), Err(DateError::OutOfRange));
        let f = DateFormat::Custom("%Y%m%d".into());
        assert_eq!(
            parse(&f, "99991231"),
            Day::from_ymd(9999, 12, 31).ok_or(DateError::NotADate)
        );
        let f = DateFormat::Custom("%d.%m.%Y".into());
        assert_eq!(parse(&f, "01.01.0999"), Err(DateError::OutOfRange));
        assert_eq!(parse(&f, "01.01.+12000"), Err(DateError::OutOfRange));
    }

    #[test]
    fn formats_are_checked_up_front() {
        for f in [
            "%d.%m.%Y",
            "%m/%d/%Y %H:%M",
            "%F",
            "%Y-%j",
            "%-d/%-m/%y",
            "%Y%m%d %H:%M:%S%.3f %:z",
            "%s",
        ] {
            assert!(check_format(&DateFormat::Custom(f.into())).is_ok(), "{f}");
        }
        for (f, why) in [
            ("%d.%m.%Q", "has an unknown specifier `%Q`"),
            ("%d.%m.%Y%", "ends with a lone `%`"),
            ("%H:%M", "has no year (%Y or %y)"),
            ("dd.mm.yyyy", "has no year (%Y or %y)"),
            ("%Y-%m", "has no month and day (%m and %d, or %j)"),
        ] {
            let e = check_format(&DateFormat::Custom(f.into()))
                .unwrap_err()
                .to_string();
            assert!(
                e.starts_with(&format!("date format `{f}` {why}: fix --date-format")),
                "{e}"
            );
        }
    }

    proptest::proptest! {
        /// Any text in any accepted format: a day in range or a reason, never a panic.
        #[test]
        fn any_text_is_a_day_or_a_reason(
            s in "[0-9T:. /+-]{0,24}|\\PC{0,16}",
            f in "(%[-_0#:.]{0,2}[YCyqmbBhdeaAwuUWGgVjDxFvHkIlPpMSfRTXrZzstn%Q]|[ ./:-]){0,6}",
        ) {
            if let Ok(day) = parse(&DateFormat::Auto, &s) {
                proptest::prop_assert!(in_range(day));
            }
            let custom = DateFormat::Custom(f);
            if check_format(&custom).is_ok()
                && let Ok(day) = parse(&custom, &s)
            {
                proptest::prop_assert!(in_range(day));
            }
        }
    }
}
