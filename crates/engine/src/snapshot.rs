//! Snapshots of an analysis (grades, scores, stage per customer) and the comparison of two,
//! for migration matrices, moved-customer lists and score drift between runs.

use clientele_core::columns as col;
use clientele_core::{ColumnData, Grouping};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clientele_lifecycle::{Comparison, Snapshot, Stage, compare};
use serde::{Deserialize, Serialize};

use crate::{Analysis, EngineError};

/// File name of the snapshot inside an output directory.
pub const SNAPSHOT_FILE: &str = "snapshot/snapshot.json";

/// The snapshot of an analysis: every grading scheme, RFM segment scheme, value tier and
/// cluster column, the R/F/M scores, lifecycle stages, thresholds, monetary value and the
/// underlying R/F/M metric values (for metric drift).
pub fn snapshot_of(a: &Analysis) -> Snapshot {
    let plan = Plan::of(a);
    let t = &a.customers;
    Snapshot {
        metrics: plan
            .metrics
            .iter()
            .filter_map(|c| Some((c.clone(), metric(t, c)?)))
            .collect(),
        as_of: a.summary.as_of,
        config_hash: a.summary.config_hash.clone(),
        customers: t.ids().to_vec(),
        schemes: plan
            .schemes
            .iter()
            .filter_map(|(key, c)| Some((key.clone(), grades(t, c)?)))
            .collect(),
        grade_order: plan.grade_order,
        scores: plan
            .scores
            .iter()
            .filter_map(|&(key, c)| Some((key.to_string(), scores(t, c)?)))
            .collect(),
        lifecycle: plan.lifecycle.then(|| stages(t)).flatten(),
        monetary: monetary(t),
    }
}

/// Which columns make a snapshot, from the summary and the table's column types (no column
/// read), so that [`snapshot_of`] and [`StreamedSnapshot`] take the same ones.
struct Plan {
    /// Scheme key → its column: grading schemes (with their grade order), then value tiers,
    /// clusters and RFM segments; a later column of the same key wins.
    schemes: BTreeMap<String, String>,
    grade_order: BTreeMap<String, Vec<String>>,
    /// Score key (`f`, `m`, `r`) → an integer column.
    scores: Vec<(&'static str, &'static str)>,
    lifecycle: bool,
    /// The metric columns of [`metrics_of`]'s choice that hold numbers, by name; a metric with a
    /// value missing for some customer is still left out, once read.
    metrics: std::collections::BTreeSet<String>,
}

impl Plan {
    fn of(a: &Analysis) -> Plan {
        let t = &a.customers;
        let types = t.column_types();
        let type_of = |name: &str| types.iter().find(|(n, _)| *n == name).map(|(_, ty)| *ty);
        let mut schemes = BTreeMap::new();
        let mut grade_order = BTreeMap::new();
        for g in &a.summary.grades {
            if type_of(&g.column) == Some("text") {
                schemes.insert(g.scheme.clone(), g.column.clone());
                grade_order.insert(
                    g.scheme.clone(),
                    g.grades.iter().map(|x| x.grade.clone()).collect(),
                );
            }
        }
        for &(column, ty) in &types {
            // grading schemes are taken above, with their grade order; lifecycle stages apart
            let key = match Grouping::of_column(column) {
                Some(g @ (Grouping::ValueTier | Grouping::Cluster | Grouping::Rfm(_))) => g.key(),
                _ => continue,
            };
            if ty == "text" {
                schemes.insert(key, column.to_string());
            }
        }
        let mut scores: Vec<(&'static str, &'static str)> = [
            ("r", col::R_SCORE),
            ("f", col::F_SCORE),
            ("m", col::M_SCORE),
        ]
        .into_iter()
        .filter(|(_, c)| type_of(c) == Some("int"))
        .collect();
        scores.sort_unstable();
        let (f, m) = a
            .summary
            .rfm
            .as_ref()
            .map_or((col::ORDERS, col::MONETARY), |r| {
                (
                    r.thresholds.frequency.column.as_str(),
                    r.thresholds.monetary.column.as_str(),
                )
            });
        let metrics = [col::RECENCY_DAYS, f, m]
            .into_iter()
            .filter(|c| matches!(type_of(c), Some("int" | "float" | "date")))
            .map(str::to_string)
            .collect();
        Plan {
            schemes,
            grade_order,
            scores,
            lifecycle: type_of(col::LIFECYCLE_STAGE) == Some("text"),
            metrics,
        }
    }
}

