//! The flags several commands share, and how they and the config file make the [`Config`].

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use clientele_core::{Day, Lang};
use clientele_engine::{AsWritten, Config, DecimalSeparator};
use clientele_ingest::{Delimiter, Encoding};

use super::analyze::AnalyzeArgs;

#[derive(Debug, Args)]
pub(super) struct SourceArgs {
    /// Text encoding of CSV files: utf-8 (BOM detected), gbk, gb18030, windows-1252 (latin1).
    // Not a ValueEnum: its aliases (GBK, cp936, latin1…) are kept as written, for the hash.
    #[arg(long)]
    pub(super) encoding: Option<AsWritten<Encoding>>,
    /// Field separator: one character, `tab` or `whitespace`.
    #[arg(long)]
    pub(super) delimiter: Option<AsWritten<Delimiter>>,
    /// The files have no header line; name columns column_1, column_2, ….
    #[arg(long)]
    pub(super) no_header: bool,
    /// Column with the customer id.
    #[arg(long, value_name = "NAME")]
    pub(super) customer_id_col: Option<String>,
    /// Column with the order date.
    #[arg(long, value_name = "NAME")]
    pub(super) date_col: Option<String>,
    /// Column with the net amount (negative = return).
    #[arg(long, value_name = "NAME")]
    pub(super) amount_col: Option<String>,
    /// Column with the order id.
    #[arg(long, value_name = "NAME")]
    pub(super) order_id_col: Option<String>,
    /// Column with the product category.
    #[arg(long, value_name = "NAME")]
    pub(super) category_col: Option<String>,
    /// Column with the profit.
    #[arg(long, value_name = "NAME")]
    pub(super) profit_col: Option<String>,
    /// Column with the cost (profit = amount − cost).
    #[arg(long, value_name = "NAME")]
    pub(super) cost_col: Option<String>,
    /// Column with the quantity.
    #[arg(long, value_name = "NAME")]
    pub(super) quantity_col: Option<String>,
    /// Amounts use a decimal comma (12,50 or 1.234,56), as exports from German, French,
    /// Russian or Brazilian Excel do. Without it such amounts are rejected, never rescaled.
    #[arg(long)]
    pub(super) decimal_comma: bool,
    /// Date format (chrono strftime), e.g. %d/%m/%Y.
    #[arg(long, value_name = "FORMAT")]
    pub(super) date_format: Option<String>,
    /// Customer attributes table (joined on customer id).
    #[arg(long, value_name = "FILE")]
    pub(super) attributes: Option<PathBuf>,
    /// Satisfaction scores table (customer id, score).
    #[arg(long, value_name = "FILE")]
    pub(super) satisfaction: Option<PathBuf>,
    /// Column of the score in the satisfaction table (default `score`).
    #[arg(long, value_name = "NAME")]
    pub(super) satisfaction_score: Option<String>,
    /// Leads table (potential customers).
    #[arg(long, value_name = "FILE")]
    pub(super) leads: Option<PathBuf>,
    /// Read the transactions from PostgreSQL instead of files: a libpq URL such as
    /// postgresql://user@host:5432/shop (the password from PGPASSWORD, CLIENTELE_PG_PASSWORD
    /// or ~/.pgpass; PGHOST, PGPORT, PGUSER, PGDATABASE fill what the URL leaves out).
    #[arg(long, value_name = "URL")]
    pub(super) postgres: Option<String>,
    /// The table or view to read with --postgres (orders, sales.orders).
    #[arg(long, value_name = "NAME", conflicts_with = "query")]
    pub(super) table: Option<String>,
    /// A query to read with --postgres instead of a table (one row per transaction line).
    #[arg(long, value_name = "SQL")]
    pub(super) query: Option<String>,
}

// Flags with a fixed set of values: clap lists them in the help and refuses others. The
// engine does not depend on clap, so each maps onto its engine type.

/// `--lang`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(super) enum LangArg {
    Zh,
    En,
}

impl From<LangArg> for Lang {
    fn from(l: LangArg) -> Self {
        match l {
            LangArg::Zh => Lang::Zh,
            LangArg::En => Lang::En,
        }
    }
}

/// Every file the analysis reads (transactions, side tables, the config), which no output
/// may replace.
pub(super) fn input_paths(c: &Config, config_file: Option<&Path>) -> Vec<PathBuf> {
    let mut v = c.input_paths();
    v.extend(config_file.map(Path::to_path_buf));
    v
}

pub(super) fn config_from(a: &AnalyzeArgs) -> Result<Config> {
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
        c.source.decimal = DecimalSeparator::Comma;
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
    if let Some(url) = &s.postgres {
        if !a.inputs.is_empty() {
            anyhow::bail!(
                "both transaction files and --postgres given: read the files, or the server, not both"
            );
        }
        c.source.postgres = Some(url.clone());
        // a server given here reads instead of the config's files, table or query
        c.source.transactions.clear();
        c.source.table = None;
        c.source.query = None;
    }
    if let Some(t) = &s.table {
        c.source.table = Some(t.clone());
        c.source.query = None;
    }
    if let Some(q) = &s.query {
        c.source.query = Some(q.clone());
        c.source.table = None;
    }
    if let Some(v) = &s.satisfaction_score {
        c.source.satisfaction_score = v.clone();
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
    if let Some(u) = a.unit {
        c.time.unit = u;
    }
    if let Some(u) = &a.cluster {
        c.engine.cluster = Some(u.clone());
    }
    if let Some(d) = &a.cluster_staging {
        c.engine.staging = Some(d.clone());
    }
    if let Some(p) = a.cluster_plan {
        c.engine.plan = p;
    }
    if let Some(f) = a.format {
        c.output.format = f.into();
    }
    c.output.target_lists |= a.target_lists;
    if let Some(url) = &a.write_postgres {
        c.output.postgres = Some(url.clone());
    }
    if let Some(t) = &a.write_table {
        c.output.table = Some(t.clone());
    }
    match a.lang {
        Some(l) => c.output.lang = l.into(),
        // no flag and no config: the user's locale decides (zh for zh_*, else en)
        None if a.config.is_none() => c.output.lang = locale_lang(),
        None => {}
    }
    if c.source.transactions.is_empty() && c.source.postgres.is_none() {
        anyhow::bail!(c.output.lang.pick(
            "没有给出交易数据文件：请给出文件或目录、--postgres URL --table 表名，或在 --config 的 [source] 中设置 transactions（见 clientele analyze --help）",
            "no transaction files given: pass files or directories, --postgres URL --table NAME, or set [source] transactions in --config (see clientele analyze --help)"
        ));
    }
    Ok(c)
}

/// English when LC_ALL / LC_MESSAGES / LANG says so, Chinese otherwise.
pub(super) fn locale_lang() -> Lang {
    let locale = ["LC_ALL", "LC_MESSAGES", "LANG"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .find(|v| !v.is_empty())
        .unwrap_or_default();
    Lang::from_locale(&locale)
}
