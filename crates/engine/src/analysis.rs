//! The result of one analysis: everything surfaces show, computed here and nowhere else.

use clientele_core::{CustomerTable, Day, TimeUnit, Values};
use clientele_ingest::{IngestStats, Reject, SideTableStats};
use serde::Serialize;

/// One analysis run. Serialized (without per-customer rows) as `summary.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Analysis {
    /// `clientele <version>`.
    pub tool: String,
    /// The as-of date used.
    pub as_of: Day,
    /// Hash of the result-changing settings.
    pub config_hash: String,
    /// Time unit of the CLV-convention columns.
    pub time_unit: TimeUnit,
    /// Row accounting of the transactions.
    pub inputs: IngestStats,
    /// `read N = accepted A + rejected R (+ after as-of E)`.
    pub reconciliation: String,
    /// Side tables joined.
    pub side_tables: Vec<SideTableStats>,
    /// Leads that have not bought yet.
    pub leads_without_purchase: usize,
    /// Headline numbers.
    pub kpis: Kpis,
    /// Columns of the customer table with their types.
    pub columns: Vec<ColumnInfo>,
    /// CLV model fit and totals (absent when disabled or failed).
    pub clv: Option<crate::ClvSection>,
    /// Why the CLV step failed, when it did (the rest of the analysis still ran).
    pub clv_error: Option<String>,
    /// Comparison with a previous run's snapshot (migration matrices, moves, drift).
    pub migration: Option<serde_json::Value>,
    /// The full comparison, with customer lists (written as `migration/moves.csv`).
    #[serde(skip)]
    pub migration_full: Option<crate::Comparison>,
    /// Behaviour analysis: distributions, categories, affinity, breakdowns, seasonality.
    pub behaviour: Option<serde_json::Value>,
    /// Why the behaviour analysis was not done, when it was not.
    pub behaviour_error: Option<String>,
    /// Back-dated month-end points (with `--history monthly`).
    pub history: Vec<HistoryPoint>,
    /// Their snapshots (written as `snapshot/history/<as_of>.json`).
    #[serde(skip)]
    pub history_snapshots: Vec<crate::Snapshot>,
    /// Calibration/holdout validation of the CLV model (when `[time] calibration_end` is set).
    pub validation: Option<crate::Validation>,
    /// Why the validation failed, when it did.
    pub validation_error: Option<String>,
    /// K-means segments (absent when disabled or not possible on this data).
    pub clusters: Option<crate::ClusterSection>,
    /// Why K-means was not done, when it was not.
    pub cluster_error: Option<String>,
    /// Lifecycle stage counts, monthly trends and cohort retention.
    pub lifecycle: Option<crate::LifecycleSection>,
    /// RFM thresholds, level counts, segment summaries and the R×F grid.
    pub rfm: Option<clientele_rfm::RfmReport>,
    /// Per grading scheme: grades with customers, revenue, means and the playbook action.
    pub grades: Vec<clientele_grade::SchemeSummary>,
    /// Classic presets not applied because the data lacks their columns, with the reason.
    pub skipped_presets: Vec<String>,
    /// Value tiers: Pareto curve, ABC and HML totals.
    pub value_tiers: Option<crate::ValueTierSection>,
    /// Target lists written under `segments/`.
    pub target_lists: Vec<crate::TargetList>,
    /// Language of labels.
    pub lang: crate::Lang,
    /// Playbook overrides from the config (for the action texts in target lists).
    #[serde(skip)]
    pub playbook_overrides: clientele_grade::PlaybookConfig,
    /// The customer table (not in `summary.json`; written as customers.parquet/csv).
    #[serde(skip)]
    pub customers: CustomerTable,
    /// Rejected rows (written as rejects.csv).
    #[serde(skip)]
    pub rejects: Vec<Reject>,
}

/// A customer-table column and its type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ColumnInfo {
    /// Name.
    pub name: String,
    /// `int`, `float`, `text` or `date`.
    pub r#type: String,
}

/// Headline numbers of the customer base at the as-of date.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Kpis {
    /// Customers with at least one purchase up to as-of.
    pub customers: usize,
    /// Σ net amount of those customers.
    pub revenue: f64,
    /// Σ orders.
    pub orders: i64,
    /// Revenue per order.
    pub avg_order_value: f64,
    /// Share of customers with more than one purchase day.
    pub repeat_customer_share: f64,
    /// Share of customers who bought in the last 90 days before as-of.
    pub active_90d_share: f64,
    /// Mean orders per customer.
    pub orders_per_customer: f64,
    /// First order date in the window.
    pub first_order: Option<Day>,
    /// Last order date up to as-of.
    pub last_order: Option<Day>,
}

impl Kpis {
    /// Computes the KPIs from the customer table.
    pub fn of(t: &CustomerTable) -> Kpis {
        let n = t.len();
        let sum_f = |c: &str| {
            t.floats(c)
                .map(|v| v.iter().flatten().sum::<f64>())
                .unwrap_or(0.0)
        };
        let none = Values::default();
        let ints = |c: &str| t.ints(c).unwrap_or(&none).present();
        let revenue = sum_f("monetary");
        let orders: i64 = ints("orders").sum();
        let repeat = ints("purchase_days").filter(|&d| d > 1).count();
        let active = ints("recency_days").filter(|&d| d <= 90).count();
        let share = |k: usize| if n == 0 { 0.0 } else { k as f64 / n as f64 };
        let no_days = Values::default();
        let dates = |c: &str| t.dates(c).unwrap_or(&no_days).present();
        Kpis {
            customers: n,
            revenue,
            orders,
            avg_order_value: if orders > 0 {
                revenue / orders as f64
            } else {
                0.0
            },
            repeat_customer_share: share(repeat),
            active_90d_share: share(active),
            orders_per_customer: if n == 0 {
                0.0
            } else {
                orders as f64 / n as f64
            },
            first_order: dates("first_purchase").min(),
            last_order: dates("last_purchase").max(),
        }
    }
}

/// One back-dated analysis: KPIs and the size of every grade of every scheme.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryPoint {
    /// The back-dated as-of.
    pub as_of: Day,
    /// KPIs at that date.
    pub kpis: Kpis,
    /// Scheme → grade → customers.
    pub sizes: std::collections::BTreeMap<String, std::collections::BTreeMap<String, usize>>,
}

impl HistoryPoint {
    /// The point of an analysis and its snapshot.
    pub fn of(a: &Analysis, snap: &crate::Snapshot) -> HistoryPoint {
        let mut sizes = std::collections::BTreeMap::new();
        for (scheme, grades) in &snap.schemes {
            let mut m = std::collections::BTreeMap::new();
            for g in grades {
                *m.entry(g.clone()).or_insert(0) += 1;
            }
            sizes.insert(scheme.clone(), m);
        }
        if let Some(stages) = &snap.lifecycle {
            let mut m = std::collections::BTreeMap::new();
            for s in stages {
                *m.entry(s.id().to_string()).or_insert(0) += 1;
            }
            sizes.insert("lifecycle".to_string(), m);
        }
        HistoryPoint {
            as_of: a.as_of,
            kpis: a.kpis.clone(),
            sizes,
        }
    }
}
