//! Built-in schemes for the four classic gradings (purchase behaviour, attributes, profit value,
//! satisfaction), their percentile variants that fit any shop's scale, the Chinese RFM 8-class
//! scheme and the R×F segment grid.
//!
//! Presets are TOML templates with `${param}` placeholders, so a preset is exactly what a user
//! could have written by hand; parameters take a number (`vip_monetary = 800`) or an expression
//! (`vip_monetary = "p90(monetary)"`). Select one with `preset = "behaviour"` in a `[[scheme]]`.
//!
//! Documented defaults (the source brief gives no thresholds for most of them):
//! - `behaviour`: VIP = orders > 15 AND monetary > 500 AND categories > 5; 高级客户 = orders > 10
//!   AND monetary > 400 AND categories > 4; else 普通客户 (DESIGN.md §5).
//! - `behaviour_percentile`: VIP ≥ p90 of orders and monetary and ≥ p75 of categories; 高级客户 ≥
//!   p70 of orders and monetary and ≥ p50 of categories.
//! - `attributes` (tags): 高收入客户 = monthly income ≥ 20000 (CNY, the top band of common urban
//!   income surveys); 年轻客户 = age < 35 (the usual 青年 upper bound); 成熟客户 = age ≥ 35.
//! - `profit`: 高价值客户 = profit ≥ 1000; 中等价值客户 = profit ≥ 200; else 低价值客户 (NULL profit
//!   too). `profit_percentile`: p80 / p50 of profit (HML-style).
//! - `satisfaction` (1–5 scale): 无评分 when NULL; 高度满意客户 ≥ 4.5; 满意客户 ≥ 3.0; else 不满意客户.
//! - `rfm8`: R/F/M high-low against the population mean, strict (ties are low, as Wyn does):
//!   R high ⇔ recency_days < mean; F high ⇔ orders > mean; M high ⇔ monetary > mean.
//! - `rf_grid`: the complete R×F grid on `r_score`/`f_score` 1–5 (segmentation.md §2.4).

use clientele_core::Note;
use serde::{Deserialize, Serialize};

use crate::error::GradeError;
use crate::scheme::{ParamValue, SchemeConfig};

/// A preset's parameter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PresetParam {
    /// Parameter name.
    pub name: &'static str,
    /// Default value as it is substituted (a number or an expression).
    pub default: &'static str,
    /// What it sets.
    pub doc: &'static str,
}

#[derive(Debug)]
struct Preset {
    name: &'static str,
    description: &'static str,
    params: &'static [(&'static str, &'static str, &'static str)],
    template: &'static str,
}

const BEHAVIOUR: &str = r#"
mode = "first_match"
default = "普通客户"
rules = [
  { grade = "VIP", when = "orders > ${vip_orders} AND monetary > ${vip_monetary} AND categories > ${vip_categories}" },
  { grade = "高级客户", when = "orders > ${senior_orders} AND monetary > ${senior_monetary} AND categories > ${senior_categories}" },
]
"#;

const BEHAVIOUR_PCT: &str = r#"
mode = "first_match"
default = "普通客户"
rules = [
  { grade = "VIP", when = "orders >= ${vip_orders} AND monetary >= ${vip_monetary} AND categories >= ${vip_categories}" },
  { grade = "高级客户", when = "orders >= ${senior_orders} AND monetary >= ${senior_monetary} AND categories >= ${senior_categories}" },
]
"#;

const ATTRIBUTES: &str = r#"
mode = "tags"
rules = [
  { grade = "高收入客户", when = "income >= ${high_income}" },
  { grade = "年轻客户", when = "age < ${young_below}" },
  { grade = "成熟客户", when = "age >= ${mature_from}" },
]
"#;

const PROFIT: &str = r#"
mode = "first_match"
default = "低价值客户"
rules = [
  { grade = "高价值客户", when = "profit >= ${high_profit}" },
  { grade = "中等价值客户", when = "profit >= ${mid_profit}" },
]
"#;

const SATISFACTION: &str = r#"
mode = "first_match"
default = "不满意客户"
rules = [
  { grade = "无评分", when = "satisfaction IS NULL" },
  { grade = "高度满意客户", when = "satisfaction >= ${high}" },
  { grade = "满意客户", when = "satisfaction >= ${satisfied}" },
]
"#;

