//! `clientele compare`: migration, moved customers and score drift between two runs.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use clientele_engine::{Manifest, OutputDir};

use super::pad;

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
}

pub(super) fn run(c: CompareArgs) -> Result<()> {
    let old = clientele_engine::read_snapshot(&c.old)?;
    let mut new = clientele_engine::read_snapshot(&c.new)?;
    if old.config_hash != new.config_hash {
        check_settings(&c, &old.config_hash, &new.config_hash)?;
        // only the reading differs, and --force says both name the same data
        new.config_hash = old.config_hash.clone();
    }
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
        let display = unicode_width::UnicodeWidthStr::width;
        let width = m
            .rows
            .iter()
            .map(|r| display(r.as_str()))
            .max()
            .unwrap_or(8)
            .max(8);
        let cell = m
            .columns
            .iter()
            .map(|c| display(c.as_str()))
            .max()
            .unwrap_or(0)
            .max(12);
        say_part!("  {}", pad("", width, true))?;
        for col in &m.columns {
            say_part!(" {}", pad(col, cell, false))?;
        }
        say!()?;
        for (i, row) in m.rows.iter().enumerate() {
            say_part!("  {}", pad(row, width, true))?;
            for n in &m.counts[i] {
                say_part!(" {}", pad(&n.to_string(), cell, false))?;
            }
            say!()?;
        }
        let mut moves: Vec<_> = m.moves.iter().filter(|mv| mv.from != mv.to).collect();
        moves.sort_by_key(|mv| std::cmp::Reverse(mv.count));
        for mv in moves.iter().take(5) {
            say!("  moved {} → {}: {} customers", mv.from, mv.to, mv.count)?;
        }
    }
    // the metrics first: quantile scores are re-cut every run, so their drift is close to 0
    let short = |x: f64| {
        let s = format!("{x:.2}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    };
    for d in &cmp.metrics {
        say!(
            "drift {} (median {} → {}): PSI {}",
            d.metric,
            short(d.old_median),
            short(d.new_median),
            match (d.drift.psi, d.drift.band) {
                (Some(p), Some(b)) => format!("{p:.4} ({})", band_name(b)),
                (Some(p), None) => format!("{p:.4}"),
                _ => "n/a (a run without customers)".into(),
            }
        )?;
    }
    for d in &cmp.scores {
        say!(
            "drift {}: PSI {}",
            d.name,
            match (d.psi, d.band) {
                (Some(p), Some(b)) => format!("{p:.4} ({})", band_name(b)),
                (Some(p), None) => format!("{p:.4}"),
                _ => "n/a (a run without customers)".into(),
            }
        )?;
    }
    if let Some(dir) = &c.out {
        let out = OutputDir::begin(dir, &[c.old.clone(), c.new.clone()])?;
        let p = out.path().join("comparison.json");
        std::fs::write(&p, serde_json::to_vec_pretty(&cmp)?)
            .with_context(|| format!("writing {}", dir.join("comparison.json").display()))?;
        clientele_engine::write_moves(&cmp, &out.path().join("moves.csv"))?;
        let dir = out.finish(Manifest::new("comparison"))?;
        say!(
            "wrote {} and {}",
            dir.join("comparison.json").display(),
            dir.join("moves.csv").display()
        )?;
    }
    Ok(())
}

/// Runs whose config hashes differ: refused, naming the settings that differ, unless they
/// differ only in how the input is read and `--force` is given (then they are printed).
fn check_settings(c: &CompareArgs, old_hash: &str, new_hash: &str) -> Result<()> {
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
    say!("note: comparing runs that read their input with different settings (--force):")?;
    for ch in &changes {
        say!("  {ch}")?;
    }
    Ok(())
}

/// How a PSI band reads in a sentence.
fn band_name(b: clientele_engine::lifecycle::DriftBand) -> &'static str {
    use clientele_engine::lifecycle::DriftBand;
    match b {
        DriftBand::Stable => "stable",
        DriftBand::Moderate => "moderate shift",
        DriftBand::Significant => "significant shift",
    }
}
