//! Selecting customers of a stored or live run: a filter in the grading rule language, an
//! order by any column, and the rows that result. What `clientele serve` pages through and
//! exports; the filter can read columns and table statistics and nothing else.

use std::cmp::Ordering;

use clientele_core::{ColumnData, CustomerTable};
use clientele_grade::expr::{self, BoolNode, ExprIssue, Slots, StatCache, TRUE};
use clientele_grade::schema::TableSchema;

use crate::EngineError;

/// The longest filter accepted, in bytes: a filter is typed by a person or built by a tool
/// from a few conditions; a longer one is a mistake or an attack.
pub const MAX_FILTER_BYTES: usize = 4096;

/// A condition over the customer table's columns (`monetary > 500 AND lifecycle_stage =
/// '流失风险'`), checked against the table's columns and bound once.
#[derive(Debug, Clone)]
pub struct Filter {
    text: String,
    node: BoolNode,
    slots: Slots,
}

impl Filter {
    /// Parses and type-checks `text` against `table`'s columns. Statistics (`p80(monetary)`)
    /// are taken over the whole table.
    pub fn parse(text: &str, table: &CustomerTable) -> Result<Filter, EngineError> {
        let bad = |message: String, fix: String| EngineError::Filter {
            filter: expr::clip(text, 80).into_owned(),
            message,
            fix,
        };
        if text.len() > MAX_FILTER_BYTES {
            return Err(bad(
                format!("{} bytes, more than {MAX_FILTER_BYTES}", text.len()),
                "shorten the filter; select by a grade or a column instead of listing ids".into(),
            ));
        }
        let schema = TableSchema::of(table);
        let e = expr::parse(text).map_err(|e| bad(e.to_string(), e.fix()))?;
        let e = expr::coerce_dates(e, &schema);
        if let Some(issue) = expr::type_check(&e, &schema).into_iter().next() {
            return Err(match issue {
                ExprIssue::UnknownColumn(c) => {
                    let fix = match schema.closest(&c) {
                        Some(s) => format!("write `{s}` instead of `{c}`"),
                        None => format!("use one of the columns: {}", schema.names().join(", ")),
                    };
                    bad(format!("unknown column `{}`", expr::clip(&c, 60)), fix)
                }
                ExprIssue::Type(m) => bad(
                    m,
                    "compare numbers with numbers and text with quoted text ('VIP')".into(),
                ),
            });
        }
        let mut slots = Slots::default();
        let mut stats = StatCache::new(table);
        let node = expr::bind(
            &e,
            &schema,
            &mut slots,
            &mut |s, c| stats.get(s, c),
            &mut Vec::new(),
        );
        Ok(Filter {
            text: text.to_string(),
            node,
            slots,
        })
    }

    /// The filter as given.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// For every customer of `table`: does the filter hold (NULL does not)?
    pub fn matches(&self, table: &CustomerTable) -> Result<Vec<bool>, EngineError> {
        let frame = self.slots.load(table)?;
        Ok(self
            .node
            .eval(&frame)
            .into_iter()
            .map(|t| t == TRUE)
            .collect())
    }
}

/// An order of the customers by one column (or the id), missing values last in both
/// directions, ties in table order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sort {
    /// The column (`customer_id` for the id).
    pub column: String,
    /// Largest first.
    pub descending: bool,
}

impl Sort {
    /// Parses `monetary`, `-monetary` (descending) or `monetary desc` / `monetary asc`, and
    /// checks the column exists.
    pub fn parse(text: &str, table: &CustomerTable) -> Result<Sort, EngineError> {
        let t = text.trim();
        let (column, descending) = if let Some(c) = t.strip_prefix('-') {
            (c.trim(), true)
        } else if let Some(c) = t.strip_suffix(" desc").or_else(|| t.strip_suffix(" DESC")) {
            (c.trim(), true)
        } else if let Some(c) = t.strip_suffix(" asc").or_else(|| t.strip_suffix(" ASC")) {
            (c.trim(), false)
        } else {
            (t, false)
        };
        if column != clientele_core::columns::CUSTOMER_ID && table.get(column).is_none() {
            let schema = TableSchema::of(table);
            return Err(EngineError::Filter {
                filter: expr::clip(text, 80).into_owned(),
                message: format!("no column `{}` to sort by", expr::clip(column, 60)),
                fix: match schema.closest(column) {
                    Some(s) => format!("sort by `{s}`"),
                    None => format!(
                        "sort by customer_id or one of: {}",
                        schema.names().join(", ")
                    ),
                },
            });
        }
        Ok(Sort {
            column: column.to_string(),
            descending,
        })
    }

