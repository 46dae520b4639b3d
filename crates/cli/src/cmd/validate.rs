//! `clientele validate`: fit the CLV model up to a calibration date, check it on the rest.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use clientele_core::Day;
use clientele_engine::ModelChoice;
use clientele_engine::write_file;

use super::analyze::AnalyzeArgs;
use super::flags::{LangArg, SourceArgs, config_from};
use super::pad;
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
    /// Language of what is printed (default: the config's, else the locale's).
    #[arg(long, value_enum)]
    lang: Option<LangArg>,
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
        lang: v.lang,
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
        spill_parts: None,
        part_rows: None,
        source: v.source,
    };
    if let Some(l) = a.lang {
        bars.set_lang(l.into());
    }
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
    if config.engine.cluster.is_some() {
        // the rows staged for the cluster, as large as the input, go first
        super::analyze::remove_temporary_when_stopped(bars, config.output.lang, true);
    }
    let r = clientele_engine::validate(&config, cal, bars)?;
    if let Some(cmp) = &r.comparison {
        super::outputs::print_comparison(config.output.lang, cmp)?;
    }
    let lang = config.output.lang;
    let f = &r.fit;
    let params = f
        .param_names
        .iter()
        .zip(&f.params)
        .map(|(n, p)| format!("{n} {p:.4}"))
        .collect::<Vec<_>>()
        .join(", ");
    let (model, unit) = (super::outputs::model_name(&f.model), r.unit.label(lang));
    say_in!(
        lang,
        "{} 用截至 {} 的 {} 位客户拟合（{}）：{} · 对数似然 {:.2}",
        "{} fitted on {} customers up to {} ({}): {} · log-likelihood {:.2}",
        model,
        r.calibration_end,
        r.customers,
        unit,
        params,
        f.log_likelihood
    )?;
    let (m, b) = (&r.report.model, &r.report.baseline);
    say_in!(
        lang,
        "留出期 {} .. {}（{:.2} {}）：",
        "holdout {} .. {} ({:.2} {}):",
        r.calibration_end,
        r.observation_end,
        r.report.duration,
        unit
    )?;
    let row = |label: &str, cells: [String; 4]| {
        let [a, b, c, d] = cells;
        say!(
            "  {} {a:>10} {b:>10} {} {}",
            pad(label, 22, true),
            pad(&c, 14, false),
            pad(&d, 12, false)
        )
    };
    let (predicted, actual) = (
        lang.pick("预测合计", "Σ predicted"),
        lang.pick("实际合计", "Σ actual"),
    );
    row(
        "",
        ["MAE".into(), "RMSE".into(), predicted.into(), actual.into()],
    )?;
    for (label, e) in [
        (lang.pick("模型", "model"), m),
        (lang.pick("基线（x/T 速率）", "baseline (x/T rate)"), b),
    ] {
        let cells = [
            format!("{:.4}", e.mae),
            format!("{:.4}", e.rmse),
            format!("{:.1}", e.sum_predicted),
            format!("{:.0}", e.sum_actual),
        ];
        row(label, cells)?;
    }
    say_in!(
        lang,
        "  按校准期购买次数：实际均值与预测均值（基线）",
        "  by calibration frequency: mean actual vs predicted (baseline)"
    )?;
    for g in &r.report.by_frequency {
        let (x, n) = (&g.frequency, g.n);
        let (a, p, b) = (g.mean_actual, g.mean_predicted, g.mean_baseline);
        say_in!(
            lang,
            "    x={:<3} n={:<7} 实际 {:>7.3}  模型 {:>7.3}  基线 {:>7.3}",
            "    x={:<3} n={:<7} actual {:>7.3}  model {:>7.3}  baseline {:>7.3}",
            x,
            n,
            a,
            p,
            b
        )?;
    }
    if let Some(p) = &v.json {
        write_file(p, &serde_json::to_vec_pretty(&r)?, |_| v.force)?;
        say_in!(lang, "已写入 {}", "wrote {}", p.display())?;
    }
    Ok(())
}
