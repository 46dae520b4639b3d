//! What the static checks know about a customer table without its rows: column names, types
//! and, for score columns, their integer range (so rule sets can be enumerated cell by cell).

use clientele_core::columns as col;
use clientele_core::{ColumnData, CustomerTable};
use serde::{Deserialize, Serialize};

/// A column's type as conditions see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum ColumnType {
    /// Whole numbers (counts, scores).
    Int,
    /// Real numbers (money, model outputs).
    Float,
    /// Text (ids, categories, grade names).
    Text,
    /// Calendar days; compare with `'YYYY-MM-DD'` literals or numbers (days since 1970-01-01).
    Date,
}

impl ColumnType {
    /// The type of a stored column.
    pub fn of(data: &ColumnData) -> ColumnType {
        match data {
            ColumnData::Int(_) => ColumnType::Int,
            ColumnData::Float(_) => ColumnType::Float,
            ColumnData::Text(_) => ColumnType::Text,
            ColumnData::Date(_) => ColumnType::Date,
        }
    }

    /// True for the types that behave as numbers in conditions.
    pub fn is_numeric(self) -> bool {
        !matches!(self, ColumnType::Text)
    }
}

/// One column of a [`TableSchema`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SchemaColumn {
    /// Column name.
    pub name: String,
    /// Its type.
    pub ty: ColumnType,
    /// Inclusive integer range of an int column whose values are known in advance (scores 1–5):
    /// lets `check` find unreachable rules and gaps in first-match schemes over such columns.
    pub range: Option<(i64, i64)>,
}

/// Column names and types, the input of [`crate::check()`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct TableSchema {
    columns: Vec<SchemaColumn>,
}

impl TableSchema {
    /// An empty schema (add columns with [`TableSchema::with`]).
    pub fn new() -> TableSchema {
        TableSchema::default()
    }

    /// The schema of a table: `customer_id` (text) and every column, without ranges. Ranges are
    /// declared, not inferred: a range read off the data (no customer scored 5 yet) would turn a
    /// correct rule into an "unreachable" error. The engine declares its score ranges with
    /// [`TableSchema::with_range`] (e.g. `r_score` 1–5 from the RFM config).
    pub fn of(table: &CustomerTable) -> TableSchema {
        let mut s = TableSchema::new().with(col::CUSTOMER_ID, ColumnType::Text);
        // by type name: a stored table's values are not read for its schema
        for (name, type_name) in table.column_types() {
            let ty = match type_name {
                "int" => ColumnType::Int,
                "float" => ColumnType::Float,
                "date" => ColumnType::Date,
                _ => ColumnType::Text,
            };
            s = s.with(name, ty);
        }
        s
    }

    /// Adds (or retypes) a column.
    pub fn with(mut self, name: &str, ty: ColumnType) -> TableSchema {
        match self.columns.iter_mut().find(|c| c.name == name) {
            Some(c) => c.ty = ty,
            None => self.columns.push(SchemaColumn {
                name: name.to_string(),
                ty,
                range: None,
            }),
        }
        self
    }

    /// Declares the inclusive value range of an int column (adding it as int if absent).
    pub fn with_range(mut self, name: &str, lo: i64, hi: i64) -> TableSchema {
        if self.get(name).is_none() {
            self = self.with(name, ColumnType::Int);
        }
        if let Some(c) = self.columns.iter_mut().find(|c| c.name == name) {
            c.range = Some((lo.min(hi), lo.max(hi)));
        }
        self
    }

    /// The column with this name.
    pub fn get(&self, name: &str) -> Option<&SchemaColumn> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// All columns in order.
    pub fn columns(&self) -> &[SchemaColumn] {
        &self.columns
    }

    /// Column names in order.
    pub fn names(&self) -> Vec<&str> {
        self.columns.iter().map(|c| c.name.as_str()).collect()
    }

    /// The column name closest to `name` (case-insensitive edit distance), if close enough to be
    /// a plausible typo.
    pub fn closest(&self, name: &str) -> Option<&str> {
        let lower = name.to_lowercase();
        self.columns
            .iter()
            .filter_map(|c| {
                let cand = c.name.to_lowercase();
                let d = edit_distance(&lower, &cand);
                let limit = (cand.chars().count().max(lower.chars().count()) / 3).max(2);
                let part = lower.chars().count() >= 3 && cand.contains(&lower);
                (d <= limit || part).then_some((d, c.name.as_str()))
            })
            .min_by_key(|&(d, _)| d)
            .map(|(_, n)| n)
    }
}

/// Levenshtein distance over chars.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, &cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closest_name_is_a_near_typo_only() {
        let s = TableSchema::new()
            .with("orders", ColumnType::Int)
            .with("monetary", ColumnType::Float)
            .with("recency_days", ColumnType::Int);
        assert_eq!(s.closest("order"), Some("orders"));
        assert_eq!(s.closest("Monetary"), Some("monetary"));
        assert_eq!(s.closest("recency"), Some("recency_days"));
        assert_eq!(s.closest("xyz"), None);
    }
}
