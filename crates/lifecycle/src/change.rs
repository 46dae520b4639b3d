//! Change between two runs: [`Snapshot`]s of grades, scores, stages and the underlying metrics,
//! and [`compare`], which gives migration matrices (who went from which grade to which), the
//! customers who moved, and drift as PSI (research/segmentation.md §7.3: < 0.1 stable,
//! 0.1–0.25 moderate, > 0.25 significant).
//!
//! The headline drift is that of the **metrics** ([`MetricDrift`]: recency in days, frequency,
//! monetary), binned at the old run's deciles: it says whether the customers themselves changed.
//! Score drift is kept, but quantile scores are re-cut on every run so that each level holds
//! about a fifth of the customers whatever happened: their PSI is close to 0 by construction
//! and says little about the customers.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use clientele_core::{Day, Texts};
use serde::{Deserialize, Serialize};

use crate::error::{LifecycleError, Side};
use crate::stage::Stage;

/// Row label for customers that are in the new snapshot only.
pub const NEW_CUSTOMER: &str = "(new customer)";
/// Column label for customers that are in the old snapshot only.
pub const GONE: &str = "(gone)";
/// Share used in place of 0 for an empty bin in PSI, whose log term is otherwise infinite.
/// 0.0001 as in common scorecard practice: an empty bin then adds a bounded, still visible term.
pub const PSI_EPSILON: f64 = 1e-4;

/// What one run leaves behind for later comparison. Per-customer columns are aligned with
/// `customers`. A snapshot file may carry more (the thresholds a run scored with, which only
/// the engine knows the type of); such keys are ignored here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Snapshot {
    /// The run's as-of day.
    pub as_of: Day,
    /// Hash of the config that made the run; only runs with equal hashes are comparable.
    pub config_hash: String,
    /// Customer ids, distinct.
    pub customers: Vec<String>,
    /// Scheme name → grade of each customer (written coded: see `coded.rs`).
    #[serde(default, with = "crate::coded")]
    #[cfg_attr(feature = "schema", schemars(with = "BTreeMap<String, Vec<String>>"))]
    pub schemes: BTreeMap<String, Texts>,
    /// Scheme name → display order of its grades (optional; other grades follow, sorted).
    #[serde(default)]
    pub grade_order: BTreeMap<String, Vec<String>>,
    /// Score name (`r`, `f`, `m`) → score of each customer.
    #[serde(default)]
    pub scores: BTreeMap<String, Vec<u8>>,
    /// Lifecycle stage of each customer, if stages were computed.
    #[serde(default)]
    pub lifecycle: Option<Vec<Stage>>,
    /// Monetary value of each customer.
    pub monetary: Vec<f64>,
    /// Metric column (`recency_days`, `orders`, `monetary`, as the run scored RFM with) → value
    /// of each customer, for [`MetricDrift`]. Empty in snapshots written before it existed; such
    /// a comparison has score drift only.
    #[serde(default)]
    pub metrics: BTreeMap<String, Vec<f64>>,
}

impl Snapshot {
    /// Checks that every column has one value per customer, ids are distinct and money finite.
    pub fn validate(&self, side: Side) -> Result<(), LifecycleError> {
        let n = self.customers.len();
        let bad = |message: String| Err(LifecycleError::BadSnapshot { side, message });
        let check = |what: String, len: usize| {
            if len == n {
                Ok(())
            } else {
                bad(format!("{what} has {len} values for {n} customers"))
            }
        };
        check("monetary".to_string(), self.monetary.len())?;
        for (name, g) in &self.schemes {
            check(format!("scheme `{name}`"), g.len())?;
        }
        for (name, s) in &self.scores {
            check(format!("score `{name}`"), s.len())?;
        }
        for (name, v) in &self.metrics {
            check(format!("metric `{name}`"), v.len())?;
            if let Some((i, x)) = v.iter().enumerate().find(|(_, x)| !x.is_finite()) {
                return bad(format!(
                    "metric `{name}` of customer `{}` is {x}",
                    self.customers[i]
                ));
            }
        }
        if let Some(l) = &self.lifecycle {
            check("lifecycle".to_string(), l.len())?;
        }
        let mut seen = HashMap::with_capacity(n);
        for (i, id) in self.customers.iter().enumerate() {
            if let Some(j) = seen.insert(id.as_str(), i) {
                return bad(format!("customer `{id}` appears twice (rows {j} and {i})"));
            }
        }
        if let Some((i, m)) = self
            .monetary
            .iter()
            .enumerate()
            .find(|(_, m)| !m.is_finite())
        {
            return bad(format!(
                "monetary of customer `{}` is {m}",
                self.customers[i]
            ));
        }
        Ok(())
    }
}

