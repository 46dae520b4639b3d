//! `clientele analyze`: the customer table, models, grades and lists from transactions.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Result;
use clap::{Args, ValueEnum};
use clientele_engine::{
    AnalyzeOptions, FOLD_BYTES_PER_ROW, OutputFormat, SpillOptions, analyze, analyze_by_parts,
    analyze_spilled, check_destination, estimate_input, write_outputs, write_outputs_last,
    write_outputs_spilled, write_to_postgres, write_to_postgres_spilled,
};

use super::flags::{LangArg, SourceArgs, config_from, input_paths};
use super::outputs::{print_summary, report_files};
use crate::progress::Bars;
use clientele_core::{Lang, TimeUnit};

#[derive(Debug, Args)]
pub(super) struct AnalyzeArgs {
    /// Transaction files, directories or glob patterns (CSV, TXT, Parquet).
    pub(super) inputs: Vec<PathBuf>,
    /// Config file (TOML); flags override it.
    #[arg(long, short)]
    pub(super) config: Option<PathBuf>,
    /// Analysis date (YYYY-MM-DD); later rows are excluded. Default: last date in the data.
    #[arg(long)]
    pub(super) as_of: Option<String>,
    /// Output folder: new, empty, or one clientele wrote earlier (replaced whole, in one
    /// step). Any other existing file or folder is refused, never overwritten.
    #[arg(long, short, default_value = "clientele-out")]
    pub(super) out: PathBuf,
    /// Customer-table files (default auto: Parquet, and CSV too while it fits an Excel sheet).
    #[arg(long, value_enum)]
    pub(super) format: Option<FormatArg>,
    /// Stop at the first bad row instead of writing it to rejects.csv.
    #[arg(long)]
    pub(super) strict: bool,
    /// CLV-convention time unit: days, weeks, months, quarters, years or "N days".
    #[arg(long, value_name = "UNIT")]
    pub(super) unit: Option<TimeUnit>,
    /// Language of segment labels and actions in the outputs (default: the config's, or without
    /// a config the locale's: zh for zh_*, English otherwise).
    #[arg(long, value_enum)]
    pub(super) lang: Option<LangArg>,
    /// Stop after the customer table (no models, grades or lists).
    #[arg(long)]
    pub(super) customer_table_only: bool,
    /// Also write every grade's list as segments/<scheme>/<grade>.csv (otherwise export one
    /// on demand with `clientele export`).
    #[arg(long)]
    pub(super) target_lists: bool,
    /// Print the wall time of each step (reading, customer table, models, writing) to stderr.
    #[arg(long)]
    pub(super) timings: bool,
    /// Also analyze at every month end before the as-of date and keep those snapshots
    /// (a year of monthly history from one file).
    #[arg(long, value_enum)]
    pub(super) history: Option<HistoryArg>,
    /// Also validate the CLV model: fit up to this date, predict the rest (YYYY-MM-DD).
    #[arg(long)]
    pub(super) calibration_end: Option<String>,
    /// A previous run (output directory or snapshot.json): add the migration since then.
    #[arg(long, value_name = "DIR")]
    pub(super) previous: Option<PathBuf>,
    /// Also write the customer table to PostgreSQL (a libpq URL; the password from
    /// PGPASSWORD, CLIENTELE_PG_PASSWORD or ~/.pgpass), replacing clientele's previous table
    /// in one transaction and logging the run in clientele_runs.
    #[arg(long, value_name = "URL")]
    pub(super) write_postgres: Option<String>,
    /// The table --write-postgres writes (default clientele_customers; schema.name).
    #[arg(long, value_name = "NAME")]
    pub(super) write_table: Option<String>,
    /// Run the per-customer aggregation on a Ballista cluster (df://host:50050) instead of in
    /// this process; needs a build with `--features cluster` (docs/CLUSTER.md).
    #[arg(long, value_name = "URL")]
    pub(super) cluster: Option<clientele_distributed::ClusterUrl>,
    /// With --cluster: the folder the validated rows are staged in, which every executor
    /// reads at the same path (default: the system's temporary folder, one machine only).
    #[arg(long, value_name = "DIR")]
    pub(super) cluster_staging: Option<PathBuf>,
    /// With --cluster: `fold` (default) runs clientele's own fold on the executors, which
    /// must be `clientele cluster executor` processes; `sql` runs it as SQL, which stock
    /// Ballista 55 executors run too. Same results either way.
    #[arg(long, value_name = "PLAN")]
    pub(super) cluster_plan: Option<clientele_distributed::ClusterPlan>,
    /// Stop with a clear message when the run's memory passes SIZE (4GiB, 512MiB, 8G or 50%
    /// of this machine's), rather than be killed by the system when it runs out. Default: 90 %
    /// of this machine's memory (Linux).
    #[arg(long, value_name = "SIZE")]
    pub(super) memory_limit: Option<crate::memory::MemoryLimit>,
    /// Build the customer table part by part on disk in this existing folder (a hidden folder
    /// inside it, removed at the end) and keep it there through the models. Without it, a run
    /// whose input would not fit --memory-limit (--customer-table-only: half of it) goes by
    /// parts beside the output folder. With --cluster: each part is folded on the cluster as
    /// a job of its own, and this process holds one part's customers at a time.
    #[arg(long, value_name = "DIR")]
    pub(super) spill_dir: Option<PathBuf>,
    /// With --spill-dir: this many parts instead of as many as --memory-limit asks for (for
    /// tests and tuning: more parts hold less each, and cost more passes).
    #[arg(long, value_name = "N", requires = "spill_dir", hide = true,
          value_parser = clap::value_parser!(u16).range(1..=4096))]
    pub(super) spill_parts: Option<u16>,
    /// With --spill-dir: the models score and grade this many customers at a time instead of
    /// 2²⁰ (for tests and tuning: small parts exercise the part-by-part steps on small shops).
    #[arg(long, value_name = "N", requires = "spill_dir", hide = true,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub(super) part_rows: Option<u32>,
    #[command(flatten)]
    pub(super) source: SourceArgs,
}

