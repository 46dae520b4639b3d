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
/// `freq='D', freq_multiplier=7` for weeks. A month is 30 days, as in lifetimes' CLV.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum TimeUnit {
    /// 1 day.
    Days,
    /// 7 days.
    #[default]
    Weeks,
    /// 30 days.
    Months,
}

impl TimeUnit {
    /// Length of one unit in days.
    pub fn days(self) -> f64 {
        match self {
            TimeUnit::Days => 1.0,
            TimeUnit::Weeks => 7.0,
            TimeUnit::Months => 30.0,
        }
    }

    /// Lower-case name as used in config and column names.
    pub fn name(self) -> &'static str {
        match self {
            TimeUnit::Days => "days",
            TimeUnit::Weeks => "weeks",
            TimeUnit::Months => "months",
        }
    }
}

impl std::str::FromStr for TimeUnit {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self, CoreError> {
        match s.to_ascii_lowercase().as_str() {
            "days" | "day" | "d" => Ok(TimeUnit::Days),
            "weeks" | "week" | "w" => Ok(TimeUnit::Weeks),
            "months" | "month" | "m" => Ok(TimeUnit::Months),
            _ => Err(CoreError::UnknownTimeUnit(s.to_string())),
        }
    }
}
