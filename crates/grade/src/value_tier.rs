//! Value tiers: each customer's contribution share, the Pareto curve, ABC classes by cumulative
//! value and HML classes by count percentile.
//!
//! Two different questions, labelled apart (segmentation.md §2.8): ABC asks "which customers make
//! up the first 80 % of value" (cumulative **value**), HML asks "who are the top 20 % of
//! customers" (a **count** percentile).
//!
//! Rules:
//! - Customers with a positive value are ranked by value, highest first, ties broken by customer
//!   id (ascending), so results never depend on row order.
//! - ABC: a customer is `A` while the value of the customers ranked before them is below the `a`
//!   cut-off (default 80 %), `B` below `b` (default 95 %), else `C`. Counting what comes *before*
//!   the customer makes the one who crosses 80 % an `A`, so a single customer is `A`, not `C`.
//! - HML: the first ⌈heavy·n⌉ ranked customers are `H` (default 20 %), up to ⌈(heavy+medium)·n⌉
//!   `M` (default next 30 %), the rest `L`, where n counts positive-value customers.
//! - Zero, negative (net returns) or NULL value: tier `D` ("无贡献", no contribution) in both
//!   schemes, outside the ranking. Their contribution share is value / Σ positive value (zero or
//!   negative), NULL for NULL.
//! - Pareto curve: x = share of all customers (ranked, `D` last), y = cumulative share of positive
//!   value; starts at (0, 0), at most 201 points.

use clientele_core::columns as col;
use clientele_core::{ColumnData, CustomerTable, Ids, Note, Texts};
use serde::{Deserialize, Serialize};

use crate::error::GradeError;

/// `[value_tiers]` settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields, default)]
pub struct ValueTierConfig {
    /// The value column (default `monetary`; `profit` or `clv` also make sense).
    pub column: String,
    /// ABC: cumulative value share that ends `A` (default 0.8).
    pub abc_a: f64,
    /// ABC: cumulative value share that ends `B` (default 0.95).
    pub abc_b: f64,
    /// HML: share of ranked customers that are `H` (default 0.2).
    pub heavy: f64,
    /// HML: share of ranked customers after `H` that are `M` (default 0.3).
    pub medium: f64,
}

impl Default for ValueTierConfig {
    fn default() -> Self {
        ValueTierConfig {
            column: col::MONETARY.to_string(),
            abc_a: 0.8,
            abc_b: 0.95,
            heavy: 0.2,
            medium: 0.3,
        }
    }
}

impl ValueTierConfig {
    /// Checks the cut-offs: 0 < a < b ≤ 1, 0 < heavy, 0 ≤ medium, heavy + medium ≤ 1.
    pub fn validate(&self) -> Result<(), GradeError> {
        let ok = |x: f64| x.is_finite();
        if !(ok(self.abc_a)
            && ok(self.abc_b)
            && 0.0 < self.abc_a
            && self.abc_a < self.abc_b
            && self.abc_b <= 1.0)
        {
            let (a, b) = (self.abc_a, self.abc_b);
            return Err(GradeError::ValueTier(Note::new(
                format!(
                    "abc_a = {a} 和 abc_b = {b} 必须满足 0 < abc_a < abc_b <= 1（例如 0.8 和 0.95）"
                ),
                format!(
                    "abc_a = {a} and abc_b = {b} must satisfy 0 < abc_a < abc_b <= 1 (e.g. 0.8 \
                     and 0.95)"
                ),
            )));
        }
        if !(ok(self.heavy)
            && ok(self.medium)
            && self.heavy > 0.0
            && self.medium >= 0.0
            && self.heavy + self.medium <= 1.0)
        {
            let (h, m) = (self.heavy, self.medium);
            return Err(GradeError::ValueTier(Note::new(
                format!(
                    "heavy = {h} 和 medium = {m} 必须是份额，且 heavy > 0、heavy + medium <= 1\
                     （例如 0.2 和 0.3）"
                ),
                format!(
                    "heavy = {h} and medium = {m} must be shares with heavy > 0 and heavy + \
                     medium <= 1 (e.g. 0.2 and 0.3)"
                ),
            )));
        }
        Ok(())
    }
}

