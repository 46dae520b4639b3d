//! Calendar months, the unit of trends and cohorts. Stored as a single month count so that
//! "months between" is a subtraction and ranges have no gaps.

use std::fmt;

use clientele_core::Day;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A calendar month, serialized as `YYYY-MM`. Internally `year * 12 + (month - 1)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month(i32);

impl Month {
    /// The month for a year and a month number 1..=12; `None` for other month numbers.
    pub fn new(year: i32, month: u32) -> Option<Month> {
        if (1..=12).contains(&month) {
            Some(Month(year * 12 + month as i32 - 1))
        } else {
            None
        }
    }

    /// The year, e.g. 1997.
    pub fn year(self) -> i32 {
        self.0.div_euclid(12)
    }

    /// The month number 1..=12.
    pub fn month(self) -> u32 {
        self.0.rem_euclid(12) as u32 + 1
    }

    /// The month `n` months later (earlier when negative).
    pub fn plus_months(self, n: i32) -> Month {
        Month(self.0 + n)
    }

    /// Whole calendar months from `earlier` to `self` (negative when `earlier` is later).
    pub fn months_since(self, earlier: Month) -> i32 {
        self.0 - earlier.0
    }

    /// The first day of this month.
    pub fn first_day(self) -> Option<Day> {
        Day::from_ymd(self.year(), self.month(), 1)
    }

    /// Parses `YYYY-MM`.
    pub fn parse(s: &str) -> Option<Month> {
        let (y, m) = s.trim().split_once('-')?;
        if y.len() != 4 || m.len() != 2 {
            return None;
        }
        Month::new(y.parse().ok()?, m.parse().ok()?)
    }
}

impl From<Day> for Month {
    fn from(d: Day) -> Month {
        let (y, m) = d.year_month();
        Month(y * 12 + m as i32 - 1)
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year(), self.month())
    }
}

impl Serialize for Month {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Month {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Month, D::Error> {
        let s = String::deserialize(d)?;
        Month::parse(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("`{s}` is not a month (YYYY-MM)")))
    }
}

/// By hand, like the serde impls: a `YYYY-MM` string, not the month count.
#[cfg(feature = "schema")]
impl schemars::JsonSchema for Month {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Month".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^[0-9]{4}-(0[1-9]|1[0-2])$"
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn month_from_day_and_text() {
        let d = Day::from_ymd(1997, 12, 31).unwrap();
        let m = Month::from(d);
        assert_eq!((m.year(), m.month()), (1997, 12));
        assert_eq!(m.to_string(), "1997-12");
        assert_eq!(m.plus_months(1).to_string(), "1998-01");
        assert_eq!(m.plus_months(-12).to_string(), "1996-12");
        assert_eq!(Month::parse("1998-01").unwrap().months_since(m), 1);
        assert_eq!(m.first_day(), Day::from_ymd(1997, 12, 1));
        assert_eq!(Month::new(1997, 13), None);
        for bad in ["1997-1", "97-01", "1997-00", "1997/01", "x"] {
            assert_eq!(Month::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn month_serde_is_yyyy_mm() {
        let m = Month::new(1998, 3).unwrap();
        let s = serde_json::to_string(&m).unwrap();
        assert_eq!(s, "\"1998-03\"");
        assert_eq!(serde_json::from_str::<Month>(&s).unwrap(), m);
        assert!(serde_json::from_str::<Month>("\"1998-3\"").is_err());
    }

    proptest::proptest! {
        #[test]
        fn month_of_day_matches_year_month(n in -50_000i32..50_000) {
            let d = Day(n);
            let m = Month::from(d);
            proptest::prop_assert_eq!((m.year(), m.month()), d.year_month());
            proptest::prop_assert_eq!(Month::parse(&m.to_string()), Some(m));
        }
    }
}