/// A grade column as a snapshot holds it (no grade: the empty one).
fn grades(t: &clientele_core::CustomerTable, column: &str) -> Option<clientele_core::Texts> {
    match t.read_once(column).as_deref() {
        Some(ColumnData::Text(v)) => Some(v.filled("")),
        _ => None,
    }
}

fn scores(t: &clientele_core::CustomerTable, column: &str) -> Option<Vec<u8>> {
    match t.read_once(column).as_deref() {
        Some(ColumnData::Int(v)) => Some(
            v.iter()
                .map(|s| s.unwrap_or(0).clamp(0, 255) as u8)
                .collect(),
        ),
        _ => None,
    }
}

fn stages(t: &clientele_core::CustomerTable) -> Option<Vec<Stage>> {
    match t.read_once(col::LIFECYCLE_STAGE).as_deref() {
        Some(ColumnData::Text(v)) => Some(
            v.iter()
                .map(|s| s.and_then(Stage::parse).unwrap_or(Stage::Active))
                .collect(),
        ),
        _ => None,
    }
}

fn monetary(t: &clientele_core::CustomerTable) -> Vec<f64> {
    match t.read_once(col::MONETARY).as_deref() {
        Some(ColumnData::Float(v)) => v.iter().map(|x| x.unwrap_or(0.0)).collect(),
        _ => Vec::new(),
    }
}

/// The metric values of every customer for metric drift: recency in days and the frequency and
/// monetary columns RFM scored with (`orders` and `monetary` by default). A metric with a
/// missing value for some customer is left out.
fn metric(t: &clientele_core::CustomerTable, column: &str) -> Option<Vec<f64>> {
    match t.read_once(column).as_deref() {
        Some(c @ (ColumnData::Int(_) | ColumnData::Float(_) | ColumnData::Date(_))) => (0..c.len())
            .map(|i| c.number(i).filter(|x| x.is_finite()))
            .collect(),
        _ => None,
    }
}

/// [`snapshot_file_of`] as it is written, without holding it: each column is read when its
/// turn comes and let go after it is written. Held whole, the snapshot of a table kept on disk
/// was every customer's labels at once (1.8 GB at 18M customers), so it was written after
/// `customers.parquet`; streamed it holds one column and is written alongside. The bytes are
/// those of [`snapshot_file_of`] serialized (tested).
pub(crate) struct StreamedSnapshot<'a>(pub &'a Analysis);

impl Serialize for StreamedSnapshot<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let a = self.0;
        let t = &a.customers;
        let plan = Plan::of(a);
        // the fields of `SnapshotFile` in order: the snapshot's (flattened), then thresholds
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("as_of", &a.summary.as_of)?;
        m.serialize_entry("config_hash", &a.summary.config_hash)?;
        m.serialize_entry("customers", t.ids())?;
        let each_scheme =
            || (plan.schemes.iter()).map(|(key, c)| (key, grades(t, c).map(CodedGrades)));
        m.serialize_entry("schemes", &Lazy(each_scheme))?;
        m.serialize_entry("grade_order", &plan.grade_order)?;
        let each_score = || plan.scores.iter().map(|&(key, c)| (key, scores(t, c)));
        m.serialize_entry("scores", &Lazy(each_score))?;
        m.serialize_entry("lifecycle", &plan.lifecycle.then(|| stages(t)).flatten())?;
        m.serialize_entry("monetary", &monetary(t))?;
        let each_metric = || plan.metrics.iter().map(|c| (c, metric(t, c)));
        m.serialize_entry("metrics", &Lazy(each_metric))?;
        m.serialize_entry(
            "thresholds",
            &RunThresholds {
                rfm: a.summary.rfm.as_ref().map(|r| r.thresholds.clone()),
            },
        )?;
        m.end()
    }
}

/// A map of a snapshot whose values are read one at a time as they are written: `entries`
/// gives each key with its value, or `None` to leave the key out.
struct Lazy<F>(F);

