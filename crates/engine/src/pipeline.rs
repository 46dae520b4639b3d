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
}

/// Runs the analysis described by `config`.
pub fn analyze(
    config: &Config,
    opts: &AnalyzeOptions,
    progress: &dyn Progress,
) -> Result<Analysis, EngineError> {
    let mut ingest = config.ingest_options()?;
    ingest.strict = opts.strict;
    ingest.rejects_path = opts.rejects_path.clone();
    let data = load(&ingest, progress)?;
    let customers = data.table;
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
    Ok(Analysis {
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
        customers,
        rejects: data.rejects,
    })
}
