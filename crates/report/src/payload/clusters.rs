//! K-means clusters: how k was chosen, the centroids and the cluster profiles.

use clientele_engine::ClusterSection;
use clientele_engine::cluster::{ClusterProfile, KScore, Transform};
use serde_json::{Value, json};

use super::card::{Card, Table, c_int, c_num, c_pct, c_share, or_dash, truncate};
use super::chart::{grid, legend, num_val, opt, widest_label};
use super::{Ctx, Section};
use crate::fmt_num::{int, round};

pub(super) fn section(c: &Ctx) -> Section {
    let mut sec = Section::new(c, "clusters");
    let Some(cl) = c.s.clusters.done() else {
        if let Some(why) = c.s.clusters.problem_in(c.lang) {
            sec.notes
                .push(c.tf("cl.error", &[("v", truncate(why, 200))]));
        }
        return sec;
    };
    let model = &cl.model;
    let features: Vec<String> = model
        .features
        .iter()
        .map(|f| {
            let name = c.col(&f.column);
            match f.transform {
                Transform::Log1p => format!("{name} (log1p)"),
                Transform::None => name,
            }
        })
        .collect();
    sec.lead.push(c.tf(
        "cl.lead",
        &[
            ("k", int(model.k as f64)),
            ("features", features.join(", ")),
            ("seed", int(model.seed as f64)),
        ],
    ));
    if !cl.k_scores.is_empty() {
        sec.cards.push(k_card(c, &cl.k_scores, model.k));
    }
    if !cl.profiles.is_empty() {
        let names: Vec<String> = cl
            .profiles
            .iter()
            .map(|p| format!("{}: {}", p.label, c.pick(&p.name_zh, &p.name_en)))
            .collect();
        if !model.features.is_empty() {
            sec.cards.push(radar_card(c, cl, &names));
        }
        sec.cards.push(profiles_card(c, &cl.profiles, &names));
    }
    sec.notes
        .extend(cl.notes.iter().map(|n| n.text(c.lang).to_string()));
    sec
}

/// Inertia (elbow) and silhouette for every k tried, the chosen one marked.
fn k_card(c: &Ctx, ks: &[KScore], chosen: usize) -> Value {
    let xs: Vec<String> = ks.iter().map(|k| int(k.k as f64)).collect();
    let mark = ks
        .iter()
        .position(|k| k.k == chosen)
        .map_or(json!(null), |i| {
            json!({"symbol": "none", "lineStyle": {"type": "dashed", "color": "#eb3b5a"},
               "data": [{"xAxis": xs[i].clone(), "label": {"formatter": c.t("cl.chosen")}}]})
        });
    let option = opt(json!({
        "tooltip": {"trigger": "axis"}, "legend": legend(), "grid": grid(),
        "xAxis": {"type": "category", "data": xs},
        // the axis names stand beside their axes, leaving the top to the legend and the marker
        "yAxis": [{"type": "value", "name": c.t("cl.inertia"), "scale": true, "nameLocation": "middle", "nameGap": 8, "nameMoveOverlap": true},
                  {"type": "value", "name": c.t("cl.silhouette"), "scale": true, "splitLine": {"show": false}, "nameLocation": "middle", "nameGap": 8, "nameMoveOverlap": true}],
        "series": [
            {"type": "line", "name": c.t("cl.inertia"), "data": ks.iter().map(|k| num_val(k.inertia, 1)).collect::<Vec<_>>(), "markLine": mark},
            {"type": "line", "name": c.t("cl.silhouette"), "yAxisIndex": 1, "data": ks.iter().map(|k| num_val(k.silhouette, 4)).collect::<Vec<_>>()},
        ],
    }));
    let mut t = Table::new(vec![
        ("k".to_string(), true),
        (c.t("cl.inertia"), true),
        (c.t("cl.silhouette"), true),
        (c.t("cl.ch"), true),
        (c.t("cl.db"), true),
        (c.t("cl.smallest"), true),
    ])
    .fallback();
    for k in ks {
        t.row(vec![
            c_int(k.k as f64),
            c_num(k.inertia, 1),
            c_num(k.silhouette, 3),
            c_num(k.calinski_harabasz, 1),
            c_num(k.davies_bouldin, 3),
            c_pct(k.smallest_share),
        ]);
    }
    Card::new(c.t("cl.k_title"), 6)
        .sub(c.t("cl.k_sub"))
        .chart(c.chart_id("k-select"), 300, option)
        .table(t)
        .json()
}