/// A value tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum Tier {
    /// ABC: within the first `abc_a` of value.
    A,
    /// ABC: up to `abc_b` of value.
    B,
    /// ABC: the rest of the positive-value customers.
    C,
    /// HML: heavy (top count share).
    H,
    /// HML: medium.
    M,
    /// HML: light.
    L,
    /// Zero, negative or NULL value: no contribution ("无贡献"), in both schemes.
    D,
}

impl Tier {
    /// The label written to columns (`A` … `D`).
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::A => "A",
            Tier::B => "B",
            Tier::C => "C",
            Tier::H => "H",
            Tier::M => "M",
            Tier::L => "L",
            Tier::D => "D",
        }
    }
}

impl std::fmt::Display for Tier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Chinese display name of the no-contribution tier `D`.
pub const NO_CONTRIBUTION_ZH: &str = "无贡献";

/// A point of the Pareto curve.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ParetoPoint {
    /// Cumulative share of customers (0–1).
    pub customers: f64,
    /// Cumulative share of positive value (0–1).
    pub value: f64,
}

/// Per-tier totals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct TierSummary {
    /// `A`/`B`/`C`/`D` or `H`/`M`/`L`/`D`.
    pub tier: String,
    /// Customers in it.
    pub customers: usize,
    /// Share of all customers.
    pub customer_share: f64,
    /// Σ value of its customers (NULL counts as 0).
    pub value: f64,
    /// `value` / Σ positive value (0 when there is none).
    pub value_share: f64,
}

/// Value tiers of every customer, in table row order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ValueTiers {
    /// The value column used.
    pub column: String,
    /// Σ positive value.
    pub total_positive: f64,
    /// value / Σ positive value per customer.
    pub contribution_share: Vec<Option<f64>>,
    /// ABC tier per customer (`A`, `B`, `C`, `D`).
    pub abc: Vec<Tier>,
    /// HML tier per customer (`H`, `M`, `L`, `D`).
    pub hml: Vec<Tier>,
    /// The smallest share of customers, best first, that holds 80 % of the positive value
    /// (read on the whole curve, not the drawn points); `None` without positive value.
    pub customers_for_80_percent: Option<f64>,
    /// The Pareto curve, at most 201 points.
    pub pareto: Vec<ParetoPoint>,
    /// Totals per ABC tier (A, B, C, D).
    pub abc_summary: Vec<TierSummary>,
    /// Totals per HML tier (H, M, L, D).
    pub hml_summary: Vec<TierSummary>,
}

impl ValueTiers {
    /// The `value_tier` column (ABC).
    pub fn abc_column(&self) -> ColumnData {
        self.abc_column_of(0..self.abc.len())
    }

    /// The HML column.
    pub fn hml_column(&self) -> ColumnData {
        self.hml_column_of(0..self.hml.len())
    }

    /// The `contribution_share` column.
    pub fn share_column(&self) -> ColumnData {
        self.share_column_of(0..self.contribution_share.len())
    }

    /// Rows `rows` of the `value_tier` column (a table written a part at a time).
    pub fn abc_column_of(&self, rows: std::ops::Range<usize>) -> ColumnData {
        tier_column(&self.abc[rows])
    }

    /// Rows `rows` of the HML column.
    pub fn hml_column_of(&self, rows: std::ops::Range<usize>) -> ColumnData {
        tier_column(&self.hml[rows])
    }

    /// Rows `rows` of the `contribution_share` column.
    pub fn share_column_of(&self, rows: std::ops::Range<usize>) -> ColumnData {
        ColumnData::Float(self.contribution_share[rows].to_vec().into())
    }
}

/// Value tiers from the table's `cfg.column`.
pub fn value_tiers(table: &CustomerTable, cfg: &ValueTierConfig) -> Result<ValueTiers, GradeError> {
    let values = table
        .numbers(&cfg.column)
        .map_err(|e| GradeError::ValueTier(Note::new(e.zh(), e.to_string())))?;
    value_tiers_of(table.ids(), &values, cfg)
}