impl<F, I, K, V> Serialize for Lazy<F>
where
    F: Fn() -> I,
    I: Iterator<Item = (K, Option<V>)>,
    K: Serialize,
    V: Serialize,
{
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        for (key, value) in (self.0)() {
            if let Some(v) = value {
                m.serialize_entry(&key, &v)?;
            }
        }
        m.end()
    }
}

/// A scheme's grades, coded as a snapshot file holds them.
struct CodedGrades(clientele_core::Texts);

impl Serialize for CodedGrades {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        clientele_lifecycle::Coded(&self.0).serialize(s)
    }
}

/// A snapshot as written to `snapshot/snapshot.json`: the per-customer grades a comparison
/// reads, and the thresholds the run scored with (to score a later run the same way).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotFile {
    /// Grades, scores and stages per customer.
    #[serde(flatten)]
    pub snapshot: Snapshot,
    /// The thresholds of the run.
    #[serde(default)]
    pub thresholds: RunThresholds,
}

/// The thresholds a run scored with.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunThresholds {
    /// RFM cut points (absent when RFM did not run).
    pub rfm: Option<clientele_rfm::Thresholds>,
}

/// The snapshot file of an analysis.
pub fn snapshot_file_of(a: &Analysis) -> SnapshotFile {
    SnapshotFile {
        snapshot: snapshot_of(a),
        thresholds: RunThresholds {
            rfm: a.summary.rfm.as_ref().map(|r| r.thresholds.clone()),
        },
    }
}

/// Reads a snapshot from a file or from an output directory containing one.
pub fn read_snapshot(path: &Path) -> Result<Snapshot, EngineError> {
    let file: PathBuf = if path.is_dir() {
        path.join(SNAPSHOT_FILE)
    } else {
        path.to_path_buf()
    };
    let text = std::fs::read_to_string(&file).map_err(|e| EngineError::io(&file, e))?;
    serde_json::from_str::<SnapshotFile>(&text)
        .map(|f| f.snapshot)
        .map_err(|e| EngineError::Output {
            path: file.clone(),
            reason: format!("not a clientele snapshot: {e}"),
        })
}

