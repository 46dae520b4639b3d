//! Stable keys and both languages' names of the built-in grades (the classic presets' grades),
//! so any surface can show a grade in either language whatever the run's language was, and
//! a program can match on a key that does not change with translation.

use serde::{Deserialize, Serialize};

/// A built-in grade's key and names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct GradeLabel {
    /// Stable key, e.g. `senior`.
    pub key: String,
    /// Chinese name, e.g. `高级客户`.
    pub zh: String,
    /// English name, e.g. `Senior customer`.
    pub en: String,
}

/// (key, zh, en) of every grade the presets write.
const BUILTIN: &[(&str, &str, &str)] = &[
    ("vip", "VIP", "VIP"),
    ("senior", "高级客户", "Senior customer"),
    ("regular", "普通客户", "Regular customer"),
    ("high_income", "高收入客户", "High-income customer"),
    ("young", "年轻客户", "Young customer"),
    ("mature", "成熟客户", "Mature customer"),
    ("high_value", "高价值客户", "High-value customer"),
    ("medium_value", "中等价值客户", "Medium-value customer"),
    ("low_value", "低价值客户", "Low-value customer"),
    (
        "highly_satisfied",
        "高度满意客户",
        "Highly satisfied customer",
    ),
    ("satisfied", "满意客户", "Satisfied customer"),
    ("dissatisfied", "不满意客户", "Dissatisfied customer"),
    ("unrated", "无评分", "No rating"),
    // preset `rfm8` (keys as the RFM crate's cn8 segments)
    ("important_value", "重要价值客户", "Important value"),
    (
        "important_development",
        "重要发展客户",
        "Important development",
    ),
    ("important_retention", "重要保持客户", "Important retention"),
    ("important_win_back", "重要挽留客户", "Important win-back"),
    ("general_value", "一般价值客户", "General value"),
    ("general_development", "一般发展客户", "General development"),
    ("general_retention", "一般保持客户", "General retention"),
    ("general_win_back", "一般挽留客户", "General win-back"),
    // preset `rf_grid` (keys as the RFM crate's rf10 segments)
    ("champions", "冠军客户", "Champions"),
    ("loyal_customers", "忠诚客户", "Loyal Customers"),
    ("potential_loyalists", "潜在忠诚客户", "Potential Loyalists"),
    ("new_customers", "新客户", "New Customers"),
    ("promising", "有潜力客户", "Promising"),
    ("need_attention", "需要关注客户", "Need Attention"),
    ("about_to_sleep", "即将沉睡客户", "About To Sleep"),
    ("at_risk", "有流失风险客户", "At Risk"),
    ("cant_lose", "不能失去的客户", "Can't Lose Them"),
    ("hibernating", "休眠客户", "Hibernating"),
];

impl GradeLabel {
    /// The name in `lang`.
    pub fn name(&self, lang: crate::Lang) -> &str {
        lang.pick(&self.zh, &self.en)
    }
}

/// The key and names of a built-in grade known by any of its names or its key; `None` for a
/// grade a user named (its name is its label in every language).
pub fn builtin_label(name: &str) -> Option<GradeLabel> {
    BUILTIN
        .iter()
        .find(|(k, zh, en)| [*k, *zh, *en].contains(&name))
        .map(|(k, zh, en)| GradeLabel {
            key: k.to_string(),
            zh: zh.to_string(),
            en: en.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_grade_of_every_preset_has_a_label() {
        for name in crate::presets::names() {
            let s = crate::presets::get(name).unwrap().expanded().unwrap();
            let names = s.rules.iter().filter_map(|r| r.grade.clone());
            for g in names.chain(s.default.clone()) {
                let l = builtin_label(&g).unwrap_or_else(|| panic!("{}: {g}", s.name));
                assert_eq!(builtin_label(&l.key), Some(l.clone()));
                assert_eq!(builtin_label(&l.en), Some(l));
            }
        }
        assert_eq!(builtin_label("my own grade"), None);
        let keys: std::collections::HashSet<&str> = BUILTIN.iter().map(|b| b.0).collect();
        assert_eq!(keys.len(), BUILTIN.len());
    }
}