/// Value tiers from ids and values (same length).
pub fn value_tiers_of(
    ids: &Ids,
    values: &[Option<f64>],
    cfg: &ValueTierConfig,
) -> Result<ValueTiers, GradeError> {
    cfg.validate()?;
    if ids.len() != values.len() {
        let (i, v) = (ids.len(), values.len());
        return Err(GradeError::ValueTier(Note::new(
            format!("有 {i} 个 id，却有 {v} 个值"),
            format!("{i} ids but {v} values"),
        )));
    }
    let n = ids.len();
    let positive = |v: Option<f64>| v.filter(|x| x.is_finite() && *x > 0.0);
    let positives: Vec<(usize, f64)> = (0..n)
        .filter_map(|i| positive(values[i]).map(|v| (i, v)))
        .collect();
    let ranked = clientele_core::rank::largest_first(ids, &positives);
    let total: f64 = ranked.iter().map(|&i| values[i].unwrap_or(0.0)).sum();
    let contribution_share = values
        .iter()
        .map(|v| {
            v.filter(|x| x.is_finite())
                .map(|x| if total > 0.0 { x / total } else { 0.0 })
        })
        .collect();
    let mut abc = vec![Tier::D; n];
    let mut hml = vec![Tier::D; n];
    let np = ranked.len();
    let cut = |share: f64| ((share * np as f64) - 1e-9).ceil().max(0.0) as usize;
    let (h_end, m_end) = (cut(cfg.heavy), cut(cfg.heavy + cfg.medium));
    // The curve has a point per customer (n + 1 with the origin); only the drawn points and
    // the 80 % point are kept, taken as the running total passes them.
    let drawn = drawn_points(n + 1, PARETO_POINTS);
    let mut pareto = Vec::with_capacity(drawn.len());
    let mut next = drawn.iter().copied().peekable();
    let mut customers_for_80_percent = None;
    let mut point = |idx: usize, value: f64| {
        let p = ParetoPoint {
            customers: if idx == 0 { 0.0 } else { idx as f64 / n as f64 },
            value,
        };
        if customers_for_80_percent.is_none() && total > 0.0 && p.value >= 0.8 - 1e-12 {
            customers_for_80_percent = Some(p.customers);
        }
        if next.next_if_eq(&idx).is_some() {
            pareto.push(p);
        }
    };
    point(0, 0.0);
    let mut before = 0.0;
    for (k, &i) in ranked.iter().enumerate() {
        let share_before = before / total;
        abc[i] = if share_before < cfg.abc_a {
            Tier::A
        } else if share_before < cfg.abc_b {
            Tier::B
        } else {
            Tier::C
        };
        hml[i] = if k < h_end {
            Tier::H
        } else if k < m_end {
            Tier::M
        } else {
            Tier::L
        };
        before += values[i].unwrap_or(0.0);
        point(k + 1, before / total);
    }
    for k in np..n {
        point(k + 1, if total > 0.0 { 1.0 } else { 0.0 });
    }
    // customers and value per tier, each tier's value added in row order from -0.0, as an
    // iterator's `sum` adds them
    let (mut abc_sums, mut hml_sums) = ([(0usize, -0.0f64); 7], [(0usize, -0.0f64); 7]);
    for i in 0..n {
        let v = values[i].filter(|x| x.is_finite()).unwrap_or(0.0);
        for (sums, t) in [(&mut abc_sums, abc[i]), (&mut hml_sums, hml[i])] {
            let s = &mut sums[t as usize];
            (s.0, s.1) = (s.0 + 1, s.1 + v);
        }
    }
    let summary = |sums: &[(usize, f64); 7], labels: [Tier; 4]| {
        labels
            .iter()
            .map(|&t| {
                let (customers, value) = sums[t as usize];
                TierSummary {
                    tier: t.as_str().to_string(),
                    customers,
                    customer_share: if n > 0 {
                        customers as f64 / n as f64
                    } else {
                        0.0
                    },
                    value,
                    value_share: if total > 0.0 { value / total } else { 0.0 },
                }
            })
            .collect()
    };
    Ok(ValueTiers {
        column: String::new(),
        total_positive: total,
        contribution_share,
        abc_summary: summary(&abc_sums, [Tier::A, Tier::B, Tier::C, Tier::D]),
        hml_summary: summary(&hml_sums, [Tier::H, Tier::M, Tier::L, Tier::D]),
        abc,
        hml,
        customers_for_80_percent,
        pareto,
    })
    .map(|mut v| {
        v.column.clone_from(&cfg.column);
        v
    })
}

/// Tiers as a text column, labelled without hashing each customer's.
fn tier_column(tiers: &[Tier]) -> ColumnData {
    let labels = ALL_TIERS.map(Tier::as_str);
    ColumnData::Text(Texts::from_indices(
        &labels,
        tiers.iter().map(|&t| Some(t as usize)),
    ))
}