/// Customers that went from one grade to another.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Move {
    /// Old grade, or [`NEW_CUSTOMER`].
    pub from: String,
    /// New grade, or [`GONE`].
    pub to: String,
    /// How many customers moved.
    pub count: u64,
    /// Their ids, sorted; empty in a summary, which keeps counts only
    /// ([`Comparison::without_customer_lists`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub customers: Vec<String>,
}

/// Migration matrix of one scheme (or of the lifecycle stages) between two snapshots.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Migration {
    /// Scheme name, or `lifecycle`.
    pub name: String,
    /// Row labels: the grades, then [`NEW_CUSTOMER`].
    pub rows: Vec<String>,
    /// Column labels: the same grades, then [`GONE`].
    pub columns: Vec<String>,
    /// `counts[i][j]`: customers from row grade i to column grade j. Row i sums to the old
    /// count of grade i (the last row: customers new in this run); column j to the new count of
    /// grade j (the last column: customers gone).
    pub counts: Vec<Vec<u64>>,
    /// Monetary of the customers in each cell, from the new snapshot; in the [`GONE`] column,
    /// which has no new value, from the old snapshot (the value that left).
    pub revenue: Vec<Vec<f64>>,
    /// Customers in the same grade in both snapshots.
    pub stayed: u64,
    /// Customers in both snapshots with a different grade.
    pub moved: u64,
    /// `moved / (stayed + moved)`; `None` when no customer is in both snapshots.
    pub moved_share: Option<f64>,
    /// Off-diagonal cells with their customers, row by row (including new and gone customers).
    pub moves: Vec<Move>,
    /// Drift of the grade shares (customers in each snapshot).
    pub drift: Drift,
}

/// How large a PSI is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum DriftBand {
    /// PSI < 0.1.
    Stable,
    /// 0.1 ≤ PSI ≤ 0.25.
    Moderate,
    /// PSI > 0.25.
    Significant,
}

impl DriftBand {
    /// The band of a PSI value.
    pub fn of(psi: f64) -> DriftBand {
        if psi < 0.1 {
            DriftBand::Stable
        } else if psi <= 0.25 {
            DriftBand::Moderate
        } else {
            DriftBand::Significant
        }
    }
}

/// One level of a distribution in both snapshots.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct DriftBin {
    /// The level (a score or a grade).
    pub level: String,
    /// Customers at this level in the old snapshot.
    pub old_count: u64,
    /// Customers at this level in the new snapshot.
    pub new_count: u64,
    /// Share in the old snapshot.
    pub old_share: f64,
    /// Share in the new snapshot.
    pub new_share: f64,
    /// This bin's term of the PSI.
    pub psi: f64,
}

/// Population stability of one distribution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Drift {
    /// Score or scheme name.
    pub name: String,
    /// One bin per level seen in either snapshot.
    pub bins: Vec<DriftBin>,
    /// Σ (new − old) · ln(new / old) over bins; `None` when either snapshot is empty.
    pub psi: Option<f64>,
    /// Band of `psi`.
    pub band: Option<DriftBand>,
}

/// Drift of one underlying metric: both runs' customers binned at the old run's deciles.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct MetricDrift {
    /// Metric column: `recency_days`, `orders` (or `purchase_days`), `monetary` (or
    /// `avg_order_value`).
    pub metric: String,
    /// Bin edges: the distinct deciles of the old run's values (each a value some old customer
    /// has). The bins are `≤ c₁`, `(c₁, c₂]`, …, `> cₖ`; equal values stay in one bin, so a
    /// metric with many ties (orders) has fewer than ten bins.
    pub cuts: Vec<f64>,
    /// Median in the old run.
    pub old_median: f64,
    /// Median in the new run.
    pub new_median: f64,
    /// Old and new customers per bin (levels `≤ 12`, `(12, 40]`, `> 400`), PSI and band.
    pub drift: Drift,
}

