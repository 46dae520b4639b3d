//! The `[behaviour]` TOML section. Unknown keys are errors; ranges are checked by
//! [`BehaviourConfig::validate`], which [`crate::analyze_behaviour`] calls first.
//!
//! ```toml
//! [behaviour]
//! dimensions = ["city", "channel", "age"]  # default: text attribute columns with
//!                                          # 2..=max_distinct values, plus age/income banded
//! max_distinct = 50        # auto-detected text dimensions have at most this many values
//! numeric_bands = 5        # quantile bands for numeric dimensions (2..=20)
//! max_values = 20          # dimension/grade values kept per breakdown, the rest is "(other)"
//! min_support = 0.01       # category pairs bought together by at least this share of customers
//! top_n = 10               # top categories per grade
//! max_pairs = 200          # affinity pairs kept in summary.json (all qualifying pairs drive suggestions)
//! max_categories = 100     # category-share rows kept in summary.json, the rest is "(other)"
//! suggest = true           # add next_best_category / next_best_category_score columns
//! ```

use serde::{Deserialize, Serialize};

use crate::error::{BehaviourError, Result};

/// The `[behaviour]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields, default)]
pub struct BehaviourConfig {
    /// Dimension columns; `None` picks them from the table (see the module docs).
    pub dimensions: Option<Vec<String>>,
    /// Upper bound on distinct values for auto-detected text dimensions.
    pub max_distinct: usize,
    /// Quantile bands for numeric dimensions.
    pub numeric_bands: usize,
    /// Values kept per dimension (and per grade column) before lumping into "(other)".
    pub max_values: usize,
    /// Minimum pair support (share of customers with categories) for affinity rules.
    pub min_support: f64,
    /// Categories listed per grade.
    pub top_n: usize,
    /// Affinity pairs kept in the summary.
    pub max_pairs: usize,
    /// Category-share rows kept in the summary.
    pub max_categories: usize,
    /// Whether to compute the next-best-category columns.
    pub suggest: bool,
}

impl Default for BehaviourConfig {
    fn default() -> Self {
        BehaviourConfig {
            dimensions: None,
            max_distinct: 50,
            numeric_bands: 5,
            max_values: 20,
            min_support: 0.01,
            top_n: 10,
            max_pairs: 200,
            max_categories: 100,
            suggest: true,
        }
    }
}

fn range(key: &'static str, v: usize, lo: usize, hi: usize) -> Result<()> {
    if (lo..=hi).contains(&v) {
        Ok(())
    } else {
        Err(BehaviourError::Config {
            key,
            message: format!("must be between {lo} and {hi}, got {v}"),
        })
    }
}

impl BehaviourConfig {
    /// Checks every range; bounds keep summary.json small and the work linear.
    pub fn validate(&self) -> Result<()> {
        range("max_distinct", self.max_distinct, 2, 1000)?;
        range("numeric_bands", self.numeric_bands, 2, 20)?;
        range("max_values", self.max_values, 1, 200)?;
        range("top_n", self.top_n, 1, 100)?;
        range("max_pairs", self.max_pairs, 1, 10_000)?;
        range("max_categories", self.max_categories, 1, 10_000)?;
        if !(self.min_support > 0.0 && self.min_support <= 1.0) {
            return Err(BehaviourError::Config {
                key: "min_support",
                message: format!(
                    "must be a share in (0, 1] (0.01 = 1% of customers), got {}",
                    self.min_support
                ),
            });
        }
        if let Some(d) = &self.dimensions {
            for (i, name) in d.iter().enumerate() {
                if d[..i].contains(name) {
                    return Err(BehaviourError::Config {
                        key: "dimensions",
                        message: format!("`{name}` is listed twice"),
                    });
                }
            }
        }
        Ok(())
    }
}