/// Every tier, by its number (`Tier as usize`).
const ALL_TIERS: [Tier; 7] = [
    Tier::A,
    Tier::B,
    Tier::C,
    Tier::H,
    Tier::M,
    Tier::L,
    Tier::D,
];

/// Points drawn of the Pareto curve.
const PARETO_POINTS: usize = 201;

/// The indices kept of a curve of `len` points: at most `max`, evenly spaced, first and last
/// included, ascending.
fn drawn_points(len: usize, max: usize) -> Vec<usize> {
    if len <= max || max < 2 {
        return (0..len).collect();
    }
    let last = len - 1;
    (0..max)
        .map(|j| (j * last + (max - 1) / 2) / (max - 1))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn s(t: &[Tier]) -> Vec<&'static str> {
        t.iter().map(|x| x.as_str()).collect()
    }

    fn ids(n: usize) -> Ids {
        (0..n).map(|i| format!("c{i:03}")).collect()
    }

    #[test]
    fn abc_and_hml_on_a_small_shop() {
        // values 50, 30, 10, 5, 5, 0, -3, NULL → total positive 100
        let v = [
            Some(50.0),
            Some(30.0),
            Some(10.0),
            Some(5.0),
            Some(5.0),
            Some(0.0),
            Some(-3.0),
            None,
        ];
        let t = value_tiers_of(&ids(8), &v, &ValueTierConfig::default()).unwrap();
        assert_eq!(t.total_positive, 100.0);
        // before-shares: 0, .5, .8, .9, .95 → A A B B C
        assert_eq!(s(&t.abc), ["A", "A", "B", "B", "C", "D", "D", "D"]);
        // 5 ranked: H = ceil(1) = 1, M up to ceil(2.5) = 3
        assert_eq!(s(&t.hml), ["H", "M", "M", "L", "L", "D", "D", "D"]);
        assert_eq!(t.contribution_share[0], Some(0.5));
        assert_eq!(t.contribution_share[6], Some(-0.03));
        assert_eq!(t.contribution_share[7], None);
        assert_eq!(t.pareto.len(), 9);
        // 50 + 30 of 100 by the best 2 of 8
        assert_eq!(t.customers_for_80_percent, Some(0.25));
        assert_eq!(
            t.pareto[2],
            ParetoPoint {
                customers: 0.25,
                value: 0.8
            }
        );
        assert_eq!(t.pareto[8].value, 1.0);
        let a = &t.abc_summary[0];
        assert_eq!((a.customers, a.value, a.value_share), (2, 80.0, 0.8));
        let d = &t.abc_summary[3];
        assert_eq!((d.customers, d.value), (3, -3.0));
    }

    #[test]
    fn ties_break_by_customer_id_whatever_the_row_order() {
        let v = vec![Some(10.0); 5];
        let i = ids(5);
        let t = value_tiers_of(&i, &v, &ValueTierConfig::default()).unwrap();
        assert_eq!(s(&t.hml), ["H", "M", "M", "L", "L"]);
        let rev_ids: Ids = i.iter().rev().collect();
        let r = value_tiers_of(&rev_ids, &v, &ValueTierConfig::default()).unwrap();
        assert_eq!(s(&r.hml), ["L", "L", "M", "M", "H"]);
    }

    #[test]
    fn degenerate_inputs_do_not_panic() {
        let cfg = ValueTierConfig::default();
        let t = value_tiers_of(&Ids::new(), &[], &cfg).unwrap();
        assert!(t.abc.is_empty());
        assert_eq!(
            t.pareto,
            [ParetoPoint {
                customers: 0.0,
                value: 0.0
            }]
        );
        let t = value_tiers_of(&ids(1), &[Some(7.0)], &cfg).unwrap();
        assert_eq!((t.abc[0], t.hml[0]), (Tier::A, Tier::H));
        let t = value_tiers_of(&ids(3), &[Some(0.0), None, Some(-1.0)], &cfg).unwrap();
        assert_eq!(s(&t.abc), ["D", "D", "D"]);
        assert_eq!(t.contribution_share, [Some(0.0), None, Some(0.0)]);
        assert!(t.pareto.iter().all(|p| p.value == 0.0));
    }

    #[test]
    fn pareto_is_downsampled_to_201_points() {
        let n = 10_000;
        let v: Vec<Option<f64>> = (0..n).map(|i| Some((n - i) as f64)).collect();
        let t = value_tiers_of(&ids(n), &v, &ValueTierConfig::default()).unwrap();
        assert_eq!(t.pareto.len(), 201);
        assert_eq!(t.pareto[0].customers, 0.0);
        assert_eq!(t.pareto[200].customers, 1.0);
        assert!(t.pareto.windows(2).all(|w| w[0].value <= w[1].value));
    }

    /// The whole curve, a point per customer, as the tiers were first read from it.
    fn whole_curve(t: &ValueTiers, values: &[Option<f64>]) -> Vec<ParetoPoint> {
        let n = values.len();
        let mut ranked: Vec<(f64, usize)> = (0..n)
            .filter_map(|i| {
                values[i]
                    .filter(|x| x.is_finite() && *x > 0.0)
                    .map(|v| (v, i))
            })
            .collect();
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        let mut curve = vec![ParetoPoint {
            customers: 0.0,
            value: 0.0,
        }];
        let mut before = 0.0;
        for (k, &(v, _)) in ranked.iter().enumerate() {
            before += v;
            curve.push(ParetoPoint {
                customers: (k + 1) as f64 / n as f64,
                value: before / t.total_positive,
            });
        }
        for k in ranked.len()..n {
            let value = if t.total_positive > 0.0 { 1.0 } else { 0.0 };
            curve.push(ParetoPoint {
                customers: (k + 1) as f64 / n as f64,
                value,
            });
        }
        curve
    }

    proptest! {
        #[test]
        fn drawn_points_and_the_80_percent_point_are_the_whole_curves(
            values in proptest::collection::vec(
                proptest::option::of(prop_oneof![Just(0.0), Just(5.0), -3.0..1e4f64]),
                0..700,
            )
        ) {
            let n = values.len();
            let t = value_tiers_of(&ids(n), &values, &ValueTierConfig::default()).unwrap();
            let curve = whole_curve(&t, &values);
            let want: Vec<ParetoPoint> = if curve.len() <= 201 {
                curve.clone()
            } else {
                let last = curve.len() - 1;
                (0..201).map(|j| curve[(j * last + 100) / 200]).collect()
            };
            prop_assert_eq!(&t.pareto, &want);
            let eighty = curve
                .iter()
                .find(|p| t.total_positive > 0.0 && p.value >= 0.8 - 1e-12)
                .map(|p| p.customers);
            prop_assert_eq!(t.customers_for_80_percent, eighty);
            for (summary, tiers) in [(&t.abc_summary, &t.abc), (&t.hml_summary, &t.hml)] {
                for s in summary {
                    let members: Vec<usize> =
                        (0..n).filter(|&i| tiers[i].as_str() == s.tier).collect();
                    let value: f64 = members
                        .iter()
                        .map(|&i| values[i].filter(|x| x.is_finite()).unwrap_or(0.0))
                        .sum();
                    prop_assert_eq!(s.customers, members.len());
                    prop_assert_eq!(s.value.to_bits(), value.to_bits());
                }
            }
        }
    }

    #[test]
    fn tier_columns_are_the_tiers_names() {
        for (k, t) in ALL_TIERS.iter().enumerate() {
            assert_eq!(*t as usize, k);
        }
        let tiers = [Tier::D, Tier::A, Tier::D, Tier::C];
        let want: Texts = tiers.iter().map(|t| Some(t.as_str())).collect();
        match tier_column(&tiers) {
            ColumnData::Text(got) => {
                assert_eq!(got.labels(), want.labels());
                assert_eq!(got, want);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bad_cut_offs_are_rejected() {
        let cfg = ValueTierConfig {
            abc_a: 0.95,
            abc_b: 0.8,
            ..ValueTierConfig::default()
        };
        assert_eq!(
            cfg.validate().unwrap_err().to_string(),
            "value tiers: abc_a = 0.95 and abc_b = 0.8 must satisfy 0 < abc_a < abc_b <= 1 (e.g. 0.8 and 0.95)"
        );
        let cfg = ValueTierConfig {
            heavy: 0.7,
            medium: 0.5,
            ..ValueTierConfig::default()
        };
        assert!(cfg.validate().is_err());
    }
}
