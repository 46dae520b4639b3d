//! Fuzzing the condition parser and evaluator: arbitrary text and random token soup from the
//! condition grammar must give a result or an error, never a panic; random condition trees must
//! evaluate like a row-by-row reference. `PROPTEST_CASES=10000 cargo test -p clientele-grade
//! --test fuzz` for a longer run; failures are kept in `proptest-regressions/fuzz.txt`.

#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

use clientele_core::{ColumnData, CustomerTable};
use clientele_grade::{GradingConfig, SchemeConfig, TableSchema, check, compile, preview};
use proptest::prelude::*;

const N: usize = 24;

fn orders(i: usize) -> Option<i64> {
    (i % 6 != 5).then_some((i * 7 % 13) as i64)
}

fn monetary(i: usize) -> Option<f64> {
    (i % 4 != 3).then_some((i * 37 % 50) as f64 * 10.5 - 20.0)
}

fn city(i: usize) -> Option<&'static str> {
    let c = ["北京", "上海", "a%b", "", "it's"];
    (i % 7 != 6).then_some(c[i % c.len()])
}

fn table() -> CustomerTable {
    let mut t = CustomerTable::new((0..N).map(|i| format!("c{i}")).collect());
    t.push("orders", ColumnData::Int((0..N).map(orders).collect()))
        .unwrap();
    t.push(
        "monetary",
        ColumnData::Float((0..N).map(monetary).collect()),
    )
    .unwrap();
    t.push("city", ColumnData::Text((0..N).map(city).collect()))
        .unwrap();
    t.push(
        "客户等级",
        ColumnData::Int((0..N).map(|i| Some(i as i64 % 3)).collect()),
    )
    .unwrap();
    t
}

fn scheme(when: &str) -> SchemeConfig {
    let mut cfg = GradingConfig::from_toml(
        r#"
        [[scheme]]
        name = "f"
        rules = [{ grade = "hit", when = "TRUE" }]
        default = "miss"
        "#,
    )
    .unwrap();
    cfg.scheme[0].rules[0].when = when.to_string();
    cfg.scheme.remove(0)
}

/// Checks, compiles, applies and previews; returns the hits when the rule is valid.
fn run(when: &str, t: &CustomerTable) -> Option<Vec<bool>> {
    let s = scheme(when);
    let _ = check(&s, &TableSchema::of(t));
    let c = compile(&s, t).ok()?;
    let r = c.apply(t).unwrap();
    let _ = preview(&c, t).unwrap();
    Some(
        (0..r.len())
            .map(|i| r.label(i).as_deref() == Some("hit"))
            .collect(),
    )
}

fn config() -> ProptestConfig {
    ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(64),
    )
}

const TOKENS: &[&str] = &[
    "orders",
    "monetary",
    "city",
    "customer_id",
    "客户等级",
    "\"客户等级\"",
    "nosuch",
    "=",
    "<>",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "+",
    "-",
    "*",
    "/",
    "%",
    "||",
    ",",
    "AND",
    "OR",
    "NOT",
    "IN",
    "BETWEEN",
    "LIKE",
    "ILIKE",
    "IS",
    "NULL",
    "TRUE",
    "FALSE",
    "(",
    "(",
    ")",
    ")",
    "0",
    "1",
    "5.5",
    "-3",
    "1e999",
    "99999999999999999999",
    "'a'",
    "'北京'",
    "'%'",
    "'_'",
    "''",
    "'2024-01-01'",
    "p80(monetary)",
    "median(orders)",
    "percentile(orders, 0.5)",
    "p101(orders)",
    "foo(orders)",
    "CASE",
    "WHEN",
    "THEN",
    "END",
    "SELECT",
    "[",
    "]",
    "'",
    "\"",
    "--",
    "/*",
    ";",
    "::",
    "ESCAPE",
    "EXISTS",
    "t.orders",
    "@",
    "$1",
    "?",
];

fn soup() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(TOKENS), 0..40).prop_map(|v| v.join(" "))
}

