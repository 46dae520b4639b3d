//! Command-line parsing (clap) and the subcommands.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use clientele_core::{Day, Lang, TimeUnit};
use clientele_engine::synthetic::{ShopSpec, generate};
use clientele_engine::{
    Analysis, AnalyzeOptions, Config, Manifest, OutputDir, OutputFormat, ParquetCompression,
    analyze, check_destination, is_clientele_page, write_file, write_outputs,
};

use crate::progress::Bars;

/// `println!` that returns the write error instead of panicking, so that
/// `clientele … | head` ends quietly when the reader goes away (see `main`).
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)
    }};
}

/// `print!` that returns the write error (see [`say!`]).
macro_rules! say_part {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        write!(std::io::stdout().lock(), $($arg)*)
    }};
}

const EXAMPLES: &str = "\
Examples:
  clientele demo                                   generate a sample shop and analyze it
  clientele analyze orders.csv --out result        customer table, summary and rejects
  clientele analyze 订单.csv --encoding gbk --customer-id-col 客户编号 --date-col 下单日期 --amount-col 金额
  clientele analyze CDNOW_master.txt --delimiter whitespace --customer-id-col customer_id \\
      --date-col date --amount-col dollar_value --unit days --out cdnow
  clientele analyze --config clientele.toml --as-of 2024-06-30
  clientele generate --customers 100000 --seed 7 --out shop/

示例：
  clientele demo                                   生成示例店铺数据并分析
  clientele analyze 订单.csv --encoding gbk        读取 Excel 导出的 GBK 编码 CSV";

/// Customer grading (顾客分级) and customer analysis from sales data.
#[derive(Debug, Parser)]
#[command(name = "clientele", version, about, after_help = EXAMPLES)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
    /// No progress bars.
    #[arg(long, short, global = true)]
    quiet: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Build the customer table from transactions and write the outputs.
    #[command(after_help = EXAMPLES)]
    Analyze(AnalyzeArgs),
    /// Write a seeded synthetic shop: transactions, customer attributes, satisfaction, leads.
    #[command(
        after_help = "Example:\n  clientele generate --customers 1000000 --seed 7 --out shop/"
    )]
    Generate(GenerateArgs),
    /// Fit the CLV model up to a calibration date and check its predictions on the rest.
    #[command(
        after_help = "Example:\n  clientele validate CDNOW_master.txt --delimiter whitespace --date-col date \\\n      --amount-col dollar_value --calibration-end 1997-09-30 --as-of 1998-06-30"
    )]
    Validate(ValidateArgs),
    /// Compare two runs (output directories or snapshot files): migration between grades,
    /// customers who moved, score drift (PSI).
    #[command(after_help = "Example:\n  clientele compare out-2025-06 out-2025-07 --out changes")]
    Compare(CompareArgs),
    /// Re-render report.html from a run's summary.json (e.g. in the other language).
    #[command(after_help = "Example:\n  clientele report clientele-out --lang en")]
    Report(ReportArgs),
    /// Write a commented default config, or check a config against data.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Generate a realistic sample shop and analyze it (a first look at clientele).
    #[command(after_help = "Example:\n  clientele demo --dir clientele-demo --customers 20000")]
    Demo(DemoArgs),
}

