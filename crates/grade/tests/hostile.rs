//! Hostile rule inputs: huge, deep or malformed conditions give a result or a clear error that
//! names the scheme, the rule, what is wrong and the fix — never a panic or a stack overflow.
//! Test threads have 2 MiB stacks, like rayon's workers, so these also guard those.

#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

use clientele_core::{ColumnData, CustomerTable};
use clientele_grade::expr::{MAX_CONDITION_BYTES, MAX_DEPTH};
use clientele_grade::{GradingConfig, TableSchema, check, compile};

const N: usize = 100;

/// 100 customers `c00000`…: orders = i, monetary = 10·i (NULL for every 7th), city, a Chinese
/// column name.
fn table() -> CustomerTable {
    let mut t = CustomerTable::new((0..N).map(|i| format!("c{i:05}")).collect());
    t.push(
        "orders",
        ColumnData::Int((0..N).map(|i| Some(i as i64)).collect()),
    )
    .unwrap();
    t.push(
        "monetary",
        ColumnData::Float(
            (0..N)
                .map(|i| (i % 7 != 0).then_some(10.0 * i as f64))
                .collect(),
        ),
    )
    .unwrap();
    let cities = ["北京", "上海", "Beijing", "100%_off", "it's"];
    t.push(
        "city",
        ColumnData::Text(
            (0..N)
                .map(|i| (i % 11 != 0).then(|| cities[i % cities.len()]))
                .collect(),
        ),
    )
    .unwrap();
    t.push(
        "客户等级",
        ColumnData::Int((0..N).map(|i| Some((i % 5) as i64)).collect()),
    )
    .unwrap();
    t
}

fn scheme_with(when: &str) -> clientele_grade::SchemeConfig {
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
    cfg.scheme.remove(0)
}

/// The customers (row numbers) the rule grades `hit`, or the error message.
fn hits(when: &str) -> Result<Vec<usize>, String> {
    let t = table();
    let c = compile(&scheme_with(when), &t).map_err(|e| e.to_string())?;
    let r = c.apply(&t).map_err(|e| e.to_string())?;
    Ok((0..r.len())
        .filter(|&i| r.label(i).as_deref() == Some("hit"))
        .collect())
}

fn err(when: &str) -> String {
    let e = match hits(when) {
        Ok(h) => panic!(
            "`{}` was accepted ({} hits)",
            &when[..when.len().min(80)],
            h.len()
        ),
        Err(e) => e,
    };
    assert!(
        e.starts_with("scheme `s` is invalid:\nerror: scheme `s`, rule 1 (`hit`): "),
        "{e}"
    );
    assert!(e.contains("\n  fix: "), "no fix in: {e}");
    e
}

fn rows(f: impl Fn(usize) -> bool) -> Vec<usize> {
    (0..N).filter(|&i| f(i)).collect()
}

#[test]
fn ten_thousand_ors_evaluate_like_a_straight_count() {
    let when = (0..10_000)
        .map(|i| format!("orders = {}", i * 7))
        .collect::<Vec<_>>()
        .join(" OR ");
    assert_eq!(hits(&when).unwrap(), rows(|i| i % 7 == 0));
    // Mixed columns and comparisons, inside parentheses, under NOT and AND.
    let when = format!(
        "orders >= 10 AND NOT ({})",
        (0..10_000)
            .map(|i| format!("orders = {i} OR monetary > {}", 900 + i))
            .collect::<Vec<_>>()
            .join(" OR ")
    );
    // NOT (orders is one of 0..10000 OR …) is false for everyone.
    assert_eq!(hits(&when).unwrap(), rows(|_| false));
    let when = (0..10_000)
        .map(|i| format!("(orders > {} OR orders < {})", i % 50, i % 50))
        .collect::<Vec<_>>()
        .join(" AND ");
    // orders ≠ k for every k in 0..50
    assert_eq!(hits(&when).unwrap(), rows(|i| i >= 50));
    let when = (0..10_000)
        .map(|i| format!("city = 'x{i}'"))
        .chain(["city = '上海'".to_string()])
        .collect::<Vec<_>>()
        .join(" OR ");
    assert_eq!(hits(&when).unwrap(), rows(|i| i % 11 != 0 && i % 5 == 1));
}