/// The result of [`compare`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Comparison {
    /// As-of of the old snapshot.
    pub old_as_of: Day,
    /// As-of of the new snapshot.
    pub new_as_of: Day,
    /// Customers in the old snapshot.
    pub old_customers: u64,
    /// Customers in the new snapshot.
    pub new_customers: u64,
    /// Customers in both.
    pub in_both: u64,
    /// Customers only in the new snapshot.
    pub appeared: u64,
    /// Customers only in the old snapshot.
    pub gone: u64,
    /// One migration per scheme, by scheme name.
    pub schemes: Vec<Migration>,
    /// Migration of lifecycle stages, when both snapshots have them.
    pub lifecycle: Option<Migration>,
    /// Drift of each score distribution, by score name. Quantile scores are re-cut on every
    /// run, so this is close to 0 by construction; [`Comparison::metrics`] is the headline.
    pub scores: Vec<Drift>,
    /// Drift of the underlying metrics (recency, frequency, monetary), binned at the old run's
    /// deciles: the headline drift. Empty when the old snapshot predates metric values.
    #[serde(default)]
    pub metrics: Vec<MetricDrift>,
}

impl Comparison {
    /// The comparison with every move's customer list dropped (the counts stay): what a run's
    /// summary carries, while the lists go to a file of their own.
    pub fn without_customer_lists(&self) -> Comparison {
        let mut c = self.clone();
        for m in c.schemes.iter_mut().chain(c.lifecycle.iter_mut()) {
            for mv in &mut m.moves {
                mv.customers = Vec::new();
            }
        }
        c
    }
}

/// PSI of two count vectors over the same bins: Σ (q − p) · ln(q / p) with p, q the old and new
/// shares, an empty bin's share replaced by [`PSI_EPSILON`]. `None` when either side has no
/// customers.
pub fn psi(old: &[u64], new: &[u64]) -> Option<f64> {
    Some(psi_terms(old, new)?.iter().sum())
}

fn psi_terms(old: &[u64], new: &[u64]) -> Option<Vec<f64>> {
    let (to, tn) = (old.iter().sum::<u64>(), new.iter().sum::<u64>());
    if to == 0 || tn == 0 {
        return None;
    }
    Some(
        old.iter()
            .zip(new)
            .map(|(&o, &n)| {
                let p = (o as f64 / to as f64).max(PSI_EPSILON);
                let q = (n as f64 / tn as f64).max(PSI_EPSILON);
                (q - p) * (q / p).ln()
            })
            .collect(),
    )
}

fn drift(name: &str, levels: &[String], old: &[u64], new: &[u64]) -> Drift {
    let (to, tn) = (old.iter().sum::<u64>(), new.iter().sum::<u64>());
    let share = |c: u64, t: u64| if t == 0 { 0.0 } else { c as f64 / t as f64 };
    let terms = psi_terms(old, new);
    let psi = terms.as_ref().map(|t| t.iter().sum::<f64>());
    Drift {
        name: name.to_string(),
        bins: levels
            .iter()
            .enumerate()
            .map(|(i, l)| DriftBin {
                level: l.clone(),
                old_count: old[i],
                new_count: new[i],
                old_share: share(old[i], to),
                new_share: share(new[i], tn),
                psi: terms.as_ref().map_or(0.0, |t| t[i]),
            })
            .collect(),
        psi,
        band: psi.map(DriftBand::of),
    }
}

/// A cut point or median for a bin label: at most 2 decimals, trailing zeros dropped.
fn short(x: f64) -> String {
    let s = format!("{x:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".to_string()
    } else {
        s.to_string()
    }
}