#[derive(Debug, Args)]
struct AnalyzeArgs {
    /// Transaction files, directories or glob patterns (CSV, TXT, Parquet).
    inputs: Vec<PathBuf>,
    /// Config file (TOML); flags override it.
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// Analysis date (YYYY-MM-DD); later rows are excluded. Default: last date in the data.
    #[arg(long)]
    as_of: Option<String>,
    /// Output folder: new, empty, or one clientele wrote earlier (replaced whole, in one
    /// step). Any other existing file or folder is refused, never overwritten.
    #[arg(long, short, default_value = "clientele-out")]
    out: PathBuf,
    /// Customer-table file format.
    #[arg(long, value_parser = ["parquet", "csv", "both"])]
    format: Option<String>,
    /// Stop at the first bad row instead of writing it to rejects.csv.
    #[arg(long)]
    strict: bool,
    /// CLV-convention time unit: days, weeks or months (30 days).
    #[arg(long)]
    unit: Option<String>,
    /// Language of segment labels and actions in the outputs: zh or en.
    #[arg(long, value_parser = ["zh", "en"])]
    lang: Option<String>,
    /// Stop after the customer table (no models, grades or lists).
    #[arg(long)]
    customer_table_only: bool,
    /// Print the wall time of each step (reading, customer table, models, writing) to stderr.
    #[arg(long)]
    timings: bool,
    /// Also analyze at every month end before the as-of date and keep those snapshots
    /// (a year of monthly history from one file).
    #[arg(long, value_parser = ["monthly"])]
    history: Option<String>,
    /// Also validate the CLV model: fit up to this date, predict the rest (YYYY-MM-DD).
    #[arg(long)]
    calibration_end: Option<String>,
    /// A previous run (output directory or snapshot.json): add the migration since then.
    #[arg(long, value_name = "DIR")]
    previous: Option<PathBuf>,
    #[command(flatten)]
    source: SourceArgs,
}

