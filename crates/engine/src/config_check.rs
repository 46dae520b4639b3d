//! `clientele config init|check`: a commented default config, and a check of a config
//! against real data with per-rule preview counts.

use clientele_grade::{Diagnostic, RulePreview, TableSchema, check_all, compile, preview};
use clientele_ingest::Progress;
use serde::Serialize;

use crate::{AnalyzeOptions, Config, EngineError, analyze};

/// The commented default config written by `clientele config init`.
pub const DEFAULT_CONFIG: &str = r#"# clientele config — every key is optional; unknown keys are errors.
# Every table and key: docs/CONFIG.md in the clientele repository.
# 所有键均可省略；未知键会报错。

[source]
transactions = ["orders.csv"]      # files, directories or glob patterns (relative to this file)
encoding = "utf-8"                 # utf-8 (BOM detected) | gbk | gb18030 | windows-1252
delimiter = ","                    # one character, "tab" or "whitespace"
decimal = "."                      # "." | "," (for amounts like 12,50 or 1.234,56)
# attributes = "customers.csv"     # customer attributes, joined on customer id
# satisfaction = "scores.csv"      # satisfaction scores (customer id, score)
# leads = "leads.csv"              # potential customers without a purchase
# postgres = "postgresql://analyst@db:5432/shop"   # read from PostgreSQL instead of files
# table = "sales.orders"           # … this table, or: query = "SELECT …"
                                   # password: PGPASSWORD, CLIENTELE_PG_PASSWORD or ~/.pgpass

[columns]                          # input column names
customer_id = "customer_id"
order_date = "order_date"
amount = "amount"
# order_id = "order_id"            # distinct orders; without it an order = a customer-day
# category = "category"
# profit = "profit"
# date_format = "%Y%m%d"           # only for unusual formats

[time]
# as_of = "2025-12-31"             # default: the last date in the data
unit = "weeks"                     # CLV time unit: days | weeks | months
# calibration_end = "2025-06-30"   # also validate the CLV model on the period after it

[clv]
model = "mbg_nbd"                  # mbg_nbd | bg_nbd | pareto_nbd | bg_bb
spend = "gamma_gamma"              # gamma_gamma | none (no CLV, expected purchases only)
month = "lifetimes"                # lifetimes (as the lifetimes package) | 30days
horizon_months = 12
monthly_discount = 0.01

[rfm]
bins = 5
frequency = "orders"               # orders | purchase_days
monetary = "sum"                   # sum | mean

[cluster]
k = [3, 8]                         # a range (the elbow of the inertia is chosen), or a fixed k
seed = 0

[lifecycle]
mode = "cadence"                   # cadence | fixed
new_days = 30

[output]
format = "auto"                    # auto (CSV too while it fits an Excel sheet) | parquet | csv | both
parquet_compression = "zstd"       # zstd | snappy | lz4 | none
lang = "zh"                        # zh | en
# postgres = "postgresql://crm@db:5432/crm"  # also write the customer table to PostgreSQL
# table = "clientele_customers"    # replaced whole in one transaction; runs in clientele_runs

# Grading schemes: conditions are SQL over customer-table columns.
# 分级方案：条件为基于客户表列的 SQL 表达式。
[[scheme]]
name = "behaviour"
rules = [
  { grade = "VIP", when = "orders > 15 AND monetary > 500 AND categories > 5" },
  { grade = "高级客户", when = "orders > 10 AND monetary > 400 AND categories > 4" },
]
default = "普通客户"

[[scheme]]
name = "value"
preset = "profit_percentile"       # built-in presets: behaviour, behaviour_percentile, attributes,
                                   # profit, profit_percentile, satisfaction, rfm8, rf_grid
"#;

/// Result of checking a config against data.
#[derive(Debug, Clone, Serialize)]
pub struct ConfigCheck {
    /// Problems found (errors and warnings) with scheme, rule and fix.
    pub diagnostics: Vec<Diagnostic>,
    /// Per scheme: how many customers each rule matches and takes.
    pub previews: Vec<(String, Vec<RulePreview>)>,
    /// Customers in the data.
    pub customers: usize,
}

/// Runs the analysis described by `config` and checks its grading schemes on the result.
pub fn check_config(config: &Config, progress: &dyn Progress) -> Result<ConfigCheck, EngineError> {
    // Grade on everything but the configured schemes, so a broken scheme is reported here
    // instead of failing the run.
    let mut base = config.clone();
    let schemes = std::mem::take(&mut base.scheme);
    let a = analyze(
        &base,
        &AnalyzeOptions {
            customer_table_only: false,
            ..AnalyzeOptions::default()
        },
        progress,
    )?;
    let bins = i64::from(config.rfm.bins);
    let mut schema = TableSchema::of(&a.customers);
    for s in ["r_score", "f_score", "m_score"] {
        schema = schema.with_range(s, 1, bins);
    }
    let diagnostics = check_all(&schemes, &schema);
    let mut previews = Vec::new();
    for s in &schemes {
        if let Ok(c) = compile(s, &a.customers)
            && let Ok(p) = preview(&c, &a.customers)
        {
            previews.push((s.name.clone(), p));
        }
    }
    Ok(ConfigCheck {
        diagnostics,
        previews,
        customers: a.customers.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `config init` writes the defaults: every value it sets, apart from the examples of what
    /// to fill in (files, column names, schemes), is the default of the types.
    #[test]
    fn the_commented_default_config_holds_the_defaults() {
        let written: toml::Table = toml::from_str(DEFAULT_CONFIG).unwrap();
        for (section, table) in &written {
            let Some(table) = table.as_table() else {
                continue; // [[scheme]]: examples
            };
            if section == "columns" {
                continue;
            }
            for (key, value) in table {
                if (section.as_str(), key.as_str()) == ("source", "transactions") {
                    continue;
                }
                let one = format!("[{section}]\n{key} = {value}\n");
                let c = Config::from_toml(&one, "<one key>").unwrap();
                assert!(
                    c == Config::default(),
                    "config init writes {section}.{key} = {value}, which is not the default"
                );
            }
        }
    }

    #[test]
    fn default_config_parses() {
        let c = Config::from_toml(DEFAULT_CONFIG, "default").unwrap();
        assert_eq!(c.scheme.len(), 2);
        assert_eq!(c.time.unit, clientele_core::TimeUnit::Weeks);
    }
}
