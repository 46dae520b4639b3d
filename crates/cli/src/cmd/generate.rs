//! `clientele generate` (a seeded synthetic shop) and `clientele demo` (one, analyzed).

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use clientele_core::Day;
use clientele_engine::synthetic::{GeneratedShop, ShopSpec, generate};
use clientele_engine::{
    AnalyzeOptions, Config, OutputFormat, ParquetCompression, analyze, check_destination,
    write_outputs,
};

use super::flags::input_paths;
use super::outputs::{print_summary, report_files};
use crate::progress::Bars;

#[derive(Debug, Args)]
pub(super) struct GenerateArgs {
    /// Number of customers.
    #[arg(long, default_value_t = 10_000)]
    pub(super) customers: u64,
    /// Random seed (same seed → same files).
    #[arg(long, default_value_t = 7)]
    pub(super) seed: u64,
    /// Output folder: new, empty, or a sample shop clientele wrote earlier (replaced whole).
    #[arg(long, short, default_value = "clientele-shop")]
    pub(super) out: PathBuf,
    /// Length of the history in days.
    #[arg(long, default_value_t = 730)]
    pub(super) days: u32,
    /// First day of the history.
    #[arg(long, default_value = "2024-01-01")]
    pub(super) start: String,
}

#[derive(Debug, Args)]
pub(super) struct DemoArgs {
    /// Working directory for the demo data and outputs.
    #[arg(long, default_value = "clientele-demo")]
    pub(super) dir: PathBuf,
    /// Number of customers in the sample shop.
    #[arg(long, default_value_t = 20_000)]
    pub(super) customers: u64,
    /// Random seed.
    #[arg(long, default_value_t = 7)]
    pub(super) seed: u64,
}

pub(super) fn run(g: GenerateArgs, bars: &Bars) -> Result<GeneratedShop> {
    let mut spec = ShopSpec::new(g.customers, g.seed);
    spec.days = g.days;
    spec.start = Day::parse_iso(&g.start).context("--start")?;
    let pb = indicatif::ProgressBar::with_draw_target(
        Some(g.customers),
        if bars.is_quiet() {
            indicatif::ProgressDrawTarget::hidden()
        } else {
            indicatif::ProgressDrawTarget::stderr()
        },
    );
    pb.set_style(
        indicatif::ProgressStyle::with_template(
            "generating [{bar:30}] {pos}/{len} customers eta {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    let shop = generate(&spec, &g.out, &|c| pb.set_position(c))?;
    pb.finish_and_clear();
    say!(
        "wrote {} transaction rows for {} customers ({} .. {}) to {}",
        shop.rows,
        g.customers,
        spec.start,
        shop.end,
        g.out.display()
    )?;
    say!("files: transactions.csv, customers.csv, satisfaction.csv, leads.csv, truth.json")?;
    Ok(shop)
}

pub(super) fn demo(d: DemoArgs, bars: &Bars) -> Result<()> {
    let data = d.dir.join("data");
    let shop = run(
        GenerateArgs {
            customers: d.customers,
            seed: d.seed,
            out: data,
            days: 730,
            start: "2024-01-01".into(),
        },
        bars,
    )?;
    let mut config = Config::default();
    config.source.transactions = vec![shop.transactions.clone()];
    config.source.attributes = Some(shop.attributes.clone());
    config.source.satisfaction = Some(shop.satisfaction.clone());
    config.source.leads = Some(shop.leads.clone());
    let out = d.dir.join("out");
    let inputs = input_paths(&config, None);
    check_destination(&out, &inputs)?;
    let analysis = analyze(&config, &AnalyzeOptions::default(), bars)?;
    let written = write_outputs(
        &analysis,
        &out,
        OutputFormat::Both,
        ParquetCompression::default(),
        &inputs,
        &report_files(&analysis)?,
    )?;
    print_summary(&analysis, &written.dir, &written.files)?;
    say!(
        "next: open {}/report.html in a browser; customers.csv opens in Excel, customers.parquet in pandas/Polars",
        out.display()
    )?;
    Ok(())
}