/// `--format`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(super) enum FormatArg {
    /// Both while the customers fit an Excel sheet (1,048,575), else Parquet only.
    Auto,
    /// customers.parquet only.
    Parquet,
    /// customers.csv only (UTF-8 with a BOM, for Excel).
    Csv,
    /// Both, whatever the size.
    Both,
}

impl From<FormatArg> for OutputFormat {
    fn from(f: FormatArg) -> Self {
        match f {
            FormatArg::Auto => OutputFormat::Auto,
            FormatArg::Parquet => OutputFormat::Parquet,
            FormatArg::Csv => OutputFormat::Csv,
            FormatArg::Both => OutputFormat::Both,
        }
    }
}

/// `--history`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(super) enum HistoryArg {
    Monthly,
}

pub(super) fn run(a: AnalyzeArgs, bars: &'static Bars) -> Result<()> {
    // `--lang` holds before the config is read: its errors are said in it too
    if let Some(l) = a.lang {
        bars.set_lang(l.into());
    }
    let config = config_from(&a)?;
    bars.set_lang(config.output.lang);
    let limit = a
        .memory_limit
        .or_else(crate::memory::MemoryLimit::default_for_machine);
    if let Some(limit) = limit
        && !limit.watch(bars, config.output.lang, a.customer_table_only)
        && a.memory_limit.is_some()
    {
        say_in!(
            config.output.lang,
            "注意：本系统无法读取进程内存，--memory-limit 未生效",
            "note: this system does not show a process's memory here: --memory-limit is not enforced"
        )?;
    }
    let format = config.output.format;
    let compression = config.output.parquet_compression;
    // Refused before the analysis, not after minutes of work; checked again when writing.
    let inputs = input_paths(&config, a.config.as_deref());
    check_destination(&a.out, &inputs)?;
    let sink = config.output.postgres_sink()?;
    let started = Instant::now();
    let opts = analyze_options(&a);
    let plan = spill_plan(&a, &config, &opts, limit)?;
    let on_cluster = config.engine.cluster.is_some();
    let (analysis, spilled) = match &plan {
        Some(spill) if a.customer_table_only => {
            remove_temporary_when_stopped(bars, config.output.lang, on_cluster);
            let (analysis, table) = analyze_spilled(&config, &opts, spill, &a.out, bars)?;
            (analysis, Some(table))
        }
        Some(spill) => {
            remove_temporary_when_stopped(bars, config.output.lang, on_cluster);
            (analyze_by_parts(&config, &opts, spill, &a.out, bars)?, None)
        }
        None => {
            if on_cluster {
                // the staged rows, as large as the input, are removed first
                remove_temporary_when_stopped(bars, config.output.lang, true);
            }
            (analyze(&config, &opts, bars)?, None)
        }
    };
    let analyzed = started.elapsed();
    let lang = config.output.lang;
    let spin = bars.spinner(lang.pick("写出结果", "writing outputs"));
    let writing = Instant::now();
    let report = report_files(&analysis)?;
    let written = match &spilled {
        Some(t) => {
            write_outputs_spilled(&analysis, t, &a.out, format, compression, &inputs, &report)?
        }
        // the table is read once more only to be written to a database
        None if sink.is_some() => {
            write_outputs(&analysis, &a.out, format, compression, &inputs, &report)?
        }
        None => write_outputs_last(&analysis, &a.out, format, compression, &inputs, &report)?,
    };
    spin.finish_and_clear();
    let stored = match &sink {
        Some(sink) => {
            let spin = bars.spinner(lang.pick(
                "把顾客表写入 PostgreSQL",
                "writing the customer table to PostgreSQL",
            ));
            let w = match &spilled {
                Some(t) => write_to_postgres_spilled(&analysis, t, sink)?,
                None => write_to_postgres(&analysis, sink)?,
            };
            spin.finish_and_clear();
            Some(w)
        }
        None => None,
    };
    drop(spilled);
    // a run by parts kept its table on disk until now: its spill folder goes with it
    let mut analysis = analysis;
    drop(std::mem::take(&mut analysis.customers));
    let writing = writing.elapsed();
    print_column_hints(&analysis)?;
    print_summary(&analysis, &written.dir, &written.files, format)?;
    if let Some(spill) = &plan {
        let limit = limit.map(|l| l.describe(analysis.summary.lang));
        let limit = limit.unwrap_or_else(|| "-".into());
        if on_cluster {
            say_in!(
                analysis.summary.lang,
                "顾客表在集群上分 {} 块汇总，各块依次写到磁盘，模型与写出期间也留在磁盘上（内存上限 {}）；暂存行与临时文件已删除",
                "the customer table was folded on the cluster in {} parts, each kept on disk here through the models and the writing (memory limit {}); the staged rows and spill files are removed",
                spill.parts,
                limit
            )?;
        } else if a.customer_table_only {
            say_in!(
                analysis.summary.lang,
                "顾客表在磁盘上分 {} 块构建（内存上限 {}），临时文件已删除",
                "the customer table was built in {} parts on disk (memory limit {}); the spill files are removed",
                spill.parts,
                limit
            )?;
        } else {
            say_in!(
                analysis.summary.lang,
                "顾客表在磁盘上分 {} 块汇总，模型与写出期间也留在磁盘上，每步只读入所需的列（内存上限 {}）；临时文件已删除",
                "the customer table was folded in {} parts on disk and kept there through the models and the writing, each step reading only the columns it needs (memory limit {}); the spill files are removed",
                spill.parts,
                limit
            )?;
        }
    }
    if let Some(w) = stored {
        say_in!(
            analysis.summary.lang,
            "已写入 PostgreSQL：{} 位顾客 → {}（{}，clientele_runs 第 {} 次运行）",
            "written to PostgreSQL: {} customers → {} ({}, run {} in clientele_runs)",
            w.rows,
            w.table,
            w.url,
            w.run_id
        )?;
    }
    if a.timings {
        print_timings(
            bars,
            &analysis.timings,
            analyzed,
            (writing, &written.timings),
            started.elapsed(),
        );
    }
    // The process ends here: freeing millions of small allocations one by one would only
    // delay the exit (about a second for 3M customers), so the analysis is left to the OS.
    std::mem::forget(analysis);
    Ok(())
}

