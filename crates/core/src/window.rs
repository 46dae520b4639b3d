//! The observation window ("now" as an input) and the CLV time unit.

use serde::{Deserialize, Serialize};

use crate::{CoreError, Day};

/// When the analysis looks at the data: everything after `as_of` is excluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ObservationWindow {
    /// The last day that counts ("today" of the analysis).
    pub as_of: Day,
    /// End of the calibration period for holdout validation, if any.
    pub calibration_end: Option<Day>,
}

/// Unit of model time in the CLV convention (`recency`, `T`).
///
/// Purchases are always merged per calendar day first; the unit only scales time. This is the
/// convention of the BTYD papers and CLVTools ("fractional weeks"), and equals lifetimes'
/// `freq='D', freq_multiplier=7` for weeks. A month is 30 days, as in lifetimes' CLV; a
/// quarter and a year are calendar averages (365.25 / 4 and 365.25 days), so a year of data
/// is one year. `N days` is any other whole number of days. Written as the names `days`,
/// `weeks`, `months`, `quarters`, `years` or `"14 days"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimeUnit {
    /// 1 day.
    Days,
    /// 7 days.
    #[default]
    Weeks,
    /// 30 days.
    Months,
    /// 91.3125 days (a quarter of a 365.25-day year).
    Quarters,
    /// 365.25 days.
    Years,
    /// Any other whole number of days (2 or more; 1, 7 and 30 read as days, weeks, months).
    NDays(u16),
}

impl TimeUnit {
    /// Length of one unit in days.
    pub fn days(self) -> f64 {
        match self {
            TimeUnit::Days => 1.0,
            TimeUnit::Weeks => 7.0,
            TimeUnit::Months => 30.0,
            TimeUnit::Quarters => 365.25 / 4.0,
            TimeUnit::Years => 365.25,
            TimeUnit::NDays(n) => f64::from(n),
        }
    }

    /// Lower-case name as used in config and column names: `weeks`, `14 days`.
    pub fn name(self) -> std::borrow::Cow<'static, str> {
        match self {
            TimeUnit::Days => "days".into(),
            TimeUnit::Weeks => "weeks".into(),
            TimeUnit::Months => "months".into(),
            TimeUnit::Quarters => "quarters".into(),
            TimeUnit::Years => "years".into(),
            TimeUnit::NDays(n) => format!("{n} days").into(),
        }
    }

    /// The calendar period `day` falls in, as a running index: days, ISO weeks (Monday to
    /// Sunday), calendar months, quarters and years, or blocks of N days since 1970-01-01.
    /// Consecutive periods have consecutive indexes, so counting opportunities is a
    /// subtraction.
    pub fn period_of(self, day: crate::Day) -> i64 {
        let d = i64::from(day.0);
        match self {
            TimeUnit::Days => d,
            // 1970-01-01 was a Thursday: shift so that weeks start on Monday
            TimeUnit::Weeks => (d + 3).div_euclid(7),
            TimeUnit::Months | TimeUnit::Quarters | TimeUnit::Years => {
                let (y, m) = day.year_month();
                let (y, m) = (i64::from(y), i64::from(m) - 1);
                match self {
                    TimeUnit::Months => y * 12 + m,
                    TimeUnit::Quarters => y * 4 + m / 3,
                    _ => y,
                }
            }
            TimeUnit::NDays(n) => d.div_euclid(i64::from(n)),
        }
    }

    /// The unit as a reader of `lang` says it: `周`, `14 天`, `weeks`.
    pub fn label(self, lang: crate::Lang) -> String {
        match lang {
            crate::Lang::En => self.name().into_owned(),
            crate::Lang::Zh => match self {
                TimeUnit::Days => "天".into(),
                TimeUnit::Weeks => "周".into(),
                TimeUnit::Months => "月".into(),
                TimeUnit::Quarters => "季度".into(),
                TimeUnit::Years => "年".into(),
                TimeUnit::NDays(n) => format!("{n} 天"),
            },
        }
    }
}

