//! Customer grading (顾客分级): declarative grading schemes from config, their static checks,
//! built-in presets for the classic gradings, value tiers and the marketing playbook.
//!
//! A scheme is a `[[scheme]]` table whose conditions are SQL boolean expressions over the
//! customer table's columns (`orders > 15 AND monetary > 500`). [`check()`] reports unknown
//! columns, type errors, unreachable rules and grid gaps before anything runs; [`compile`] binds a
//! scheme to a table (resolving statistics such as `p80(monetary)`); [`CompiledScheme::apply`]
//! grades every customer column-wise; [`preview`] counts what each rule takes; [`summarize`]
//! builds the per-grade summary. Pure: no file I/O, no clock, no printing.
//!
//! ```
//! use clientele_core::{ColumnData, CustomerTable};
//! use clientele_grade::{GradingConfig, Lang, Playbook, compile, preview};
//!
//! let mut table = CustomerTable::new(vec!["c1".into(), "c2".into(), "c3".into()]);
//! table.push("orders", ColumnData::Int(vec![Some(20), Some(12), Some(1)].into()))?;
//! table.push("monetary", ColumnData::Float(vec![Some(900.0), Some(450.0), None].into()))?;
//! table.push("categories", ColumnData::Int(vec![Some(6), Some(5), Some(1)].into()))?;
//!
//! let config = GradingConfig::from_toml(r#"
//!     [[scheme]]
//!     name = "behaviour"
//!     mode = "first_match"
//!     rules = [
//!       { grade = "VIP",      when = "orders > 15 AND monetary > 500 AND categories > 5" },
//!       { grade = "高级客户", when = "orders > 10 AND monetary > 400 AND categories > 4" },
//!     ]
//!     default = "普通客户"
//! "#)?;
//! let scheme = compile(&config.scheme[0], &table)?;
//! let graded = scheme.apply(&table)?;
//! assert_eq!(graded.column, "grade_behaviour");
//! assert_eq!(graded.label(0).as_deref(), Some("VIP"));
//! assert_eq!(graded.label(2).as_deref(), Some("普通客户")); // NULL monetary: no rule matches
//!
//! let rows = preview(&scheme, &table)?;
//! assert_eq!((rows[0].grade.as_str(), rows[0].taken_customers), ("VIP", 1));
//!
//! let playbook = Playbook::with_overrides(&config.playbook);
//! assert!(playbook.action("VIP", Lang::En).is_some());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod check;
pub mod error;
pub mod expr;
pub mod labels;
pub mod playbook;
pub mod presets;
pub mod schema;
pub mod scheme;
pub mod summary;
pub mod value_tier;

pub use check::{Diagnostic, Kind, RuleRef, Severity, check, check_all};
pub use error::GradeError;
pub use expr::ResolvedStat;
pub use labels::{GradeLabel, builtin_label};
pub use playbook::{Lang, Playbook, PlaybookConfig, PlaybookEntry};
pub use schema::{ColumnType, TableSchema};
pub use scheme::{
    Codes, CompiledScheme, GradingConfig, Mode, ParamValue, RuleConfig, RulePreview, SchemeConfig,
    SchemeResult, TierConfig, compile, compile_with_stats, preview,
};
pub use summary::{GradeSummary, SchemeSummary, summarize};
pub use value_tier::{
    ParetoPoint, Tier, TierSummary, ValueTierConfig, ValueTiers, value_tiers, value_tiers_of,
};

/// Result alias for this crate.
pub type Result<T, E = GradeError> = std::result::Result<T, E>;

/// Compiles and applies several schemes to one table, in order.
pub fn grade_all(
    schemes: &[SchemeConfig],
    table: &clientele_core::CustomerTable,
) -> Result<Vec<SchemeResult>> {
    let names: Vec<&str> = schemes.iter().map(|s| s.name.as_str()).collect();
    for (i, n) in names.iter().enumerate() {
        if names[..i].contains(n) {
            let schema = TableSchema::of(table);
            return Err(GradeError::Invalid {
                scheme: n.to_string(),
                diagnostics: check_all(schemes, &schema)
                    .into_iter()
                    .filter(|d| d.severity == Severity::Error)
                    .collect(),
            });
        }
    }
    schemes
        .iter()
        .map(|s| compile(s, table)?.apply(table))
        .collect()
}
