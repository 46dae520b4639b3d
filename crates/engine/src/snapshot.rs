//! Snapshots of an analysis (grades, scores, stage per customer) and the comparison of two,
//! for migration matrices, moved-customer lists and score drift between runs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clientele_lifecycle::{Comparison, Snapshot, Stage, compare};

use crate::{Analysis, EngineError};

/// File name of the snapshot inside an output directory.
pub const SNAPSHOT_FILE: &str = "snapshot/snapshot.json";

/// The snapshot of an analysis: every grading scheme, RFM segment scheme, value tier and
/// cluster column, the R/F/M scores, lifecycle stages, thresholds and monetary value.
pub fn snapshot_of(a: &Analysis) -> Snapshot {
    let t = &a.customers;
    let mut schemes = BTreeMap::new();
    let mut grade_order = BTreeMap::new();
    for g in &a.grades {
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
        let name = match c.name.as_str() {
            "value_tier" => "value_tier".to_string(),
            "cluster_name" => "cluster".to_string(),
            n => match n.strip_prefix("segment_") {
                Some(s) => format!("rfm_{s}"),
                None => continue,
            },
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
    for (key, col) in [("r", "r_score"), ("f", "f_score"), ("m", "m_score")] {
        if let Ok(v) = t.ints(col) {
            scores.insert(
                key.to_string(),
                v.iter()
                    .map(|s| s.unwrap_or(0).clamp(0, 255) as u8)
                    .collect(),
            );
        }
    }
    let lifecycle = t.texts("lifecycle_stage").ok().map(|v| {
        v.iter()
            .map(|s| s.and_then(Stage::from_id).unwrap_or(Stage::Active))
            .collect()
    });
    let thresholds = serde_json::json!({
        "rfm": a.rfm.as_ref().map(|r| serde_json::to_value(&r.thresholds).unwrap_or_default()),
    });
    Snapshot {
        as_of: a.as_of,
        config_hash: a.config_hash.clone(),
        customers: t.ids().to_vec(),
        schemes,
        grade_order,
        scores,
        lifecycle,
        thresholds,
        monetary: t
            .floats("monetary")
            .map(|v| v.iter().map(|x| x.unwrap_or(0.0)).collect())
            .unwrap_or_default(),
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
    serde_json::from_str(&text).map_err(|e| EngineError::Output {
        path: file.clone(),
        reason: format!("not a clientele snapshot: {e}"),
    })
}

/// Compares two snapshots (old first).
pub fn compare_snapshots(old: &Snapshot, new: &Snapshot) -> Result<Comparison, EngineError> {
    compare(old, new).map_err(|e| EngineError::Model {
        step: "compare",
        reason: e.to_string(),
    })
}
