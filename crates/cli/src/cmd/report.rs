//! `clientele report`: report.html again from a run's summary.json.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;
use clientele_core::Lang;
use clientele_engine::{Summary, is_clientele_page, write_file};

use super::flags::{LangArg, locale_lang};

#[derive(Debug, Args)]
pub(super) struct ReportArgs {
    /// An output directory (or its summary.json).
    run: PathBuf,
    /// Language (default: from the locale: zh for zh_*, English otherwise).
    #[arg(long, value_enum)]
    lang: Option<LangArg>,
    /// Where to write the page (default: report.html in the run directory, or report.<lang>.html
    /// when --lang differs from the run's language). An existing page clientele rendered is
    /// replaced; any other existing file only with --force.
    #[arg(long, short)]
    out: Option<PathBuf>,
    /// Replace an existing --out file that is not a clientele report.
    #[arg(long)]
    force: bool,
}

pub(super) fn run(r: ReportArgs) -> Result<()> {
    let summary_path = if r.run.is_dir() {
        r.run.join("summary.json")
    } else {
        r.run.clone()
    };
    let text = std::fs::read_to_string(&summary_path)
        .with_context(|| format!("reading {}", summary_path.display()))?;
    let summary =
        Summary::from_json(&text).with_context(|| format!("reading {}", summary_path.display()))?;
    let run_lang = summary.lang.code();
    let report_lang = r.lang.map_or_else(locale_lang, Lang::from);
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
    let html = clientele_report::render(&summary, report_lang)?;
    // A page clientele rendered (in the run folder or elsewhere) may be replaced; any other
    // existing file only with --force.
    write_file(&out, html.as_bytes(), |p| r.force || is_clientele_page(p))?;
    say_in!(report_lang, "已写入 {}", "wrote {}", out.display())?;
    Ok(())
}