/// A random condition over orders/monetary/city, with its row-by-row reference value.
#[derive(Debug, Clone)]
enum Cond {
    Cmp(&'static str, &'static str, i64),
    CityEq(&'static str),
    In(&'static str, Vec<i64>, bool),
    IsNull(&'static str),
    Not(Box<Cond>),
    And(Vec<Cond>),
    Or(Vec<Cond>),
}

fn num(col: &str, i: usize) -> Option<f64> {
    match col {
        "orders" => orders(i).map(|x| x as f64),
        _ => monetary(i),
    }
}

impl Cond {
    fn text(&self) -> String {
        match self {
            Cond::Cmp(c, op, v) => format!("{c} {op} {v}"),
            Cond::CityEq(s) => format!("city = '{}'", s.replace('\'', "''")),
            Cond::In(c, v, neg) => format!(
                "{c} {}IN ({})",
                if *neg { "NOT " } else { "" },
                v.iter()
                    .map(|x| x.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Cond::IsNull(c) => format!("{c} IS NULL"),
            Cond::Not(c) => format!("NOT ({})", c.text()),
            Cond::And(v) => v
                .iter()
                .map(|c| format!("({})", c.text()))
                .collect::<Vec<_>>()
                .join(" AND "),
            Cond::Or(v) => v.iter().map(|c| c.text()).collect::<Vec<_>>().join(" OR "),
        }
    }

    /// SQL three-valued logic, row by row: Some(bool) or None for NULL.
    fn eval(&self, i: usize) -> Option<bool> {
        match self {
            Cond::Cmp(c, op, v) => {
                let x = num(c, i)?;
                let v = *v as f64;
                Some(match *op {
                    "=" => x == v,
                    "<>" => x != v,
                    "<" => x < v,
                    "<=" => x <= v,
                    ">" => x > v,
                    _ => x >= v,
                })
            }
            Cond::CityEq(s) => city(i).map(|c| c == *s),
            Cond::In(c, v, neg) => {
                let x = num(c, i)?;
                Some(v.iter().any(|&y| y as f64 == x) != *neg)
            }
            Cond::IsNull(c) => Some(num(c, i).is_none()),
            Cond::Not(c) => c.eval(i).map(|b| !b),
            Cond::And(v) => v
                .iter()
                .try_fold(Some(true), |acc, c| match (acc, c.eval(i)) {
                    (_, Some(false)) => Err(()),
                    (Some(true), x) => Ok(x),
                    _ => Ok(None),
                })
                .unwrap_or(Some(false)),
            Cond::Or(v) => v
                .iter()
                .try_fold(Some(false), |acc, c| match (acc, c.eval(i)) {
                    (_, Some(true)) => Err(()),
                    (Some(false), x) => Ok(x),
                    _ => Ok(None),
                })
                .unwrap_or(Some(true)),
        }
    }
}

fn cond() -> impl Strategy<Value = Cond> {
    let col = prop::sample::select(&["orders", "monetary"][..]);
    let leaf = prop_oneof![
        (
            col.clone(),
            prop::sample::select(&["=", "<>", "<", "<=", ">", ">="][..]),
            -30i64..500
        )
            .prop_map(|(c, o, v)| Cond::Cmp(c, o, v)),
        prop::sample::select(&["北京", "上海", "a%b", "", "it's", "x"][..]).prop_map(Cond::CityEq),
        (
            col.clone(),
            prop::collection::vec(-5i64..15, 1..6),
            any::<bool>()
        )
            .prop_map(|(c, v, n)| Cond::In(c, v, n)),
        col.prop_map(Cond::IsNull),
    ];
    leaf.prop_recursive(4, 40, 6, |inner| {
        prop_oneof![
            inner.clone().prop_map(|c| Cond::Not(Box::new(c))),
            prop::collection::vec(inner.clone(), 2..6).prop_map(Cond::And),
            prop::collection::vec(inner, 2..6).prop_map(Cond::Or),
        ]
    })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_text_never_panics(s in any::<String>()) {
        let _ = run(&s, &table());
    }

    #[test]
    fn token_soup_never_panics(s in soup()) {
        let _ = run(&s, &table());
    }

    #[test]
    fn conditions_evaluate_like_a_row_by_row_reference(c in cond()) {
        let t = table();
        let got = run(&c.text(), &t).unwrap();
        let want: Vec<bool> = (0..N).map(|i| c.eval(i) == Some(true)).collect();
        prop_assert_eq!(got, want, "{}", c.text());
    }
}
