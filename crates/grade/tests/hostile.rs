//! Hostile rule inputs: huge, deep or malformed conditions give a result or a clear error, never a
//! crash.

#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

use clientele_core::{ColumnData, CustomerTable};
use clientele_grade::{GradingConfig, compile};

fn table() -> CustomerTable {
    let mut t = CustomerTable::new((0..100).map(|i| format!("c{i:05}")).collect());
    t.push(
        "orders",
        ColumnData::Int((0..100).map(|i| Some(i as i64)).collect()),
    )
    .unwrap();
    t
}

fn grade(when: &str) -> Result<Vec<Option<String>>, String> {
    let mut cfg = GradingConfig::from_toml(
        r#"
        [[scheme]]
        name = "s"
        rules = [{ grade = "hit", when = "orders > 0" }]
        default = "miss"
        "#,
    )
    .unwrap();
    cfg.scheme[0].rules[0].when = when.to_string();
    let t = table();
    let c = compile(&cfg.scheme[0], &t).map_err(|e| e.to_string())?;
    let r = c.apply(&t).map_err(|e| e.to_string())?;
    Ok((0..r.len())
        .map(|i| r.label(i).map(|s| s.into_owned()))
        .collect())
}

#[test]
fn ten_thousand_ors() {
    let when = (0..10_000)
        .map(|i| format!("orders = {}", i * 7))
        .collect::<Vec<_>>()
        .join(" OR ");
    let g = grade(&when).unwrap();
    assert_eq!(g.iter().filter(|x| x.as_deref() == Some("hit")).count(), 15);
}

#[test]
fn fifty_thousand_ids() {
    let when = format!(
        "customer_id IN ({})",
        (0..50_000)
            .map(|i| format!("'c{:05}'", i * 3))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let g = grade(&when).unwrap();
    assert_eq!(g.iter().filter(|x| x.as_deref() == Some("hit")).count(), 34);
}
