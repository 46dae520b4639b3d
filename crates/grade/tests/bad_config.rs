//! Bad configs: each message says what, where and how to fix it. Exact texts are asserted so
//! changes to them are deliberate.

#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

use clientele_core::{ColumnData, CustomerTable};
use clientele_grade::{
    ColumnType, GradingConfig, Kind, SchemeConfig, Severity, TableSchema, check, check_all,
    compile, presets,
};

fn schema() -> TableSchema {
    TableSchema::new()
        .with("customer_id", ColumnType::Text)
        .with("orders", ColumnType::Int)
        .with("monetary", ColumnType::Float)
        .with("categories", ColumnType::Int)
        .with("city", ColumnType::Text)
        .with_range("r_score", 1, 5)
        .with_range("f_score", 1, 5)
}

fn one(text: &str) -> SchemeConfig {
    GradingConfig::from_toml(text)
        .unwrap()
        .scheme
        .into_iter()
        .next()
        .unwrap()
}

fn messages(cfg: &SchemeConfig) -> Vec<String> {
    check(cfg, &schema())
        .iter()
        .map(|d| d.to_string())
        .collect()
}

#[test]
fn unknown_key_names_the_key_and_its_line() {
    let text = r#"
[[scheme]]
name = "behaviour"
rules = [
  { grade = "VIP", whn = "orders > 15" },
]
default = "普通客户"
"#;
    let e = GradingConfig::from_toml(text).unwrap_err().to_string();
    assert!(e.contains("unknown field `whn`"), "{e}");
    assert!(e.contains("line 5"), "{e}");
    assert!(e.contains("`when`"), "lists the valid keys: {e}");

    let e = GradingConfig::from_toml("[[scheme]]\nname = \"x\"\nmdoe = \"grid\"\n")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("unknown field `mdoe`") && e.contains("line 3"),
        "{e}"
    );
    let e = GradingConfig::from_toml("[[scheme]]\nname = \"x\"\nmode = \"lookup\"\n")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("unknown variant `lookup`") && e.contains("first_match"),
        "{e}"
    );
}