#[test]
fn fifty_thousand_ids_evaluate_like_a_straight_count() {
    let ids = |neg: &str| {
        format!(
            "customer_id {neg}IN ({})",
            (0..50_000)
                .map(|i| format!("'c{:05}'", i * 3))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    assert_eq!(hits(&ids("")).unwrap(), rows(|i| i % 3 == 0));
    assert_eq!(hits(&ids("NOT ")).unwrap(), rows(|i| i % 3 != 0));
    let nums = format!(
        "orders IN ({})",
        (0..50_000)
            .map(|i| (i * 2).to_string())
            .collect::<Vec<_>>()
            .join(",")
    );
    assert_eq!(hits(&nums).unwrap(), rows(|i| i % 2 == 0));
    // A NULL in the list: a miss is NULL, which is not a match; NOT IN matches nobody.
    assert_eq!(
        hits("orders IN (1, 2, NULL)").unwrap(),
        rows(|i| i == 1 || i == 2)
    );
    assert_eq!(hits("orders NOT IN (1, 2, NULL)").unwrap(), rows(|_| false));
    assert_eq!(
        hits("city IN ('北京', 'it''s')").unwrap(),
        rows(|i| i % 11 != 0 && (i % 5 == 0 || i % 5 == 4))
    );
}

#[test]
fn deep_nesting_stops_at_the_limit_with_a_clear_message() {
    let deep = |n: usize| format!("{}orders > 5{}", "(".repeat(n), ")".repeat(n));
    assert_eq!(hits(&deep(MAX_DEPTH - 4)).unwrap(), rows(|i| i > 5));
    for n in [MAX_DEPTH + 1, 200, 10_000] {
        let e = err(&deep(n));
        assert!(
            e.contains(
                "nests more than 64 levels deep (parentheses, NOT, unary minus, IS NULL, …)"
            ),
            "{e}"
        );
        assert!(e.contains("fix: remove redundant parentheses"), "{e}");
    }
    let nots = |n: usize| format!("{}orders > 5", "NOT ".repeat(n));
    assert_eq!(hits(&nots(2)).unwrap(), rows(|i| i > 5));
    assert_eq!(hits(&nots(3)).unwrap(), rows(|i| i <= 5));
    assert!(err(&nots(10_000)).contains("nests more than 64 levels"));
    let e = err(&format!("orders > {}5", "- ".repeat(500)));
    assert!(e.contains("nests more than 64 levels"), "{e}");
    // Deep inside a term: sqlparser's own recursion limit, reported the same way.
    for src in [
        format!("{}orders > 5{}", "(".repeat(10_000), ")".repeat(9_999)),
        format!("orders > {}5", "- ".repeat(10_000)),
        format!("orders > {}5{}", "(".repeat(10_000), ")".repeat(10_000)),
        format!("orders{}", " IS NULL".repeat(10_000)),
        format!("(orders > 1){}", " = TRUE".repeat(5_000)),
        format!("orders IN ({}1{})", "(".repeat(10_000), ")".repeat(10_000)),
    ] {
        let e = err(&src);
        assert!(
            e.contains("nests more than 64 levels")
                || e.contains("is never closed")
                || e.contains("longer than 2000 tokens"),
            "{e}"
        );
    }
}

#[test]
fn long_chains_and_long_rules() {
    // 1,000 additions are fine; 10,000 pass the term limit.
    let sum = |n: usize| format!("orders{} >= 900", " + 1".repeat(n));
    assert_eq!(hits(&sum(900)).unwrap(), rows(|_| true));
    let e = err(&sum(10_000));
    assert!(
        e.contains("longer than 2000 tokens without AND, OR or a comma"),
        "{e}"
    );
    // A rule of about 1 MB parses (and is quoted clipped in messages).
    let big = (0..60_000)
        .map(|i| format!("orders={i}"))
        .collect::<Vec<_>>()
        .join(" OR ");
    assert!(big.len() > 900_000 && big.len() <= MAX_CONDITION_BYTES);
    assert_eq!(hits(&big).unwrap(), rows(|_| true));
    let e = err(&format!("{big} OR nosuch > 1"));
    assert!(e.contains("unknown column `nosuch`"), "{e}");
    assert!(e.len() < 2_000, "message of {} bytes", e.len());
    let e = err(&format!("{big} OR {big}"));
    assert!(e.contains("bytes long; the limit is 1048576 bytes"), "{e}");
    assert!(e.len() < 2_000, "message of {} bytes", e.len());
    // Unknown column in every one of 10,000 terms: listed once.
    let e = err(&(0..10_000)
        .map(|i| format!("ordres = {i}"))
        .collect::<Vec<_>>()
        .join(" OR "));
    assert_eq!(e.matches("unknown column").count(), 1, "{e}");
    // 10,000 type errors: ten listed, then how many more.
    let e = err(&(0..10_000)
        .map(|i| format!("orders = 'x{i}'"))
        .collect::<Vec<_>>()
        .join(" OR "));
    assert!(e.contains("and 9990 more problems"), "{e}");
    assert!(e.len() < 10_000, "message of {} bytes", e.len());
}

#[test]
fn malformed_rules_give_clear_errors() {
    let cases: &[(&str, &str)] = &[
        ("", "the condition is empty"),
        ("   \n\t", "the condition is empty"),
        ("-- just a comment", "the condition is empty"),
        ("(orders > 1", "`(` at column 1 is never closed"),
        ("orders > 1)", "`)` at column 11 has no opening partner"),
        ("((orders > 1)", "is never closed"),
        (
            "(orders > 1]",
            "`]` at column 12 does not match `(` at column 1",
        ),
        ("()", "empty parentheses"),
        (
            "orders > 1 AND",
            "`AND` at column 12 has no condition after it",
        ),
        (
            "OR orders > 1",
            "`OR` at column 1 has no condition before it",
        ),
        (
            "orders > 1 AND AND monetary > 1",
            "has no condition before it",
        ),
        (
            "orders > 1 OR NOT",
            "`NOT` at column 15 has no condition after it",
        ),
        ("orders >", "Expected"),
        ("'unterminated", "Unterminated string"),
        ("orders > 1e999", "the number `1e999` is too large"),
        (
            "monetary = 'abc'",
            "cannot compare `monetary` (a number) with `'abc'` (text)",
        ),
        ("city > 5", "cannot compare"),
        ("nosuch > 1", "unknown column `nosuch`"),
        ("\"客户等级x\" > 1", "unknown column `客户等级x`"),
        (
            "orders LIKE 5",
            "the LIKE pattern must be a 'quoted string'",
        ),
        ("orders LIKE 'a%'", "LIKE needs text"),
        ("city LIKE 'a' ESCAPE '!'", "is not supported"),
        ("orders > (SELECT 1)", "is not supported"),
        (
            "CASE WHEN orders > 1 OR orders < 0 THEN TRUE END",
            "is not supported",
        ),
        ("p999999999999999999999(orders) > 1", "between p0 and p100"),
        ("percentile(orders, 2) > 1", "between 0 and 1"),
        ("orders", "must be true or false"),
        (
            "orders = orders = orders",
            "cannot compare `orders = orders` (true/false)",
        ),
        ("orders BETWEEN 1 OR 2", "Expected"),
        ("orders || 'x' = 'y'", "is not supported"),
    ];
    for (src, want) in cases {
        let e = err(src);
        assert!(e.contains(want), "`{src}`: {e}");
    }
}

#[test]
fn odd_but_valid_rules_follow_sql() {
    // Division by zero and NaN are NULL: no match, no panic.
    assert_eq!(hits("orders / 0 > 1").unwrap(), rows(|_| false));
    assert_eq!(hits("(orders / 0) IS NULL").unwrap(), rows(|_| true));
    assert_eq!(
        hits("monetary / (orders - orders) IS NULL").unwrap(),
        rows(|_| true)
    );
    assert_eq!(hits("orders * 1e300 * 1e300 > 1").unwrap(), rows(|i| i > 0));
    // NULL comparisons are NULL.
    assert_eq!(
        hits("orders > 99999999999999999999999999 * 1e300").unwrap(),
        rows(|_| false)
    );
    assert_eq!(hits("orders = NULL").unwrap(), rows(|_| false));
    assert_eq!(hits("NOT (orders <> NULL)").unwrap(), rows(|_| false));
    assert_eq!(hits("monetary IS NULL").unwrap(), rows(|i| i % 7 == 0));
    assert_eq!(hits("NULL IS NULL").unwrap(), rows(|_| true));
    // Unicode column names, quoted and bare.
    assert_eq!(hits("\"客户等级\" = 3").unwrap(), rows(|i| i % 5 == 3));
    assert_eq!(hits("客户等级 = 3").unwrap(), rows(|i| i % 5 == 3));
    // LIKE with odd patterns: %, _ and quotes are ordinary where they are not wildcards.
    let city = |i: usize| (!i.is_multiple_of(11)).then_some(i % 5);
    assert_eq!(hits("city LIKE '%'").unwrap(), rows(|i| city(i).is_some()));
    assert_eq!(hits("city LIKE ''").unwrap(), rows(|_| false));
    assert_eq!(
        hits("city LIKE '%%%%_%%'").unwrap(),
        rows(|i| city(i).is_some())
    );
    assert_eq!(
        hits("city LIKE '100%'").unwrap(),
        rows(|i| city(i) == Some(3))
    );
    assert_eq!(
        hits("city LIKE 'it''s'").unwrap(),
        rows(|i| city(i) == Some(4))
    );
    assert_eq!(
        hits("city ILIKE 'BEI%'").unwrap(),
        rows(|i| city(i) == Some(2))
    );
    assert_eq!(
        hits(&format!("city LIKE '{}'", "%_".repeat(5_000))).unwrap(),
        rows(|_| false)
    );
    // BETWEEN's AND is not a split point.
    assert_eq!(
        hits("orders BETWEEN 3 AND 5 AND monetary > 0 OR orders NOT BETWEEN 1 AND 98").unwrap(),
        rows(|i| (3..=5).contains(&i) || i == 0 || i == 99)
    );
    // Long text literal.
    let long = "x".repeat(500_000);
    assert_eq!(hits(&format!("city = '{long}'")).unwrap(), rows(|_| false));
}

#[test]
fn check_reports_limits_with_their_own_kind() {
    let t = table();
    let s = TableSchema::of(&t);
    let d = check(
        &scheme_with(&format!("{}orders > 1{}", "(".repeat(100), ")".repeat(100))),
        &s,
    );
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].kind, clientele_grade::Kind::Limit);
    assert_eq!(d[0].rule.as_ref().map(|r| r.index), Some(1));
    let d = check(&scheme_with("orders >"), &s);
    assert_eq!(d[0].kind, clientele_grade::Kind::Parse);
}

