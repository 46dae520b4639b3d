//! `clientele export`: a list of customers from a finished run, on demand: one grade, a
//! filter in the rule language, any order, as Excel CSV or Parquet.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use clientele_engine::{ExportFormat, Selection, StoredRun, Vocabulary, groupings};

use crate::progress::Bars;

pub(super) const EXAMPLES: &str = "\
Examples:
  clientele export out --scheme behaviour --grade VIP                 → behaviour_VIP.csv
  clientele export out --scheme lifecycle --grade at_risk --where \"clv > 500\" --sort -clv
  clientele export out --scheme rfm_cn8 --grade 重要挽留客户 --format parquet --out winback.parquet
  clientele export out --list                                         every scheme and grade
  clientele export out --where \"orders >= 3\" --out - | head           to standard output";

#[derive(Debug, Clone, Copy, ValueEnum)]
enum FormatArg {
    /// UTF-8 with a byte-order mark, money to the cent: opens in Excel.
    Csv,
    /// Parquet with the customer table's types: pandas, Polars, DuckDB, BI tools.
    Parquet,
}

#[derive(Debug, Args)]
pub(super) struct ExportArgs {
    /// The output folder of `clientele analyze`.
    run: PathBuf,
    /// The grading or grouping (`behaviour`, `rfm_cn8`, `lifecycle`, `value_tier`,
    /// `cluster`…; `--list` shows them).
    #[arg(long)]
    scheme: Option<String>,
    /// A grade of --scheme, by its name in either language or its key (`at_risk`).
    #[arg(long, requires = "scheme")]
    grade: Option<String>,
    /// A condition in the rule language, e.g. "monetary > 500 AND orders >= 3".
    #[arg(long = "where", value_name = "CONDITION")]
    filter: Option<String>,
    /// Order by a column; -column for largest first.
    #[arg(long, allow_hyphen_values = true)]
    sort: Option<String>,
    /// File format.
    #[arg(long, value_enum, default_value = "csv")]
    format: FormatArg,
    /// Where to write; `-` for standard output. Default: <scheme>_<grade>.<csv|parquet>.
    #[arg(long, short)]
    out: Option<PathBuf>,
    /// Replace an existing --out file.
    #[arg(long)]
    force: bool,
    /// List the run's schemes and grades with their sizes instead of exporting.
    #[arg(long)]
    list: bool,
}

pub(super) fn run(a: ExportArgs, bars: &Bars) -> Result<()> {
    let run = StoredRun::open(&a.run)?;
    let table = &run.customers;
    let groups = groupings(&run.summary, table);
    let vocab = Vocabulary::of(&run.summary);
    let lang = run.summary.lang;
    // the run's language, for what is printed and for an error (a filter, a grade)
    bars.set_lang(lang);
    if a.list {
        for g in &groups {
            say!("{}", g.key)?;
            for x in &g.summary.grades {
                let key = vocab
                    .label(&g.grouping(), &x.grade)
                    .map(|l| format!(" ({})", l.key))
                    .unwrap_or_default();
                say!("  {}{}: {}", x.grade, key, x.customers)?;
            }
        }
        return Ok(());
    }
    let selection = Selection {
        scheme: a.scheme.clone(),
        grade: a.grade.clone(),
        filter: a.filter.clone(),
        sort: a.sort.clone(),
        id_prefix: None,
    };
    let rows = selection.rows(table, &groups, &vocab)?;
    let format = match a.format {
        FormatArg::Csv => ExportFormat::Csv,
        FormatArg::Parquet => ExportFormat::Parquet,
    };
    let out = a.out.clone().unwrap_or_else(|| {
        PathBuf::from(format.file_name(a.scheme.as_deref(), a.grade.as_deref()))
    });
    if out.as_os_str() == "-" {
        let mut w = std::io::BufWriter::new(std::io::stdout());
        clientele_engine::export(table, &rows, format, &mut w)?;
        w.flush().context("writing to standard output")?;
        return Ok(());
    }
    clientele_engine::export_file(table, &rows, format, &out, a.force)?;
    let n = rows.len();
    match lang {
        clientele_core::Lang::Zh => eprintln!("已导出 {n} 位客户：{}", out.display()),
        clientele_core::Lang::En => eprintln!("exported {n} customers to {}", out.display()),
    }
    Ok(())
}
