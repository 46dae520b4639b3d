//! The dashboard's words in Chinese and English. A label the report already has (column
//! names, section titles, scheme names) is the report's (`clientele_report::label`); this
//! table holds only what the dashboard adds.

use clientele_core::Lang;
use clientele_core::columns::{self, Grouping};
use serde_json::{Map, Value};

/// Key, Chinese, English.
const TABLE: &[(&str, &str, &str)] = &[
    ("app", "客户分析仪表盘", "Customer dashboard"),
    ("switch", "English", "中文"),
    ("nav.overview", "概览", "Overview"),
    ("nav.customers", "客户列表", "Customers"),
    ("nav.trends", "趋势", "Trends"),
    ("nav.cohorts", "同期群", "Cohorts"),
    ("nav.migration", "迁移", "Migration"),
    ("meta.as_of", "基准日 {v}", "as of {v}"),
    ("meta.customers", "{v} 位客户", "{v} customers"),
    ("meta.run", "运行 {v}", "run {v}"),
    ("runs", "运行", "Runs"),
    ("api", "JSON API", "JSON API"),
    ("api_docs", "API 文档（OpenAPI）", "API docs (OpenAPI)"),
    ("alerts.title", "变化提醒", "Alerts"),
    (
        "alerts.since",
        "与基准日 {v} 的运行相比，变化超过 {share} 且至少 {n} 位客户的分组",
        "Groups that moved by more than {share} and at least {n} customers since the run as of {v}",
    ),
    (
        "alerts.none",
        "与基准日 {v} 的运行相比，没有分组的规模或价值变化超过 {share}。",
        "No group's size or value moved by more than {share} since the run as of {v}.",
    ),
    (
        "alerts.no_previous",
        "没有可比较的早期运行：定时刷新之后，或输出目录的 history/ 中保留了早期运行时，这里会列出变化较大的分组。",
        "No earlier run to compare with: after a scheduled refresh, or when the output folder's history/ keeps an earlier run, the groups that moved are listed here.",
    ),
    (
        "alerts.other_run",
        "变化提醒针对主运行 {v}。",
        "Alerts are about the primary run, {v}.",
    ),
    ("alerts.more", "全部 {v} 条提醒", "All {v} alerts"),
    ("groups.title", "分组", "Groupings"),
    (
        "groups.sub",
        "{n} 组 · {c} 位客户",
        "{n} groups · {c} customers",
    ),
    ("groups.ungraded", "{v} 位未分组", "{v} without a group"),
    ("groups.open", "查看分组", "Open"),
    (
        "scheme.all",
        "该方案的全部客户",
        "All customers of this scheme",
    ),
    ("scheme.column", "列 {v}", "column {v}"),
    ("scheme.export", "导出", "Export"),
    ("list.title", "客户列表", "Customers"),
    ("list.filter", "筛选条件", "Filter"),
    (
        "list.filter_ph",
        "例如 monetary > 500 AND orders >= 3",
        "e.g. monetary > 500 AND orders >= 3",
    ),
    ("list.id", "客户 ID 开头", "Customer ID starts with"),
    ("list.sort", "排序", "Sort by"),
    ("list.sort_none", "表中顺序", "Table order"),
    ("list.sort_unknown", "（无法排序）", " (cannot sort)"),
    ("list.asc", "升序", "ascending"),
    ("list.desc", "降序", "descending"),
    ("list.apply", "应用", "Apply"),
    ("list.clear", "清除条件", "Clear"),
    ("list.group", "分组", "Group"),
    ("list.remove", "移除", "remove"),
    (
        "list.total",
        "共 {total} 位客户，显示第 {from}–{to} 位",
        "{total} customers, showing {from}–{to}",
    ),
    ("list.none", "没有符合条件的客户。", "No customer matches."),
    ("list.prev", "上一页", "Previous"),
    ("list.next", "下一页", "Next"),
    ("list.csv", "导出 CSV（Excel）", "Export CSV (Excel)"),
    ("list.parquet", "导出 Parquet", "Export Parquet"),
    ("list.all_columns", "显示全部列", "Show all columns"),
    ("list.key_columns", "只显示常用列", "Show key columns"),
    ("list.sort_by", "按此列排序", "sort by this column"),
    ("help.title", "筛选语法", "Filter syntax"),
    (
        "help.1",
        "条件用列名、比较（= != > >= < <=）和 AND / OR / NOT 组成，文本加单引号，例如 monetary > 500 AND orders >= 3。",
        "Conditions combine column names, comparisons (= != > >= < <=) and AND / OR / NOT; quote text in single quotes, e.g. monetary > 500 AND orders >= 3.",
    ),
    (
        "help.2",
        "统计量可直接使用，例如 monetary > p80(monetary)；日期写作 '2025-06-30'。",
        "Statistics work too, e.g. monetary > p80(monetary); dates are written '2025-06-30'.",
    ),
    (
        "help.3",
        "分组列（等级、客户群、生命周期阶段）中的值是本次运行的语言（{v}）。",
        "Group columns (grades, segments, lifecycle stages) hold their names in the run's language ({v}).",
    ),
    ("help.columns", "可用的列", "Columns"),
    ("cust.title", "客户 {v}", "Customer {v}"),
    ("cust.groups", "所属分组", "Groups"),
    ("cust.rule", "命中的规则", "Rule that matched"),
    (
        "cust.by_default",
        "默认（没有规则命中）",
        "default (no rule matched)",
    ),
    ("cust.purchases", "购买", "Purchases"),
    ("cust.model", "价值模型（CLV）", "Value model (CLV)"),
    ("cust.other", "评分与属性", "Scores and attributes"),
    (
        "cust.history",
        "历次运行中的该客户",
        "This customer across the served runs",
    ),
    (
        "cust.history_one",
        "只服务了一次运行：把更早的输出目录一并交给 clientele serve，即可看到该客户的历史。",
        "Only one run is served: give clientele serve earlier output folders too to see this customer's history.",
    ),
    ("cust.run", "运行", "Run"),
    ("cust.as_of", "基准日", "As of"),
    ("cust.back", "返回客户列表", "Back to the customers"),
    ("cust.search", "查找客户", "Find a customer"),
    (
        "charts.none.trends",
        "此运行没有月度趋势或历史走势（需要生命周期步骤；历史走势需要 --history monthly）。",
        "This run has no monthly trends or history (they need the lifecycle step; history needs --history monthly).",
    ),
    (
        "charts.none.cohorts",
        "此运行没有同期群留存（需要生命周期步骤）。",
        "This run has no cohort retention (it needs the lifecycle step).",
    ),
    (
        "charts.none.migration",
        "此运行没有与上一次运行比较：用 clientele analyze --previous <上次的输出目录> 分析即可看到迁移。",
        "This run was not compared with an earlier one: analyze with clientele analyze --previous <earlier output folder> to see migration.",
    ),
    ("err.title", "无法显示此页面", "This page cannot be shown"),
    ("err.fix", "解决办法", "What to do"),
    ("err.home", "回到概览", "Back to the overview"),
    (
        "err.internal",
        "服务器未能生成此页面，错误已记录在服务器日志中。",
        "The server failed to render this page; the error is in its log.",
    ),
    ("login.title", "登录", "Sign in"),
    ("login.token", "令牌", "Token"),
    ("login.ok", "登录", "Sign in"),
    (
        "login.why",
        "此服务器需要令牌。",
        "This server needs a token.",
    ),
];