/// Median of sorted values (mean of the middle two for an even count); 0 when empty.
fn median_sorted(v: &[f64]) -> f64 {
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// Bin edges at the distinct deciles of sorted values: for j = 1..9 the smallest value at or
/// below which at least j tenths of the customers lie (the inverse of the empirical distribution,
/// so every edge is a value some customer has and no bin is empty in the old run).
fn decile_cuts(sorted: &[f64]) -> Vec<f64> {
    let n = sorted.len();
    let mut cuts: Vec<f64> = Vec::with_capacity(9);
    for j in 1..10 {
        // ⌈n·j/10⌉ − 1 in integers, so 10 · 0.3 cannot round up to the next customer
        let Some(&c) = (n * j)
            .div_ceil(10)
            .checked_sub(1)
            .and_then(|i| sorted.get(i))
        else {
            continue;
        };
        if cuts.last() != Some(&c) {
            cuts.push(c);
        }
    }
    cuts
}

/// Drift of one metric between the old and new values, at the old values' deciles.
fn metric_drift(metric: &str, old: &[f64], new: &[f64]) -> MetricDrift {
    let sort = |v: &[f64]| {
        let mut s = v.to_vec();
        s.sort_unstable_by(f64::total_cmp);
        s
    };
    let (os, ns) = (sort(old), sort(new));
    let cuts = decile_cuts(&os);
    // customers per bin: (c_{i-1}, c_i], values equal to a cut point in the lower bin
    let counts = |sorted: &[f64]| -> Vec<u64> {
        let mut below = 0;
        let mut out: Vec<u64> = cuts
            .iter()
            .map(|&c| {
                let at = sorted.partition_point(|&x| x <= c);
                let n = (at - below) as u64;
                below = at;
                n
            })
            .collect();
        out.push((sorted.len() - below) as u64);
        out
    };
    let mut levels: Vec<String> = Vec::with_capacity(cuts.len() + 1);
    for (i, c) in cuts.iter().enumerate() {
        levels.push(match i {
            0 => format!("≤ {}", short(*c)),
            _ => format!("({}, {}]", short(cuts[i - 1]), short(*c)),
        });
    }
    levels.push(match cuts.last() {
        Some(c) => format!("> {}", short(*c)),
        None => "all".to_string(),
    });
    MetricDrift {
        metric: metric.to_string(),
        drift: drift(metric, &levels, &counts(&os), &counts(&ns)),
        old_median: median_sorted(&os),
        new_median: median_sorted(&ns),
        cuts,
    }
}

/// The metrics both snapshots carry, in RFM order (recency, frequency, monetary), then the rest.
fn metric_drifts(old: &Snapshot, new: &Snapshot) -> Vec<MetricDrift> {
    const ORDER: [&str; 5] = [
        "recency_days",
        "orders",
        "purchase_days",
        "monetary",
        "avg_order_value",
    ];
    let rank = |m: &str| ORDER.iter().position(|o| *o == m).unwrap_or(ORDER.len());
    let mut names: Vec<&String> = old
        .metrics
        .keys()
        .filter(|m| new.metrics.contains_key(*m))
        .collect();
    names.sort_by_key(|m| (rank(m), m.as_str()));
    names
        .into_iter()
        .map(|m| metric_drift(m, &old.metrics[m], &new.metrics[m]))
        .collect()
}

/// First name present on one side only, as an error.
fn same_keys<'a>(
    kind: &'static str,
    old: impl Iterator<Item = &'a String>,
    new: impl Iterator<Item = &'a String>,
) -> Result<(), LifecycleError> {
    let old: BTreeSet<&String> = old.collect();
    let new: BTreeSet<&String> = new.collect();
    if let Some(name) = old.difference(&new).next() {
        return Err(LifecycleError::OnlyIn {
            kind,
            name: (*name).clone(),
            side: Side::Old,
        });
    }
    if let Some(name) = new.difference(&old).next() {
        return Err(LifecycleError::OnlyIn {
            kind,
            name: (*name).clone(),
            side: Side::New,
        });
    }
    Ok(())
}

/// Who is where in both snapshots.
struct Matching<'a> {
    old: &'a Snapshot,
    new: &'a Snapshot,
    /// For each new customer, its row in the old snapshot.
    new_to_old: Vec<Option<usize>>,
    /// For each old customer, whether it is in the new snapshot.
    old_kept: Vec<bool>,
}

