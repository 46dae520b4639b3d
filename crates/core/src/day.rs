//! Calendar days as `i32` days since 1970-01-01 (the Arrow `Date32` representation), and the
//! date formats accepted in input files.

use std::fmt;

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::CoreError;

/// A calendar day: days since 1970-01-01. Serialized as `YYYY-MM-DD`. The default is
/// 1970-01-01.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(pub i32);

const EPOCH_CE_DAYS: i32 = 719_163; // NaiveDate::from_ymd(1970,1,1).num_days_from_ce()

/// Days either side of 1970 within which [`Day::year_month`] computes the month itself (well
/// inside chrono's range; beyond it chrono's clamping decides).
const CIVIL_RANGE: u32 = 90_000_000;

impl Day {
    /// The day for a calendar date, `None` when the date does not exist.
    pub fn from_ymd(year: i32, month: u32, day: u32) -> Option<Day> {
        NaiveDate::from_ymd_opt(year, month, day).map(Day::from_naive)
    }

    /// From a chrono date.
    pub fn from_naive(d: NaiveDate) -> Day {
        Day(d.num_days_from_ce() - EPOCH_CE_DAYS)
    }

    /// As a chrono date.
    pub fn to_naive(self) -> NaiveDate {
        // days beyond chrono's range (never accepted from input) clamp instead of overflowing
        self.0
            .checked_add(EPOCH_CE_DAYS)
            .and_then(NaiveDate::from_num_days_from_ce_opt)
            .unwrap_or(if self.0 < 0 {
                NaiveDate::MIN
            } else {
                NaiveDate::MAX
            })
    }

    /// Year and month of this day, e.g. `(1997, 3)`.
    pub fn year_month(self) -> (i32, u32) {
        // the civil calendar by integer arithmetic (Hinnant's `civil_from_days`), as chrono
        // has it, without building a date: the fold asks for every purchase line's month
        if self.0.unsigned_abs() > CIVIL_RANGE {
            let d = self.to_naive();
            return (d.year(), d.month());
        }
        let z = i64::from(self.0) + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        (year as i32, month as u32)
    }

    /// The first day of the month after this day's (the end, exclusive, of its month).
    pub fn next_month_start(self) -> Day {
        let (y, m) = self.year_month();
        let (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
        // past chrono's last month: no day of the input comes after it
        Day::from_ymd(y, m, 1).unwrap_or(Day(i32::MAX))
    }

    /// Parses `YYYY-MM-DD`, used for command-line flags and config values.
    pub fn parse_iso(s: &str) -> Result<Day, CoreError> {
        DateFormat::Auto
            .parse(s.trim())
            .ok_or_else(|| CoreError::BadDate {
                value: s.to_string(),
                expected: "YYYY-MM-DD".to_string(),
            })
    }
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_naive().format("%Y-%m-%d"))
    }
}

impl Serialize for Day {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Day {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Day, D::Error> {
        d.deserialize_any(DayVisitor)
    }
}

/// A `YYYY-MM-DD` string, or a TOML date written without quotes (`as_of = 2024-06-30`), which
/// a TOML parser hands over as a one-entry map holding the date's text.
struct DayVisitor;

impl<'de> serde::de::Visitor<'de> for DayVisitor {
    type Value = Day;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a date as YYYY-MM-DD")
    }

    fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Day, E> {
        Day::parse_iso(s).map_err(E::custom)
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Day, A::Error> {
        use serde::de::Error;
        let Some((_, text)) = map.next_entry::<String, String>()? else {
            return Err(A::Error::custom("a date as YYYY-MM-DD"));
        };
        // a TOML date-time is a date: its time of day would be silently dropped
        if text.len() != 10 {
            return Err(A::Error::custom(format!(
                "`{text}` is not a date: write YYYY-MM-DD"
            )));
        }
        Day::parse_iso(&text).map_err(A::Error::custom)
    }
}

/// Written by hand because the serde impls above are: a `YYYY-MM-DD` string, not the day number.
#[cfg(feature = "schema")]
impl schemars::JsonSchema for Day {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Day".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "string", "format": "date" })
    }
}

/// How order dates are written in an input file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum DateFormat {
    /// `YYYY-MM-DD`, `YYYY/MM/DD`, `YYYYMMDD`, `YYYY-M-D`, or an ISO datetime
    /// (`YYYY-MM-DDTHH:MM[:SS…]`, also with a space); the time of day is dropped.
    #[default]
    Auto,
    /// A chrono `strftime` format, e.g. `%d.%m.%Y` or `%m/%d/%Y %H:%M`.
    Custom(String),
}

impl DateFormat {
    /// A human description for error messages.
    pub fn describe(&self) -> String {
        match self {
            DateFormat::Auto => {
                "YYYY-MM-DD, YYYY/MM/DD, YYYYMMDD or an ISO datetime; for others pass --date-format \
                 or set date_format in [columns]"
                    .to_string()
            }
            DateFormat::Custom(f) => format!("format `{f}`"),
        }
    }