/// Height in pixels of the radar, without its legend.
const RADAR_H: u32 = 290;

/// The centroids on a radar, one axis per feature scaled to its largest centroid.
fn radar_card(c: &Ctx, cl: &ClusterSection, names: &[String]) -> Value {
    let feats = &cl.model.features;
    let profiles = &cl.profiles;
    let indicators: Vec<Value> = feats
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let max = profiles
                .iter()
                .filter_map(|p| p.centroid.get(i).copied())
                .fold(0.0f64, f64::max);
            let max = if max > 0.0 { max * 1.1 } else { 1.0 };
            json!({"name": c.col(&f.column), "max": round(max, 2), "min": 0})
        })
        .collect();
    let data: Vec<Value> = profiles
        .iter()
        .zip(names)
        .map(|(p, n)| {
            let v: Vec<Value> = p.centroid.iter().map(|x| num_val(*x, 2)).collect();
            json!({"name": n, "value": v, "areaStyle": {"opacity": 0.12}})
        })
        .collect();
    // every cluster's name in the legend, on as many lines as it takes (about 480 px each)
    let legend_px: f64 = names
        .iter()
        .map(|n| widest_label(std::slice::from_ref(n)) + 34.0)
        .sum();
    let legend_rows = (legend_px / 480.0).ceil().max(1.0) as u32;
    let h = RADAR_H + legend_rows * 22 + 6;
    let option = opt(json!({
        "tooltip": {"trigger": "item"},
        "legend": {"bottom": 0, "left": "center", "itemWidth": 14, "itemHeight": 10, "itemGap": 12},
        "radar": {"indicator": indicators, "radius": RADAR_H / 2 - 46, "center": ["50%", RADAR_H / 2 + 4],
                  "axisName": {"color": "#4b5563"}},
        "series": [{"type": "radar", "data": data}],
    }));
    let mut t = Table::new(
        std::iter::once((c.t("col.cluster"), false))
            .chain(feats.iter().map(|f| (c.col(&f.column), true)))
            .collect(),
    )
    .fallback();
    for (p, n) in profiles.iter().zip(names) {
        let mut cells = vec![json!(n)];
        cells.extend(p.centroid.iter().map(|x| c_num(*x, 2)));
        t.row(cells);
    }
    Card::new(c.t("cl.radar"), 6)
        .sub(c.t("cl.radar_sub"))
        .chart(c.chart_id("radar"), h, option)
        .table(t)
        .json()
}

/// Size, share, revenue share and the mean of every profiled column, per cluster.
fn profiles_card(c: &Ctx, profiles: &[ClusterProfile], names: &[String]) -> Value {
    // every profile has the same columns, in the same order
    let stat_cols: Vec<&str> = profiles[0]
        .stats
        .iter()
        .map(|s| s.column.as_str())
        .collect();
    let mut t = Table::new(vec![
        (c.t("col.cluster"), false),
        (c.t("col.customers"), true),
        (c.t("col.share"), true),
        (c.t("col.revenue_share"), true),
    ]);
    for sc in &stat_cols {
        t.col(c.tf("cl.mean_of", &[("v", c.col(sc))]), true);
    }
    for (p, n) in profiles.iter().zip(names) {
        let mut cells = vec![
            json!(n),
            c_int(p.size as f64),
            c_share(p.share),
            or_dash(p.revenue_share, c_share),
        ];
        cells.extend(p.stats.iter().map(|s| or_dash(s.mean, |v| c_num(v, 2))));
        t.row(cells);
    }
    Card::new(c.t("cl.profiles"), 12).table(t).json()
}
