//! What an analysis adds to its output folder besides the engine's files (report.html), and
//! the summary it prints.

use std::path::Path;

use anyhow::Result;
use clientele_engine::{Analysis, ExtraFile};

/// `report.html` in the run's language, rendered from the typed summary (a run that stopped
/// after the customer table has nothing to report).
pub(super) fn report_files(a: &Analysis) -> Result<Vec<ExtraFile>> {
    if a.summary.rfm.is_none() {
        return Ok(Vec::new());
    }
    let html = clientele_report::render(&a.summary, a.summary.lang)?;
    Ok(vec![ExtraFile {
        name: "report.html".into(),
        bytes: html.into_bytes(),
    }])
}

pub(super) fn print_summary(a: &Analysis, dir: &Path, files: &[String]) -> Result<()> {
    let sm = &a.summary;
    let k = &sm.kpis;
    for d in &sm.inputs.duplicates {
        say!(
            "note: {d} was named more than once (as a file, in a folder or by a pattern); read once"
        )?;
    }
    say!("{}", sm.reconciliation)?;
    if sm.inputs.return_only_customers > 0 {
        say!(
            "{} customers with only returns up to the as-of date are not in the table (net {:.2})",
            sm.inputs.return_only_customers,
            sm.inputs.return_only_amount
        )?;
    }
    say!(
        "as of {} · {} customers · revenue {:.2} · {} orders · AOV {:.2}",
        sm.as_of,
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
    if let Some(c) = sm.clv.done() {
        let m = &c.model;
        let params: Vec<String> = m
            .param_names
            .iter()
            .zip(&m.params)
            .map(|(n, v)| format!("{n} {v:.4}"))
            .collect();
        say!(
            "CLV: {} ({}) {} · log-likelihood {:.2} · {} · {:.0} expected purchases in {} months{}",
            model_name(&m.model),
            c.unit.name(),
            params.join(", "),
            m.log_likelihood,
            if m.converged {
                "fit converged"
            } else {
                "fit NOT converged"
            },
            c.expected_purchases_total,
            c.options.months,
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
    if let Some(e) = sm.clv.problem() {
        say!("CLV: not computed: {e}")?;
    }
    if let Some(r) = &sm.rfm {
        for s in r
            .schemes
            .iter()
            .filter(|s| s.name == "cn8" || s.name == "rf10")
        {
            let parts: Vec<String> = s
                .segments
                .iter()
                .filter(|g| g.customers > 0)
                .map(|g| format!("{} {}", sm.lang.pick(&g.zh, &g.en), g.customers))
                .collect();
            say!("RFM {}: {}", s.name, parts.join(" · "))?;
        }
    }
    if let Some(l) = &sm.lifecycle {
        let parts: Vec<String> = l
            .stages
            .counts
            .iter()
            .filter(|c| c.count > 0)
            .map(|c| format!("{} {}", sm.lang.pick(&c.name_zh, &c.name_en), c.count))
            .collect();
        say!("lifecycle: {}", parts.join(" · "))?;
    }
    if let Some(c) = sm.clusters.done() {
        let parts: Vec<String> = c
            .profiles
            .iter()
            .map(|p| {
                format!(
                    "{}: {} {}",
                    p.label,
                    sm.lang.pick(&p.name_zh, &p.name_en),
                    p.size
                )
            })
            .collect();
        say!("k-means (k={}): {}", c.model.k, parts.join(" · "))?;
    }
    if let Some(e) = sm.clusters.problem() {
        say!("k-means: not computed: {e}")?;
    }
    if let Some(v) = sm.validation.done() {
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
    if let Some(e) = sm.validation.problem() {
        say!("holdout validation: not computed: {e}")?;
    }
    for g in &sm.grades {
        let parts: Vec<String> = g
            .grades
            .iter()
            .map(|x| format!("{} {}", x.grade, x.customers))
            .collect();
        say!("grading {}: {}", g.scheme, parts.join(" · "))?;
    }
    for s in &sm.skipped_presets {
        say!("classic grading not applied: {s}")?;
    }
    for s in &sm.side_tables {
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
    if sm.leads_without_purchase > 0 {
        say!("{} leads have not bought yet", sm.leads_without_purchase)?;
    }
    say!("outputs in {}: {}", dir.display(), files.join(", "))?;
    Ok(())
}

/// A transaction model as papers and people name it (`bg_nbd` → `BG/NBD`).
pub(super) fn model_name(id: &str) -> &str {
    match id {
        "bg_nbd" => "BG/NBD",
        "mbg_nbd" => "MBG/NBD",
        "pareto_nbd" => "Pareto/NBD",
        "bg_bb" => "BG/BB",
        other => other,
    }
}
