//! `clientele validate`: fit the CLV model up to a calibration date, check it on the rest.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use clientele_core::Day;
use clientele_engine::ModelChoice;
use clientele_engine::write_file;

use super::analyze::AnalyzeArgs;
use super::flags::{SourceArgs, config_from};
use crate::progress::Bars;
use clientele_core::TimeUnit;

#[derive(Debug, Args)]
pub(super) struct ValidateArgs {
    /// Transaction files, directories or glob patterns.
    inputs: Vec<PathBuf>,
    /// Config file (TOML); flags override it.
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// Last day of the calibration period (YYYY-MM-DD).
    #[arg(long)]
    calibration_end: String,
    /// Last day of the holdout period. Default: last date in the data.
    #[arg(long)]
    as_of: Option<String>,
    /// Time unit: days, weeks, months, quarters, years or "N days".
    #[arg(long, value_name = "UNIT")]
    unit: Option<TimeUnit>,
    /// Transaction model.
    #[arg(long, value_enum)]
    model: Option<ModelArg>,
    /// Also write the result as JSON here (a new file, unless --force).
    #[arg(long)]
    json: Option<PathBuf>,
    /// Replace an existing --json file.
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    source: SourceArgs,
}

/// `--model`, spelled as in the config.
#[derive(Debug, Clone, Copy, ValueEnum)]
#[value(rename_all = "snake_case")]
pub(super) enum ModelArg {
    /// Compare MBG/NBD, Pareto/NBD and BG/NBD on the holdout and keep the best.
    Auto,
    BgNbd,
    MbgNbd,
    ParetoNbd,
    BgBb,
}

impl From<ModelArg> for ModelChoice {
    fn from(m: ModelArg) -> Self {
        match m {
            ModelArg::Auto => ModelChoice::Auto,
            ModelArg::BgNbd => ModelChoice::BgNbd,
            ModelArg::MbgNbd => ModelChoice::MbgNbd,
            ModelArg::ParetoNbd => ModelChoice::ParetoNbd,
            ModelArg::BgBb => ModelChoice::BgBb,
        }
    }
}

pub(super) fn run(v: ValidateArgs, bars: &'static Bars) -> Result<()> {
    let a = AnalyzeArgs {
        inputs: v.inputs,
        config: v.config,
        as_of: v.as_of,
        out: PathBuf::from("."),
        format: None,
        strict: false,
        unit: v.unit,
        lang: None,
        customer_table_only: false,
        target_lists: false,
        timings: false,
        history: None,
        previous: None,
        calibration_end: None,
        write_postgres: None,
        write_table: None,
        // no flag: a config's `[engine] cluster` applies
        cluster: None,
        cluster_staging: None,
        cluster_plan: None,
        memory_limit: None,
        spill_dir: None,
        source: v.source,
    };
    let mut config = config_from(&a)?;
    bars.set_lang(config.output.lang);
    // the default limit only: a validation holds what an analysis holds
    if let Some(limit) = crate::memory::MemoryLimit::default_for_machine() {
        limit.watch(bars, config.output.lang, false);
    }
    if let Some(m) = v.model {
        config.clv.model = m.into();
    }
    let cal = Day::parse_iso(&v.calibration_end).context("--calibration-end")?;
    let r = clientele_engine::validate(&config, cal, bars)?;
    if let Some(cmp) = &r.comparison {
        super::outputs::print_comparison(config.output.lang, cmp)?;
    }
    let f = &r.fit;
    say!(
        "{} fitted on {} customers up to {} ({}): {} · log-likelihood {:.2}",
        super::outputs::model_name(&f.model),
        r.customers,
        r.calibration_end,
        r.unit.name(),
        f.param_names
            .iter()
            .zip(&f.params)
            .map(|(n, p)| format!("{n} {p:.4}"))
            .collect::<Vec<_>>()
            .join(", "),
        f.log_likelihood
    )?;
    let (m, b) = (&r.report.model, &r.report.baseline);
    say!(
        "holdout {} .. {} ({:.2} {}):",
        r.calibration_end,
        r.observation_end,
        r.report.duration,
        r.unit.name()
    )?;
    say!(
        "  {:<22} {:>10} {:>10} {:>14} {:>12}",
        "",
        "MAE",
        "RMSE",
        "Σ predicted",
        "Σ actual"
    )?;
    say!(
        "  {:<22} {:>10.4} {:>10.4} {:>14.1} {:>12.0}",
        "model",
        m.mae,
        m.rmse,
        m.sum_predicted,
        m.sum_actual
    )?;
    say!(
        "  {:<22} {:>10.4} {:>10.4} {:>14.1} {:>12.0}",
        "baseline (x/T rate)",
        b.mae,
        b.rmse,
        b.sum_predicted,
        b.sum_actual
    )?;
    say!("  by calibration frequency: mean actual vs predicted (baseline)")?;
    for g in &r.report.by_frequency {
        say!(
            "    x={:<3} n={:<7} actual {:>7.3}  model {:>7.3}  baseline {:>7.3}",
            g.frequency,
            g.n,
            g.mean_actual,
            g.mean_predicted,
            g.mean_baseline
        )?;
    }
    if let Some(p) = &v.json {
        write_file(p, &serde_json::to_vec_pretty(&r)?, |_| v.force)?;
        say!("wrote {}", p.display())?;
    }
    Ok(())
}