/// Compares two snapshots (old first).
pub fn compare_snapshots(old: &Snapshot, new: &Snapshot) -> Result<Comparison, EngineError> {
    compare(old, new).map_err(EngineError::Compare)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synthetic::{ShopSpec, generate};
    use crate::{AnalyzeOptions, Config, NoProgress, analyze};

    fn shop_config(dir: &Path, customers: u64, days: u32) -> Config {
        let mut spec = ShopSpec::new(customers, 5);
        spec.days = days;
        let shop = generate(&spec, &dir.join("shop"), &|_| {}).unwrap();
        let mut config = Config::default();
        config.source.transactions = vec![shop.transactions];
        config.clv.enabled = false;
        config
    }

    #[test]
    fn the_streamed_snapshot_is_the_snapshot_file_to_the_byte() {
        let dir = tempfile::tempdir().unwrap();
        let config = shop_config(dir.path(), 600, 400);
        // with everything a snapshot holds (CLV off keeps the test quick)
        let a = analyze(&config, &AnalyzeOptions::default(), &NoProgress).unwrap();
        assert!(a.summary.rfm.is_some() && !a.summary.grades.is_empty());
        let whole = snapshot_file_of(&a);
        assert!(whole.snapshot.lifecycle.is_some() && whole.snapshot.scores.len() == 3);
        assert_eq!(whole.snapshot.metrics.len(), 3);
        let streamed = serde_json::to_string(&StreamedSnapshot(&a)).unwrap();
        assert_eq!(streamed, serde_json::to_string(&whole).unwrap());
        // columns of other types, and a metric with a value missing: left out, null or
        // zero as the file has them
        let mut a = a;
        let n = a.customers.len();
        let t = &mut a.customers;
        t.set(
            col::LIFECYCLE_STAGE,
            ColumnData::Float(vec![Some(1.0); n].into()),
        )
        .unwrap();
        t.set(col::R_SCORE, ColumnData::Text(vec![Some("5"); n].into()))
            .unwrap();
        let mut money: Vec<Option<f64>> = vec![Some(12.5); n];
        money[n / 2] = None;
        t.set(col::MONETARY, ColumnData::Float(money.into()))
            .unwrap();
        let whole = snapshot_file_of(&a);
        assert!(whole.snapshot.lifecycle.is_none() && !whole.snapshot.scores.contains_key("r"));
        assert_eq!(whole.snapshot.metrics.len(), 2);
        let streamed = serde_json::to_string(&StreamedSnapshot(&a)).unwrap();
        assert_eq!(streamed, serde_json::to_string(&whole).unwrap());
    }

    #[test]
    fn history_keeps_the_cluster_labels_and_names_of_the_latest_run() {
        let dir = tempfile::tempdir().unwrap();
        let config = shop_config(dir.path(), 800, 150);
        let opts = AnalyzeOptions {
            history_monthly: true,
            ..AnalyzeOptions::default()
        };
        let a = analyze(&config, &opts, &NoProgress).unwrap();
        let latest = a.summary.clusters.done().unwrap();
        let named: Vec<String> = latest
            .profiles
            .iter()
            .map(|p| format!("{}: {}", p.label, p.name_zh))
            .collect();
        let key = Grouping::Cluster.key();
        assert_eq!(
            snapshot_of(&a).schemes[&key]
                .iter()
                .flatten()
                .collect::<std::collections::BTreeSet<_>>()
                .len(),
            latest.model.k
        );
        assert!(a.history_snapshots.len() >= 3);
        for h in &a.history_snapshots {
            let labels: Vec<String> = h.snapshot.schemes[&key]
                .iter()
                .map(|l| l.unwrap_or_default().to_string())
                .collect();
            assert!(
                labels.iter().all(|l| named.contains(l)),
                "{}: {:?} not among {named:?}",
                h.snapshot.as_of,
                labels.iter().find(|l| !named.contains(l))
            );
        }
        // and the sizes over time use those names only
        for p in &a.summary.history {
            for name in p.sizes[&key].keys() {
                assert!(named.contains(name), "{name}");
            }
        }
    }

    #[test]
    fn snapshots_carry_the_metrics_and_a_comparison_leads_with_their_drift() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = shop_config(dir.path(), 600, 240);
        config.cluster.enabled = false;
        let new = analyze(&config, &AnalyzeOptions::default(), &NoProgress).unwrap();
        let end = new.summary.as_of;
        config.time.as_of = Some(clientele_core::Day(end.0 - 60));
        let old = analyze(&config, &AnalyzeOptions::default(), &NoProgress).unwrap();
        let (os, ns) = (snapshot_file_of(&old), snapshot_file_of(&new));
        let keys: Vec<&str> = ns.snapshot.metrics.keys().map(String::as_str).collect();
        assert_eq!(keys, ["monetary", "orders", "recency_days"]);
        let recency = new.customers.ints(col::RECENCY_DAYS).unwrap();
        assert_eq!(
            ns.snapshot.metrics["recency_days"],
            recency
                .iter()
                .map(|x| x.unwrap() as f64)
                .collect::<Vec<_>>()
        );
        // through the file, as `--previous` reads it
        let path = dir.path().join("snapshot.json");
        std::fs::write(&path, serde_json::to_string(&os).unwrap()).unwrap();
        let back = read_snapshot(&path).unwrap();
        assert_eq!(back.metrics, os.snapshot.metrics);
        let c = compare_snapshots(&back, &ns.snapshot).unwrap();
        let names: Vec<&str> = c.metrics.iter().map(|m| m.metric.as_str()).collect();
        assert_eq!(names, ["recency_days", "orders", "monetary"]);
        // two months on, the customer base has aged: recency drifts, quantile scores barely do
        let r = &c.metrics[0];
        assert!(r.new_median > r.old_median, "{r:?}");
        assert!(r.drift.psi.unwrap() > 0.0);
        let r_score = c.scores.iter().find(|d| d.name == "r").unwrap();
        assert!(r.drift.psi.unwrap() > r_score.psi.unwrap());
        // a snapshot file from before metric values existed still reads, with no metric drift
        let mut v = serde_json::to_value(&os).unwrap();
        v.as_object_mut().unwrap().remove("metrics");
        std::fs::write(&path, v.to_string()).unwrap();
        let legacy = read_snapshot(&path).unwrap();
        assert!(legacy.metrics.is_empty());
        let c = compare_snapshots(&legacy, &ns.snapshot).unwrap();
        assert!(c.metrics.is_empty() && !c.scores.is_empty());
    }
}