/// Odd config values: every one is an error or works, none panics.
#[test]
fn odd_config_values_do_not_panic() {
    let mut t = table();
    for axis in ["r_score", "f_score", "m_score"] {
        t.push(
            axis,
            ColumnData::Int((0..N).map(|i| Some((i % 5 + 1) as i64)).collect()),
        )
        .unwrap();
    }
    let schema = TableSchema::of(&t);
    let grid = |range: &str, axes: &str| {
        format!(
            r#"[[scheme]]
            name = "g"
            mode = "grid"
            axes = {axes}
            range = {range}
            rules = [{{ grade = "all", when = "r_score >= 1 OR r_score < 1" }}]"#
        )
    };
    let configs = [
        grid(
            "[-9223372036854775808, 9223372036854775807]",
            r#"["r_score"]"#,
        ),
        grid(
            "[9223372036854775807, -9223372036854775808]",
            r#"["r_score"]"#,
        ),
        grid(
            "[9223372036854775800, 9223372036854775807]",
            r#"["r_score"]"#,
        ),
        grid("[1, 100]", r#"["r_score", "f_score", "m_score"]"#),
        grid("[1, 5]", "[]"),
        grid("[1, 5]", r#"["r_score", "r_score"]"#),
        grid("[1, 5]", r#"["nosuch"]"#),
        r#"[[scheme]]
        name = "p"
        mode = "points"
        rules = [{ when = "orders > 1", points = nan }]
        tiers = [{ grade = "a", min_points = nan }, { grade = "b", min_points = inf }]"#
            .to_string(),
        r#"[[scheme]]
        name = "p"
        mode = "points"
        rules = [{ when = "orders > 1", points = 1e308 }, { when = "orders > 2", points = 1e308 }]
        tiers = [{ grade = "a", min_points = -inf }, { grade = "a", min_points = 1 }]
        default = "a""#
            .to_string(),
        r#"[[scheme]]
        name = "p"
        mode = "points"
        tiers = []"#
            .to_string(),
        r#"[[scheme]]
        name = ""
        rules = []"#
            .to_string(),
        r#"[[scheme]]
        name = "d"
        rules = [{ grade = "", when = "orders > 1" }, { grade = "x", when = "orders > 1" }]
        default = """#
            .to_string(),
        format!(
            r#"[[scheme]]
            name = "t"
            mode = "tags"
            separator = ""
            rules = [{}]"#,
            (0..100)
                .map(|i| format!(r#"{{ grade = "t{i}", when = "orders > {i}" }}"#))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        r#"[[scheme]]
        name = "x"
        preset = "behaviour"
        params = { vip_orders = nan, vip_monetary = "1) OR (1 = 1" }"#
            .to_string(),
        r#"[[scheme]]
        name = "x"
        preset = "behaviour"
        params = { vip_monetary = "p80(monetary" }"#
            .to_string(),
    ];
    for text in &configs {
        let cfg = match GradingConfig::from_toml(text) {
            Ok(c) => c,
            Err(e) => panic!("{text}: {e}"),
        };
        let s = &cfg.scheme[0];
        let _ = check(s, &schema);
        if let Ok(c) = compile(s, &t) {
            let r = c.apply(&t).unwrap();
            assert_eq!(r.len(), N);
            let _ = clientele_grade::preview(&c, &t).unwrap();
        }
    }
    // The overflowing grid range is reported, not wrapped.
    let cfg = GradingConfig::from_toml(&configs[0]).unwrap();
    let e = compile(&cfg.scheme[0], &t).unwrap_err().to_string();
    assert!(
        e.contains("must be ascending and span at most 100 values"),
        "{e}"
    );
    // NaN tier thresholds are an error.
    let cfg = GradingConfig::from_toml(&configs[7]).unwrap();
    let e = compile(&cfg.scheme[0], &t).unwrap_err().to_string();
    assert!(e.contains("finite `min_points`"), "{e}");
}
