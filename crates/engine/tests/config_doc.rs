//! `docs/CONFIG.md`, the config reference, against the config types: every key the types
//! accept is documented, every documented key exists, every ```toml example parses with the
//! engine's loader and together the examples use every documented key, and every default the
//! reference gives is the default of the types.
//!
//! A key added to a config type without a row in `docs/CONFIG.md` fails here.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers may panic

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use clientele_engine::Config;
use serde_json::Value;

fn doc() -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/CONFIG.md");
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// Every key path the config types accept (`rfm.r.method`, `scheme.rules.when`), a map's
/// keys as `*` (`playbook.*`), from the JSON Schema of [`Config`].
fn schema_paths() -> BTreeSet<String> {
    let schema = serde_json::to_value(Config::json_schema()).unwrap();
    let defs = schema.get("$defs").cloned().unwrap_or(Value::Null);
    let mut out = BTreeSet::new();
    walk_schema(&schema, "", &defs, &mut Vec::new(), &mut out);
    out
}

fn walk_schema(
    node: &Value,
    path: &str,
    defs: &Value,
    seen: &mut Vec<String>,
    out: &mut BTreeSet<String>,
) {
    if let Some(r) = node.get("$ref").and_then(Value::as_str) {
        let name = r.trim_start_matches("#/$defs/").to_string();
        if seen.contains(&name) {
            return; // a recursive type: its keys are listed once
        }
        seen.push(name.clone());
        walk_schema(&defs[&name], path, defs, seen, out);
        seen.pop();
    }
    for combinator in ["anyOf", "oneOf", "allOf"] {
        for sub in node
            .get(combinator)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            walk_schema(sub, path, defs, seen, out);
        }
    }
    if let Some(props) = node.get("properties").and_then(Value::as_object) {
        for (k, sub) in props {
            let p = join(path, k);
            out.insert(p.clone());
            walk_schema(sub, &p, defs, seen, out);
        }
    }
    if let Some(items) = node.get("items").filter(|i| i.is_object()) {
        walk_schema(items, path, defs, seen, out);
    }
    if let Some(sub) = node.get("additionalProperties").filter(|a| a.is_object()) {
        let p = join(path, "*");
        out.insert(p.clone());
        walk_schema(sub, &p, defs, seen, out);
    }
}

/// What the reference documents.
#[derive(Default)]
struct Documented {
    /// Key path → the default cell, from the table rows.
    rows: BTreeMap<String, String>,
    /// The paths each table row documents (one per table of its heading: `[rfm.r]`,
    /// `[rfm.f]`, `[rfm.m]` share their rows).
    row_paths: Vec<Vec<String>>,
    /// Tables named in headings (`rfm.r`, `scheme`), with their parents.
    sections: BTreeSet<String>,
    /// The ```toml blocks, with their first line number.
    examples: Vec<(usize, String)>,
}

