//! config → ingest → (models) → [`Analysis`].

use std::path::PathBuf;

use clientele_ingest::{Progress, load};

use crate::analysis::{ColumnInfo, Kpis};
use crate::{Analysis, Config, EngineError};

/// Per-run settings that are not part of the config file.
#[derive(Debug, Clone, Default)]
pub struct AnalyzeOptions {
    /// Stop at the first bad row.
    pub strict: bool,
    /// Write rejects here while reading (the output writer also writes them).
    pub rejects_path: Option<PathBuf>,
    /// Stop after the customer table (no models): for benchmarks and quick checks.
    pub customer_table_only: bool,
    /// Also analyze at every month end before the as-of date (back-dated snapshots).
    pub history_monthly: bool,
    /// A previous run (output directory or snapshot file) to compare with.
    pub previous: Option<PathBuf>,
}

/// Runs the analysis described by `config`.
pub fn analyze(
    config: &Config,
    opts: &AnalyzeOptions,
    progress: &dyn Progress,
) -> Result<Analysis, EngineError> {
    let mut ingest = config.ingest_options()?;
    ingest.strict = opts.strict;
    ingest.monthly_activity = !opts.customer_table_only;
    ingest.rejects_path = opts.rejects_path.clone();
    let data = load(&ingest, progress)?;
    let mut customers = data.table;
    let models = if opts.customer_table_only {
        crate::models::ModelOutputs::default()
    } else {
        let inputs = crate::models::ModelInputs {
            as_of: data.as_of,
            leads: &data.leads_without_purchase,
            months: &data.months,
            category_spend: &data.category_spend,
            categories: &data.categories,
            seasonality: data.seasonality.as_ref(),
        };
        crate::models::run_models(&mut customers, config, inputs)?
    };
    let target_lists = if config.output.target_lists && !opts.customer_table_only {
        crate::models::target_lists(&customers, &models)
    } else {
        Vec::new()
    };
    let columns = customers
        .column_names()
        .into_iter()
        .map(|name| ColumnInfo {
            name: name.to_string(),
            r#type: if name == "customer_id" {
                "text".to_string()
            } else {
                customers
                    .get(name)
                    .map(|c| c.type_name())
                    .unwrap_or("text")
                    .to_string()
            },
        })
        .collect();
    let (validation, validation_error) = match config.time.calibration_end {
        Some(cal) if config.clv.enabled && !opts.customer_table_only => {
            match crate::validate(config, cal, progress) {
                Ok(v) => (Some(v), None),
                Err(e) => (None, Some(e.to_string())),
            }
        }
        _ => (None, None),
    };
    let (history, history_snapshots) = if opts.history_monthly && !opts.customer_table_only {
        // month ends after the last order would only show customers ageing without data
        let last = data
            .stats
            .last_date
            .map_or(data.as_of, |l| l.min(data.as_of));
        monthly_history(config, data.stats.first_date, last, progress)?
    } else {
        (Vec::new(), Vec::new())
    };
    let mut analysis = Analysis {
        migration: None,
        migration_full: None,
        behaviour: models.behaviour,
        behaviour_error: models.behaviour_error,
        history,
        history_snapshots,
        validation,
        validation_error,
        tool: format!("clientele {}", env!("CARGO_PKG_VERSION")),
        as_of: data.as_of,
        config_hash: config.hash(),
        time_unit: config.time.unit,
        reconciliation: data.stats.reconciliation(),
        inputs: data.stats,
        side_tables: data.side_tables,
        leads_without_purchase: data.leads_without_purchase.len(),
        kpis: Kpis::of(&customers),
        columns,
        clv: models.clv,
        clusters: models.clusters,
        cluster_error: models.cluster_error,
        lifecycle: models.lifecycle,
        clv_error: models.clv_error,
        rfm: models.rfm,
        grades: models.grades,
        skipped_presets: models.skipped_presets,
        value_tiers: models.value_tiers,
        target_lists,
        lang: config.output.lang,
        playbook_overrides: config.playbook.clone(),
        customers,
        rejects: data.rejects,
    };
    if let Some(prev) = &opts.previous {
        let old = crate::read_snapshot(prev)?;
        let new = crate::snapshot_of(&analysis);
        let cmp = crate::compare_snapshots(&old, &new)?;
        let mut v = serde_json::to_value(&cmp).map_err(|e| EngineError::Model {
            step: "compare",
            reason: e.to_string(),
        })?;
        // summary.json keeps counts; the customer lists go to migration/moves.csv
        let migrations = v
            .get_mut("schemes")
            .and_then(|s| s.as_array_mut())
            .into_iter()
            .flatten();
        for m in migrations {
            strip_move_lists(m);
        }
        if let Some(l) = v.get_mut("lifecycle") {
            strip_move_lists(l);
        }
        analysis.migration = Some(v);
        analysis.migration_full = Some(cmp);
    }
    Ok(analysis)
}

/// The month ends strictly between the first order date and `as_of`.
fn month_ends(first: clientele_core::Day, as_of: clientele_core::Day) -> Vec<clientele_core::Day> {
    use chrono::{Datelike, NaiveDate};
    let mut out = Vec::new();
    let mut d = first.to_naive();
    loop {
        let (y, m) = if d.month() == 12 {
            (d.year() + 1, 1)
        } else {
            (d.year(), d.month() + 1)
        };
        let Some(next_first) = NaiveDate::from_ymd_opt(y, m, 1) else {
            break;
        };
        let end = clientele_core::Day::from_naive(next_first);
        let end = clientele_core::Day(end.0 - 1);
        if end >= as_of {
            break;
        }
        out.push(end);
        d = next_first;
    }
    out
}

/// Back-dated analyses at every month end: their snapshots and segment sizes, so a year of
/// monthly history comes from one file.
fn monthly_history(
    config: &Config,
    first: Option<clientele_core::Day>,
    as_of: clientele_core::Day,
    progress: &dyn Progress,
) -> Result<(Vec<crate::analysis::HistoryPoint>, Vec<crate::Snapshot>), EngineError> {
    let Some(first) = first else {
        return Ok((Vec::new(), Vec::new()));
    };
    let mut points = Vec::new();
    let mut snaps = Vec::new();
    for end in month_ends(first, as_of) {
        let mut c = config.clone();
        c.time.as_of = Some(end);
        c.time.calibration_end = None;
        let a = analyze(&c, &AnalyzeOptions::default(), progress)?;
        let snap = crate::snapshot_of(&a);
        points.push(crate::analysis::HistoryPoint::of(&a, &snap));
        snaps.push(snap);
    }
    Ok((points, snaps))
}

/// Replaces each move's customer list by its length.
fn strip_move_lists(migration: &mut serde_json::Value) {
    for mv in migration
        .get_mut("moves")
        .and_then(|x| x.as_array_mut())
        .into_iter()
        .flatten()
    {
        if let Some(obj) = mv.as_object_mut() {
            let n = obj
                .remove("customers")
                .and_then(|c| c.as_array().map(Vec::len))
                .unwrap_or(0);
            obj.insert("customers".into(), n.into());
        }
    }
}
