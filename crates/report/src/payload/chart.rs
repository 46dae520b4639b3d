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

/// The plot area of a cartesian chart: axis labels and axis names are kept inside the chart
/// (ECharts 6 `outerBounds`; the older `containLabel` lets axis names spill out and overlap).
pub(super) fn grid() -> Value {
    grid_within(44, 20, 12, 12)
}

/// [`grid`] with its own margins in pixels.
pub(super) fn grid_within(top: u32, right: u32, bottom: u32, left: u32) -> Value {
    json!({"left": left, "right": right, "top": top, "bottom": bottom,
           "outerBoundsMode": "same", "outerBoundsContain": "all"})
}

/// A category axis label `width` that fits the widest of `labels` (within 60 to 170 px; a
/// longer one is cut with "…", its full text in the axis tooltip, see [`category_axis`]).
fn label_width(labels: &[String]) -> f64 {
    (widest_label(labels) + 6.0).clamp(60.0, 170.0).round()
}

/// A category axis whose labels are at most [`label_width`] wide; a cut label shows its full
/// text on hover.
pub(super) fn category_axis(labels: &[String], rotate: u32) -> Value {
    json!({"type": "category", "data": labels, "triggerEvent": true, "tooltip": {"show": true},
           "axisLabel": {"interval": 0, "width": label_width(labels), "overflow": "truncate", "rotate": rotate}})
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
    let cat = category_axis(cats, rotate);
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
    // the axis names sit beside the labels (nameMoveOverlap), inside the chart (outerBounds)
    opt(json!({
        "tooltip": {"position": "top"},
        "grid": grid_within(12, 64, 8, 8),
        "xAxis": {"type": "category", "data": axes.xs, "name": axes.x_name, "nameLocation": "middle", "nameGap": 8, "nameMoveOverlap": true, "splitArea": {"show": true}},
        "yAxis": {"type": "category", "data": axes.ys, "name": axes.y_name, "nameLocation": "middle", "nameGap": 8, "nameRotate": 90, "nameMoveOverlap": true, "splitArea": {"show": true}},
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
    fn heatmap_axis_names_are_moved_clear_of_the_labels_inside_the_chart() {
        let o = heatmap(
            axes(&["重要价值客户", "(new)"], "上期"),
            Vec::new(),
            1.0,
            None,
        );
        for axis in ["xAxis", "yAxis"] {
            assert_eq!(o[axis]["nameMoveOverlap"], json!(true), "{axis}");
        }
        assert_eq!(o["grid"]["outerBoundsContain"], json!("all"));
        assert!(o["grid"].get("containLabel").is_none());
    }

    #[test]
    fn category_labels_are_as_wide_as_the_widest_within_limits() {
        let w = |l: &[&str]| {
            let l: Vec<String> = l.iter().map(|s| (*s).to_string()).collect();
            category_axis(&l, 0)["axisLabel"]["width"]
                .as_f64()
                .unwrap_or(0.0)
        };
        assert_eq!(w(&["A", "B"]), 60.0);
        // "Important development": 21 Latin characters at about 7 px
        assert_eq!(w(&["Important development", "VIP"]), 153.0);
        assert_eq!(w(&["重要价值客户"]), 78.0);
        assert_eq!(
            w(&["a very long grade name that nobody would want to read whole"]),
            170.0
        );
    }
}
