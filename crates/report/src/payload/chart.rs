//! ECharts options shared by several sections.

use serde_json::{Value, json};

use crate::fmt_num::round;

const PALETTE: [&str; 10] = [
    "#3867d6", "#20bf6b", "#f7b731", "#eb3b5a", "#8854d0", "#0fb9b1", "#fa8231", "#4b6584",
    "#a55eea", "#2d98da",
];
const HEAT: [&str; 5] = ["#f1f6ff", "#c6dafc", "#7fa8f0", "#3867d6", "#1e3a8a"];

/// An option with the page's defaults: no animation (printing), the palette.
pub(super) fn opt(mut v: Value) -> Value {
    if let Value::Object(m) = &mut v {
        m.insert("animation".into(), json!(false));
        m.entry("color").or_insert_with(|| json!(PALETTE));
    }
    v
}

pub(super) fn grid() -> Value {
    json!({"left": 12, "right": 20, "top": 44, "bottom": 12, "containLabel": true})
}

pub(super) fn legend() -> Value {
    json!({"top": 4, "type": "scroll"})
}

/// A share 0..1 as a chart percentage (null when not finite).
pub(super) fn pct_val(x: f64) -> Value {
    if x.is_finite() {
        json!(round(x * 100.0, 2))
    } else {
        Value::Null
    }
}

/// A number rounded for the chart (null when not finite).
pub(super) fn num_val(x: f64, d: i32) -> Value {
    if x.is_finite() {
        json!(round(x, d))
    } else {
        Value::Null
    }
}

/// An optional number for the chart: null (a gap) when absent.
pub(super) fn opt_val(x: Option<f64>, d: i32) -> Value {
    x.map_or(Value::Null, |x| num_val(x, d))
}

/// Grouped bars of shares (percent) per category; `None` shares are gaps.
pub(super) fn share_bars(
    cats: &[String],
    series: Vec<(String, Vec<Option<f64>>)>,
    horizontal: bool,
) -> Value {
    let ser: Vec<Value> = series
        .into_iter()
        .map(|(name, d)| {
            let d: Vec<Value> = d.iter().map(|x| x.map_or(Value::Null, pct_val)).collect();
            json!({"name": name, "type": "bar", "data": d, "barMaxWidth": 28,
                   "emphasis": {"focus": "series"}})
        })
        .collect();
    let rotate = if horizontal || cats.len() <= 6 { 0 } else { 30 };
    let cat = json!({"type": "category", "data": cats, "axisLabel": {"interval": 0, "width": 110, "overflow": "truncate", "rotate": rotate}});
    let val = json!({"type": "value", "axisLabel": {"formatter": "{value}%"}});
    let (x, y) = if horizontal {
        let mut y = cat;
        y["inverse"] = json!(true);
        (val, y)
    } else {
        (cat, val)
    };
    opt(json!({
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}, "valueFormatter": "{value}%"},
        "legend": legend(), "grid": grid(), "xAxis": x, "yAxis": y, "series": ser,
    }))
}

/// Rough width in pixels of the widest axis label at ECharts' default 12 px font: a CJK
/// character is about as wide as the font size, a Latin one a little over half of it.
pub(super) fn widest_label(labels: &[String]) -> f64 {
    labels
        .iter()
        .map(|l| {
            l.chars()
                .map(|c| if c.is_ascii() { 7.0 } else { 12.0 })
                .sum::<f64>()
        })
        .fold(0.0, f64::max)
}

/// The axes of a heatmap: category labels and names.
pub(super) struct HeatAxes {
    pub xs: Vec<String>,
    pub ys: Vec<String>,
    pub x_name: String,
    pub y_name: String,
}

/// A heatmap of `[x, y, value]` points with a colour scale up to `max`; `label_fmt` formats the
/// numbers in the cells.
pub(super) fn heatmap(
    axes: HeatAxes,
    data: Vec<Value>,
    max: f64,
    label_fmt: Option<&str>,
) -> Value {
    let mut label = json!({"show": true, "fontSize": 11});
    if let Some(fm) = label_fmt {
        label["formatter"] = json!(fm);
    }
    // the y-axis name sits left of the widest label, not on top of it
    let y_gap = (widest_label(&axes.ys) + 20.0).max(40.0);
    opt(json!({
        "tooltip": {"position": "top"},
        "grid": {"left": 30, "right": 64, "top": 12, "bottom": 30, "containLabel": true},
        "xAxis": {"type": "category", "data": axes.xs, "name": axes.x_name, "nameLocation": "middle", "nameGap": 26, "splitArea": {"show": true}},
        "yAxis": {"type": "category", "data": axes.ys, "name": axes.y_name, "nameLocation": "middle", "nameGap": y_gap, "nameRotate": 90, "splitArea": {"show": true}},
        "visualMap": {"min": 0, "max": if max.is_finite() && max > 0.0 { round(max, 2) } else { 1.0 },
                      "calculable": true, "orient": "vertical", "right": 0, "top": "middle",
                      "itemWidth": 12, "itemHeight": 140, "inRange": {"color": HEAT}, "textStyle": {"fontSize": 11}},
        "series": [{"type": "heatmap", "data": data, "label": label,
                    "emphasis": {"itemStyle": {"borderColor": "#333", "borderWidth": 1}}}],
        "textStyle": {"fontSize": 12},
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn axes(ys: &[&str], y_name: &str) -> HeatAxes {
        HeatAxes {
            xs: vec!["A".into()],
            ys: ys.iter().map(|y| (*y).to_string()).collect(),
            x_name: "x".into(),
            y_name: y_name.into(),
        }
    }

    #[test]
    fn heatmap_axis_name_clears_the_widest_label() {
        let o = heatmap(
            axes(&["重要价值客户", "(new)"], "上期"),
            Vec::new(),
            1.0,
            None,
        );
        // six CJK characters at about 12 px each, and a margin
        assert!(o["yAxis"]["nameGap"].as_f64().unwrap_or(0.0) >= 6.0 * 12.0 + 12.0);
        let short = heatmap(axes(&["R1"], "y"), Vec::new(), 1.0, None);
        assert_eq!(short["yAxis"]["nameGap"].as_f64(), Some(40.0));
    }
}
