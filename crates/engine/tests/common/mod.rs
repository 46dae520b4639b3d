//! The published schema and a validator for it, shared by the contract tests.

#![allow(dead_code)] // each test binary uses part of it

use std::path::{Path, PathBuf};

use clientele_engine::Summary;

/// `docs/summary.schema.json`.
pub fn published() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/summary.schema.json")
}

/// The schema the types give, as written to `docs/`.
pub fn schema_text() -> String {
    let mut text = serde_json::to_string_pretty(&Summary::json_schema()).unwrap();
    text.push('\n');
    text
}

/// Every error of `instance` against the schema.
pub fn schema_errors(instance: &serde_json::Value) -> Vec<String> {
    let schema: serde_json::Value = serde_json::from_str(&schema_text()).unwrap();
    // formats too: a date must be a date, not any string
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("a valid JSON Schema");
    validator
        .iter_errors(instance)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}
