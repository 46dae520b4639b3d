//! The result of one analysis: everything surfaces show, computed here and nowhere else.

use clientele_core::columns as col;
use clientele_core::{CustomerTable, Day, Values};
use clientele_ingest::Reject;
use serde::{Deserialize, Serialize};

use crate::Summary;

/// One analysis run: the [`Summary`] every surface renders, and the per-customer parts
/// written as files beside it.
#[derive(Debug, Clone)]
pub struct Analysis {
    /// The typed contract, serialized as `summary.json`.
    pub summary: Summary,
    /// The customer table (written as customers.parquet/csv).
    pub customers: CustomerTable,
    /// Rejected rows (written as rejects.csv).
    pub rejects: Vec<Reject>,
    /// The comparison with a previous run, with the customers who moved (written as
    /// `migration/moves.csv`; the summary keeps the counts).
    pub comparison: Option<crate::Comparison>,
    /// Snapshots of the back-dated month ends (written as `snapshot/history/<as_of>.json`).
    pub history_snapshots: Vec<crate::SnapshotFile>,
    /// Playbook overrides from the config (for the action texts in target lists).
    pub playbook_overrides: clientele_grade::PlaybookConfig,
    /// The settings of the run ([`crate::Config::settings`]), recorded in the output's
    /// manifest so that `compare` can say what differs between two runs.
    pub settings: serde_json::Value,
    /// Optional input columns the data seems to have under another name (`商品类别` for the
    /// category), with the flag that maps each: a hint to print, not part of the summary.
    pub column_hints: Vec<clientele_ingest::ColumnHint>,
    /// Wall-clock time of each model step, for `--timings`: not part of the summary, which
    /// stays the same from run to run.
    pub timings: Vec<StepTiming>,
}

/// How long one step of the analysis took.
#[derive(Debug, Clone, PartialEq)]
pub struct StepTiming {
    /// The step (`CLV fit`, `K-means`…), in both languages: `--timings` prints the run's.
    pub step: clientele_core::Note,
    /// What it did, when that explains the time (`k = 6 chosen from 3..8`).
    pub detail: Option<clientele_core::Note>,
    /// Seconds.
    pub seconds: f64,
}

/// A customer-table column and its type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ColumnInfo {
    /// Name.
    pub name: String,
    /// `int`, `float`, `text` or `date`.
    pub r#type: String,
}

/// Headline numbers of the customer base at the as-of date.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
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
        let mut sums = KpiSums::default();
        sums.add(t);
        sums.kpis()
    }
}

/// What the [`Kpis`] are made of, added up table by table: a spilled run's parts give the
/// KPIs of the whole table, exactly.
#[derive(Debug, Clone, Default)]
pub(crate) struct KpiSums {
    customers: usize,
    /// Σ monetary in micro-units: exact to the cent whatever the number of customers (a
    /// float sum drifted to 2500315.63000009).
    revenue_micros: i128,
    orders: i64,
    repeat: usize,
    active: usize,
    first: Option<Day>,
    last: Option<Day>,
}

impl KpiSums {
    /// Adds the customers of `t`.
    pub(crate) fn add(&mut self, t: &CustomerTable) {
        let none = Values::default();
        let ints = |c: &str| t.ints(c).unwrap_or(&none).present();
        let scale = clientele_ingest::MONEY_SCALE;
        if let Ok(v) = t.floats(col::MONETARY) {
            self.revenue_micros += v
                .iter()
                .flatten()
                .map(|x| (x * scale).round() as i128)
                .sum::<i128>();
        }
        self.customers += t.len();
        self.orders += ints(col::ORDERS).sum::<i64>();
        self.repeat += ints(col::PURCHASE_DAYS).filter(|&d| d > 1).count();
        self.active += ints(col::RECENCY_DAYS).filter(|&d| d <= 90).count();
        let no_days = Values::default();
        let dates = |c: &str| t.dates(c).unwrap_or(&no_days).present();
        let first = dates(col::FIRST_PURCHASE).min();
        let last = dates(col::LAST_PURCHASE).max();
        self.first = match (self.first, first) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.last = self.last.max(last);
    }

    /// The KPIs of every customer added.
    pub(crate) fn kpis(&self) -> Kpis {
        let n = self.customers;
        let revenue = self.revenue_micros as f64 / clientele_ingest::MONEY_SCALE;
        let orders = self.orders;
        let share = |k: usize| if n == 0 { 0.0 } else { k as f64 / n as f64 };
        Kpis {
            customers: n,
            revenue,
            orders,
            avg_order_value: if orders > 0 {
                revenue / orders as f64
            } else {
                0.0
            },
            repeat_customer_share: share(self.repeat),
            active_90d_share: share(self.active),
            orders_per_customer: if n == 0 {
                0.0
            } else {
                orders as f64 / n as f64
            },
            first_order: self.first,
            last_order: self.last,
        }
    }
}

/// One back-dated analysis: KPIs and the size of every grade of every scheme.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
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
            for (g, n) in grades.labels().iter().zip(grades.counts()) {
                if n > 0 {
                    *m.entry(g.clone()).or_insert(0) += n;
                }
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
            as_of: a.summary.as_of,
            kpis: a.summary.kpis.clone(),
            sizes,
        }
    }
}
