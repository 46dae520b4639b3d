//! Cohort retention: the share of each first-purchase month's customers active in each month
//! since.

use serde_json::json;

use super::card::{Card, Table, c_int, cell_n};
use super::chart::{HeatAxes, heatmap};
use super::{Ctx, Section};
use crate::fmt_num::{int, num, round};

pub(super) fn section(c: &Ctx) -> Section {
    let mut sec = Section::new(c, "cohorts");
    let Some(co) = c.s.lifecycle.as_ref().map(|l| &l.cohorts) else {
        return sec;
    };
    let rows = &co.rows;
    if rows.is_empty() {
        return sec;
    }
    let width = rows.iter().map(|r| r.retention.len()).max().unwrap_or(0);
    let xs: Vec<String> = (0..width).map(|i| format!("M{i}")).collect();
    let ys: Vec<String> = rows
        .iter()
        .map(|r| format!("{} ({})", r.cohort, int(r.size as f64)))
        .collect();
    let mut data = Vec::new();
    let mut max = 0.0f64;
    let mut t = Table::new(
        [(c.t("co.cohort"), false), (c.t("co.size"), true)]
            .into_iter()
            .chain(xs.iter().map(|x| (x.clone(), true)))
            .collect(),
    )
    .fallback();
    for (yi, r) in rows.iter().enumerate() {
        let mut cells = vec![json!(r.cohort.to_string()), c_int(r.size as f64)];
        for (xi, v) in r.retention.iter().enumerate() {
            // month 0 is 100 % by definition: the colour scale is for the months after
            if xi > 0 {
                max = max.max(*v);
            }
            data.push(json!([xi, yi, round(v * 100.0, 1)]));
            cells.push(cell_n(num(v * 100.0, 1), *v));
        }
        // later cohorts have fewer months behind them: those cells are blank, not missing
        cells.resize(2 + width, json!(""));
        t.row(cells);
    }
    let axes = HeatAxes {
        xs,
        ys,
        x_name: c.t("co.months_since"),
        y_name: String::new(),
    };
    let mut option = heatmap(axes, data, (max * 100.0).max(1.0), None);
    option["yAxis"]["inverse"] = json!(true);
    option["series"][0]["label"]["fontSize"] = json!(9);
    option["visualMap"]["formatter"] = json!("{value}%");
    let h = (rows.len() as u32 * 24 + 110).clamp(260, 900);
    let through = co
        .through
        .map_or_else(|| "–".to_string(), |m| m.to_string());
    sec.cards.push(
        Card::new(c.t("co.title"), 12)
            .sub(c.tf("co.sub", &[("v", through)]))
            .chart(c.chart_id("cohorts"), h, option)
            .table(t)
            .json(),
    );
    sec
}