#[test]
fn unknown_column_names_it_and_suggests_the_closest() {
    let cfg = one(r#"
[[scheme]]
name = "behaviour"
rules = [
  { grade = "VIP", when = "orders > 15 AND monetary > 500" },
  { grade = "高级客户", when = "order > 10 AND monetary > 400" },
]
default = "普通客户"
"#);
    assert_eq!(
        messages(&cfg),
        [
            "error: scheme `behaviour`, rule 2 (`高级客户`): unknown column `order` in `order > 10 \
          AND monetary > 400`; did you mean `orders`? Available columns: customer_id, orders, \
          monetary, categories, city, r_score, f_score\n  fix: write `orders` instead of `order`"
        ]
    );
    // the column itself, for a program that lists what is missing
    assert_eq!(check(&cfg, &schema())[0].column.as_deref(), Some("order"));
}

#[test]
fn grid_gap_names_the_cell() {
    let mut cfg = presets::get("rf_grid").unwrap();
    cfg.rules
        .retain(|r| r.grade.as_deref() != Some("Need Attention"));
    assert_eq!(
        messages(&cfg),
        [
            "error: scheme `rf_grid`: grid cell (r_score=3, f_score=3) is not covered by any rule\n  \
          fix: add a rule for these cells or widen a rule; a grid gives every cell a grade"
        ]
    );
    cfg.rules
        .retain(|r| r.grade.as_deref() != Some("Hibernating"));
    let m = messages(&cfg);
    assert_eq!(m.len(), 1);
    assert!(
        m[0].starts_with(
            "error: scheme `rf_grid`: 5 grid cells are not covered by any rule: (r_score=1, \
             f_score=1), (r_score=1, f_score=2), (r_score=2, f_score=1), (r_score=2, f_score=2), \
             (r_score=3, f_score=3)\n"
        ),
        "{}",
        m[0]
    );
}

#[test]
fn unreachable_rule_names_the_earlier_rule_that_covers_it() {
    let cfg = one(r#"
[[scheme]]
name = "rf"
mode = "grid"
axes = ["r_score", "f_score"]
rules = [
  { grade = "Loyal", when = "r_score >= 3 AND f_score >= 3" },
  { grade = "Champions", when = "r_score = 5 AND f_score = 5" },
  { grade = "Others", when = "TRUE" },
]
"#);
    assert_eq!(
        messages(&cfg),
        [
            "error: scheme `rf`, rule 2 (`Champions`): unreachable: every cell it matches is taken \
          by the earlier rule 1 (`Loyal`)\n  fix: move it above rule 1 (`Loyal`), narrow the \
          earlier condition, or delete it"
        ]
    );
    // Covered by two earlier rules together; a first_match scheme over ranged score columns is
    // enumerated too.
    let cfg = one(r#"
[[scheme]]
name = "rf"
rules = [
  { grade = "Recent", when = "r_score >= 4" },
  { grade = "Frequent", when = "f_score >= 4" },
  { grade = "Best", when = "r_score = 3 AND f_score = 5 OR r_score = 5 AND f_score = 1" },
  { grade = "Never", when = "r_score > 5" },
]
default = "Others"
"#);
    assert_eq!(
        messages(&cfg),
        [
            "error: scheme `rf`, rule 3 (`Best`): unreachable: every cell it matches is taken by \
             earlier rules: rule 1 (`Recent`) and rule 2 (`Frequent`)\n  fix: move it above rule \
             1 (`Recent`), narrow the earlier condition, or delete it",
            "error: scheme `rf`, rule 4 (`Never`): `r_score > 5` matches no cell of the grid \
             (r_score 1–5 × f_score 1–5)\n  fix: check the score ranges in the condition",
        ]
    );
}

#[test]
fn other_findings() {
    let m = |t: &str| messages(&one(t));
    assert_eq!(
        m("[[scheme]]\nname = \"s\"\nrules = [{ grade = \"x\", when = \"orders > 1\" }]\n"),
        [
            "error: scheme `s`: mode `first_match` needs a `default` grade for customers no rule \
          matches\n  fix: add e.g. `default = \"普通客户\"` to the scheme"
        ]
    );
    assert_eq!(
        m(
            "[[scheme]]\nname = \"s\"\ndefault = \"d\"\nrules = [{ grade = \"x\", when = \"city > 3\" }]\n"
        ),
        [
            "error: scheme `s`, rule 1 (`x`): cannot compare `city` (text) with `3` (a number) in \
          `city > 3`; quote text as 'text' and compare numbers with numbers (a date column \
          compares with 'YYYY-MM-DD')\n  fix: compare numbers with numbers and text with 'quoted \
          text'"
        ]
    );
    let parse = m(
        "[[scheme]]\nname = \"s\"\ndefault = \"d\"\nrules = [{ grade = \"x\", when = \"orders >\" }]\n",
    );
    assert_eq!(parse.len(), 1);
    assert!(
        parse[0].starts_with(
            "error: scheme `s`, rule 1 (`x`): cannot parse `orders >`: sql parser error: Expected: an expression"
        ),
        "{}",
        parse[0]
    );
    let preset = m("[[scheme]]\nname = \"s\"\npreset = \"behavior\"\n");
    assert_eq!(
        preset[0],
        "error: scheme `s`: unknown preset `behavior`\n  fix: use one of the presets: behaviour, \
         behaviour_percentile, attributes, profit, profit_percentile, satisfaction, rfm8, rf_grid"
    );
    let param = m("[[scheme]]\nname = \"s\"\npreset = \"profit\"\nparams = { high = 5 }\n");
    assert_eq!(
        param,
        [
            "error: scheme `s`: preset `profit` has no parameter `high`\n  fix: use one of its \
          parameters: high_profit, mid_profit"
        ]
    );
    let grid_axis = m(
        "[[scheme]]\nname = \"g\"\nmode = \"grid\"\naxes = [\"r_score\", \"monetary\"]\nrules = [{ grade = \"x\", when = \"TRUE\" }]\n",
    );
    assert_eq!(
        grid_axis,
        [
            "error: scheme `g`: grid axis `monetary` must be an int column, but it is Float\n  fix: \
          use integer score columns such as r_score, f_score, m_score"
        ]
    );
    let points = m(
        "[[scheme]]\nname = \"p\"\nmode = \"points\"\nrules = [{ when = \"orders > 1\" }]\ntiers = [{ grade = \"a\", min_points = 5 }, { grade = \"a\", min_points = 5 }]\n",
    );
    assert_eq!(points.len(), 4, "{points:#?}");
}

#[test]
fn duplicate_scheme_names_and_compile_errors() {
    let cfg = GradingConfig::from_toml(
        "[[scheme]]\nname = \"b\"\npreset = \"behaviour\"\n[[scheme]]\nname = \"b\"\npreset = \"profit\"\n",
    )
    .unwrap();
    let d = check_all(&cfg.scheme, &schema());
    assert_eq!(d[0].kind, Kind::Duplicate);
    assert_eq!(
        d[0].to_string(),
        "error: scheme `b`: scheme 2 has the same name as scheme 1; both would write column \
         `grade_b`\n  fix: give every [[scheme]] its own `name`"
    );
    // profit is not in the schema
    assert!(
        d.iter()
            .any(|x| x.kind == Kind::UnknownColumn && x.severity == Severity::Error)
    );

    let mut t = CustomerTable::new(vec!["a".into()]);
    t.push("orders", ColumnData::Int(vec![Some(1)].into()))
        .unwrap();
    let e = compile(&presets::get("behaviour").unwrap(), &t)
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with(
            "scheme `behaviour` is invalid:\nerror: scheme `behaviour`, rule 1 (`VIP`): unknown \
             column `monetary`"
        ),
        "{e}"
    );
}

#[test]
fn presets_pass_their_own_checks() {
    let s = schema()
        .with("profit", ColumnType::Float)
        .with("income", ColumnType::Float)
        .with("age", ColumnType::Int)
        .with("satisfaction", ColumnType::Float)
        .with("recency_days", ColumnType::Int);
    for n in presets::names() {
        let d = check(&presets::get(n).unwrap(), &s);
        assert!(d.is_empty(), "{n}: {d:#?}");
    }
}

/// Chinese text without an English sentence: code in backticks, column names and keywords
/// aside, no two English words in a row.
fn is_chinese(text: &str) -> bool {
    let outside_code: String = text.split('`').step_by(2).collect::<Vec<_>>().join(" ");
    let words: Vec<&str> = outside_code
        .split(|c: char| !c.is_ascii_alphabetic() && c != ' ')
        .flat_map(|run| {
            let w: Vec<&str> = run.split(' ').filter(|w| w.len() > 1).collect();
            (w.len() > 1).then_some(run)
        })
        .collect();
    let han = text.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c));
    han && words.is_empty()
}