/// Ctrl-C or a kill (SIGINT, SIGTERM) ends the run without running destructors: the spill
/// files, or a cluster run's staged rows, as large as the input, are removed first.
/// (Installed for spilled and cluster runs only: the server handles its own signals.)
pub(super) fn remove_temporary_when_stopped(
    bars: &'static Bars,
    lang: clientele_core::Lang,
    cluster: bool,
) {
    let _ = ctrlc::set_handler(move || {
        clientele_engine::remove_unfinished();
        bars.clear();
        let said = if cluster {
            lang.pick(
                "已中断：暂存给集群的数据行（及临时分块文件）已删除，输出文件夹保持原样",
                "interrupted: the rows staged for the cluster are removed (and the spill files, if any), the output folder is as it was",
            )
        } else {
            lang.pick(
                "已中断：临时分块文件已删除，输出文件夹保持原样",
                "interrupted: the spill files are removed, the output folder is as it was",
            )
        };
        eprintln!("{said}");
        std::process::exit(130);
    });
}

/// What the engine is asked to do besides the config.
fn analyze_options(a: &AnalyzeArgs) -> AnalyzeOptions {
    AnalyzeOptions {
        strict: a.strict,
        rejects_path: None,
        customer_table_only: a.customer_table_only,
        history_monthly: a.history.is_some(),
        previous: a.previous.clone(),
    }
}