/// The labels of one language.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Labels {
    pub lang: Lang,
}

impl Labels {
    pub(crate) fn new(lang: Lang) -> Labels {
        Labels { lang }
    }

    /// The dashboard's label of `key`, else the report's, else the key itself.
    pub(crate) fn t(&self, key: &str) -> String {
        TABLE
            .iter()
            .find(|(k, _, _)| *k == key)
            .map(|(_, zh, en)| self.lang.pick(zh, en).to_string())
            .or_else(|| clientele_report::label(self.lang, key).map(str::to_string))
            .unwrap_or_else(|| key.to_string())
    }

    /// A label with `{name}` placeholders filled.
    pub(crate) fn tf(&self, key: &str, args: &[(&str, String)]) -> String {
        let mut s = self.t(key);
        for (k, v) in args {
            s = s.replace(&format!("{{{k}}}"), v);
        }
        s
    }

    /// The dashboard's table in this language, for templates (`T['list.apply']`).
    pub(crate) fn table(&self) -> Value {
        let m: Map<String, Value> = TABLE
            .iter()
            .map(|(k, zh, en)| ((*k).to_string(), Value::from(self.lang.pick(zh, en))))
            .collect();
        Value::Object(m)
    }

    /// A customer-table column's name: the report's label, the name of the grouping it
    /// holds, or the column's own name.
    pub(crate) fn column(&self, name: &str) -> String {
        clientele_report::column_label(self.lang, name)
            .or_else(|| Grouping::of_column(name).map(|g| self.grouping(&g.key())))
            .unwrap_or_else(|| name.to_string())
    }

    /// A grouping's name, as the report names it.
    pub(crate) fn grouping(&self, key: &str) -> String {
        let report = |k: &str| clientele_report::label(self.lang, k).map(str::to_string);
        match Grouping::of_key(key) {
            Grouping::Grade(n) | Grouping::Rfm(n) => report(&format!("scheme.{n}")).unwrap_or(n),
            Grouping::ValueTier => report("scheme.value_tier").unwrap_or_else(|| key.into()),
            Grouping::Lifecycle => report("sec.lifecycle").unwrap_or_else(|| key.into()),
            Grouping::Cluster => report("scheme.cluster").unwrap_or_else(|| key.into()),
        }
    }
}

/// The grouping whose group names a column holds (`rfm_segment` is the 8-class RFM segment
/// under its short name).
pub(crate) fn grouping_of_column(column: &str) -> Option<Grouping> {
    Grouping::of_column(column).or_else(|| {
        (column == columns::RFM_SEGMENT).then(|| Grouping::Rfm(columns::CN8_SCHEME.to_string()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_label_has_both_languages_and_the_same_placeholders() {
        let holes = |s: &str| {
            let mut v: Vec<String> = s
                .split('{')
                .skip(1)
                .filter_map(|p| p.split_once('}').map(|(h, _)| h.to_string()))
                .collect();
            v.sort();
            v
        };
        for (k, zh, en) in TABLE {
            assert!(!zh.is_empty() && !en.is_empty(), "{k}");
            assert_eq!(holes(zh), holes(en), "{k}");
        }
        let mut keys: Vec<&str> = TABLE.iter().map(|(k, _, _)| *k).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), TABLE.len(), "a key twice");
    }
}
