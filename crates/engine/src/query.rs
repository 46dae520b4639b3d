//! Selecting customers of a stored or live run: a filter in the grading rule language, an
//! order by any column, and the rows that result. What `clientele serve` pages through and
//! exports; the filter can read columns and table statistics and nothing else.

use clientele_core::{ColumnData, CustomerTable, Lang, Note};
use clientele_grade::expr::{self, BoolNode, Issue, Slots, StatCache, TRUE};
use clientele_grade::schema::TableSchema;

use crate::{BadFilter, EngineError};

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
        let bad = |message: Note, fix: Note| {
            EngineError::Filter(Box::new(BadFilter {
                filter: expr::clipped(text, 80),
                sort: false,
                message,
                fix,
            }))
        };
        if text.len() > MAX_FILTER_BYTES {
            return Err(bad(
                Note::new(
                    format!(
                        "长 {} 字节，超过了 {MAX_FILTER_BYTES} 字节的上限",
                        text.len()
                    ),
                    format!("{} bytes, more than {MAX_FILTER_BYTES}", text.len()),
                ),
                Note::new(
                    "缩短筛选条件：按等级或某一列筛选，不要逐个列出 id",
                    "shorten the filter; select by a grade or a column instead of listing ids",
                ),
            ));
        }
        let schema = TableSchema::of(table);
        let e = expr::parse(text).map_err(|e| {
            bad(
                Note::new(e.zh(), e.to_string()),
                Note::new(e.fix_zh(), e.fix()),
            )
        })?;
        let e = expr::coerce_dates(e, &schema);
        if let Some(issue) = expr::issues(&e, &schema).into_iter().next() {
            return Err(match issue {
                Issue::UnknownColumn(c) => {
                    let q = expr::clipped(&c, 60);
                    let (c_en, c_zh) = (&q.en, &q.zh);
                    let fix = match schema.closest(&c) {
                        Some(s) => Note::new(
                            format!("把 `{c_zh}` 改为 `{s}`"),
                            format!("write `{s}` instead of `{c}`"),
                        ),
                        None => {
                            let names = schema.names().join(", ");
                            Note::new(
                                format!("使用以下列之一：{names}"),
                                format!("use one of the columns: {names}"),
                            )
                        }
                    };
                    bad(
                        Note::new(
                            format!("列 `{c_zh}` 不存在"),
                            format!("unknown column `{c_en}`"),
                        ),
                        fix,
                    )
                }
                Issue::Type(m) => bad(
                    m,
                    Note::new(
                        "数字与数字比较，文本与单引号括起的文本（'VIP'）比较",
                        "compare numbers with numbers and text with quoted text ('VIP')",
                    ),
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

/// Which customers of a run: a group of a grouping, a condition in the rule language, an id
/// prefix, and an order. What `clientele export` writes and `clientele serve` pages through.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// Grouping key (`behaviour`, `rfm_cn8`, `lifecycle`, `value_tier`, `cluster`).
    pub scheme: Option<String>,
    /// A group of that grouping, by its name in either language or its key.
    pub grade: Option<String>,
    /// A condition in the rule language.
    pub filter: Option<String>,
    /// `column`, `-column` or `column desc`.
    pub sort: Option<String>,
    /// Customer ids starting with this text.
    pub id_prefix: Option<String>,
}

impl Selection {
    /// For every customer: is it selected? `None` when the selection keeps everyone.
    pub fn mask(
        &self,
        table: &CustomerTable,
        groupings: &[crate::GroupingSummary],
        vocab: &crate::Vocabulary,
    ) -> Result<Option<Vec<bool>>, EngineError> {
        let mut keep: Option<Vec<bool>> = None;
        let mut and = |m: Vec<bool>| {
            keep = Some(match keep.take() {
                None => m,
                Some(k) => k.iter().zip(&m).map(|(a, b)| *a && *b).collect(),
            })
        };
        let some = |x: &Option<String>| x.clone().filter(|x| !x.trim().is_empty());
        match (some(&self.scheme), some(&self.grade)) {
            (Some(scheme), grade) => {
                let g = groupings.iter().find(|g| g.key == scheme).ok_or_else(|| {
                    let keys = groupings
                        .iter()
                        .map(|g| g.key.as_str())
                        .collect::<Vec<_>>()
                        .join(", ");
                    let q = expr::clipped(&scheme, 80);
                    EngineError::Selection {
                        message: Note::new(
                            format!("本次运行没有方案 `{}`", q.zh),
                            format!("no scheme `{}` in this run", q.en),
                        ),
                        fix: Note::new(
                            format!("请使用以下方案之一：{keys}"),
                            format!("use one of: {keys}"),
                        ),
                        not_found: true,
                    }
                })?;
                if let Some(grade) = grade {
                    let name = g.group(vocab, &grade).ok_or_else(|| {
                        // as the run names them, and in Chinese by their Chinese names
                        let grades = &g.summary.grades;
                        let names: Vec<&str> = grades.iter().map(|x| x.grade.as_str()).collect();
                        let names_zh: Vec<String> = grades
                            .iter()
                            .map(|x| vocab.name(&g.grouping(), &x.grade, Lang::Zh))
                            .collect();
                        let q = expr::clipped(&grade, 80);
                        EngineError::Selection {
                            message: Note::new(
                                format!("方案 `{}` 中没有等级 `{}`", g.key, q.zh),
                                format!("no grade `{}` in scheme `{}`", q.en, g.key),
                            ),
                            fix: Note::new(
                                format!("请使用以下等级之一：{}", names_zh.join(", ")),
                                format!("use one of: {}", names.join(", ")),
                            ),
                            not_found: true,
                        }
                    })?;
                    and(g.members(table, &name)?);
                }
            }
            (None, Some(_)) => {
                return Err(EngineError::Selection {
                    message: Note::new("指定等级时也要指定方案", "a grade needs its scheme"),
                    fix: Note::new(
                        "同时写出方案（分级方案名、`rfm_cn8`、`lifecycle` 等）",
                        "name the scheme too (the grading, `rfm_cn8`, `lifecycle`, …)",
                    ),
                    not_found: false,
                });
            }
            (None, None) => {}
        }
        if let Some(f) = some(&self.filter) {
            let f = Filter::parse(&f, table)?;
            and(f.matches(table)?);
        }
        if let Some(p) = self.id_prefix.as_deref().filter(|p| !p.is_empty()) {
            and(table.ids().iter().map(|id| id.starts_with(p)).collect());
        }
        Ok(keep)
    }

    /// The order asked for, checked against the table's columns.
    pub fn order_by(&self, table: &CustomerTable) -> Result<Option<Sort>, EngineError> {
        self.sort
            .as_deref()
            .filter(|x| !x.trim().is_empty())
            .map(|s| Sort::parse(s, table))
            .transpose()
    }

    /// The selected rows in order (table order when unsorted).
    pub fn rows(
        &self,
        table: &CustomerTable,
        groupings: &[crate::GroupingSummary],
        vocab: &crate::Vocabulary,
    ) -> Result<Vec<u32>, EngineError> {
        let mask = self.mask(table, groupings, vocab)?;
        let order = self.order_by(table)?.map(|s| s.order(table));
        Ok(select_rows(table.len(), mask.as_deref(), order.as_deref()))
    }
}

/// The rows `mask` keeps (all when `None`), in `order` (table order when `None`).
pub fn select_rows(n: usize, mask: Option<&[bool]>, order: Option<&[u32]>) -> Vec<u32> {
    match (order, mask) {
        (Some(o), Some(k)) => o.iter().copied().filter(|&r| k[r as usize]).collect(),
        (Some(o), None) => o.to_vec(),
        (None, Some(k)) => (0..n as u32).filter(|&r| k[r as usize]).collect(),
        (None, None) => (0..n as u32).collect(),
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
            let q = expr::clipped(column, 60);
            let (c_en, c_zh) = (&q.en, &q.zh);
            return Err(EngineError::Filter(Box::new(BadFilter {
                filter: expr::clipped(text, 80),
                sort: true,
                message: Note::new(
                    format!("没有可排序的列 `{c_zh}`"),
                    format!("no column `{c_en}` to sort by"),
                ),
                fix: match schema.closest(column) {
                    Some(s) => Note::new(format!("按 `{s}` 排序"), format!("sort by `{s}`")),
                    None => {
                        let names = schema.names().join(", ");
                        Note::new(
                            format!("按 customer_id 或以下列之一排序：{names}"),
                            format!("sort by customer_id or one of: {names}"),
                        )
                    }
                },
            })));
        }
        Ok(Sort {
            column: column.to_string(),
            descending,
        })
    }

    /// Every row of `table` in this order. Each value becomes one orderable 64-bit key
    /// (missing values the largest in both directions) and (key, row) pairs are sorted in
    /// parallel: a few hundred milliseconds at millions of customers, where comparing through
    /// the column took seconds.
    pub fn order(&self, table: &CustomerTable) -> Vec<u32> {
        use rayon::slice::ParallelSliceMut;
        let n = table.len();
        let desc = self.descending;
        // present values ascending (or descending) below u64::MAX, missing ones at u64::MAX
        let key = |k: Option<u64>| match k {
            Some(k) if desc => u64::MAX - 1 - k.min(u64::MAX - 1),
            Some(k) => k.min(u64::MAX - 1),
            None => u64::MAX,
        };
        if self.column == clientele_core::columns::CUSTOMER_ID {
            let ids = table.ids();
            let mut rows: Vec<u32> = (0..n as u32).collect();
            rows.par_sort_by(|&a, &b| {
                let o = ids.get(a as usize).cmp(ids.get(b as usize));
                if desc { o.reverse() } else { o }
            });
            return rows;
        }
        let keys: Vec<u64> = match table.get(&self.column) {
            Some(ColumnData::Int(v)) => (0..n)
                .map(|i| key(v.get(i).map(|x| (x as u64) ^ (1 << 63))))
                .collect(),
            Some(ColumnData::Float(v)) => (0..n)
                .map(|i| key(v.get(i).filter(|x| !x.is_nan()).map(float_key)))
                .collect(),
            Some(ColumnData::Date(v)) => (0..n)
                .map(|i| key(v.get(i).map(|d| (i64::from(d.0) as u64) ^ (1 << 63))))
                .collect(),
            Some(ColumnData::Text(v)) => {
                // rank of each distinct text in byte order
                let mut by_text: Vec<usize> = (0..v.labels().len()).collect();
                by_text.sort_by(|&a, &b| v.labels()[a].cmp(&v.labels()[b]));
                let mut rank = vec![0u64; by_text.len()];
                for (r, &l) in by_text.iter().enumerate() {
                    rank[l] = r as u64;
                }
                (0..n)
                    .map(|i| key(v.code(i).map(|c| rank[c as usize])))
                    .collect()
            }
            None => return (0..n as u32).collect(),
        };
        let mut pairs: Vec<(u64, u32)> = keys.into_iter().zip(0..n as u32).collect();
        // ties keep table order: the row is the second key
        pairs.par_sort_unstable();
        pairs.into_iter().map(|(_, r)| r).collect()
    }
}

/// An `f64` as a `u64` in the same order (IEEE 754 total order for non-NaN values).
fn float_key(x: f64) -> u64 {
    clientele_core::rank::float_key(if x == 0.0 { 0.0 } else { x })
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

    /// No English word in Chinese text: what stays English is code in backticks (column
    /// names, the user's filter) and upper-case keywords and examples (AND, 'VIP').
    fn has_no_english_sentence(zh: &str) -> bool {
        let outside: String = zh.split('`').step_by(2).collect();
        !outside
            .split(|c: char| !c.is_ascii_alphabetic())
            .any(|w| w.len() >= 3 && w.chars().all(|c| c.is_ascii_lowercase()))
    }

    #[test]
    fn a_bad_filter_or_sort_is_said_in_chinese_too_and_unchanged_in_english() {
        let t = table();
        let e = Filter::parse("monetry > 5", &t).unwrap_err();
        assert_eq!(
            e.to_string(),
            "filter `monetry > 5`: unknown column `monetry`: write `monetary` instead of `monetry`"
        );
        assert_eq!(
            e.zh().as_deref(),
            Some("筛选条件 `monetry > 5`：列 `monetry` 不存在；把 `monetry` 改为 `monetary`")
        );
        assert_eq!(e.reason_zh(), e.zh());
        for bad in [
            "",
            "monetary >",
            "grade > 5",
            "(monetary > 5",
            "monetary + 1",
        ] {
            let zh = Filter::parse(bad, &t).unwrap_err().zh().unwrap();
            assert!(zh.starts_with("筛选条件 `"), "{bad}: {zh}");
            // sqlparser's own words are quoted in parentheses, introduced in Chinese
            let said = zh.split("（SQL 解析器：").next().unwrap();
            assert!(has_no_english_sentence(said), "{bad}: {zh}");
        }
        let long = Filter::parse(&"x".repeat(5000), &t).unwrap_err();
        let zh = long.zh().unwrap();
        assert!(
            zh.contains("（共 5000 个字符）") && zh.contains("5000 字节"),
            "{zh}"
        );
        assert!(has_no_english_sentence(&zh), "{zh}");
        assert!(long.to_string().contains("(5000 characters)"));
        let e = Sort::parse("-monetry", &t).unwrap_err();
        assert_eq!(
            e.to_string(),
            "filter `-monetry`: no column `monetry` to sort by: sort by `monetary`"
        );
        assert_eq!(
            e.zh().as_deref(),
            Some("排序 `-monetry`：没有可排序的列 `monetry`；按 `monetary` 排序")
        );
    }

    /// A lifecycle grouping of [`table`]'s customers named in English, and its vocabulary.
    fn lifecycle() -> (
        CustomerTable,
        Vec<crate::GroupingSummary>,
        crate::Vocabulary,
    ) {
        let mut t = table();
        let stages = [Some("Active"), Some("At risk"), Some("Active"), None];
        t.push(
            clientele_core::columns::LIFECYCLE_STAGE,
            ColumnData::Text(stages.into_iter().collect()),
        )
        .unwrap();
        let result = clientele_grade::SchemeResult {
            scheme: "lifecycle".into(),
            column: clientele_core::columns::LIFECYCLE_STAGE.into(),
            mode: clientele_grade::Mode::FirstMatch,
            grades: vec!["Active".into(), "At risk".into()],
            codes: clientele_grade::Codes::Exclusive(vec![Some(0), Some(1), Some(0), None]),
            separator: String::new(),
            resolved: Vec::new(),
        };
        let g = crate::GroupingSummary {
            key: "lifecycle".into(),
            column: clientele_core::columns::LIFECYCLE_STAGE.into(),
            summary: clientele_grade::summarize(&result, &t, &Default::default()),
        };
        let mut v = crate::Vocabulary::default();
        v.add(
            "lifecycle",
            crate::vocab::Label::new("active", "活跃客户", "Active"),
        );
        v.add(
            "lifecycle",
            crate::vocab::Label::new("at_risk", "流失风险", "At risk"),
        );
        (t, vec![g], v)
    }

    #[test]
    fn an_unknown_scheme_or_grade_is_said_in_chinese_with_the_chinese_names() {
        let (t, groups, vocab) = lifecycle();
        let select = |scheme: Option<&str>, grade: Option<&str>| {
            Selection {
                scheme: scheme.map(str::to_string),
                grade: grade.map(str::to_string),
                ..Selection::default()
            }
            .mask(&t, &groups, &vocab)
        };
        let ok = select(Some("lifecycle"), Some("流失风险")).unwrap();
        assert_eq!(ok, Some(vec![false, true, false, false]));
        let e = select(Some("lifecycle"), Some("nope")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "no grade `nope` in scheme `lifecycle`: use one of: Active, At risk"
        );
        assert_eq!(
            e.zh().as_deref(),
            Some("方案 `lifecycle` 中没有等级 `nope`；请使用以下等级之一：活跃客户, 流失风险")
        );
        assert!(matches!(
            e,
            EngineError::Selection {
                not_found: true,
                ..
            }
        ));
        let e = select(Some("nope"), None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "no scheme `nope` in this run: use one of: lifecycle"
        );
        assert_eq!(
            e.zh().as_deref(),
            Some("本次运行没有方案 `nope`；请使用以下方案之一：lifecycle")
        );
        let e = select(None, Some("VIP")).unwrap_err();
        let zh = e.zh().unwrap();
        assert!(zh.starts_with("指定等级时也要指定方案；"), "{zh}");
        assert!(e.to_string().starts_with("a grade needs its scheme: "));
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
        // text in byte order: "VIP" before "普通客户"
        assert_eq!(Sort::parse("grade", &t).unwrap().order(&t), [0, 2, 1, 3]);
        assert_eq!(Sort::parse("-grade", &t).unwrap().order(&t), [1, 0, 2, 3]);
    }

    #[test]
    fn keys_order_like_the_numbers_with_ties_in_table_order() {
        let xs = [-1e300, -2.5, -0.0, 0.0, 1e-300, 2.5, f64::INFINITY];
        for w in xs.windows(2) {
            assert!(float_key(w[0]) <= float_key(w[1]), "{w:?}");
        }
        let mut t = CustomerTable::new((0..6).map(|i| format!("c{i}")).collect());
        let m = vec![
            Some(2.0),
            None,
            Some(1.0),
            Some(2.0),
            Some(f64::NAN),
            Some(-3.0),
        ];
        t.push("m", ColumnData::Float(m.into())).unwrap();
        let n = vec![
            Some(i64::MIN),
            Some(-1),
            None,
            Some(i64::MAX),
            Some(0),
            Some(-1),
        ];
        t.push("n", ColumnData::Int(n.into())).unwrap();
        assert_eq!(Sort::parse("m", &t).unwrap().order(&t), [5, 2, 0, 3, 1, 4]);
        assert_eq!(Sort::parse("-m", &t).unwrap().order(&t), [0, 3, 2, 5, 1, 4]);
        assert_eq!(Sort::parse("n", &t).unwrap().order(&t), [0, 1, 5, 4, 3, 2]);
        assert_eq!(Sort::parse("-n", &t).unwrap().order(&t), [3, 4, 1, 5, 0, 2]);
    }
}
