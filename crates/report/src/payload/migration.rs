//! Grade migration: how customers moved between the groups of each grouping since the previous
//! run, and how the score distributions drifted.

use clientele_core::columns::Grouping;
use clientele_engine::lifecycle::{Comparison, DriftBand, GONE, Migration, NEW_CUSTOMER};
use serde_json::{Value, json};

use super::card::{Card, Table, c_int, c_num, c_share, kpi, or_dash};
use super::chart::{HeatAxes, heatmap, widest_label};
use super::{Ctx, Section};
use crate::fmt_num::{int, num};

pub(super) fn section(c: &Ctx) -> Section {
    let mut sec = Section::new(c, "migration");
    let Some(m) = &c.s.migration else {
        return sec;
    };
    sec.kpis = vec![
        kpi(c.t("mig.old_as_of"), m.old_as_of.to_string(), String::new()),
        kpi(c.t("mig.new_as_of"), m.new_as_of.to_string(), String::new()),
        kpi(c.t("mig.in_both"), int(m.in_both as f64), String::new()),
        kpi(c.t("mig.appeared"), int(m.appeared as f64), String::new()),
        kpi(c.t("mig.gone_count"), int(m.gone as f64), String::new()),
    ];
    let all: Vec<&Migration> = m.lifecycle.iter().chain(&m.schemes).collect();
    if all.len() > 1 {
        sec.cards.push(summary_card(c, &all));
    }
    for (i, name) in c.s.highlights.migrations.iter().enumerate() {
        if let Some(mg) = all.iter().find(|mg| mg.name == *name) {
            sec.cards.push(matrix_card(c, mg, i));
        }
    }
    if !m.scores.is_empty() || !m.metrics.is_empty() {
        sec.cards.push(drift_card(c, m));
    }
    sec
}

/// Stayed, moved and drift of every grouping.
fn summary_card(c: &Ctx, all: &[&Migration]) -> Value {
    let mut t = Table::new(vec![
        (c.t("col.scheme"), false),
        (c.t("mig.stayed"), true),
        (c.t("mig.moved"), true),
        (c.t("mig.moved_share"), true),
        ("PSI".to_string(), true),
        (c.t("mig.band"), false),
    ]);
    for mg in all {
        t.row(vec![
            json!(c.grouping(&Grouping::of_key(&mg.name))),
            c_int(mg.stayed as f64),
            c_int(mg.moved as f64),
            or_dash(mg.moved_share, c_share),
            or_dash(mg.drift.psi, |v| c_num(v, 3)),
            json!(band(c, mg.drift.band)),
        ]);
    }
    Card::new(c.t("mig.summary"), 12)
        .sub(c.t("mig.summary_sub"))
        .table(t)
        .json()
}

/// The from × to matrix of one grouping as a heatmap.
fn matrix_card(c: &Ctx, mg: &Migration, i: usize) -> Value {
    let grouping = Grouping::of_key(&mg.name);
    let name = |s: &String| -> String {
        match s.as_str() {
            NEW_CUSTOMER => c.t("mig.new"),
            GONE => c.t("mig.gone"),
            other => c.group(&grouping, other),
        }
    };
    let rows: Vec<String> = mg.rows.iter().map(name).collect();
    let cols: Vec<String> = mg.columns.iter().map(name).collect();
    let mut data = Vec::new();
    let mut max = 0u64;
    let mut t = Table::new(
        std::iter::once((c.t("mig.from_to"), false))
            .chain(cols.iter().map(|x| (x.clone(), true)))
            .collect(),
    );
    for ((ri, rname), counts) in rows.iter().enumerate().zip(&mg.counts) {
        let mut cells = vec![json!(rname)];
        for (ci, n) in counts.iter().enumerate() {
            max = max.max(*n);
            data.push(json!([ci, ri, n]));
            cells.push(c_int(*n as f64));
        }
        t.row(cells);
    }
    let axes = HeatAxes {
        xs: cols.clone(),
        ys: rows.clone(),
        x_name: c.t("mig.to"),
        y_name: c.t("mig.from"),
    };
    let mut option = heatmap(axes, data, max as f64, None);
    option["yAxis"]["inverse"] = json!(true);
    option["xAxis"]["axisLabel"] = json!({"interval": 0, "rotate": 30});
    // labels turned 30° reach down half their width: the axis name goes below them
    option["xAxis"]["nameGap"] = json!((widest_label(&cols) * 0.5 + 28.0).max(26.0));
    option["grid"]["bottom"] = json!(40);
    let psi = mg.drift.psi.map_or_else(|| "–".into(), |p| num(p, 3));
    let sub = c.tf(
        "mig.sub",
        &[
            ("stayed", int(mg.stayed as f64)),
            ("moved", int(mg.moved as f64)),
            ("psi", psi),
        ],
    );
    let h = (rows.len() as u32 * 30 + 120).clamp(260, 700);
    Card::new(c.grouping(&Grouping::of_key(&mg.name)), 12)
        .sub(sub)
        .chart(c.chart_id(&format!("mig-{i}")), h, option)
        .table(t)
        .json()
}

/// Drift (PSI): the underlying metrics first (binned at the old run's deciles, the headline),
/// then the score distributions (close to 0 by construction for quantile scores).
fn drift_card(c: &Ctx, m: &Comparison) -> Value {
    let mut t = Table::new(vec![
        (c.t("mig.distribution"), false),
        ("PSI".to_string(), true),
        (c.t("mig.band"), false),
    ]);
    // medians as the column reads: whole days and orders, money to the cent
    let median = |x: f64| num(x, if x.fract() == 0.0 { 0 } else { 2 });
    for d in &m.metrics {
        t.row(vec![
            json!(format!(
                "{} ({} → {})",
                c.col(&d.metric),
                median(d.old_median),
                median(d.new_median)
            )),
            or_dash(d.drift.psi, |v| c_num(v, 3)),
            json!(band(c, d.drift.band)),
        ]);
    }
    for d in &m.scores {
        t.row(vec![
            json!(c.t_or(&format!("mig.score.{}", d.name), &c.col(&d.name))),
            or_dash(d.psi, |v| c_num(v, 3)),
            json!(band(c, d.band)),
        ]);
    }
    Card::new(c.t("mig.drift"), 6).table(t).json()
}

/// The name of a drift band ("–" without one: a snapshot had no customers).
fn band(c: &Ctx, b: Option<DriftBand>) -> String {
    match b {
        Some(DriftBand::Stable) => c.t("band.stable"),
        Some(DriftBand::Moderate) => c.t("band.moderate"),
        Some(DriftBand::Significant) => c.t("band.significant"),
        None => "–".to_string(),
    }
}
