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
    let t = &a.customers;
    // each column read once and let go: a table kept on disk does not keep them
    let texts = |name: &str| match t.read_once(name).as_deref() {
        Some(ColumnData::Text(v)) => Some(v.filled("")),
        _ => None,
    };
    let mut schemes = BTreeMap::new();
    let mut grade_order = BTreeMap::new();
    for g in &a.summary.grades {
        if let Some(v) = texts(&g.column) {
            schemes.insert(g.scheme.clone(), v);
            grade_order.insert(
                g.scheme.clone(),
                g.grades.iter().map(|x| x.grade.clone()).collect(),
            );
        }
    }
    for (column, _) in t.column_types() {
        // grading schemes are taken above, with their grade order; lifecycle stages below
        let name = match Grouping::of_column(column) {
            Some(g @ (Grouping::ValueTier | Grouping::Cluster | Grouping::Rfm(_))) => g.key(),
            _ => continue,
        };
        if let Some(v) = texts(column) {
            schemes.insert(name, v);
        }
    }
    let mut scores = BTreeMap::new();
    for (key, column) in [
        ("r", col::R_SCORE),
        ("f", col::F_SCORE),
        ("m", col::M_SCORE),
    ] {
        if let Some(ColumnData::Int(v)) = t.read_once(column).as_deref() {
            scores.insert(
                key.to_string(),
                v.iter()
                    .map(|s| s.unwrap_or(0).clamp(0, 255) as u8)
                    .collect(),
            );
        }
    }
    let lifecycle = match t.read_once(col::LIFECYCLE_STAGE).as_deref() {
        Some(ColumnData::Text(v)) => Some(
            v.iter()
                .map(|s| s.and_then(Stage::parse).unwrap_or(Stage::Active))
                .collect(),
        ),
        _ => None,
    };
    let monetary = match t.read_once(col::MONETARY).as_deref() {
        Some(ColumnData::Float(v)) => v.iter().map(|x| x.unwrap_or(0.0)).collect(),
        _ => Vec::new(),
    };
    Snapshot {
        metrics: metrics_of(a),
        as_of: a.summary.as_of,
        config_hash: a.summary.config_hash.clone(),
        customers: t.ids().to_vec(),
        schemes,
        grade_order,
        scores,
        lifecycle,
        monetary,
    }
}

/// The metric values of every customer for metric drift: recency in days and the frequency and
/// monetary columns RFM scored with (`orders` and `monetary` by default). A metric with a
/// missing value for some customer is left out.
fn metrics_of(a: &Analysis) -> BTreeMap<String, Vec<f64>> {
    let t = &a.customers;
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
    let mut out = BTreeMap::new();
    for column in [col::RECENCY_DAYS, f, m] {
        let values: Option<Vec<f64>> = match t.read_once(column).as_deref() {
            Some(c @ (ColumnData::Int(_) | ColumnData::Float(_) | ColumnData::Date(_))) => (0..c
                .len())
                .map(|i| c.number(i).filter(|x| x.is_finite()))
                .collect(),
            _ => None,
        };
        if let Some(v) = values {
            out.insert(column.to_string(), v);
        }
    }
    out
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