impl Matching<'_> {
    /// Migration over label indices `old_label[i]`, `new_label[j]` into `labels`.
    fn migration(
        &self,
        name: &str,
        labels: Vec<String>,
        old_label: &[usize],
        new_label: &[usize],
    ) -> Migration {
        let g = labels.len();
        let (nr, nc) = (g + 1, g + 1);
        let mut counts = vec![vec![0u64; nc]; nr];
        let mut revenue = vec![vec![0.0f64; nc]; nr];
        let mut members: Vec<Vec<Vec<&str>>> = vec![vec![Vec::new(); nc]; nr];
        for (j, id) in self.new.customers.iter().enumerate() {
            let r = self.new_to_old[j].map_or(g, |i| old_label[i]);
            let c = new_label[j];
            counts[r][c] += 1;
            revenue[r][c] += self.new.monetary[j];
            members[r][c].push(id);
        }
        for (i, id) in self.old.customers.iter().enumerate() {
            if !self.old_kept[i] {
                let r = old_label[i];
                counts[r][g] += 1;
                revenue[r][g] += self.old.monetary[i];
                members[r][g].push(id);
            }
        }
        let stayed: u64 = (0..g).map(|k| counts[k][k]).sum();
        let in_both: u64 = counts[..g]
            .iter()
            .map(|row| row[..g].iter().sum::<u64>())
            .sum();
        let mut rows = labels.clone();
        rows.push(NEW_CUSTOMER.to_string());
        let mut columns = labels.clone();
        columns.push(GONE.to_string());
        let mut moves = Vec::new();
        for (r, row) in members.into_iter().enumerate() {
            for (c, mut ids) in row.into_iter().enumerate() {
                if r != c && !ids.is_empty() {
                    ids.sort_unstable();
                    moves.push(Move {
                        from: rows[r].clone(),
                        to: columns[c].clone(),
                        count: ids.len() as u64,
                        customers: ids.into_iter().map(str::to_string).collect(),
                    });
                }
            }
        }
        let old_counts: Vec<u64> = counts[..g].iter().map(|row| row.iter().sum()).collect();
        let new_counts: Vec<u64> = (0..g)
            .map(|c| counts.iter().map(|row| row[c]).sum())
            .collect();
        Migration {
            name: name.to_string(),
            drift: drift(name, &labels, &old_counts, &new_counts),
            rows,
            columns,
            counts,
            revenue,
            stayed,
            moved: in_both - stayed,
            moved_share: (in_both > 0).then(|| (in_both - stayed) as f64 / in_both as f64),
            moves,
        }
    }
}

/// Labels in display order: `order` first, then every other grade seen, sorted.
fn labels_for(order: &[&Vec<String>], old: &Texts, new: &Texts) -> Vec<String> {
    let mut labels: Vec<String> = Vec::new();
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    for o in order {
        for l in o.iter() {
            if seen.insert(l) {
                labels.push(l.clone());
            }
        }
    }
    // the grades some customer holds, by label: not every row's text
    let used = |t: &'_ Texts| -> Vec<String> {
        t.labels()
            .iter()
            .zip(t.counts())
            .filter(|(_, n)| *n > 0)
            .map(|(l, _)| l.clone())
            .collect()
    };
    let (o, n) = (used(old), used(new));
    let rest: BTreeSet<&String> = o
        .iter()
        .chain(&n)
        .filter(|l| !seen.contains(l.as_str()))
        .collect();
    labels.extend(rest.into_iter().cloned());
    labels
}

fn label_indices(labels: &[String], values: &Texts) -> Vec<usize> {
    let ix: HashMap<&str, usize> = labels
        .iter()
        .enumerate()
        .map(|(i, l)| (l.as_str(), i))
        .collect();
    // one lookup per label, not per customer; every used label is among `labels` by
    // construction of `labels_for`, and a snapshot has no missing grade
    let of_label: Vec<usize> = values
        .labels()
        .iter()
        .map(|l| ix.get(l.as_str()).copied().unwrap_or(0))
        .collect();
    (0..values.len())
        .map(|i| values.code(i).map_or(0, |c| of_label[c as usize]))
        .collect()
}