const RFM8: &str = r#"
mode = "first_match"
default = "一般挽留客户"
rules = [
  { grade = "重要价值客户", when = "recency_days < ${r_ref} AND orders > ${f_ref} AND monetary > ${m_ref}" },
  { grade = "重要发展客户", when = "recency_days < ${r_ref} AND orders <= ${f_ref} AND monetary > ${m_ref}" },
  { grade = "重要保持客户", when = "recency_days >= ${r_ref} AND orders > ${f_ref} AND monetary > ${m_ref}" },
  { grade = "重要挽留客户", when = "recency_days >= ${r_ref} AND orders <= ${f_ref} AND monetary > ${m_ref}" },
  { grade = "一般价值客户", when = "recency_days < ${r_ref} AND orders > ${f_ref} AND monetary <= ${m_ref}" },
  { grade = "一般发展客户", when = "recency_days < ${r_ref} AND orders <= ${f_ref} AND monetary <= ${m_ref}" },
  { grade = "一般保持客户", when = "recency_days >= ${r_ref} AND orders > ${f_ref} AND monetary <= ${m_ref}" },
]
"#;

const RF_GRID: &str = r#"
mode = "grid"
axes = ["r_score", "f_score"]
range = [1, 5]
rules = [
  { grade = "Champions", when = "r_score = 5 AND f_score >= 4" },
  { grade = "Loyal Customers", when = "r_score IN (3, 4) AND f_score >= 4" },
  { grade = "Potential Loyalists", when = "r_score >= 4 AND f_score IN (2, 3)" },
  { grade = "New Customers", when = "r_score = 5 AND f_score = 1" },
  { grade = "Promising", when = "r_score = 4 AND f_score = 1" },
  { grade = "Need Attention", when = "r_score = 3 AND f_score = 3" },
  { grade = "About To Sleep", when = "r_score = 3 AND f_score <= 2" },
  { grade = "Can't Lose Them", when = "r_score <= 2 AND f_score = 5" },
  { grade = "At Risk", when = "r_score <= 2 AND f_score IN (3, 4)" },
  { grade = "Hibernating", when = "r_score <= 2 AND f_score <= 2" },
]
"#;

const PRESETS: &[Preset] = &[
    Preset {
        name: "behaviour",
        description: "Purchase behaviour: VIP / 高级客户 / 普通客户 by orders, spend and category breadth",
        params: &[
            ("vip_orders", "15", "VIP: orders above this"),
            ("vip_monetary", "500", "VIP: monetary above this"),
            ("vip_categories", "5", "VIP: categories above this"),
            ("senior_orders", "10", "高级客户: orders above this"),
            ("senior_monetary", "400", "高级客户: monetary above this"),
            ("senior_categories", "4", "高级客户: categories above this"),
        ],
        template: BEHAVIOUR,
    },
    Preset {
        name: "behaviour_percentile",
        description: "Purchase behaviour by percentiles of this shop's customers",
        params: &[
            ("vip_orders", "p90(orders)", "VIP: orders at least this"),
            (
                "vip_monetary",
                "p90(monetary)",
                "VIP: monetary at least this",
            ),
            (
                "vip_categories",
                "p75(categories)",
                "VIP: categories at least this",
            ),
            (
                "senior_orders",
                "p70(orders)",
                "高级客户: orders at least this",
            ),
            (
                "senior_monetary",
                "p70(monetary)",
                "高级客户: monetary at least this",
            ),
            (
                "senior_categories",
                "p50(categories)",
                "高级客户: categories at least this",
            ),
        ],
        template: BEHAVIOUR_PCT,
    },
    Preset {
        name: "attributes",
        description: "Attribute tags: 高收入客户 / 年轻客户 / 成熟客户 by monthly income and age",
        params: &[
            (
                "high_income",
                "20000",
                "高收入客户: monthly income at least this",
            ),
            ("young_below", "35", "年轻客户: age below this"),
            ("mature_from", "35", "成熟客户: age at least this"),
        ],
        template: ATTRIBUTES,
    },
    Preset {
        name: "profit",
        description: "Profit value: 高价值客户 / 中等价值客户 / 低价值客户",
        params: &[
            ("high_profit", "1000", "高价值客户: profit at least this"),
            ("mid_profit", "200", "中等价值客户: profit at least this"),
        ],
        template: PROFIT,
    },
    Preset {
        name: "profit_percentile",
        description: "Profit value by percentiles: top 20 % 高价值, next 30 % 中等价值",
        params: &[
            (
                "high_profit",
                "p80(profit)",
                "高价值客户: profit at least this",
            ),
            (
                "mid_profit",
                "p50(profit)",
                "中等价值客户: profit at least this",
            ),
        ],
        template: PROFIT,
    },
    Preset {
        name: "satisfaction",
        description: "Satisfaction (1–5 survey mean): 高度满意客户 / 满意客户 / 不满意客户 / 无评分",
        params: &[
            ("high", "4.5", "高度满意客户: score at least this"),
            ("satisfied", "3.0", "满意客户: score at least this"),
        ],
        template: SATISFACTION,
    },
    Preset {
        name: "rfm8",
        description: "Chinese RFM 8 classes: R, F, M each high/low against the population mean",
        params: &[
            (
                "r_ref",
                "mean(recency_days)",
                "recent (R high) when recency_days is below this",
            ),
            (
                "f_ref",
                "mean(orders)",
                "frequent (F high) when orders is above this",
            ),
            (
                "m_ref",
                "mean(monetary)",
                "high spend (M high) when monetary is above this",
            ),
        ],
        template: RFM8,
    },
    Preset {
        name: "rf_grid",
        description: "R×F segment grid on 1–5 scores (Champions … Hibernating)",
        params: &[],
        template: RF_GRID,
    },
];