impl std::fmt::Display for TimeUnit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name())
    }
}

impl std::str::FromStr for TimeUnit {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self, CoreError> {
        let lower = s.trim().to_ascii_lowercase();
        let unknown = || CoreError::UnknownTimeUnit(s.to_string());
        Ok(match lower.as_str() {
            "days" | "day" | "d" => TimeUnit::Days,
            "weeks" | "week" | "w" => TimeUnit::Weeks,
            "months" | "month" | "m" => TimeUnit::Months,
            "quarters" | "quarter" | "q" => TimeUnit::Quarters,
            "years" | "year" | "y" => TimeUnit::Years,
            other => {
                // "14 days", "14days", "14 d", "14d"
                let digits = other.trim_end_matches(|c: char| c.is_ascii_alphabetic());
                let suffix = other[digits.len()..].trim();
                if !matches!(suffix, "days" | "day" | "d") {
                    return Err(unknown());
                }
                match digits.trim().parse::<u16>().map_err(|_| unknown())? {
                    0 => return Err(unknown()),
                    1 => TimeUnit::Days,
                    7 => TimeUnit::Weeks,
                    30 => TimeUnit::Months,
                    n => TimeUnit::NDays(n),
                }
            }
        })
    }
}

impl Serialize for TimeUnit {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.name())
    }
}

impl<'de> Deserialize<'de> for TimeUnit {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Written by hand because the serde impls above are: one of the names or `"N days"`.
#[cfg(feature = "schema")]
impl schemars::JsonSchema for TimeUnit {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        "TimeUnit".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^(days|weeks|months|quarters|years|[0-9]+ days)$",
            "description": "days, weeks, months (30 days), quarters (91.3125 days), years (365.25 days) or \"N days\""
        })
    }
}

/// A length of time a user writes as a count and a unit: `"2 years"`, `"95 weeks"`,
/// `"30 days"`, `"1.5 quarters"`. Months are the model's 30 days, quarters and years calendar
/// averages ([`TimeUnit::days`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Span {
    count: f64,
    unit: TimeUnit,
}

impl Span {
    /// A span of `count` (finite, > 0) units.
    pub fn new(count: f64, unit: TimeUnit) -> Result<Self, CoreError> {
        if count.is_finite() && count > 0.0 {
            Ok(Span { count, unit })
        } else {
            Err(CoreError::BadSpan(format!("{count} {unit}")))
        }
    }

    /// The count of units.
    pub fn count(self) -> f64 {
        self.count
    }

    /// The unit.
    pub fn unit(self) -> TimeUnit {
        self.unit
    }

    /// Length in days.
    pub fn days(self) -> f64 {
        self.count * self.unit.days()
    }
}

impl std::fmt::Display for Span {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.unit {
            // "2 14 days" would not read back
            TimeUnit::NDays(n) => write!(f, "{} days", self.count * f64::from(n)),
            u => write!(f, "{} {u}", self.count),
        }
    }
}

impl std::str::FromStr for Span {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self, CoreError> {
        let text = s.trim();
        let bad = || CoreError::BadSpan(s.to_string());
        let split = text
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let count: f64 = text[..split].parse().map_err(|_| bad())?;
        let unit: TimeUnit = text[split..].trim().parse().map_err(|_| bad())?;
        if matches!(unit, TimeUnit::NDays(_)) {
            return Err(bad());
        }
        Span::new(count, unit).map_err(|_| bad())
    }
}

impl Serialize for Span {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Span {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Written by hand because the serde impls above are: `"<count> <unit>"`.
#[cfg(feature = "schema")]
impl schemars::JsonSchema for Span {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Span".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^[0-9.]+ ?(days?|weeks?|months?|quarters?|years?|[dwmqy])$",
            "description": "a count and a unit: \"2 years\", \"95 weeks\", \"30 days\""
        })
    }
}

