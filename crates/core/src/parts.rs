//! A step that scores customers one at a time (CLV predictions with a fitted model, grades
//! with resolved thresholds, RFM scores with cut points) runs over a table part by part: a
//! table kept on disk hands it a part's rows of the columns it reads, and takes the columns it
//! makes a part at a time, so the step holds one part, not every customer (docs/SCALE.md,
//! step 3b). A table in memory is one part: the step sees it whole, uncopied.
//!
//! The values are those of one call on the whole table, since each customer's depend on that
//! customer's row and the fitted quantities only; what a step sums over customers it sums
//! from every customer's compact results afterwards, or runs on from one part to the next in
//! row order, so the parts' boundaries change nothing, not even a sum's last bit.

use std::borrow::Cow;
use std::ops::Range;

use crate::{ColumnData, CoreError, CustomerTable, Names, Texts, Values};

/// Where a column made part by part goes: a stored table's store writes it as it comes.
pub trait ColumnSink: Send {
    /// Appends the rows after those already appended.
    fn append(&mut self, part: &ColumnData) -> Result<(), String>;
    /// Makes the column the table's (replacing an earlier one of its name).
    fn finish(self: Box<Self>) -> Result<(), String>;
}

/// Text columns' parts numbered into one list of labels, each label numbered by its first
/// appearance over the parts in order: the labels of the whole column made at once.
#[derive(Default)]
pub struct LabelUnion {
    names: Names,
}

impl std::fmt::Debug for LabelUnion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LabelUnion")
            .field("labels", &self.names.len())
            .finish()
    }
}

impl LabelUnion {
    /// `part`'s codes in the union (its new labels added).
    pub fn codes_of(&mut self, part: &Texts) -> Vec<Option<u32>> {
        let here: Vec<u32> = part.labels().iter().map(|l| self.names.number(l)).collect();
        (0..part.len())
            .map(|i| part.code(i).map(|c| here[c as usize]))
            .collect()
    }

    /// The labels, by code.
    pub fn into_labels(self) -> Vec<String> {
        self.names.into_list()
    }
}

impl ColumnData {
    /// The parts one after another (all of one type; text labels as [`LabelUnion`] numbers them).
    pub fn concat(name: &str, mut parts: Vec<ColumnData>) -> Result<ColumnData, CoreError> {
        if parts.len() == 1 {
            return Ok(parts.remove(0));
        }
        let mismatch = |a: &ColumnData, b: &ColumnData| CoreError::ColumnType {
            name: name.to_string(),
            expected: a.type_name(),
            actual: b.type_name(),
        };
        let Some(first) = parts.first() else {
            return Err(CoreError::MissingColumn {
                name: name.to_string(),
                available: String::new(),
            });
        };
        if let Some(other) = parts.iter().find(|p| p.type_name() != first.type_name()) {
            return Err(mismatch(first, other));
        }
        fn values<T: Copy + Default>(
            parts: Vec<ColumnData>,
            of: impl Fn(ColumnData) -> Option<Values<T>>,
        ) -> Values<T> {
            let mut out = Values::with_capacity(0);
            for p in parts {
                if let Some(mut v) = of(p) {
                    out.append(&mut v);
                }
            }
            out
        }
        Ok(match first {
            ColumnData::Int(_) => ColumnData::Int(values(parts, |p| match p {
                ColumnData::Int(v) => Some(v),
                _ => None,
            })),
            ColumnData::Float(_) => ColumnData::Float(values(parts, |p| match p {
                ColumnData::Float(v) => Some(v),
                _ => None,
            })),
            ColumnData::Date(_) => ColumnData::Date(values(parts, |p| match p {
                ColumnData::Date(v) => Some(v),
                _ => None,
            })),
            ColumnData::Text(_) => {
                let mut union = LabelUnion::default();
                let mut codes = Vec::new();
                for p in &parts {
                    if let ColumnData::Text(t) = p {
                        codes.extend(union.codes_of(t));
                    }
                }
                ColumnData::Text(Texts::from_codes(union.into_labels(), codes).ok_or_else(
                    || CoreError::Store {
                        name: name.to_string(),
                        reason: "more distinct values than a text column can number".to_string(),
                    },
                )?)
            }
        })
    }
}

/// The columns a step makes part by part, in the order it makes them; set on the table with
/// [`CustomerTable::set_parts`] once every part is in.
pub struct PartColumns {
    rows: usize,
    columns: Vec<(String, Sink)>,
    store: Option<std::sync::Arc<dyn crate::ColumnStore>>,
}

impl std::fmt::Debug for PartColumns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.columns.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("PartColumns")
            .field("rows", &self.rows)
            .field("columns", &names)
            .finish()
    }
}