/// Names of the built-in presets.
pub fn names() -> Vec<&'static str> {
    PRESETS.iter().map(|p| p.name).collect()
}

/// The names of the four classic gradings, one scheme each.
pub const CLASSIC: [&str; 4] = ["behaviour", "attributes", "profit", "satisfaction"];

/// The Chinese title of a classic grading (`behaviour` → `行为分级`); `None` for any other
/// scheme, whose name is its title.
pub fn classic_title_zh(name: &str) -> Option<&'static str> {
    match name {
        "behaviour" => Some("行为分级"),
        "attributes" => Some("属性标签"),
        "profit" => Some("利润分级"),
        "satisfaction" => Some("满意度分级"),
        _ => None,
    }
}

/// A preset's parameters and defaults.
pub fn params(name: &str) -> Option<Vec<PresetParam>> {
    find(name).map(|p| {
        p.params
            .iter()
            .map(|&(name, default, doc)| PresetParam { name, default, doc })
            .collect()
    })
}

/// A preset's one-line description.
pub fn description(name: &str) -> Option<&'static str> {
    find(name).map(|p| p.description)
}

/// A preset as a ready scheme named after it, with default parameters.
pub fn get(name: &str) -> Option<SchemeConfig> {
    find(name)?;
    expand(&SchemeConfig {
        name: name.to_string(),
        preset: Some(name.to_string()),
        ..SchemeConfig::default()
    })
    .ok()
}

/// The four classic gradings as schemes (`behaviour`, `attributes`, `profit`, `satisfaction`).
pub fn classic() -> Vec<SchemeConfig> {
    CLASSIC.iter().filter_map(|n| get(n)).collect()
}

fn find(name: &str) -> Option<&'static Preset> {
    PRESETS.iter().find(|p| p.name == name)
}