#[derive(Debug, Args)]
struct SourceArgs {
    /// Text encoding of CSV files: utf-8 (BOM detected), gbk, gb18030, windows-1252 (latin1).
    #[arg(long)]
    encoding: Option<String>,
    /// Field separator: one character, `tab` or `whitespace`.
    #[arg(long)]
    delimiter: Option<String>,
    /// The files have no header line; name columns column_1, column_2, ….
    #[arg(long)]
    no_header: bool,
    /// Column with the customer id.
    #[arg(long, value_name = "NAME")]
    customer_id_col: Option<String>,
    /// Column with the order date.
    #[arg(long, value_name = "NAME")]
    date_col: Option<String>,
    /// Column with the net amount (negative = return).
    #[arg(long, value_name = "NAME")]
    amount_col: Option<String>,
    /// Column with the order id.
    #[arg(long, value_name = "NAME")]
    order_id_col: Option<String>,
    /// Column with the product category.
    #[arg(long, value_name = "NAME")]
    category_col: Option<String>,
    /// Column with the profit.
    #[arg(long, value_name = "NAME")]
    profit_col: Option<String>,
    /// Column with the cost (profit = amount − cost).
    #[arg(long, value_name = "NAME")]
    cost_col: Option<String>,
    /// Column with the quantity.
    #[arg(long, value_name = "NAME")]
    quantity_col: Option<String>,
    /// Amounts use a decimal comma (12,50 or 1.234,56), as exports from German, French,
    /// Russian or Brazilian Excel do. Without it such amounts are rejected, never rescaled.
    #[arg(long)]
    decimal_comma: bool,
    /// Date format (chrono strftime), e.g. %d/%m/%Y.
    #[arg(long, value_name = "FORMAT")]
    date_format: Option<String>,
    /// Customer attributes table (joined on customer id).
    #[arg(long, value_name = "FILE")]
    attributes: Option<PathBuf>,
    /// Satisfaction scores table (customer id, score).
    #[arg(long, value_name = "FILE")]
    satisfaction: Option<PathBuf>,
    /// Leads table (potential customers).
    #[arg(long, value_name = "FILE")]
    leads: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct ValidateArgs {
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
    /// Time unit: days, weeks or months.
    #[arg(long)]
    unit: Option<String>,
    /// Model: bg_nbd, mbg_nbd, pareto_nbd or bg_bb.
    #[arg(long)]
    model: Option<String>,
    /// Also write the result as JSON here (a new file, unless --force).
    #[arg(long)]
    json: Option<PathBuf>,
    /// Replace an existing --json file.
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    source: SourceArgs,
}

#[derive(Debug, Args)]
struct ReportArgs {
    /// An output directory (or its summary.json).
    run: PathBuf,
    /// Language: zh or en (default: from the locale, zh when unsure).
    #[arg(long, value_parser = ["zh", "en"])]
    lang: Option<String>,
    /// Where to write the page (default: report.html in the run directory, or report.<lang>.html
    /// when --lang differs from the run's language). An existing page clientele rendered is
    /// replaced; any other existing file only with --force.
    #[arg(long, short)]
    out: Option<PathBuf>,
    /// Replace an existing --out file that is not a clientele report.
    #[arg(long)]
    force: bool,
}

#[derive(Debug, Args)]
struct CompareArgs {
    /// The earlier run: an output directory or a snapshot.json.
    old: PathBuf,
    /// The later run.
    new: PathBuf,
    /// Write comparison.json into this folder (new, empty, or one clientele wrote).
    #[arg(long, short)]
    out: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Write a commented default config file.
    Init {
        /// Where to write it.
        #[arg(default_value = "clientele.toml")]
        path: PathBuf,
        /// Overwrite an existing file.
        #[arg(long)]
        force: bool,
    },
    /// Check a config against the data: problems with a fix, and how many customers each rule takes.
    Check {
        /// The config file.
        #[arg(long, short)]
        config: PathBuf,
        /// Transaction files (default: [source] transactions of the config).
        inputs: Vec<PathBuf>,
    },
}

#[derive(Debug, Args)]
struct GenerateArgs {
    /// Number of customers.
    #[arg(long, default_value_t = 10_000)]
    customers: u64,
    /// Random seed (same seed → same files).
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Output folder: new, empty, or a sample shop clientele wrote earlier (replaced whole).
    #[arg(long, short, default_value = "clientele-shop")]
    out: PathBuf,
    /// Length of the history in days.
    #[arg(long, default_value_t = 730)]
    days: u32,
    /// First day of the history.
    #[arg(long, default_value = "2024-01-01")]
    start: String,
}

#[derive(Debug, Args)]
struct DemoArgs {
    /// Working directory for the demo data and outputs.
    #[arg(long, default_value = "clientele-demo")]
    dir: PathBuf,
    /// Number of customers in the sample shop.
    #[arg(long, default_value_t = 20_000)]
    customers: u64,
    /// Random seed.
    #[arg(long, default_value_t = 7)]
    seed: u64,
}

pub fn run(cli: Cli) -> Result<()> {
    let bars = Bars::new(cli.quiet);
    match cli.command {
        Command::Analyze(a) => cmd_analyze(a, &bars),
        Command::Generate(g) => cmd_generate(g, &bars).map(|_| ()),
        Command::Demo(d) => cmd_demo(d, &bars),
        Command::Validate(v) => cmd_validate(v, &bars),
        Command::Compare(c) => cmd_compare(c),
        Command::Report(r) => cmd_report(r),
        Command::Config(ConfigCommand::Init { path, force }) => cmd_config_init(&path, force),
        Command::Config(ConfigCommand::Check { config, inputs }) => {
            cmd_config_check(&config, inputs, &bars)
        }
    }
}

/// Every file the analysis reads (transactions, side tables, the config), which no output
/// may replace.
fn input_paths(c: &Config, config_file: Option<&Path>) -> Vec<PathBuf> {
    let mut v = c.source.transactions.clone();
    v.extend(
        [
            &c.source.attributes,
            &c.source.satisfaction,
            &c.source.leads,
        ]
        .into_iter()
        .flatten()
        .cloned(),
    );
    v.extend(config_file.map(Path::to_path_buf));
    v
}

fn config_from(a: &AnalyzeArgs) -> Result<Config> {
    let mut c = match &a.config {
        Some(p) => Config::load(p)?,
        None => Config::default(),
    };
    if !a.inputs.is_empty() {
        c.source.transactions = a.inputs.clone();
    }
    let s = &a.source;
    if let Some(v) = &s.encoding {
        c.source.encoding = v.clone();
    }
    if let Some(v) = &s.delimiter {
        c.source.delimiter = v.clone();
    }
    c.source.no_header |= s.no_header;
    if s.decimal_comma {
        c.source.decimal = ",".into();
    }
    for (flag, slot) in [
        (&s.customer_id_col, &mut c.columns.customer_id),
        (&s.date_col, &mut c.columns.order_date),
        (&s.amount_col, &mut c.columns.amount),
        (&s.order_id_col, &mut c.columns.order_id),
        (&s.category_col, &mut c.columns.category),
        (&s.profit_col, &mut c.columns.profit),
        (&s.cost_col, &mut c.columns.cost),
        (&s.quantity_col, &mut c.columns.quantity),
        (&s.date_format, &mut c.columns.date_format),
    ] {
        if let Some(v) = flag {
            *slot = Some(v.clone());
        }
    }
    for (flag, slot) in [
        (&s.attributes, &mut c.source.attributes),
        (&s.satisfaction, &mut c.source.satisfaction),
        (&s.leads, &mut c.source.leads),
    ] {
        if let Some(v) = flag {
            *slot = Some(v.clone());
        }
    }
    if let Some(d) = &a.as_of {
        c.time.as_of = Some(Day::parse_iso(d).context("--as-of")?);
    }
    if let Some(d) = &a.calibration_end {
        c.time.calibration_end = Some(Day::parse_iso(d).context("--calibration-end")?);
    }
    if let Some(u) = &a.unit {
        c.time.unit = u.parse::<TimeUnit>()?;
    }
    if let Some(f) = &a.format {
        c.output.format = f.clone();
    }
    match &a.lang {
        Some(l) => c.output.lang = parse_lang(l),
        // no flag and no config: the user's locale decides (zh when unsure)
        None if a.config.is_none() => c.output.lang = locale_lang(),
        None => {}
    }
    if c.source.transactions.is_empty() {
        anyhow::bail!(
            "no transaction files given: pass files or directories, or set [source] transactions in --config (see clientele analyze --help)"
        );
    }
    Ok(c)
}

fn cmd_analyze(a: AnalyzeArgs, bars: &Bars) -> Result<()> {
    let config = config_from(&a)?;
    let format: OutputFormat = config.output.format.parse()?;
    let compression: ParquetCompression = config.output.parquet_compression.parse()?;
    // Refused before the analysis, not after minutes of work; checked again when writing.
    let inputs = input_paths(&config, a.config.as_deref());
    check_destination(&a.out, &inputs)?;
    let started = Instant::now();
    let analysis = analyze(
        &config,
        &AnalyzeOptions {
            strict: a.strict,
            rejects_path: None,
            customer_table_only: a.customer_table_only,
            history_monthly: a.history.is_some(),
            previous: a.previous.clone(),
        },
        bars,
    )?;
    let analyzed = started.elapsed();
    let spin = bars.spinner("writing outputs");
    let writing = Instant::now();
    let written = write_outputs(&analysis, &a.out, format, compression, &inputs)?;
    spin.finish_and_clear();
    let writing = writing.elapsed();
    print_summary(&analysis, &written.dir, &written.files)?;
    if a.timings {
        print_timings(bars, analyzed, writing, started.elapsed());
    }
    // The process ends here: freeing millions of small allocations one by one would only
    // delay the exit (about a second for 3M customers), so the analysis is left to the OS.
    std::mem::forget(analysis);
    Ok(())
}

/// `--timings`: the steps the progress bars showed, the models (the rest of the analysis) and
/// the writing, in wall-clock seconds.
fn print_timings(bars: &Bars, analyzed: Duration, writing: Duration, total: Duration) {
    let steps = bars.steps();
    let shown: Duration = steps.iter().map(|(_, d)| *d).sum();
    eprintln!("timings (wall clock):");
    for (label, took) in &steps {
        eprintln!("  {label:<48} {:>8.2} s", took.as_secs_f64());
    }
    let rest = analyzed.saturating_sub(shown);
    eprintln!(
        "  {:<48} {:>8.2} s",
        "models, grades and lists",
        rest.as_secs_f64()
    );
    eprintln!(
        "  {:<48} {:>8.2} s",
        "writing outputs",
        writing.as_secs_f64()
    );
    eprintln!("  {:<48} {:>8.2} s", "total", total.as_secs_f64());
}

fn print_summary(a: &Analysis, dir: &Path, files: &[String]) -> Result<()> {
    let k = &a.kpis;
    for d in &a.inputs.duplicates {
        say!(
            "note: {d} was named more than once (as a file, in a folder or by a pattern); read once"
        )?;
    }
    say!("{}", a.reconciliation)?;
    if a.inputs.return_only_customers > 0 {
        say!(
            "{} customers with only returns up to the as-of date are not in the table (net {:.2})",
            a.inputs.return_only_customers,
            a.inputs.return_only_amount
        )?;
    }
    say!(
        "as of {} · {} customers · revenue {:.2} · {} orders · AOV {:.2}",
        a.as_of,
        k.customers,
        k.revenue,
        k.orders,
        k.avg_order_value
    )?;
    say!(
        "repeat customers {:.1}% · bought in the last 90 days {:.1}% · {:.2} orders per customer",
        k.repeat_customer_share * 100.0,
        k.active_90d_share * 100.0,
        k.orders_per_customer
    )?;
    if let Some(c) = &a.clv {
        let m = &c.model;
        let params: Vec<String> = m
            .param_names
            .iter()
            .zip(&m.params)
            .map(|(n, v)| format!("{n} {v:.4}"))
            .collect();
        say!(
            "CLV: {:?} ({}) {} · log-likelihood {:.2} · {} in {} months: {:.0} expected purchases{}",
            m.model,
            c.unit.name(),
            params.join(", "),
            m.log_likelihood,
            if m.converged {
                "converged"
            } else {
                "NOT converged"
            },
            c.options.months,
            c.expected_purchases_total,
            c.clv_total
                .map(|t| format!(", CLV total {t:.2}, mean {:.2}", c.clv_mean.unwrap_or(0.0)))
                .unwrap_or_default()
        )?;
        if let Some(why) = &c.clv_skipped {
            say!("CLV: value not computed (P(alive) and expected purchases are): {why}")?;
        }
        for n in &c.notes {
            say!("CLV note: {n}")?;
        }
    }
    if let Some(e) = &a.clv_error {
        say!("CLV: not computed: {e}")?;
    }
    if let Some(r) = &a.rfm {
        for s in r
            .schemes
            .iter()
            .filter(|s| s.name == "cn8" || s.name == "rf10")
        {
            let parts: Vec<String> = s
                .segments
                .iter()
                .filter(|g| g.customers > 0)
                .map(|g| {
                    format!(
                        "{} {}",
                        if a.lang == clientele_engine::Lang::En {
                            &g.en
                        } else {
                            &g.zh
                        },
                        g.customers
                    )
                })
                .collect();
            say!("RFM {}: {}", s.name, parts.join(" · "))?;
        }
    }
    if let Some(l) = &a.lifecycle {
        let parts: Vec<String> = l
            .stages
            .counts
            .iter()
            .filter(|c| c.count > 0)
            .map(|c| {
                format!(
                    "{} {}",
                    if a.lang == clientele_engine::Lang::En {
                        &c.name_en
                    } else {
                        &c.name_zh
                    },
                    c.count
                )
            })
            .collect();
        say!("lifecycle: {}", parts.join(" · "))?;
    }
    if let Some(c) = &a.clusters {
        let parts: Vec<String> = c
            .profiles
            .iter()
            .map(|p| {
                format!(
                    "{}: {} {}",
                    p.label,
                    if a.lang == clientele_engine::Lang::En {
                        &p.name_en
                    } else {
                        &p.name_zh
                    },
                    p.size
                )
            })
            .collect();
        say!("k-means (k={}): {}", c.model.k, parts.join(" · "))?;
    }
    if let Some(e) = &a.cluster_error {
        say!("k-means: not computed: {e}")?;
    }
    if let Some(v) = &a.validation {
        say!(
            "holdout {} .. {}: Σ predicted {:.1} vs actual {:.0}, MAE {:.3} (baseline {:.3})",
            v.calibration_end,
            v.observation_end,
            v.report.model.sum_predicted,
            v.report.model.sum_actual,
            v.report.model.mae,
            v.report.baseline.mae
        )?;
    }
    if let Some(e) = &a.validation_error {
        say!("holdout validation: not computed: {e}")?;
    }
    for g in &a.grades {
        let parts: Vec<String> = g
            .grades
            .iter()
            .map(|x| format!("{} {}", x.grade, x.customers))
            .collect();
        say!("grading {}: {}", g.scheme, parts.join(" · "))?;
    }
    for s in &a.skipped_presets {
        say!("classic grading not applied: {s}")?;
    }
    for s in &a.side_tables {
        // rows, not customers: satisfaction has several rows per customer
        let columns = if s.columns_added.is_empty() {
            String::new()
        } else {
            format!(", columns: {}", s.columns_added.join(", "))
        };
        say!(
            "{}: {} rows, {} of them for customers in the table{columns}",
            s.kind,
            s.rows,
            s.matched
        )?;
    }
    if a.leads_without_purchase > 0 {
        say!("{} leads have not bought yet", a.leads_without_purchase)?;
    }
    say!("outputs in {}: {}", dir.display(), files.join(", "))?;
    Ok(())
}

fn cmd_generate(
    g: GenerateArgs,
    bars: &Bars,
) -> Result<clientele_engine::synthetic::GeneratedShop> {
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

fn cmd_demo(d: DemoArgs, bars: &Bars) -> Result<()> {
    let data = d.dir.join("data");
    let shop = cmd_generate(
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
    )?;
    print_summary(&analysis, &written.dir, &written.files)?;
    say!(
        "next: open {}/report.html in a browser; customers.csv opens in Excel, customers.parquet in pandas/Polars",
        out.display()
    )?;
    Ok(())
}

fn cmd_validate(v: ValidateArgs, bars: &Bars) -> Result<()> {
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
        timings: false,
        history: None,
        previous: None,
        calibration_end: None,
        source: v.source,
    };
    let mut config = config_from(&a)?;
    if let Some(m) = &v.model {
        config.clv.model =
            serde_json::from_value(serde_json::Value::String(m.clone())).map_err(|_| {
                anyhow::anyhow!("--model {m}: use bg_nbd, mbg_nbd, pareto_nbd or bg_bb")
            })?;
    }
    let cal = Day::parse_iso(&v.calibration_end).context("--calibration-end")?;
    let r = clientele_engine::validate(&config, cal, bars)?;
    let f = &r.fit;
    say!(
        "{:?} fitted on {} customers up to {} ({}): {} · log-likelihood {:.2}",
        f.model,
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

fn cmd_compare(c: CompareArgs) -> Result<()> {
    let old = clientele_engine::read_snapshot(&c.old)?;
    let new = clientele_engine::read_snapshot(&c.new)?;
    let cmp = clientele_engine::compare_snapshots(&old, &new)?;
    say!(
        "{} → {}: {} → {} customers ({} in both, {} new, {} gone)",
        cmp.old_as_of,
        cmp.new_as_of,
        cmp.old_customers,
        cmp.new_customers,
        cmp.in_both,
        cmp.appeared,
        cmp.gone
    )?;
    for m in cmp.schemes.iter().chain(cmp.lifecycle.iter()) {
        say!("\n{}: {} stayed, {} moved", m.name, m.stayed, m.moved)?;
        let width = m
            .rows
            .iter()
            .map(|r| r.chars().count())
            .max()
            .unwrap_or(8)
            .max(8);
        say_part!("  {:width$}", "")?;
        for col in &m.columns {
            say_part!(" {:>12}", col)?;
        }
        say!()?;
        for (i, row) in m.rows.iter().enumerate() {
            say_part!("  {row:width$}")?;
            for n in &m.counts[i] {
                say_part!(" {n:>12}")?;
            }
            say!()?;
        }
        let mut moves: Vec<_> = m.moves.iter().filter(|mv| mv.from != mv.to).collect();
        moves.sort_by_key(|mv| std::cmp::Reverse(mv.customers.len()));
        for mv in moves.iter().take(5) {
            say!(
                "  moved {} → {}: {} customers",
                mv.from,
                mv.to,
                mv.customers.len()
            )?;
        }
    }
    for d in &cmp.scores {
        say!(
            "drift {}: PSI {} ({:?})",
            d.name,
            d.psi
                .map(|p| format!("{p:.4}"))
                .unwrap_or_else(|| "n/a".into()),
            d.band
        )?;
    }
    if let Some(dir) = &c.out {
        let out = OutputDir::begin(dir, &[c.old.clone(), c.new.clone()])?;
        let p = out.path().join("comparison.json");
        std::fs::write(&p, serde_json::to_vec_pretty(&cmp)?)
            .with_context(|| format!("writing {}", dir.join("comparison.json").display()))?;
        let dir = out.finish(Manifest::new("comparison"))?;
        say!("wrote {}", dir.join("comparison.json").display())?;
    }
    Ok(())
}

fn cmd_config_init(path: &Path, force: bool) -> Result<()> {
    write_file(path, clientele_engine::DEFAULT_CONFIG.as_bytes(), |_| force)?;
    say!(
        "wrote {} — edit it, then run: clientele config check --config {}",
        path.display(),
        path.display()
    )?;
    Ok(())
}

fn cmd_config_check(path: &Path, inputs: Vec<PathBuf>, bars: &Bars) -> Result<()> {
    let mut config = Config::load(path)?;
    if !inputs.is_empty() {
        config.source.transactions = inputs;
    }
    if config.source.transactions.is_empty() {
        anyhow::bail!(
            "{}: no transaction files: set [source] transactions or pass files",
            path.display()
        );
    }
    let r = clientele_engine::check_config(&config, bars)?;
    say!("{}: {} customers", path.display(), r.customers)?;
    for d in &r.diagnostics {
        say!("{d}")?;
    }
    for (scheme, rules) in &r.previews {
        say!("scheme {scheme}:")?;
        for p in rules {
            say!(
                "  {:<16} matches {:>8}  takes {:>8}  {}",
                p.grade,
                p.matched_customers,
                p.taken_customers,
                p.when.as_deref().unwrap_or("(default)")
            )?;
        }
    }
    let errors = r
        .diagnostics
        .iter()
        .filter(|d| d.severity == clientele_grade::Severity::Error)
        .count();
    if errors > 0 {
        anyhow::bail!("{errors} problem(s) in {}", path.display());
    }
    say!("config OK")?;
    Ok(())
}

fn parse_lang(l: &str) -> Lang {
    l.parse().unwrap_or_default()
}

/// English when LC_ALL / LC_MESSAGES / LANG says so, Chinese otherwise.
fn locale_lang() -> Lang {
    let locale = ["LC_ALL", "LC_MESSAGES", "LANG"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .find(|v| !v.is_empty())
        .unwrap_or_default();
    Lang::from_locale(&locale)
}

fn cmd_report(r: ReportArgs) -> Result<()> {
    let summary_path = if r.run.is_dir() {
        r.run.join("summary.json")
    } else {
        r.run.clone()
    };
    let text = std::fs::read_to_string(&summary_path)
        .with_context(|| format!("reading {}", summary_path.display()))?;
    let summary: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a clientele summary.json", summary_path.display()))?;
    let run_lang = summary
        .get("lang")
        .and_then(|v| v.as_str())
        .unwrap_or("zh")
        .to_string();
    let report_lang = r.lang.as_deref().map_or_else(locale_lang, parse_lang);
    let lang = report_lang.code();
    let dir = summary_path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let out = r.out.clone().unwrap_or_else(|| {
        if lang == run_lang {
            dir.join("report.html")
        } else {
            dir.join(format!("report.{lang}.html"))
        }
    });
    let extras = clientele_report::ReportExtras {
        validation: summary.get("validation").cloned(),
        migration: summary.get("migration").cloned(),
        behaviour: summary.get("behaviour").cloned(),
        top_customers: None,
    };
    let html = clientele_report::render(&summary, report_lang, &extras)?;
    // A page clientele rendered (in the run folder or elsewhere) may be replaced; any other
    // existing file only with --force.
    write_file(&out, html.as_bytes(), |p| r.force || is_clientele_page(p))?;
    say!("wrote {}", out.display())?;
    Ok(())
}
