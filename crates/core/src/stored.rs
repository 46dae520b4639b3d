//! Tables whose columns live elsewhere: a run past its memory limit keeps the customer table
//! on disk, and each model step reads only the columns it asks for.
//!
//! A stored [`crate::CustomerTable`] holds its ids and the names and types of its columns. A
//! column is read from its [`ColumnStore`] the first time it is asked for and kept until
//! [`crate::CustomerTable::release`]; a column set on the table is written to the store at
//! once and not kept. So a step holds the columns it reads and nothing else, and the steps
//! themselves need not know: the values they see are the same.

use std::sync::{Arc, OnceLock};

use crate::ColumnData;

/// Where a stored table's columns are kept (the engine keeps them as files in a spill folder).
pub trait ColumnStore: Send + Sync + std::fmt::Debug {
    /// The column `name`, as last saved.
    fn load(&self, name: &str) -> Result<ColumnData, String>;
    /// Keeps `data` as the column `name`, replacing an earlier one.
    fn save(&self, name: &str, data: &ColumnData) -> Result<(), String>;
    /// Rows `rows` of the column `name` (a writer takes a stored table a slice at a time);
    /// by default the whole column read and the rows taken.
    fn load_rows(&self, name: &str, rows: std::ops::Range<usize>) -> Result<ColumnData, String> {
        let idx: Vec<usize> = rows.collect();
        self.load(name).map(|d| d.take(&idx))
    }
    /// Rows in a part of a step that scores part by part ([`crate::CustomerTable::part_ranges`]);
    /// by default all of them (one part).
    fn part_rows(&self) -> usize {
        usize::MAX
    }
    /// Where a column made part by part is written as it comes (`name` replaced once it is
    /// finished); `None` (the default) has its parts gathered and [`ColumnStore::save`]d
    /// whole.
    fn sink(&self, name: &str) -> Result<Option<Box<dyn crate::parts::ColumnSink>>, String> {
        let _ = name;
        Ok(None)
    }
    /// No column's rows before `row` will be read again (the table's last reader goes
    /// through it in row order): a store on disk may give their space back now, beside the
    /// reading, rather than all of it when it is dropped. By default nothing.
    fn read_no_more_before(&self, row: usize) {
        let _ = row;
    }
}

/// One column of a stored table: its name, type and, once read, its values.
#[derive(Debug, Clone)]
pub(crate) struct StoredColumn {
    pub name: String,
    pub type_name: &'static str,
    pub cell: OnceLock<ColumnData>,
}

/// The store and the columns it holds, in the table's column order.
#[derive(Clone)]
pub(crate) struct Stored {
    pub store: Arc<dyn ColumnStore>,
    pub columns: Vec<StoredColumn>,
    /// The first column that could not be read: `get` can only say "absent", so the caller
    /// asks [`crate::CustomerTable::store_failure`] after each step and fails the run.
    pub failure: OnceLock<(String, String)>,
}

impl std::fmt::Debug for Stored {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stored")
            .field("store", &self.store)
            .field("columns", &self.columns.len())
            .finish()
    }
}

impl PartialEq for Stored {
    /// Same store, same columns: values are compared by loading both tables into memory.
    fn eq(&self, other: &Stored) -> bool {
        Arc::ptr_eq(&self.store, &other.store)
            && self.columns.len() == other.columns.len()
            && (self.columns.iter().zip(&other.columns))
                .all(|(a, b)| a.name == b.name && a.type_name == b.type_name)
    }
}

impl Stored {
    /// The column's values, read on first use and kept; `None` for an unknown name or a failed
    /// read (kept in `failure`).
    pub fn get(&self, name: &str, rows: usize) -> Option<&ColumnData> {
        let c = self.columns.iter().find(|c| c.name == name)?;
        if let Some(d) = c.cell.get() {
            return Some(d);
        }
        // another thread may have read it first: either copy is the same values
        let _ = c.cell.set(self.read(name, rows)?);
        c.cell.get()
    }

    /// The column's values as stored, read for the caller alone (what is kept is not
    /// consulted); `None` for a failed read, kept in `failure`.
    pub fn read(&self, name: &str, rows: usize) -> Option<ColumnData> {
        let loaded = self.store.load(name).and_then(|d| {
            if d.len() == rows {
                Ok(d)
            } else {
                Err(format!("{} values read back for {rows} customers", d.len()))
            }
        });
        match loaded {
            Ok(d) => Some(d),
            Err(reason) => {
                let _ = self.failure.set((name.to_string(), reason));
                None
            }
        }
    }
}
