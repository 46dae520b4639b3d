//! The names of the customer table's columns and of the groupings built on them, defined once:
//! the model crates write these columns, the engine lists and snapshots them, the surfaces
//! read them. A name spelled as a string literal elsewhere is a name that can drift.

/// Customer id (the table's key; not a column of [`crate::CustomerTable`] but of its files).
pub const CUSTOMER_ID: &str = "customer_id";
/// Days from the last purchase to the as-of date.
pub const RECENCY_DAYS: &str = "recency_days";
/// Orders.
pub const ORDERS: &str = "orders";
/// Distinct purchase days.
pub const PURCHASE_DAYS: &str = "purchase_days";
/// Σ net amount.
pub const MONETARY: &str = "monetary";
/// Revenue per order.
pub const AVG_ORDER_VALUE: &str = "avg_order_value";
/// First purchase date.
pub const FIRST_PURCHASE: &str = "first_purchase";
/// Last purchase date.
pub const LAST_PURCHASE: &str = "last_purchase";
/// Category with the most spend.
pub const TOP_CATEGORY: &str = "top_category";
/// Probability of being alive (CLV step).
pub const P_ALIVE: &str = "p_alive";
/// Customer lifetime value (CLV step).
pub const CLV: &str = "clv";
/// Expected spend per purchase (Gamma-Gamma).
pub const EXPECTED_VALUE: &str = "expected_value";
/// The day by which the chance of having bought again reaches 50 % (empty: not within
/// `[clv] next_purchase_max`).
pub const NEXT_PURCHASE_DATE: &str = "next_purchase_date";
/// P(still a customer on `[clv] alive_on`).
pub const P_ALIVE_ON: &str = "p_alive_on";
/// CLV's 5 % quantile over draws of the fitted parameters.
pub const CLV_P05: &str = "clv_p05";
/// CLV's 95 % quantile over draws of the fitted parameters.
pub const CLV_P95: &str = "clv_p95";
/// RFM recency score.
pub const R_SCORE: &str = "r_score";
/// RFM frequency score.
pub const F_SCORE: &str = "f_score";
/// RFM monetary score.
pub const M_SCORE: &str = "m_score";
/// The three scores as one code (`"555"`).
pub const RFM_CODE: &str = "rfm_code";
/// The 8-class RFM segment (the `cn8` segment scheme, under its short name).
pub const RFM_SEGMENT: &str = "rfm_segment";
/// ABC value tier.
pub const VALUE_TIER: &str = "value_tier";
/// High/medium/low value tier.
pub const HML_TIER: &str = "hml_tier";
/// The customer's share of all positive value.
pub const CONTRIBUTION_SHARE: &str = "contribution_share";
/// Lifecycle stage id.
pub const LIFECYCLE_STAGE: &str = "lifecycle_stage";
/// K-means segment number.
pub const CLUSTER: &str = "cluster";
/// K-means segment number and name (`"1: 高价值活跃"`).
pub const CLUSTER_NAME: &str = "cluster_name";
/// Suggested next category.
pub const NEXT_BEST_CATEGORY: &str = "next_best_category";

/// The RFM segment scheme whose column is also written as [`RFM_SEGMENT`].
pub const CN8_SCHEME: &str = "cn8";

/// A column that puts every customer in one group: the groupings target lists, snapshots and
/// migration follow. Each has a column in the table and a scheme key in outputs
/// (`segments/<key>/…`, snapshot schemes, `migration/moves.csv`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Grouping {
    /// A grading scheme (`[[scheme]]` or a classic preset): column `grade_<name>`, key `<name>`.
    Grade(String),
    /// An RFM segment scheme: column `segment_<name>`, key `rfm_<name>`.
    Rfm(String),
    /// ABC value tiers: column and key `value_tier`.
    ValueTier,
    /// Lifecycle stages: column `lifecycle_stage`, key `lifecycle`.
    Lifecycle,
    /// K-means segments: column `cluster_name`, key `cluster`.
    Cluster,
}

const GRADE_PREFIX: &str = "grade_";
const RFM_PREFIX: &str = "segment_";
const RFM_KEY_PREFIX: &str = "rfm_";
/// Scheme key of lifecycle stages.
pub const LIFECYCLE_KEY: &str = "lifecycle";
/// Scheme key of value tiers.
pub const VALUE_TIER_KEY: &str = "value_tier";
/// Scheme key of K-means segments.
pub const CLUSTER_KEY: &str = "cluster";

impl Grouping {
    /// The grouping a customer-table column holds, if it holds one.
    pub fn of_column(column: &str) -> Option<Grouping> {
        match column {
            VALUE_TIER => Some(Grouping::ValueTier),
            LIFECYCLE_STAGE => Some(Grouping::Lifecycle),
            CLUSTER_NAME => Some(Grouping::Cluster),
            c => c
                .strip_prefix(GRADE_PREFIX)
                .map(|n| Grouping::Grade(n.to_string()))
                .or_else(|| {
                    c.strip_prefix(RFM_PREFIX)
                        .map(|n| Grouping::Rfm(n.to_string()))
                }),
        }
    }

    /// The grouping an output's scheme key names.
    pub fn of_key(key: &str) -> Grouping {
        match key {
            VALUE_TIER_KEY => Grouping::ValueTier,
            LIFECYCLE_KEY => Grouping::Lifecycle,
            CLUSTER_KEY => Grouping::Cluster,
            k => match k.strip_prefix(RFM_KEY_PREFIX) {
                Some(n) => Grouping::Rfm(n.to_string()),
                None => Grouping::Grade(k.to_string()),
            },
        }
    }

    /// Its column in the customer table.
    pub fn column(&self) -> String {
        match self {
            Grouping::Grade(n) => format!("{GRADE_PREFIX}{n}"),
            Grouping::Rfm(n) => format!("{RFM_PREFIX}{n}"),
            Grouping::ValueTier => VALUE_TIER.to_string(),
            Grouping::Lifecycle => LIFECYCLE_STAGE.to_string(),
            Grouping::Cluster => CLUSTER_NAME.to_string(),
        }
    }

    /// Its scheme key in outputs.
    pub fn key(&self) -> String {
        match self {
            Grouping::Grade(n) => n.clone(),
            Grouping::Rfm(n) => format!("{RFM_KEY_PREFIX}{n}"),
            Grouping::ValueTier => VALUE_TIER_KEY.to_string(),
            Grouping::Lifecycle => LIFECYCLE_KEY.to_string(),
            Grouping::Cluster => CLUSTER_KEY.to_string(),
        }
    }

    /// True for a column written by a grading step rather than read from the data: such a
    /// column is never a dimension of its own.
    pub fn is_grouping_column(column: &str) -> bool {
        Grouping::of_column(column).is_some() || column == RFM_SEGMENT || column == CLUSTER
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_and_keys_name_the_same_grouping() {
        for g in [
            Grouping::Grade("behaviour".into()),
            Grouping::Rfm("cn8".into()),
            Grouping::ValueTier,
            Grouping::Lifecycle,
            Grouping::Cluster,
        ] {
            assert_eq!(Grouping::of_column(&g.column()), Some(g.clone()));
            assert_eq!(Grouping::of_key(&g.key()), g);
        }
        assert_eq!(Grouping::Rfm("cn8".into()).key(), "rfm_cn8");
        assert_eq!(Grouping::of_column("monetary"), None);
        assert!(Grouping::is_grouping_column(RFM_SEGMENT));
    }
}