/// Expands `preset = "..."` into rules; schemes without a preset come back unchanged.
pub(crate) fn expand(cfg: &SchemeConfig) -> Result<SchemeConfig, GradeError> {
    let Some(pname) = &cfg.preset else {
        if !cfg.params.is_empty() {
            return Err(GradeError::Preset {
                scheme: cfg.name.clone(),
                message: Note::new(
                    "`params` 只用于预设；请设置 `preset = \"...\"` 或删除 `params`",
                    "`params` only applies to a preset; set `preset = \"...\"` or remove `params`",
                ),
            });
        }
        return Ok(cfg.clone());
    };
    let preset = find(pname).ok_or_else(|| GradeError::UnknownPreset {
        scheme: cfg.name.clone(),
        preset: pname.clone(),
        available: names().join(", "),
    })?;
    let perr = |zh: String, en: String| GradeError::Preset {
        scheme: cfg.name.clone(),
        message: Note::new(zh, en),
    };
    if !cfg.rules.is_empty() || !cfg.tiers.is_empty() || !cfg.axes.is_empty() {
        return Err(perr(
            format!(
                "预设 `{pname}` 已经定义了规则；请删除 `rules`/`tiers`/`axes`，或删除 `preset`"
            ),
            format!(
                "preset `{pname}` defines the rules; remove `rules`/`tiers`/`axes` or remove \
                 `preset`"
            ),
        ));
    }
    for key in cfg.params.keys() {
        if !preset.params.iter().any(|p| p.0 == key) {
            return Err(GradeError::UnknownParam {
                scheme: cfg.name.clone(),
                preset: pname.clone(),
                param: key.clone(),
                available: preset
                    .params
                    .iter()
                    .map(|p| p.0)
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
    }
    let mut text = preset.template.to_string();
    for &(name, default, _) in preset.params {
        let value = match cfg.params.get(name) {
            None => default.to_string(),
            Some(ParamValue::Number(x)) if x.is_finite() => x.to_string(),
            Some(ParamValue::Number(x)) => {
                return Err(perr(
                    format!("参数 `{name}` = {x} 不是有限数"),
                    format!("parameter `{name}` = {x} is not a finite number"),
                ));
            }
            Some(ParamValue::Expr(s)) if s.contains(['"', '\\', '\n', '\r']) => {
                return Err(perr(
                    format!("参数 `{name}` = {s:?} 不能包含引号、反斜杠或换行"),
                    format!(
                        "parameter `{name}` = {s:?} cannot contain quotes, backslashes or line \
                         breaks"
                    ),
                ));
            }
            Some(ParamValue::Expr(s)) => format!("({s})"),
        };
        text = text.replace(&format!("${{{name}}}"), &value);
    }
    let full = format!("name = {:?}\n{text}", cfg.name);
    let mut out: SchemeConfig = toml::from_str(&full).map_err(|e| {
        perr(
            format!("预设 `{pname}` 无法展开：{e}"),
            format!("preset `{pname}` did not expand: {e}"),
        )
    })?;
    if let Some(m) = cfg.mode
        && Some(m) != out.mode
    {
        let (uses, given) = (out.mode.unwrap_or_default().name(), m.name());
        return Err(perr(
            format!("预设 `{pname}` 使用模式 `{uses}`；请删除 `mode = \"{given}\"`"),
            format!("preset `{pname}` uses mode `{uses}`; remove `mode = \"{given}\"`"),
        ));
    }
    if cfg.default.is_some() {
        out.default.clone_from(&cfg.default);
    }
    if cfg.separator.is_some() {
        out.separator.clone_from(&cfg.separator);
    }
    if let Some(r) = cfg.range {
        out.range = Some(r);
    }
    out.description = cfg
        .description
        .clone()
        .or_else(|| Some(preset.description.to_string()));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_expands() {
        for n in names() {
            let s = get(n).unwrap();
            assert!(!s.rules.is_empty(), "{n}");
            assert!(s.preset.is_none());
        }
        assert_eq!(classic().len(), 4);
    }

    #[test]
    fn params_substitute_numbers_and_expressions() {
        let mut cfg = SchemeConfig {
            name: "b".into(),
            preset: Some("behaviour".into()),
            ..SchemeConfig::default()
        };
        cfg.params
            .insert("vip_orders".into(), ParamValue::Number(20.0));
        cfg.params.insert(
            "vip_monetary".into(),
            ParamValue::Expr("p90(monetary)".into()),
        );
        let s = expand(&cfg).unwrap();
        assert_eq!(
            s.rules[0].when,
            "orders > 20 AND monetary > (p90(monetary)) AND categories > 5"
        );
        cfg.params
            .insert("vip_order".into(), ParamValue::Number(1.0));
        assert_eq!(
            expand(&cfg).unwrap_err().to_string(),
            "scheme `b`: preset `behaviour` has no parameter `vip_order`; parameters are: \
             vip_orders, vip_monetary, vip_categories, senior_orders, senior_monetary, \
             senior_categories"
        );
    }
}