    /// Every row of `table` in this order.
    pub fn order(&self, table: &CustomerTable) -> Vec<u32> {
        let mut rows: Vec<u32> = (0..table.len() as u32).collect();
        let desc = self.descending;
        // missing values last whichever the direction; ties keep table order (stable sort)
        fn by<T: PartialOrd>(a: Option<T>, b: Option<T>, desc: bool) -> Ordering {
            match (a, b) {
                (Some(a), Some(b)) => {
                    let o = a.partial_cmp(&b).unwrap_or(Ordering::Equal);
                    if desc { o.reverse() } else { o }
                }
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (None, None) => Ordering::Equal,
            }
        }
        if self.column == clientele_core::columns::CUSTOMER_ID {
            let ids = table.ids();
            rows.sort_by(|&a, &b| by(Some(ids.get(a as usize)), Some(ids.get(b as usize)), desc));
            return rows;
        }
        match table.get(&self.column) {
            Some(ColumnData::Int(v)) => {
                rows.sort_by(|&a, &b| by(v.get(a as usize), v.get(b as usize), desc))
            }
            Some(ColumnData::Float(v)) => rows.sort_by(|&a, &b| {
                let f = |i: u32| v.get(i as usize).filter(|x| !x.is_nan());
                by(f(a), f(b), desc)
            }),
            Some(ColumnData::Date(v)) => {
                rows.sort_by(|&a, &b| by(v.get(a as usize), v.get(b as usize), desc))
            }
            Some(ColumnData::Text(v)) => {
                rows.sort_by(|&a, &b| by(v.get(a as usize), v.get(b as usize), desc))
            }
            None => {}
        }
        rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> CustomerTable {
        let mut t = CustomerTable::new(vec!["a".into(), "b".into(), "c".into(), "d".into()]);
        t.push(
            "monetary",
            ColumnData::Float(vec![Some(10.0), None, Some(30.0), Some(20.0)].into()),
        )
        .unwrap();
        t.push(
            "grade",
            ColumnData::Text(
                [Some("VIP"), Some("普通客户"), Some("VIP"), None]
                    .into_iter()
                    .collect(),
            ),
        )
        .unwrap();
        t
    }

    #[test]
    fn a_filter_selects_with_sql_null_logic() {
        let t = table();
        let f = Filter::parse("monetary > 15 OR grade = 'VIP'", &t).unwrap();
        assert_eq!(f.matches(&t).unwrap(), [true, false, true, true]);
        let f = Filter::parse("monetary >= p50(monetary)", &t).unwrap();
        assert_eq!(f.matches(&t).unwrap(), [false, false, true, true]);
    }

    #[test]
    fn a_bad_filter_names_the_fix() {
        let t = table();
        let e = Filter::parse("monetry > 5", &t).unwrap_err();
        assert!(e.to_string().contains("`monetary`"), "{e}");
        assert_eq!(e.fault(), crate::Fault::User);
        for bad in [
            "",
            "monetary >",
            "grade > 5",
            "load_file('x') = 1",
            &"x".repeat(5000),
        ] {
            assert!(Filter::parse(bad, &t).is_err(), "{bad}");
        }
    }

    #[test]
    fn sorting_puts_missing_values_last_both_ways() {
        let t = table();
        let asc = Sort::parse("monetary", &t).unwrap();
        assert_eq!(asc.order(&t), [0, 3, 2, 1]);
        let desc = Sort::parse("-monetary", &t).unwrap();
        assert_eq!(desc.order(&t), [2, 3, 0, 1]);
        assert_eq!(
            Sort::parse("customer_id desc", &t).unwrap().order(&t),
            [3, 2, 1, 0]
        );
        assert!(
            Sort::parse("monetry", &t)
                .unwrap_err()
                .to_string()
                .contains("monetary")
        );
    }
}
