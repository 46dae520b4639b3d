//! `clientele generate` (a seeded synthetic shop) and `clientele demo` (one, analyzed).

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use clientele_core::{Day, Lang};
use clientele_engine::synthetic::{GeneratedShop, ShopSpec, generate};
use clientele_engine::{
    AnalyzeOptions, Config, OutputFormat, ParquetCompression, analyze, check_destination,
    write_outputs,
};

use super::flags::{LangArg, input_paths, locale_lang};
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
    /// Language of the report, console, list names and CSV values [default: from LC_ALL /
    /// LANG: zh for zh_*, English otherwise].
    #[arg(long, value_enum)]
    pub(super) lang: Option<LangArg>,
}

pub(super) fn run(g: GenerateArgs, lang: Lang, bars: &Bars) -> Result<GeneratedShop> {
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
        indicatif::ProgressStyle::with_template(lang.pick(
            "生成中 [{bar:30}] {pos}/{len} 位客户 剩余 {eta}",
            "generating [{bar:30}] {pos}/{len} customers eta {eta}",
        ))
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    let shop = generate(&spec, &g.out, &|c| pb.set_position(c))?;
    pb.finish_and_clear();
    say_in!(
        lang,
        "已写入 {} 行交易、{} 位客户（{} .. {}）到 {}",
        "wrote {} transaction rows for {} customers ({} .. {}) to {}",
        shop.rows,
        g.customers,
        spec.start,
        shop.end,
        g.out.display()
    )?;
    say_in!(
        lang,
        "文件：{}",
        "files: {}",
        "transactions.csv, customers.csv, satisfaction.csv, leads.csv, truth.json"
    )?;
    Ok(shop)
}

pub(super) fn demo(d: DemoArgs, bars: &Bars) -> Result<()> {
    let data = d.dir.join("data");
    let lang = d.lang.map_or_else(locale_lang, Lang::from);
    bars.set_lang(lang);
    let shop = run(
        GenerateArgs {
            customers: d.customers,
            seed: d.seed,
            out: data,
            days: 730,
            start: "2024-01-01".into(),
        },
        lang,
        bars,
    )?;
    let mut config = Config::default();
    config.source.transactions = vec![shop.transactions.clone()];
    config.source.attributes = Some(shop.attributes.clone());
    config.source.satisfaction = Some(shop.satisfaction.clone());
    config.source.leads = Some(shop.leads.clone());
    config.output.lang = lang;
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
    print_summary(&analysis, &written.dir, &written.files, OutputFormat::Both)?;
    say_in!(
        config.output.lang,
        "下一步：在浏览器中打开 {}/report.html；customers.csv 可用 Excel 打开，customers.parquet 可用 pandas/Polars 读取",
        "next: open {}/report.html in a browser; customers.csv opens in Excel, customers.parquet in pandas/Polars",
        out.display()
    )?;
    say_in!(
        config.output.lang,
        "团队日常使用：运行 clientele serve {} 打开仪表盘和 JSON API（http://127.0.0.1:8750）",
        "for the team: run `clientele serve {}` for a live dashboard and JSON API (http://127.0.0.1:8750)",
        out.display()
    )?;
    Ok(())
}