#[test]
fn the_english_word_check_can_fail() {
    assert!(is_chinese("`order` 不存在；是不是 `orders`？"));
    assert!(!is_chinese("列 `order`：unknown column"));
    assert!(!is_chinese("no Chinese at all"));
}

fn in_zh(cfg: &SchemeConfig) -> Vec<String> {
    check(cfg, &schema())
        .iter()
        .map(|d| d.to_string_in(clientele_core::Lang::Zh))
        .collect()
}

#[test]
fn findings_are_said_in_chinese_too() {
    let cfg = one(r#"
[[scheme]]
name = "behaviour"
rules = [
  { grade = "VIP", when = "orders > 15 AND monetary > 500" },
  { grade = "高级客户", when = "order > 10 AND monetary > 400" },
  { grade = "城市", when = "city > 5" },
  { grade = "坏", when = "orders > 5 monetary" },
]
"#);
    let d = check(&cfg, &schema());
    let zh = in_zh(&cfg);
    assert_eq!(
        zh,
        [
            "错误：方案 `behaviour`：`first_match` 模式需要一个 `default` 等级，给没有规则匹配的客户\n  \
             修改建议：在方案中加上例如 `default = \"普通客户\"`",
            "错误：方案 `behaviour`，规则 2（`高级客户`）：`order > 10 AND monetary > 400` 中的列 \
             `order` 不存在；是不是 `orders`？可用的列：customer_id, orders, monetary, categories, \
             city, r_score, f_score\n  修改建议：把 `order` 改为 `orders`",
            "错误：方案 `behaviour`，规则 3（`城市`）：`city > 5` 中的 `city`（文本）不能与 `5`（数字）\
             比较；文本要用单引号括起（'文本'），数字与数字比较（日期列与 'YYYY-MM-DD' 比较）\n  \
             修改建议：数字与数字比较，文本与单引号括起的文本（'文本'）比较",
            "错误：方案 `behaviour`，规则 4（`坏`）：无法解析 `orders > 5 monetary`：表达式结束后多出了 \
             `monetary`\n  修改建议：写成 SQL 条件，例如 `orders > 10 AND monetary >= 500`",
        ]
    );
    for (z, d) in zh.iter().zip(&d) {
        assert!(is_chinese(z), "{z}");
        assert!(is_chinese(d.message_in(clientele_core::Lang::Zh)), "{z}");
        // the English stays as it was
        assert_eq!(d.message_in(clientele_core::Lang::En), d.message);
        assert_eq!(d.to_string_in(clientele_core::Lang::En), d.to_string());
    }
    assert_eq!(
        d[1].message,
        "unknown column `order` in `order > 10 AND monetary > 400`; did you mean `orders`? \
         Available columns: customer_id, orders, monetary, categories, city, r_score, f_score"
    );
}

#[test]
fn grid_findings_are_said_in_chinese_too() {
    let cfg = one(r#"
[[scheme]]
name = "rf"
rules = [
  { grade = "Recent", when = "r_score >= 4" },
  { grade = "Frequent", when = "f_score >= 4" },
  { grade = "Best", when = "r_score = 3 AND f_score = 5 OR r_score = 5 AND f_score = 1" },
  { grade = "Never", when = "r_score > 5" },
]
default = "Others"
"#);
    assert_eq!(
        in_zh(&cfg),
        [
            "错误：方案 `rf`，规则 3（`Best`）：永远不会生效：它匹配的每个格子都已被前面的规则 1（`Recent`）\
             和规则 2（`Frequent`）占用\n  修改建议：把它移到规则 1（`Recent`）之前，缩小前面的条件，或删除它",
            "错误：方案 `rf`，规则 4（`Never`）：`r_score > 5` 不匹配网格（r_score 1–5 × f_score 1–5）中的\
             任何格子\n  修改建议：检查条件中的分数范围",
        ]
    );
    let mut grid = presets::get("rf_grid").unwrap();
    grid.rules
        .retain(|r| !matches!(r.grade.as_deref(), Some("Need Attention" | "Hibernating")));
    let zh = in_zh(&grid);
    assert_eq!(zh.len(), 1);
    assert!(
        zh[0].starts_with(
            "错误：方案 `rf_grid`：5 个网格格子没有任何规则覆盖：(r_score=1, f_score=1)、\
             (r_score=1, f_score=2)、(r_score=2, f_score=1)、(r_score=2, f_score=2)、\
             (r_score=3, f_score=3)\n  修改建议："
        ),
        "{}",
        zh[0]
    );
    for z in in_zh(&cfg).iter().chain(&zh) {
        assert!(is_chinese(z), "{z}");
    }
}

#[test]
fn a_refused_scheme_is_said_in_chinese_too() {
    let mut t = CustomerTable::new(vec!["a".into()]);
    t.push("orders", ColumnData::Int(vec![Some(3)].into()))
        .unwrap();
    let cfg = one(r#"
[[scheme]]
name = "b"
rules = [{ grade = "VIP", when = "ordes > 1" }]
default = "普通客户"
"#);
    let e = compile(&cfg, &t).unwrap_err();
    assert_eq!(
        e.zh(),
        "方案 `b` 无效：\n错误：方案 `b`，规则 1（`VIP`）：`ordes > 1` 中的列 `ordes` 不存在；是不是 \
         `orders`？可用的列：customer_id, orders\n  修改建议：把 `ordes` 改为 `orders`"
    );
    assert!(
        e.to_string()
            .starts_with("scheme `b` is invalid:\nerror: scheme `b`, rule 1")
    );
    let preset = one("[[scheme]]\nname = \"p\"\npreset = \"behaviour\"\nmode = \"grid\"\n");
    let e = compile(&preset, &t).unwrap_err();
    assert!(is_chinese(&e.zh()), "{}", e.zh());
    assert!(
        e.zh().contains("预设 `behaviour` 使用模式 `first_match`"),
        "{}",
        e.zh()
    );
}