#[cfg(test)]
mod unit_tests {
    use super::*;

    #[test]
    fn units_read_by_name_and_as_n_days_and_write_back_the_same() {
        for (text, unit) in [
            ("weeks", TimeUnit::Weeks),
            ("Q", TimeUnit::Quarters),
            ("years", TimeUnit::Years),
            ("14 days", TimeUnit::NDays(14)),
            ("14d", TimeUnit::NDays(14)),
            ("7 days", TimeUnit::Weeks),
            ("1 day", TimeUnit::Days),
        ] {
            let u: TimeUnit = text.parse().unwrap();
            assert_eq!(u, unit, "{text}");
            assert_eq!(u.name().parse::<TimeUnit>().unwrap(), u);
            let json = serde_json::to_string(&u).unwrap();
            assert_eq!(serde_json::from_str::<TimeUnit>(&json).unwrap(), u);
        }
        for bad in [
            "0 days",
            "fortnight",
            "14 weeks",
            "-3 days",
            "70000 days",
            "",
        ] {
            assert!(bad.parse::<TimeUnit>().is_err(), "{bad}");
        }
        assert_eq!(TimeUnit::NDays(14).days(), 14.0);
        assert_eq!(TimeUnit::Years.days(), 365.25);
        assert_eq!(TimeUnit::Quarters.label(crate::Lang::Zh), "季度");
    }

    #[test]
    fn calendar_periods_are_consecutive_indexes() {
        let day = |s: &str| crate::Day::parse_iso(s).unwrap();
        let p = |u: TimeUnit, a: &str| u.period_of(day(a));
        assert_eq!(
            p(TimeUnit::Years, "2006-01-01") - p(TimeUnit::Years, "2005-12-31"),
            1
        );
        assert_eq!(
            p(TimeUnit::Years, "2008-12-31"),
            p(TimeUnit::Years, "2008-01-01")
        );
        assert_eq!(
            p(TimeUnit::Quarters, "2024-04-01") - p(TimeUnit::Quarters, "2024-03-31"),
            1
        );
        assert_eq!(
            p(TimeUnit::Months, "2024-01-01") - p(TimeUnit::Months, "2023-12-31"),
            1
        );
        // 2024-01-01 is a Monday, 2023-12-31 a Sunday
        assert_eq!(
            p(TimeUnit::Weeks, "2024-01-01") - p(TimeUnit::Weeks, "2023-12-31"),
            1
        );
        assert_eq!(
            p(TimeUnit::Weeks, "2024-01-07"),
            p(TimeUnit::Weeks, "2024-01-01")
        );
        assert_eq!(
            p(TimeUnit::Weeks, "1969-12-29"),
            p(TimeUnit::Weeks, "1970-01-04")
        );
        assert_eq!(
            p(TimeUnit::NDays(10), "1970-01-11") - p(TimeUnit::NDays(10), "1970-01-10"),
            1
        );
        assert_eq!(p(TimeUnit::NDays(10), "1969-12-31"), -1);
    }

    #[test]
    fn spans_read_a_count_and_a_unit() {
        let s: Span = "2 years".parse().unwrap();
        assert_eq!((s.count(), s.unit()), (2.0, TimeUnit::Years));
        assert_eq!(s.days(), 730.5);
        assert_eq!("95 weeks".parse::<Span>().unwrap().days(), 665.0);
        assert_eq!("30d".parse::<Span>().unwrap().days(), 30.0);
        assert_eq!(
            "1.5 quarters".parse::<Span>().unwrap().unit(),
            TimeUnit::Quarters
        );
        for bad in [
            "",
            "years",
            "0 days",
            "-1 days",
            "2",
            "2 fortnights",
            "1e3 days",
            "2 14 days",
        ] {
            assert!(bad.parse::<Span>().is_err(), "{bad}");
        }
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(json, "\"2 years\"");
        assert_eq!(serde_json::from_str::<Span>(&json).unwrap(), s);
    }
}