/// `rules[].when` → `rules.when`; `<grade>` → `*`.
fn normalize_key(key: &str) -> String {
    key.split('.')
        .map(|part| {
            let part = part.trim_end_matches("[]");
            if part.starts_with('<') && part.ends_with('>') {
                "*"
            } else {
                part
            }
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// The backticked spans of a line.
fn code_spans(line: &str) -> Vec<&str> {
    line.split('`').skip(1).step_by(2).collect()
}

fn parse_doc(text: &str) -> Documented {
    let mut d = Documented::default();
    let mut sections: Vec<String> = Vec::new();
    let mut block: Option<(usize, String)> = None;
    for (i, line) in text.lines().enumerate() {
        if let Some((start, b)) = &mut block {
            if line.trim_start().starts_with("```") {
                d.examples.push((*start, std::mem::take(b)));
                block = None;
            } else {
                b.push_str(line);
                b.push('\n');
            }
            continue;
        }
        if line.trim_start().starts_with("```toml") {
            block = Some((i + 1, String::new()));
            continue;
        }
        if line.starts_with('#') {
            sections = code_spans(line)
                .into_iter()
                .filter(|s| s.starts_with('['))
                .map(|s| s.trim_matches(|c| c == '[' || c == ']').to_string())
                .collect();
            for s in &sections {
                let mut p = String::new();
                for part in s.split('.') {
                    p = join(&p, part);
                    d.sections.insert(p.clone());
                }
            }
            continue;
        }
        if !line.starts_with('|') || sections.is_empty() {
            continue;
        }
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        let Some(key) = cells
            .first()
            .and_then(|c| c.strip_prefix('`'))
            .and_then(|c| c.strip_suffix('`'))
        else {
            continue; // a header or separator row
        };
        let mut paths = Vec::new();
        for s in &sections {
            let path = join(s, &normalize_key(key));
            let default = cells.get(2).copied().unwrap_or_default().to_string();
            assert!(
                d.rows.insert(path.clone(), default).is_none(),
                "CONFIG.md line {}: `{path}` is documented twice",
                i + 1
            );
            paths.push(path);
        }
        d.row_paths.push(paths);
    }
    assert!(block.is_none(), "CONFIG.md: a ```toml block is not closed");
    d
}

/// The key paths a parsed example uses, a map's keys as `*` where the types have a map.
fn example_paths(
    v: &toml::Value,
    path: &str,
    known: &BTreeSet<String>,
    out: &mut BTreeSet<String>,
) {
    match v {
        toml::Value::Table(t) => {
            for (k, x) in t {
                let named = join(path, k);
                let p = if known.contains(&named) {
                    named
                } else {
                    join(path, "*")
                };
                out.insert(p.clone());
                example_paths(x, &p, known, out);
            }
        }
        toml::Value::Array(items) => {
            for x in items {
                example_paths(x, path, known, out);
            }
        }
        _ => {}
    }
}

#[test]
fn every_key_of_the_config_types_is_documented_and_every_documented_key_exists() {
    let schema = schema_paths();
    let d = parse_doc(&doc());
    let documented: BTreeSet<String> = d.rows.keys().chain(d.sections.iter()).cloned().collect();
    let undocumented: Vec<&String> = schema.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "keys the config accepts but docs/CONFIG.md does not document (add a row to the \
         table of their section): {undocumented:?}"
    );
    let unknown: Vec<&String> = documented.difference(&schema).collect();
    assert!(
        unknown.is_empty(),
        "keys docs/CONFIG.md documents that the config does not have: {unknown:?}"
    );
}

#[test]
fn every_example_parses_and_together_they_use_every_documented_key() {
    let schema = schema_paths();
    let d = parse_doc(&doc());
    assert!(d.examples.len() >= 10, "{} examples", d.examples.len());
    let mut used = BTreeSet::new();
    for (line, text) in &d.examples {
        Config::from_toml(text, &format!("docs/CONFIG.md block at line {line}"))
            .unwrap_or_else(|e| panic!("{e}\n{text}"));
        let v: toml::Value = toml::from_str(text).unwrap();
        example_paths(&v, "", &schema, &mut used);
    }
    // a row of tables that share it (`[rfm.r]`, `[rfm.f]`, `[rfm.m]`) is shown by one of them
    let unused: Vec<&Vec<String>> = d
        .row_paths
        .iter()
        .filter(|paths| !paths.iter().any(|p| used.contains(p)))
        .collect();
    assert!(
        unused.is_empty(),
        "documented keys no ```toml example in docs/CONFIG.md uses: {unused:?}"
    );
}

/// The value at `path` in the default config, as JSON.
fn default_at<'a>(defaults: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(defaults, |v, k| v.get(k))
}

/// Two defaults are the same: numbers by value (`0.01` and `1e-2`), the rest exactly.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q))
        }
        _ => a == b,
    }
}

#[test]
fn every_documented_default_is_the_default_of_the_types() {
    let defaults = serde_json::to_value(Config::default()).unwrap();
    let d = parse_doc(&doc());
    let mut checked = 0;
    for (path, cell) in &d.rows {
        // a default written as a TOML value: `5`, `"orders"`, `[2, 8]`, `true`
        let Some(literal) = cell.strip_prefix('`').and_then(|c| c.strip_suffix('`')) else {
            continue;
        };
        let parsed: toml::Table = toml::from_str(&format!("v = {literal}"))
            .unwrap_or_else(|e| panic!("{path}: the default `{literal}` is not a TOML value: {e}"));
        let documented = serde_json::to_value(&parsed["v"]).unwrap();
        let actual = default_at(&defaults, path)
            .unwrap_or_else(|| panic!("{path}: documented default `{literal}`, but it has none"));
        assert!(
            same(&documented, actual),
            "{path}: docs/CONFIG.md says the default is `{literal}`, the types say {actual}"
        );
        checked += 1;
    }
    assert!(checked >= 50, "{checked} defaults checked");
}

#[test]
fn the_check_fails_for_a_key_without_docs() {
    // the reference without its `k` row of [cluster] no longer covers the types
    let text = doc()
        .lines()
        .filter(|l| !l.starts_with("| `k` |"))
        .collect::<Vec<_>>()
        .join("\n");
    let d = parse_doc(&text);
    let documented: BTreeSet<String> = d.rows.keys().chain(d.sections.iter()).cloned().collect();
    assert!(schema_paths().contains("cluster.k"));
    assert!(!documented.contains("cluster.k"));
}