/// Whether (and in how many parts) a run folds its customer table by parts on disk: when
/// `--spill-dir` is given, or when its input, by the files' sizes, would not fit the memory
/// limit: a `--customer-table-only` run past half the limit (the fold alone), a whole analysis
/// past the limit (the fold's peak, about what the models hold after it). A whole analysis by
/// parts keeps its table on disk through the models (docs/SCALE.md, step 3b), which lowers
/// its peak but costs passes over the disk, so a run that fits stays in memory. A PostgreSQL
/// source spills only with `--spill-dir` (no size beforehand). One that must fold the rows
/// again from memory (month ends, the holdout) stays in memory, and is refused with
/// `--spill-dir`. A cluster run keeps its table on disk by parts only with `--spill-dir`
/// (each part one job on the cluster; its executors, not this process, hold the rows).
fn spill_plan(
    a: &AnalyzeArgs,
    config: &clientele_engine::Config,
    opts: &AnalyzeOptions,
    limit: Option<crate::memory::MemoryLimit>,
) -> Result<Option<SpillOptions>> {
    let may_choose = config.engine.cluster.is_none()
        && (a.customer_table_only || clientele_engine::can_fold_by_parts(config, opts));
    if a.spill_dir.is_none() && !may_choose {
        return Ok(None);
    }
    if let Some(dir) = &a.spill_dir
        && !dir.is_dir()
    {
        // a mistyped folder would be made and left behind: the user names one that exists
        let what = if dir.exists() {
            "is not a folder"
        } else {
            "does not exist"
        };
        anyhow::bail!(
            "--spill-dir {} {what}: name an existing folder on a disk with room for about twice \
             the input's size (or make it first: mkdir -p {})",
            dir.display(),
            clientele_core::shell_word(&dir.display().to_string())
        );
    }
    let Some(input) = estimate_input(config) else {
        // a database source tells no size beforehand: spilled only when asked, in 16 parts
        return Ok(a.spill_dir.as_ref().map(|dir| SpillOptions {
            dir: Some(dir.clone()),
            parts: a.spill_parts.map_or(16, usize::from),
            reading_threads: None,
            part_rows: a.part_rows.map(|n| n as usize),
        }));
    };
    // without a readable limit, parts of about a gigabyte of folding each
    let budget = limit.map_or(4 << 30, |l| l.bytes());
    let fold = input.rows.saturating_mul(FOLD_BYTES_PER_ROW);
    let needs = may_choose
        && if a.customer_table_only {
            fold > budget / 2
        } else {
            fold > budget
        };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    Ok((a.spill_dir.is_some() || needs).then(|| {
        let chosen = SpillOptions::for_input(&input, budget, cores);
        SpillOptions {
            dir: a.spill_dir.clone(),
            parts: a.spill_parts.map_or(chosen.parts, usize::from),
            part_rows: a.part_rows.map(|n| n as usize),
            ..chosen
        }
    }))
}

/// Optional columns the data seems to hold under another name, with the flag that maps each
/// (`--category-col 商品类别`); a hint a skipped grading already gives is not repeated.
fn print_column_hints(a: &clientele_engine::Analysis) -> Result<()> {
    for h in &a.column_hints {
        let fix = h.flag_fix();
        if !a
            .summary
            .skipped_presets
            .iter()
            .any(|s| s.en.contains(&fix))
        {
            say_in!(
                a.summary.lang,
                "注意：{}",
                "note: {}",
                h.text(a.summary.lang)
            )?;
        }
    }
    Ok(())
}

