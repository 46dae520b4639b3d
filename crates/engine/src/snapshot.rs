//! Snapshots of an analysis (grades, scores, stage per customer) and the comparison of two,
//! for migration matrices, moved-customer lists and score drift between runs.

use clientele_core::Grouping;
use clientele_core::columns as col;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clientele_lifecycle::{Comparison, Snapshot, Stage, compare};
use serde::{Deserialize, Serialize};

use crate::{Analysis, EngineError};

/// File name of the snapshot inside an output directory.
pub const SNAPSHOT_FILE: &str = "snapshot/snapshot.json";

/// The snapshot of an analysis: every grading scheme, RFM segment scheme, value tier and
/// cluster column, the R/F/M scores, lifecycle stages, thresholds and monetary value.
pub fn snapshot_of(a: &Analysis) -> Snapshot {
    let t = &a.customers;
    let mut schemes = BTreeMap::new();
    let mut grade_order = BTreeMap::new();
    for g in &a.summary.grades {
        if let Ok(v) = t.texts(&g.column) {
            schemes.insert(
                g.scheme.clone(),
                v.iter()
                    .map(|s| s.unwrap_or_default().to_string())
                    .collect(),
            );
            grade_order.insert(
                g.scheme.clone(),
                g.grades.iter().map(|x| x.grade.clone()).collect(),
            );
        }
    }
    for c in t.columns() {
        // grading schemes are taken above, with their grade order; lifecycle stages below
        let name = match Grouping::of_column(&c.name) {
            Some(g @ (Grouping::ValueTier | Grouping::Cluster | Grouping::Rfm(_))) => g.key(),
            _ => continue,
        };
        if let Ok(v) = t.texts(&c.name) {
            schemes.insert(
                name,
                v.iter()
                    .map(|s| s.unwrap_or_default().to_string())
                    .collect(),
            );
        }
    }
    let mut scores = BTreeMap::new();
    for (key, column) in [
        ("r", col::R_SCORE),
        ("f", col::F_SCORE),
        ("m", col::M_SCORE),
    ] {
        if let Ok(v) = t.ints(column) {
            scores.insert(
                key.to_string(),
                v.iter()
                    .map(|s| s.unwrap_or(0).clamp(0, 255) as u8)
                    .collect(),
            );
        }
    }
    let lifecycle = t.texts(col::LIFECYCLE_STAGE).ok().map(|v| {
        v.iter()
            .map(|s| s.and_then(Stage::from_id).unwrap_or(Stage::Active))
            .collect()
    });
    Snapshot {
        as_of: a.summary.as_of,
        config_hash: a.summary.config_hash.clone(),
        customers: t.ids().to_vec(),
        schemes,
        grade_order,
        scores,
        lifecycle,
        monetary: t
            .floats(col::MONETARY)
            .map(|v| v.iter().map(|x| x.unwrap_or(0.0)).collect())
            .unwrap_or_default(),
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