enum Sink {
    Memory(Vec<ColumnData>),
    Store(Box<dyn ColumnSink>, &'static str, usize),
}

impl PartColumns {
    /// Appends a part of column `name` (the rows after its earlier parts).
    pub fn append(&mut self, name: &str, part: ColumnData) -> Result<(), CoreError> {
        let at = match self.columns.iter().position(|(n, _)| n == name) {
            Some(i) => i,
            None => {
                let sink = match &self.store {
                    Some(s) => s
                        .sink(name)
                        .map_err(|reason| crate::table::store_error(name, reason))?,
                    None => None,
                };
                let sink = match sink {
                    Some(s) => Sink::Store(s, part.type_name(), 0),
                    None => Sink::Memory(Vec::new()),
                };
                self.columns.push((name.to_string(), sink));
                self.columns.len() - 1
            }
        };
        match &mut self.columns[at].1 {
            Sink::Memory(parts) => parts.push(part),
            Sink::Store(sink, type_name, rows) => {
                if *type_name != part.type_name() {
                    return Err(CoreError::ColumnType {
                        name: name.to_string(),
                        expected: type_name,
                        actual: part.type_name(),
                    });
                }
                *rows += part.len();
                sink.append(&part)
                    .map_err(|reason| crate::table::store_error(name, reason))?;
            }
        }
        Ok(())
    }
}

impl CustomerTable {
    /// The rows of the parts a step scores in turn: the store's batches for a stored table,
    /// all rows at once for one in memory.
    pub fn part_ranges(&self) -> Vec<Range<usize>> {
        let n = self.len();
        let size = match self.store() {
            Some(s) => s.part_rows().max(1),
            None => n.max(1),
        };
        (0..n.div_ceil(size))
            .map(|p| p * size..((p + 1) * size).min(n))
            .collect()
    }

    /// Rows `rows` with the columns `names` (those of them the table has): the table itself
    /// when it is in memory and `rows` are all of them; else the part, read from the store.
    pub fn part(
        &self,
        rows: Range<usize>,
        names: &[&str],
    ) -> Result<Cow<'_, CustomerTable>, CoreError> {
        if self.store().is_none() && rows == (0..self.len()) {
            return Ok(Cow::Borrowed(self));
        }
        let idx: Vec<usize> = rows.clone().collect();
        let mut out = CustomerTable::from_ids(self.ids().take(&idx));
        for name in names {
            if out.has_column(name) || !self.has_column(name) {
                continue;
            }
            let data = match self.store() {
                Some(s) => s
                    .load_rows(name, rows.clone())
                    .map_err(|reason| crate::table::store_error(name, reason))?,
                None => self.column(name)?.take(&idx),
            };
            out.push(name.to_string(), data)?;
        }
        Ok(Cow::Owned(out))
    }

    /// Where the columns of a step that scores part by part go.
    pub fn part_columns(&self) -> PartColumns {
        PartColumns {
            rows: self.len(),
            columns: Vec::new(),
            store: self.store().cloned(),
        }
    }

    /// The columns made part by part, set as [`CustomerTable::set`] sets them, in the order
    /// they were made. Each must have one value per customer.
    pub fn set_parts(&mut self, made: PartColumns) -> Result<(), CoreError> {
        for (name, sink) in made.columns {
            match sink {
                Sink::Memory(parts) => {
                    let data = ColumnData::concat(&name, parts)?;
                    self.set(name, data)?;
                }
                Sink::Store(sink, type_name, rows) => {
                    if rows != made.rows {
                        return Err(CoreError::ColumnLength {
                            name,
                            expected: made.rows,
                            got: rows,
                        });
                    }
                    sink.finish()
                        .map_err(|reason| crate::table::store_error(&name, reason))?;
                    self.stored_column_set(name, type_name);
                }
            }
        }
        Ok(())
    }
}