/// `--timings`: the steps the progress bars showed, the models (the rest of the analysis) and
/// the writing, in wall-clock seconds.
fn print_timings(
    bars: &Bars,
    models: &[clientele_engine::StepTiming],
    analyzed: Duration,
    (writing, files): (Duration, &[clientele_engine::StepTiming]),
    total: Duration,
) {
    let lang = bars.lang();
    let steps = bars.steps();
    let shown: Duration = steps.iter().map(|(_, d)| *d).sum();
    eprintln!(
        "{}",
        lang.pick("耗时（墙钟时间）：", "timings (wall clock):")
    );
    let line = |indent: &str, label: &str, width: usize, seconds: f64, detail: &str| {
        eprintln!(
            "{indent}{} {seconds:>8.2} s{detail}",
            super::pad(label, width, true)
        );
    };
    for (label, took) in &steps {
        line("  ", label, 48, took.as_secs_f64(), "");
    }
    // every model step, with what explains its time
    let mut stepped = 0.0;
    let print = |t: &clientele_engine::StepTiming| {
        let detail = t.detail.as_ref().map_or(String::new(), |d| match lang {
            Lang::Zh => format!("（{}）", d.zh),
            Lang::En => format!("  ({})", d.en),
        });
        line("    ", t.step.text(lang), 46, t.seconds, &detail);
    };
    for t in models {
        stepped += t.seconds;
        print(t);
    }
    let rest = analyzed.saturating_sub(shown).as_secs_f64() - stepped;
    if rest > 0.005 {
        let label = lang.pick("分析的其余部分", "the rest of the analysis");
        line("    ", label, 46, rest, "");
    }
    let label = lang.pick("写出结果", "writing outputs");
    line("  ", label, 48, writing.as_secs_f64(), "");
    for t in files {
        print(t);
    }
    line(
        "  ",
        lang.pick("合计", "total"),
        48,
        total.as_secs_f64(),
        "",
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    /// The plan `clientele analyze FILE ARGS…` makes, and the estimated rows of FILE.
    fn plan(file: &std::path::Path, args: &[&str]) -> (Option<SpillOptions>, u64) {
        let out = file.with_file_name("out");
        let mut argv = vec!["clientele", "analyze"];
        let (file, out) = (file.to_str().unwrap(), out.to_str().unwrap());
        argv.extend([file, "--out", out]);
        argv.extend(args);
        let cli = crate::cmd::Cli::try_parse_from(argv).unwrap();
        let crate::cmd::Command::Analyze(a) = cli.command else {
            panic!("not analyze");
        };
        let config = config_from(&a).unwrap();
        let opts = analyze_options(&a);
        let rows = estimate_input(&config).unwrap().rows;
        (
            spill_plan(&a, &config, &opts, a.memory_limit).unwrap(),
            rows,
        )
    }

    #[test]
    fn a_whole_analysis_goes_by_parts_when_its_input_would_not_fit_the_limit() {
        let d = tempfile::tempdir().unwrap();
        let file = d.path().join("tx.csv");
        let mut csv = String::from("customer_id,date,amount\n");
        for i in 0..20_000 {
            csv.push_str(&format!(
                "c{},2024-0{}-1{},{}.50\n",
                i % 3000,
                1 + i % 9,
                i % 10,
                i % 97
            ));
        }
        std::fs::write(&file, csv).unwrap();
        let (_, rows) = plan(&file, &[]);
        let fold = rows * FOLD_BYTES_PER_ROW;
        let bytes = |b: u64| format!("{b}B");
        // past the limit: by parts, beside the output; within it: in memory
        let (p, _) = plan(&file, &["--memory-limit", &bytes(fold - 1)]);
        assert!(p.is_some_and(|p| p.dir.is_none() && p.parts > 1));
        let (p, _) = plan(&file, &["--memory-limit", &bytes(fold + 1)]);
        assert!(p.is_none(), "a whole analysis that fits stays in memory");
        // the table alone goes by parts past half the limit, as before
        let (p, _) = plan(
            &file,
            &["--memory-limit", &bytes(fold + 1), "--customer-table-only"],
        );
        assert!(p.is_some());
        // month ends fold again from memory: they stay there whatever the limit
        let (p, _) = plan(
            &file,
            &["--memory-limit", &bytes(fold / 4), "--history", "monthly"],
        );
        assert!(p.is_none());
        // a folder named is used whatever the size
        let spill = d.path().to_str().unwrap();
        let (p, _) = plan(&file, &["--spill-dir", spill]);
        assert!(p.is_some_and(|p| p.dir.is_some()));
    }
}
