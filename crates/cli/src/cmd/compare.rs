//! `clientele compare`: migration, moved customers and score drift between two runs.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use clientele_core::Lang;
use clientele_engine::{Manifest, OutputDir};

use super::flags::{LangArg, locale_lang};
use super::pad;
use crate::progress::Bars;

#[derive(Debug, Args)]
pub(super) struct CompareArgs {
    /// The earlier run: an output directory or a snapshot.json.
    old: PathBuf,
    /// The later run.
    new: PathBuf,
    /// Write comparison.json (matrices, drift, every move with its customers) and moves.csv
    /// (one row per customer who moved) into this folder (new, empty, or one clientele wrote).
    #[arg(long, short)]
    out: Option<PathBuf>,
    /// Compare runs whose settings differ only in how the input is read ([source], [columns]:
    /// a renamed column, another export's encoding); the differences are printed.
    #[arg(long)]
    force: bool,
    /// Language of what is printed (default: the locale's).
    #[arg(long, value_enum)]
    lang: Option<LangArg>,
}

pub(super) fn run(c: CompareArgs, bars: &Bars) -> Result<()> {
    let lang = c.lang.map_or_else(locale_lang, Lang::from);
    // an error is said in it too
    bars.set_lang(lang);
    let old = clientele_engine::read_snapshot(&c.old)?;
    let mut new = clientele_engine::read_snapshot(&c.new)?;
    if old.config_hash != new.config_hash {
        check_settings(&c, lang, &old.config_hash, &new.config_hash)?;
        // only the reading differs, and --force says both name the same data
        new.config_hash = old.config_hash.clone();
    }
    let cmp = clientele_engine::compare_snapshots(&old, &new)?;
    say_in!(
        lang,
        "{} → {}：客户 {} → {}（两期都有 {}，新出现 {}，消失 {}）",
        "{} → {}: {} → {} customers ({} in both, {} new, {} gone)",
        cmp.old_as_of,
        cmp.new_as_of,
        cmp.old_customers,
        cmp.new_customers,
        cmp.in_both,
        cmp.appeared,
        cmp.gone
    )?;
    let schemes = cmp.schemes.iter().map(|m| (m, false));
    for (m, stages) in schemes.chain(cmp.lifecycle.iter().map(|m| (m, true))) {
        say_in!(
            lang,
            "\n{}：未变 {}，迁移 {}",
            "\n{}: {} stayed, {} moved",
            scheme_title(&m.name, lang),
            m.stayed,
            m.moved
        )?;
        // the comparison's keys for "not in the old run" and "not in the new run"; lifecycle
        // stages by their names
        let shown = |g: &str| match g {
            clientele_engine::lifecycle::NEW_CUSTOMER => lang.pick("（新客户）", g).to_string(),
            clientele_engine::lifecycle::GONE => lang.pick("（已消失）", g).to_string(),
            _ => match clientele_engine::lifecycle::Stage::from_id(g).filter(|_| stages) {
                Some(s) => s.name(lang).to_string(),
                None => g.to_string(),
            },
        };
        let rows: Vec<String> = m.rows.iter().map(|r| shown(r)).collect();
        let columns: Vec<String> = m.columns.iter().map(|c| shown(c)).collect();
        let display = unicode_width::UnicodeWidthStr::width;
        let width = rows
            .iter()
            .map(|r| display(r.as_str()))
            .max()
            .unwrap_or(8)
            .max(8);
        let cell = columns
            .iter()
            .map(|c| display(c.as_str()))
            .max()
            .unwrap_or(0)
            .max(12);
        say_part!("  {}", pad("", width, true))?;
        for col in &columns {
            say_part!(" {}", pad(col, cell, false))?;
        }
        say!()?;
        for (i, row) in rows.iter().enumerate() {
            say_part!("  {}", pad(row, width, true))?;
            for n in &m.counts[i] {
                say_part!(" {}", pad(&n.to_string(), cell, false))?;
            }
            say!()?;
        }
        let mut moves: Vec<_> = m.moves.iter().filter(|mv| mv.from != mv.to).collect();
        moves.sort_by_key(|mv| std::cmp::Reverse(mv.count));
        for mv in moves.iter().take(5) {
            let (from, to) = (shown(&mv.from), shown(&mv.to));
            say_in!(
                lang,
                "  {} → {}：{} 位客户",
                "  moved {} → {}: {} customers",
                from,
                to,
                mv.count
            )?;
        }
    }
    // the metrics first: quantile scores are re-cut every run, so their drift is close to 0
    let short = |x: f64| {
        let s = format!("{x:.2}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    };
    let psi = |d: &clientele_engine::lifecycle::Drift| match (d.psi, d.band) {
        (Some(p), Some(b)) => match lang {
            Lang::Zh => format!("{p:.4}（{}）", band_name(b, lang)),
            Lang::En => format!("{p:.4} ({})", band_name(b, lang)),
        },
        (Some(p), None) => format!("{p:.4}"),
        _ => lang
            .pick("无（有一次运行没有客户）", "n/a (a run without customers)")
            .into(),
    };
    for d in &cmp.metrics {
        let (a, b) = (short(d.old_median), short(d.new_median));
        say_in!(
            lang,
            "分布漂移 {}（中位数 {} → {}）：PSI {}",
            "drift {} (median {} → {}): PSI {}",
            d.metric,
            a,
            b,
            psi(&d.drift)
        )?;
    }
    for d in &cmp.scores {
        say_in!(
            lang,
            "分布漂移 {}：PSI {}",
            "drift {}: PSI {}",
            d.name,
            psi(d)
        )?;
    }
    if let Some(dir) = &c.out {
        let out = OutputDir::begin(dir, &[c.old.clone(), c.new.clone()])?;
        let p = out.path().join("comparison.json");
        std::fs::write(&p, serde_json::to_vec_pretty(&cmp)?)
            .with_context(|| format!("writing {}", dir.join("comparison.json").display()))?;
        clientele_engine::write_moves(&cmp, &out.path().join("moves.csv"))?;
        let dir = out.finish(Manifest::new("comparison"))?;
        say_in!(
            lang,
            "已写入 {} 和 {}",
            "wrote {} and {}",
            dir.join("comparison.json").display(),
            dir.join("moves.csv").display()
        )?;
    }
    Ok(())
}

/// Runs whose config hashes differ: refused, naming the settings that differ, unless they
/// differ only in how the input is read and `--force` is given (then they are printed).
fn check_settings(c: &CompareArgs, lang: Lang, old_hash: &str, new_hash: &str) -> Result<()> {
    use clientele_engine::{run_settings, settings_diff, settings_mismatch};
    let (old, new) = (run_settings(&c.old), run_settings(&c.new));
    let why = settings_mismatch(old.as_ref(), new.as_ref(), (old_hash, new_hash));
    let (Some(old), Some(new)) = (old, new) else {
        anyhow::bail!(
            "cannot compare {} and {}: {why}",
            c.old.display(),
            c.new.display()
        );
    };
    let changes = settings_diff(&old, &new);
    if !(c.force && changes.iter().all(|ch| ch.only_reading())) {
        anyhow::bail!(
            "cannot compare {} and {}: {why}",
            c.old.display(),
            c.new.display()
        );
    }
    say_in!(
        lang,
        "注意：比较的两次运行读取输入的设置不同（--force）：",
        "note: comparing runs that read their input with different settings (--force):"
    )?;
    for ch in &changes {
        say!("  {ch}")?;
    }
    Ok(())
}

/// A scheme as a Chinese reader knows it, with the key `clientele export --scheme` takes:
/// `行为分级（behaviour）`; in English the key.
fn scheme_title(key: &str, lang: Lang) -> String {
    use clientele_core::columns::Grouping;
    let title = match Grouping::of_key(key) {
        Grouping::Lifecycle => Some("生命周期".to_string()),
        Grouping::Cluster => Some("K-means 聚类".to_string()),
        Grouping::ValueTier => Some("价值分层".to_string()),
        Grouping::Rfm(rfm) => Some(format!("RFM {rfm}")),
        Grouping::Grade(name) => {
            clientele_engine::grade::presets::classic_title_zh(&name).map(str::to_string)
        }
    };
    match (lang, title) {
        (Lang::Zh, Some(t)) => format!("{t}（{key}）"),
        _ => key.to_string(),
    }
}

/// How a PSI band reads in a sentence (in Chinese as the report names it).
fn band_name(b: clientele_engine::lifecycle::DriftBand, lang: Lang) -> &'static str {
    use clientele_engine::lifecycle::DriftBand;
    match b {
        DriftBand::Stable => lang.pick("稳定", "stable"),
        DriftBand::Moderate => lang.pick("中等", "moderate shift"),
        DriftBand::Significant => lang.pick("显著", "significant shift"),
    }
}
