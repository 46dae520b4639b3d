//! Command-line parsing (clap) and the subcommands, one module each. The flags several
//! commands share and how they make a [`clientele_engine::Config`] are in `flags`; what an
//! analysis prints and adds to its output folder is in `outputs`.

use anyhow::Result;
use clap::{Parser, Subcommand};

use crate::progress::Bars;

/// `println!` that returns the write error instead of panicking, so that
/// `clientele … | head` ends quietly when the reader goes away (see `main`).
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)
    }};
}

/// [`say!`] in the run's language: `say_in!(lang, "中文 {}", "English {}", args…)`; both
/// texts take the same arguments.
macro_rules! say_in {
    ($lang:expr, $zh:literal, $en:literal $(, $arg:expr)* $(,)?) => {{
        match $lang {
            clientele_core::Lang::Zh => say!($zh $(, $arg)*),
            clientele_core::Lang::En => say!($en $(, $arg)*),
        }
    }};
}

/// `print!` that returns the write error (see [`say!`]).
macro_rules! say_part {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        write!(std::io::stdout().lock(), $($arg)*)
    }};
}

mod analyze;
#[cfg(feature = "cluster")]
mod cluster;
mod compare;
mod config;
mod export;
mod flags;
mod generate;
mod outputs;
mod report;
mod serve;
mod validate;

use analyze::AnalyzeArgs;
use compare::CompareArgs;
use config::ConfigCommand;
use export::ExportArgs;
use generate::{DemoArgs, GenerateArgs};
use report::ReportArgs;
use serve::ServeArgs;
use validate::ValidateArgs;

const EXAMPLES: &str = "\
Examples:
  clientele demo                                   generate a sample shop and analyze it
  clientele analyze orders.csv --out result        customer table, summary and rejects
  clientele analyze 订单.csv --encoding gbk --customer-id-col 客户编号 --date-col 下单日期 --amount-col 金额
  clientele analyze CDNOW_master.txt --delimiter whitespace --customer-id-col customer_id \\
      --date-col date --amount-col dollar_value --unit days --out cdnow
  clientele analyze --config clientele.toml --as-of 2024-06-30
  clientele analyze --postgres postgresql://analyst@db/shop --table sales.orders \\
      --write-postgres postgresql://crm@db/crm     orders from PostgreSQL, grades back to it
  clientele analyze orders-2025/*.csv --customer-table-only --memory-limit 4GiB \\
      --out table                                  a table larger than memory, built on disk
  clientele generate --customers 100000 --seed 7 --out shop/
  clientele serve result                           dashboard and JSON API on http://127.0.0.1:8750
  clientele export result --scheme lifecycle --grade at_risk   one list, on demand

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
    #[command(
        after_help = "Examples:\n  clientele demo --dir clientele-demo --customers 20000\n  clientele demo --lang en"
    )]
    Demo(DemoArgs),
    /// Write a list of customers from a run: a grade, a filter, any order, CSV or Parquet.
    #[command(after_help = export::EXAMPLES)]
    Export(ExportArgs),
    /// Serve runs as a live dashboard and a JSON API (OpenAPI at /openapi.json).
    #[command(after_help = serve::EXAMPLES)]
    Serve(ServeArgs),
    /// Run a process of the cluster engine: a Ballista scheduler or executor (docs/CLUSTER.md).
    #[cfg(feature = "cluster")]
    #[command(subcommand, after_help = cluster::EXAMPLES)]
    Cluster(cluster::ClusterCommand),
}

/// The progress bars of the whole process, labelled in the locale's language until a command
/// knows its run's: the memory watcher of `analyze` reads the step shown, and an error that
/// stops the run is said in the language they hold.
pub fn bars(cli: &Cli) -> &'static Bars {
    Box::leak(Box::new(Bars::new(cli.quiet, flags::locale_lang())))
}

pub fn run(cli: Cli, bars: &'static Bars) -> Result<()> {
    match cli.command {
        Command::Analyze(a) => analyze::run(a, bars),
        Command::Generate(g) => generate::run(g, flags::locale_lang(), bars).map(|_| ()),
        Command::Demo(d) => generate::demo(d, bars),
        Command::Validate(v) => validate::run(v, bars),
        Command::Compare(c) => compare::run(c, bars),
        Command::Report(r) => report::run(r),
        Command::Config(c) => config::run(c, bars),
        Command::Serve(s) => serve::run(s, cli.quiet),
        Command::Export(e) => export::run(e, bars),
        #[cfg(feature = "cluster")]
        Command::Cluster(c) => cluster::run(c),
    }
}

/// `s` padded with spaces to `width` terminal columns (a Chinese character takes two), on the
/// right (`left`) or on the left: `format!("{:>12}")` counts characters, which misaligned
/// Chinese grade names.
pub(crate) fn pad(s: &str, width: usize, left: bool) -> String {
    let fill = " ".repeat(width.saturating_sub(unicode_width::UnicodeWidthStr::width(s)));
    if left {
        format!("{s}{fill}")
    } else {
        format!("{fill}{s}")
    }
}