/// A table kept in memory as a stored table is kept: a column read when a step asks for it, in
/// parts of a given number of rows. For tests of steps that go part by part, in any crate.
#[doc(hidden)]
pub mod testing {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};

    use crate::{ColumnData, ColumnStore, CustomerTable};

    #[derive(Debug)]
    struct MemoryStore {
        columns: Mutex<HashMap<String, ColumnData>>,
        part_rows: usize,
    }

    impl ColumnStore for MemoryStore {
        fn load(&self, name: &str) -> Result<ColumnData, String> {
            let c = self.columns.lock().map_err(|e| e.to_string())?;
            c.get(name)
                .cloned()
                .ok_or_else(|| format!("no column {name}"))
        }
        fn save(&self, name: &str, data: &ColumnData) -> Result<(), String> {
            let mut c = self.columns.lock().map_err(|e| e.to_string())?;
            c.insert(name.to_string(), data.clone());
            Ok(())
        }
        fn part_rows(&self) -> usize {
            self.part_rows
        }
    }

    /// `table` as a stored table scored in parts of `part_rows` customers.
    pub fn in_parts(table: &CustomerTable, part_rows: usize) -> CustomerTable {
        let store = MemoryStore {
            columns: Mutex::new(HashMap::new()),
            part_rows,
        };
        let mut names = Vec::new();
        for c in table.columns() {
            names.push((c.name.clone(), c.data.type_name()));
            let _ = store.save(&c.name, &c.data);
        }
        CustomerTable::stored(table.ids().clone(), Arc::new(store), names)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_concatenated_are_the_whole_column() {
        let whole: Texts = ["b", "a", "b", "c", "a"].iter().map(Some).collect();
        let p1: Texts = ["b", "a"].iter().map(Some).collect();
        let p2: Texts = [Some("b"), Some("c"), None].into_iter().collect();
        let p3: Texts = [Some("a")].into_iter().collect();
        let c = ColumnData::concat(
            "g",
            vec![
                ColumnData::Text(p1),
                ColumnData::Text(p2),
                ColumnData::Text(p3),
            ],
        )
        .unwrap();
        let ColumnData::Text(t) = c else {
            panic!("text");
        };
        assert_eq!(t.labels(), whole.labels());
        assert_eq!(
            t.to_vec(),
            vec![
                Some("b".to_string()),
                Some("a".into()),
                Some("b".into()),
                Some("c".into()),
                None,
                Some("a".into())
            ]
        );
        let f = ColumnData::concat(
            "x",
            vec![
                ColumnData::Float(vec![Some(1.0), None].into()),
                ColumnData::Float(vec![Some(3.0)].into()),
            ],
        )
        .unwrap();
        assert_eq!(
            f,
            ColumnData::Float(vec![Some(1.0), None, Some(3.0)].into())
        );
        let bad = ColumnData::concat(
            "x",
            vec![
                ColumnData::Float(vec![Some(1.0)].into()),
                ColumnData::Int(vec![Some(3)].into()),
            ],
        );
        assert!(matches!(bad, Err(CoreError::ColumnType { .. })));
    }

    #[test]
    fn a_stored_table_goes_in_its_stores_parts() {
        let mut t = CustomerTable::new((0..10).map(|i| format!("c{i}")).collect());
        t.push("x", ColumnData::Int((0..10).map(Some).collect()))
            .unwrap();
        let mut s = testing::in_parts(&t, 4);
        assert_eq!(s.part_ranges(), vec![0..4, 4..8, 8..10]);
        let p = s.part(4..8, &["x"]).unwrap();
        assert_eq!(
            p.ints("x").unwrap().to_vec(),
            vec![Some(4), Some(5), Some(6), Some(7)]
        );
        let mut made = s.part_columns();
        for r in s.part_ranges() {
            made.append(
                "y",
                ColumnData::Int(r.map(|i| Some(2 * i as i64)).collect()),
            )
            .unwrap();
        }
        s.set_parts(made).unwrap();
        assert_eq!(
            s.ints("y").unwrap().to_vec(),
            (0..10).map(|i| Some(2 * i)).collect::<Vec<_>>()
        );
        let mut short = s.part_columns();
        short
            .append("z", ColumnData::Int(vec![Some(1)].into()))
            .unwrap();
        assert!(
            s.set_parts(short).is_err(),
            "a column shorter than the table"
        );
    }

    #[test]
    fn a_table_in_memory_is_one_part_seen_whole() {
        let mut t = CustomerTable::new(vec!["a".into(), "b".into(), "c".into()]);
        t.push("x", ColumnData::Int(vec![Some(1), Some(2), None].into()))
            .unwrap();
        assert_eq!(t.part_ranges(), vec![0..3]);
        assert!(matches!(t.part(0..3, &["x"]).unwrap(), Cow::Borrowed(_)));
        let p = t.part(1..3, &["x", "absent"]).unwrap();
        assert_eq!(p.ids().to_vec(), vec!["b".to_string(), "c".into()]);
        assert_eq!(p.ints("x").unwrap().to_vec(), vec![Some(2), None]);
        let mut made = t.part_columns();
        made.append("y", ColumnData::Int(vec![Some(7)].into()))
            .unwrap();
        made.append("y", ColumnData::Int(vec![Some(8), Some(9)].into()))
            .unwrap();
        t.set_parts(made).unwrap();
        assert_eq!(
            t.ints("y").unwrap().to_vec(),
            vec![Some(7), Some(8), Some(9)]
        );
    }
}