/// Compares two snapshots of runs made with the same config: migration per scheme and for the
/// lifecycle stages, and PSI drift per score. Errors name what differs between the snapshots.
pub fn compare(old: &Snapshot, new: &Snapshot) -> Result<Comparison, LifecycleError> {
    old.validate(Side::Old)?;
    new.validate(Side::New)?;
    if old.config_hash != new.config_hash {
        return Err(LifecycleError::ConfigMismatch {
            old: old.config_hash.clone(),
            new: new.config_hash.clone(),
        });
    }
    same_keys("scheme", old.schemes.keys(), new.schemes.keys())?;
    match (&old.lifecycle, &new.lifecycle) {
        (Some(_), None) => return Err(LifecycleError::LifecycleOnlyIn(Side::Old)),
        (None, Some(_)) => return Err(LifecycleError::LifecycleOnlyIn(Side::New)),
        _ => {}
    }
    same_keys("score", old.scores.keys(), new.scores.keys())?;
    if old.as_of > new.as_of {
        return Err(LifecycleError::SnapshotOrder {
            old: old.as_of,
            new: new.as_of,
        });
    }

    let old_ix: HashMap<&str, usize> = old
        .customers
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
        .collect();
    let new_to_old: Vec<Option<usize>> = new
        .customers
        .iter()
        .map(|id| old_ix.get(id.as_str()).copied())
        .collect();
    let mut old_kept = vec![false; old.customers.len()];
    for &i in new_to_old.iter().flatten() {
        old_kept[i] = true;
    }
    let in_both = old_kept.iter().filter(|&&k| k).count() as u64;
    let m = Matching {
        old,
        new,
        new_to_old,
        old_kept,
    };

    let schemes = old
        .schemes
        .iter()
        .filter_map(|(name, og)| new.schemes.get(name).map(|ng| (name, og, ng)))
        .map(|(name, og, ng)| {
            let order: Vec<&Vec<String>> = [new.grade_order.get(name), old.grade_order.get(name)]
                .into_iter()
                .flatten()
                .collect();
            let labels = labels_for(&order, og, ng);
            let (ol, nl) = (label_indices(&labels, og), label_indices(&labels, ng));
            m.migration(name, labels, &ol, &nl)
        })
        .collect();

    let lifecycle = match (&old.lifecycle, &new.lifecycle) {
        (Some(os), Some(ns)) => {
            let labels = Stage::ALL.iter().map(|s| s.id().to_string()).collect();
            let ol: Vec<usize> = os.iter().map(|s| s.index()).collect();
            let nl: Vec<usize> = ns.iter().map(|s| s.index()).collect();
            Some(m.migration("lifecycle", labels, &ol, &nl))
        }
        _ => None,
    };

    let scores = old
        .scores
        .iter()
        .filter_map(|(name, os)| new.scores.get(name).map(|ns| (name, os, ns)))
        .map(|(name, os, ns)| {
            let mut oc = [0u64; 256];
            let mut nc = [0u64; 256];
            for &s in os {
                oc[usize::from(s)] += 1;
            }
            for &s in ns {
                nc[usize::from(s)] += 1;
            }
            let used: Vec<usize> = (0..256).filter(|&l| oc[l] + nc[l] > 0).collect();
            let levels: Vec<String> = used.iter().map(|l| l.to_string()).collect();
            let o: Vec<u64> = used.iter().map(|&l| oc[l]).collect();
            let n: Vec<u64> = used.iter().map(|&l| nc[l]).collect();
            drift(name, &levels, &o, &n)
        })
        .collect();

    Ok(Comparison {
        metrics: metric_drifts(old, new),
        old_as_of: old.as_of,
        new_as_of: new.as_of,
        old_customers: old.customers.len() as u64,
        new_customers: new.customers.len() as u64,
        in_both,
        appeared: new.customers.len() as u64 - in_both,
        gone: old.customers.len() as u64 - in_both,
        schemes,
        lifecycle,
        scores,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deciles_of_tied_counts_collapse_to_distinct_bins() {
        // half the customers bought once: the first five deciles are all 1
        let mut v = vec![1.0; 50];
        v.extend((0..50).map(|i| f64::from(2 + i / 10)));
        assert_eq!(decile_cuts(&v), [1.0, 2.0, 3.0, 4.0, 5.0]);
        assert!(decile_cuts(&[]).is_empty());
        assert_eq!(decile_cuts(&[7.0, 7.0]), [7.0]);
    }

    #[test]
    fn metric_drift_bins_both_runs_at_the_old_deciles() {
        let old: Vec<f64> = (1..=100).map(f64::from).collect();
        // the same customers 30 days later, none bought again: recency shifted by 30 days
        let new: Vec<f64> = old.iter().map(|x| x + 30.0).collect();
        let d = metric_drift("recency_days", &old, &new);
        assert_eq!(d.cuts.len(), 9);
        assert_eq!(d.drift.bins.len(), 10);
        assert!(d.drift.bins.iter().all(|b| b.old_count == 10));
        assert_eq!(
            d.cuts,
            [10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0]
        );
        assert_eq!(d.drift.bins[0].level, "≤ 10");
        assert_eq!(d.drift.bins[1].level, "(10, 20]");
        assert_eq!(d.drift.bins[9].level, "> 90");
        assert_eq!(d.drift.bins[9].new_count, 40);
        assert_eq!((d.old_median, d.new_median), (50.5, 80.5));
        assert_eq!(d.drift.band, Some(DriftBand::Significant));
        // no change, no drift
        let same = metric_drift("recency_days", &old, &old);
        assert_eq!(same.drift.psi, Some(0.0));
        assert_eq!(same.drift.band, Some(DriftBand::Stable));
    }
}