    /// Parses one value; `None` when it is not a valid date in this format.
    pub fn parse(&self, s: &str) -> Option<Day> {
        match self {
            DateFormat::Auto => parse_auto(s.trim()),
            DateFormat::Custom(f) => {
                let s = s.trim();
                NaiveDate::parse_from_str(s, f)
                    .ok()
                    .or_else(|| NaiveDateTime::parse_from_str(s, f).ok().map(|dt| dt.date()))
                    .map(Day::from_naive)
            }
        }
    }
}

fn digits(b: &[u8]) -> Option<u32> {
    if b.is_empty() || b.len() > 4 {
        return None;
    }
    let mut v = 0u32;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u32::from(c - b'0');
    }
    Some(v)
}

/// Fast path for the common layouts; allocation-free because it runs once per input row.
fn parse_auto(s: &str) -> Option<Day> {
    let b = s.as_bytes();
    if b.len() == 8 && b.iter().all(u8::is_ascii_digit) {
        let y = digits(&b[0..4])? as i32;
        return Day::from_ymd(y, digits(&b[4..6])?, digits(&b[6..8])?);
    }
    if b.len() < 8 {
        return None;
    }
    // Date part ends at 'T' or ' ' (datetime); the rest must look like a time.
    let end = b
        .iter()
        .position(|&c| c == b'T' || c == b' ')
        .unwrap_or(b.len());
    let (date, rest) = b.split_at(end);
    if !rest.is_empty() {
        let t = &rest[1..];
        if t.len() < 4 || !t[0].is_ascii_digit() || !t.contains(&b':') {
            return None;
        }
    }
    let sep = *date.get(4)?;
    if sep != b'-' && sep != b'/' && sep != b'.' {
        return None;
    }
    let mut parts = date.split(|&c| c == sep);
    let y = parts.next().and_then(digits)?;
    let m = parts.next().and_then(digits)?;
    let d = parts.next().and_then(digits)?;
    if parts.next().is_some() || y < 1000 {
        return None;
    }
    Day::from_ymd(y as i32, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "schema")]
    #[test]
    fn schema_is_the_serialized_date_string() {
        let schema = serde_json::to_value(schemars::schema_for!(Option<Day>)).unwrap();
        let text = schema.to_string();
        assert!(text.contains(r#""format":"date""#), "{text}");
        assert!(!text.contains("integer"), "{text}");
    }

    #[test]
    fn extreme_days_print_without_overflow() {
        for d in [i32::MIN, i32::MIN + 1, -1, i32::MAX - 1, i32::MAX] {
            assert!(!Day(d).to_string().is_empty());
        }
        assert_eq!(Day(i32::MAX).to_naive(), NaiveDate::MAX);
        assert_eq!(Day(i32::MIN).to_naive(), NaiveDate::MIN);
    }

    #[test]
    fn epoch_and_formats() {
        assert_eq!(Day::from_ymd(1970, 1, 1), Some(Day(0)));
        let d = Day::from_ymd(1997, 1, 1).unwrap();
        for s in [
            "1997-01-01",
            "1997/01/01",
            "19970101",
            "1997-1-1",
            "1997-01-01T10:22:33",
            "1997-01-01 10:22",
            "1997-01-01T10:22:33.123+08:00",
            " 1997-01-01 ",
        ] {
            assert_eq!(DateFormat::Auto.parse(s), Some(d), "{s}");
        }
        for s in [
            "",
            "1997-13-01",
            "1997-02-30",
            "97-01-01",
            "abc",
            "19970230",
            "1997-01-01x",
        ] {
            assert_eq!(DateFormat::Auto.parse(s), None, "{s}");
        }
        assert_eq!(d.to_string(), "1997-01-01");
        assert_eq!(d.year_month(), (1997, 1));
        // the arithmetic month is chrono's, every day of ±2,700 years and at the range's ends
        let chrono = |d: Day| {
            let n = d.to_naive();
            (n.year(), n.month())
        };
        for x in (-1_000_000..=1_000_000).chain([
            -90_000_001,
            -90_000_000,
            90_000_000,
            90_000_001,
            i32::MIN,
            i32::MAX,
        ]) {
            assert_eq!(Day(x).year_month(), chrono(Day(x)), "day {x}");
        }
        // the next month's first day ends this day's month
        for x in (-40_000..=40_000).step_by(7) {
            let (d, next) = (Day(x), Day(x).next_month_start());
            assert_ne!(next.year_month(), d.year_month(), "day {x}");
            assert_eq!(Day(next.0 - 1).year_month(), d.year_month(), "day {x}");
        }
    }

    #[test]
    fn custom_format() {
        let f = DateFormat::Custom("%d.%m.%Y".into());
        assert_eq!(f.parse("31.12.1998"), Day::from_ymd(1998, 12, 31));
        let f = DateFormat::Custom("%m/%d/%Y %H:%M".into());
        assert_eq!(f.parse("12/31/1998 08:15"), Day::from_ymd(1998, 12, 31));
        assert_eq!(f.parse("1998-12-31"), None);
    }

    proptest::proptest! {
        #[test]
        fn roundtrip(n in -100_000i32..100_000) {
            let d = Day(n);
            proptest::prop_assert_eq!(Day::parse_iso(&d.to_string()).unwrap(), d);
            proptest::prop_assert_eq!(Day::from_naive(d.to_naive()), d);
        }
    }
}
