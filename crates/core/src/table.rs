//! The per-customer table: one row per customer, named typed columns.

use crate::columns as col;
use serde::{Deserialize, Serialize};

use crate::stored::{ColumnStore, Stored, StoredColumn};
use crate::{CoreError, Day, Ids, Rounding, Texts, Values};
use std::sync::{Arc, OnceLock};

/// The values of one column. Every variant allows missing values (`None`); numbers and dates
/// are stored as [`Values`] (plain values plus a mask of the missing ones), text as
/// [`Texts`] (distinct values plus a code per row).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "values", rename_all = "lowercase")]
pub enum ColumnData {
    /// Whole numbers (counts, scores).
    Int(Values<i64>),
    /// Real numbers (money, model outputs).
    Float(Values<f64>),
    /// Text (ids, categories, grade names).
    Text(Texts),
    /// Calendar days.
    Date(Values<Day>),
}

impl ColumnData {
    /// Number of values.
    pub fn len(&self) -> usize {
        match self {
            ColumnData::Int(v) => v.len(),
            ColumnData::Float(v) => v.len(),
            ColumnData::Text(v) => v.len(),
            ColumnData::Date(v) => v.len(),
        }
    }

    /// True when there are no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The type's name for messages: `int`, `float`, `text` or `date`.
    pub fn type_name(&self) -> &'static str {
        match self {
            ColumnData::Int(_) => "int",
            ColumnData::Float(_) => "float",
            ColumnData::Text(_) => "text",
            ColumnData::Date(_) => "date",
        }
    }

    /// [`ColumnData::type_name`] in Chinese.
    pub fn type_name_zh(&self) -> &'static str {
        match self {
            ColumnData::Int(_) => "整数",
            ColumnData::Float(_) => "小数",
            ColumnData::Text(_) => "文本",
            ColumnData::Date(_) => "日期",
        }
    }

    /// Value `i` as a number: ints and floats as they are, dates as days since 1970-01-01,
    /// text as `None`.
    pub fn number(&self, i: usize) -> Option<f64> {
        match self {
            ColumnData::Int(v) => v.get(i).map(|x| x as f64),
            ColumnData::Float(v) => v.get(i),
            ColumnData::Date(v) => v.get(i).map(|d| f64::from(d.0)),
            ColumnData::Text(_) => None,
        }
    }

    /// Value `i` rendered as text (`None` when missing); floats keep full precision.
    pub fn text(&self, i: usize) -> Option<String> {
        let mut s = String::new();
        self.write_text(i, &mut s).then_some(s)
    }

    /// Value `i` rendered as [`ColumnData::text`] does, into `buf` (cleared first; left empty
    /// when missing), so writers of millions of cells need no allocation per cell. Returns
    /// whether the value is present.
    pub fn write_text(&self, i: usize, buf: &mut String) -> bool {
        use std::fmt::Write;
        buf.clear();
        // Writing into a String cannot fail.
        match self {
            ColumnData::Int(v) => v
                .get(i)
                .map(|x| buf.push_str(itoa::Buffer::new().format(x)))
                .is_some(),
            ColumnData::Float(v) => v.get(i).map(|x| write_float(x, buf)).is_some(),
            ColumnData::Text(v) => v.get(i).map(|x| buf.push_str(x)).is_some(),
            ColumnData::Date(v) => v.get(i).map(|x| write!(buf, "{x}")).is_some(),
        }
    }

    /// Value `i` as people read it in `customers.csv`: as [`ColumnData::write_text`], but a
    /// float rounded by `rounding` (money to the cent, measures without float noise; see
    /// [`Rounding::of_column`]).
    pub fn write_rounded(&self, i: usize, rounding: Rounding, buf: &mut String) -> bool {
        match self {
            ColumnData::Float(v) => {
                buf.clear();
                v.get(i).map(|x| rounding.write(x, buf)).is_some()
            }
            _ => self.write_text(i, buf),
        }
    }

    /// Keeps the values at `idx`, in that order.
    pub fn take(&self, idx: &[usize]) -> ColumnData {
        match self {
            ColumnData::Int(v) => ColumnData::Int(v.take(idx)),
            ColumnData::Float(v) => ColumnData::Float(v.take(idx)),
            ColumnData::Text(v) => ColumnData::Text(v.take(idx)),
            ColumnData::Date(v) => ColumnData::Date(v.take(idx)),
        }
    }
}

/// A float as spreadsheets and dataframes read it: the shortest digits that read back as the
/// same number, with an exponent when tiny or huge.
fn write_float(x: f64, buf: &mut String) {
    crate::round::write_shortest(x, buf);
}

/// A numeric column of a [`CustomerTable`] read in place ([`CustomerTable::number_view`]):
/// ints and floats as they are, dates as days since 1970-01-01.
#[derive(Debug, Clone, Copy)]
pub struct Numbers<'a>(&'a ColumnData);

impl<'a> Numbers<'a> {
    /// Value `i`; `None` when missing. Panics when `i` is out of range, like indexing.
    pub fn get(&self, i: usize) -> Option<f64> {
        self.0.number(i)
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there are no values.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The values in row order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = Option<f64>> + 'a {
        let c = self.0;
        (0..c.len()).map(move |i| c.number(i))
    }
}

/// A named column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Column {
    /// Column name (the contract names of DESIGN.md §3, or an attribute's own name).
    pub name: String,
    /// The values, one per customer.
    pub data: ColumnData,
}

/// One row per customer. `customer_id` is always the first column and is unique.
///
/// A table is in memory, or stored ([`CustomerTable::stored`]): then its columns live in a
/// [`ColumnStore`], each read when first asked for and each new one written there at once
/// (module `stored`). [`CustomerTable::columns`] lists the columns in memory only: a stored
/// table is read by name, or brought into memory with [`CustomerTable::into_memory`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CustomerTable {
    ids: Ids,
    columns: Vec<Column>,
    /// Not serialized: a stored table is brought into memory before it leaves the engine.
    #[serde(skip)]
    stored: Option<Stored>,
}

impl CustomerTable {
    /// A table of these customers with no other columns yet.
    pub fn new(ids: Vec<String>) -> CustomerTable {
        CustomerTable::from_ids(ids.into())
    }

    /// A table of these customers with no other columns yet.
    pub fn from_ids(ids: Ids) -> CustomerTable {
        CustomerTable {
            ids,
            columns: Vec::new(),
            stored: None,
        }
    }

    /// A table of these customers whose `columns` (name, [`ColumnData::type_name`]) are kept
    /// in `store`, in this order.
    pub fn stored(
        ids: Ids,
        store: Arc<dyn ColumnStore>,
        columns: Vec<(String, &'static str)>,
    ) -> CustomerTable {
        let columns = columns
            .into_iter()
            .map(|(name, type_name)| StoredColumn {
                name,
                type_name,
                cell: OnceLock::new(),
            })
            .collect();
        CustomerTable {
            ids,
            columns: Vec::new(),
            stored: Some(Stored {
                store,
                columns,
                failure: OnceLock::new(),
            }),
        }
    }

    /// True when the columns live in a [`ColumnStore`].
    pub fn is_stored(&self) -> bool {
        self.stored.is_some()
    }

    /// The store of a stored table's columns.
    pub(crate) fn store(&self) -> Option<&Arc<dyn ColumnStore>> {
        self.stored.as_ref().map(|s| &s.store)
    }

    /// Records that the store now holds column `name` of `type_name` (written there part by
    /// part): read back when a step asks for it, as [`CustomerTable::set`] leaves a column.
    pub(crate) fn stored_column_set(&mut self, name: String, type_name: &'static str) {
        if let Some(s) = &mut self.stored {
            match s.columns.iter_mut().find(|c| c.name == name) {
                Some(c) => {
                    c.type_name = type_name;
                    c.cell = OnceLock::new();
                }
                None => s.columns.push(StoredColumn {
                    name,
                    type_name,
                    cell: OnceLock::new(),
                }),
            }
        }
    }

    /// Forgets the columns a stored table has read, so the next step holds only what it
    /// reads; nothing for a table in memory.
    pub fn release(&mut self) {
        if let Some(s) = &mut self.stored {
            for c in &mut s.columns {
                c.cell = OnceLock::new();
            }
        }
    }

    /// Tells a stored table's store that no column's rows before `row` will be read again
    /// ([`ColumnStore::read_no_more_before`]): for the last reader of a table, going through
    /// it in row order. Nothing for a table in memory.
    pub fn read_no_more_before(&self, row: usize) {
        if let Some(s) = &self.stored {
            s.store.read_no_more_before(row);
        }
    }

    /// The first column of a stored table that could not be read since it was made: a step
    /// that ran meanwhile saw it as absent, so its results must not be used.
    pub fn store_failure(&self) -> Option<CoreError> {
        let s = self.stored.as_ref()?;
        s.failure
            .get()
            .map(|(name, reason)| store_error(name, reason.clone()))
    }

    /// The same table with every column in memory (a stored table's are read, in order).
    pub fn into_memory(self) -> Result<CustomerTable, CoreError> {
        if self.stored.is_none() {
            return Ok(self);
        }
        self.slice_rows(0..self.len())
    }

    /// Rows `rows` in memory, every column: how a writer takes a stored table, a slice at a
    /// time (a copy of the rows for a table in memory).
    pub fn slice_rows(&self, rows: std::ops::Range<usize>) -> Result<CustomerTable, CoreError> {
        let idx: Vec<usize> = rows.clone().collect();
        let Some(s) = &self.stored else {
            return Ok(self.take(&idx));
        };
        // the columns read on every core (a writer of a stored table waits on each slice),
        // a failure reported for the first column in order that failed
        use rayon::prelude::*;
        let read: Vec<Result<ColumnData, CoreError>> = s
            .columns
            .par_iter()
            .map(|c| match c.cell.get() {
                Some(d) => Ok(d.take(&idx)),
                None => s
                    .store
                    .load_rows(&c.name, rows.clone())
                    .map_err(|reason| store_error(&c.name, reason)),
            })
            .collect();
        let mut out = CustomerTable::from_ids(self.ids.take(&idx));
        for (c, data) in s.columns.iter().zip(read) {
            out.push(c.name.clone(), data?)?;
        }
        Ok(out)
    }

    /// Every column's name and [`ColumnData::type_name`], except `customer_id`, in order,
    /// without reading a stored table's values.
    pub fn column_types(&self) -> Vec<(&str, &'static str)> {
        match &self.stored {
            Some(s) => s
                .columns
                .iter()
                .map(|c| (c.name.as_str(), c.type_name))
                .collect(),
            None => self
                .columns
                .iter()
                .map(|c| (c.name.as_str(), c.data.type_name()))
                .collect(),
        }
    }

    /// Number of customers.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// True when the table has no customers.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Customer ids, as given in the input (leading zeros kept).
    pub fn ids(&self) -> &Ids {
        &self.ids
    }

    /// All columns except `customer_id`, in order; none for a stored table, whose columns
    /// are read by name ([`CustomerTable::column_types`] lists them).
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// Column names including `customer_id`.
    pub fn column_names(&self) -> Vec<&str> {
        std::iter::once(col::CUSTOMER_ID)
            .chain(self.column_types().into_iter().map(|(n, _)| n))
            .collect()
    }

    /// Adds a column; its length must equal the number of customers and its name be new.
    pub fn push(&mut self, name: impl Into<String>, data: ColumnData) -> Result<(), CoreError> {
        let name = name.into();
        if data.len() != self.len() {
            return Err(CoreError::ColumnLength {
                name,
                expected: self.len(),
                got: data.len(),
            });
        }
        // by name: a stored table's values are not read for this
        let taken = self.has_column(&name);
        if name == col::CUSTOMER_ID || taken {
            return Err(CoreError::DuplicateColumn(name));
        }
        self.set(name, data)
    }

    /// Adds or replaces a column.
    pub fn set(&mut self, name: impl Into<String>, data: ColumnData) -> Result<(), CoreError> {
        let name = name.into();
        if data.len() != self.len() {
            return Err(CoreError::ColumnLength {
                name,
                expected: self.len(),
                got: data.len(),
            });
        }
        if let Some(s) = &mut self.stored {
            // written at once and not kept: read back when a step asks for it
            s.store
                .save(&name, &data)
                .map_err(|reason| store_error(&name, reason))?;
            self.stored_column_set(name, data.type_name());
            return Ok(());
        }
        match self.columns.iter_mut().find(|c| c.name == name) {
            Some(c) => c.data = data,
            None => self.columns.push(Column { name, data }),
        }
        Ok(())
    }

    /// Columns set as [`CustomerTable::set`] sets each, in order; a stored table writes them
    /// side by side (a step that makes several columns waited on each write in turn). Names
    /// must differ; a repeated one sets them one after another.
    pub fn set_all(&mut self, columns: Vec<(String, ColumnData)>) -> Result<(), CoreError> {
        let names: std::collections::HashSet<&str> =
            columns.iter().map(|(n, _)| n.as_str()).collect();
        let store = match &self.stored {
            Some(s) if names.len() == columns.len() => Arc::clone(&s.store),
            _ => return columns.into_iter().try_for_each(|(n, d)| self.set(n, d)),
        };
        for (name, data) in &columns {
            if data.len() != self.len() {
                return Err(CoreError::ColumnLength {
                    name: name.clone(),
                    expected: self.len(),
                    got: data.len(),
                });
            }
        }
        use rayon::prelude::*;
        let saved: Vec<Result<(), String>> =
            columns.par_iter().map(|(n, d)| store.save(n, d)).collect();
        // recorded in order, up to the first failure (as one call after another would)
        for ((name, data), saved) in columns.iter().zip(saved) {
            saved.map_err(|reason| store_error(name, reason))?;
            self.stored_column_set(name.clone(), data.type_name());
        }
        Ok(())
    }

    /// The column with this name, if any (a stored table's is read on first use).
    pub fn get(&self, name: &str) -> Option<&ColumnData> {
        if let Some(s) = &self.stored {
            return s.get(name, self.len());
        }
        self.columns
            .iter()
            .find(|c| c.name == name)
            .map(|c| &c.data)
    }

    /// The column with this name, not kept: a stored table's is read for the caller alone
    /// (a writer reading every customer's labels once), one in memory is borrowed. A read that
    /// fails is `None` here and kept in [`CustomerTable::store_failure`].
    pub fn read_once(&self, name: &str) -> Option<std::borrow::Cow<'_, ColumnData>> {
        use std::borrow::Cow;
        let Some(s) = &self.stored else {
            return self.get(name).map(Cow::Borrowed);
        };
        let c = s.columns.iter().find(|c| c.name == name)?;
        match c.cell.get() {
            Some(d) => Some(Cow::Borrowed(d)),
            None => s.read(name, self.len()).map(Cow::Owned),
        }
    }

    /// Whether the table has this column (a table on disk reads nothing to say so).
    pub fn has_column(&self, name: &str) -> bool {
        self.column_types().iter().any(|(n, _)| *n == name)
    }

    /// [`CustomerTable::read_once`], or the error of [`CustomerTable::column`]: for a step
    /// that reads a column once and lets it go (a table on disk does not keep it).
    pub fn column_once(&self, name: &str) -> Result<std::borrow::Cow<'_, ColumnData>, CoreError> {
        self.read_once(name).ok_or_else(|| self.missing(name))
    }

    /// The column with this name, or an error that lists the available columns.
    pub fn column(&self, name: &str) -> Result<&ColumnData, CoreError> {
        self.get(name).ok_or_else(|| self.missing(name))
    }

    /// The error of a column this table lacks, listing those it has.
    fn missing(&self, name: &str) -> CoreError {
        CoreError::MissingColumn {
            name: name.to_string(),
            available: self.column_names().join(", "),
        }
    }

    /// A numeric column (int, float or date) as `f64`s, missing values as `None`.
    pub fn numbers(&self, name: &str) -> Result<Vec<Option<f64>>, CoreError> {
        Ok(self.number_view(name)?.iter().collect())
    }

    /// A numeric column read in place: the values of [`CustomerTable::numbers`] without its
    /// copy (16 bytes a customer each time, gigabytes at tens of millions of customers).
    pub fn number_view(&self, name: &str) -> Result<Numbers<'_>, CoreError> {
        let c = self.column(name)?;
        if let ColumnData::Text(_) = c {
            return Err(CoreError::ColumnType {
                name: name.to_string(),
                expected: "a number",
                actual: "text",
            });
        }
        Ok(Numbers(c))
    }

    /// A float column by reference.
    pub fn floats(&self, name: &str) -> Result<&Values<f64>, CoreError> {
        match self.column(name)? {
            ColumnData::Float(v) => Ok(v),
            other => Err(type_err(name, "float", other)),
        }
    }

    /// An int column by reference.
    pub fn ints(&self, name: &str) -> Result<&Values<i64>, CoreError> {
        match self.column(name)? {
            ColumnData::Int(v) => Ok(v),
            other => Err(type_err(name, "int", other)),
        }
    }

    /// A text column by reference.
    pub fn texts(&self, name: &str) -> Result<&Texts, CoreError> {
        match self.column(name)? {
            ColumnData::Text(v) => Ok(v),
            other => Err(type_err(name, "text", other)),
        }
    }

    /// A date column by reference.
    pub fn dates(&self, name: &str) -> Result<&Values<Day>, CoreError> {
        match self.column(name)? {
            ColumnData::Date(v) => Ok(v),
            other => Err(type_err(name, "date", other)),
        }
    }

    /// Rows reordered (or filtered) to `idx`.
    ///
    /// The rows come into memory; a stored column that cannot be read is left out and kept
    /// in [`CustomerTable::store_failure`].
    pub fn take(&self, idx: &[usize]) -> CustomerTable {
        let columns = self
            .column_types()
            .into_iter()
            .filter_map(|(name, _)| {
                self.get(name).map(|data| Column {
                    name: name.to_string(),
                    data: data.take(idx),
                })
            })
            .collect();
        CustomerTable {
            ids: self.ids.take(idx),
            columns,
            stored: None,
        }
    }

    /// Rows sorted by customer id, so outputs do not depend on input order.
    pub fn sorted_by_id(&self) -> CustomerTable {
        let mut idx: Vec<usize> = (0..self.len()).collect();
        idx.sort_by(|&a, &b| self.ids[a].cmp(&self.ids[b]));
        self.take(&idx)
    }
}

/// What a store said about column `name`.
pub(crate) fn store_error(name: &str, reason: String) -> CoreError {
    CoreError::Store {
        name: name.to_string(),
        reason,
    }
}

fn type_err(name: &str, expected: &'static str, actual: &ColumnData) -> CoreError {
    CoreError::ColumnType {
        name: name.to_string(),
        expected,
        actual: actual.type_name(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_checks_length_and_names() {
        let mut t = CustomerTable::new(vec!["b".into(), "a".into()]);
        t.push("orders", ColumnData::Int(vec![Some(1), Some(3)].into()))
            .unwrap();
        assert!(matches!(
            t.push("orders", ColumnData::Int(vec![None, None].into())),
            Err(CoreError::DuplicateColumn(_))
        ));
        assert!(matches!(
            t.push("x", ColumnData::Int(vec![None].into())),
            Err(CoreError::ColumnLength { .. })
        ));
        let e = t.column("nope").unwrap_err().to_string();
        assert!(e.contains("customer_id, orders"), "{e}");
        assert_eq!(t.numbers("orders").unwrap(), vec![Some(1.0), Some(3.0)]);
        let s = t.sorted_by_id();
        assert_eq!(s.ids(), ["a", "b"]);
        assert_eq!(s.ints("orders").unwrap().to_vec(), [Some(3), Some(1)]);
        assert!(t.floats("orders").is_err());
    }

    /// A store in a map that counts reads and can be made to fail.
    #[derive(Debug, Default)]
    struct MapStore {
        columns: std::sync::Mutex<std::collections::HashMap<String, ColumnData>>,
        reads: std::sync::atomic::AtomicUsize,
        broken: std::sync::atomic::AtomicBool,
    }

    impl ColumnStore for MapStore {
        fn load(&self, name: &str) -> Result<ColumnData, String> {
            use std::sync::atomic::Ordering::SeqCst;
            if self.broken.load(SeqCst) {
                return Err("disk gone".into());
            }
            self.reads.fetch_add(1, SeqCst);
            let m = self.columns.lock().map_err(|e| e.to_string())?;
            m.get(name)
                .cloned()
                .ok_or_else(|| format!("no file for {name}"))
        }
        fn save(&self, name: &str, data: &ColumnData) -> Result<(), String> {
            let mut m = self.columns.lock().map_err(|e| e.to_string())?;
            m.insert(name.to_string(), data.clone());
            Ok(())
        }
    }

    #[test]
    fn a_stored_table_reads_what_is_asked_once_and_writes_what_is_set() {
        use std::sync::atomic::Ordering::SeqCst;
        let store = Arc::new(MapStore::default());
        let orders = ColumnData::Int(vec![Some(1), Some(3)].into());
        store.save("orders", &orders).unwrap();
        let mut t = CustomerTable::stored(
            Ids::from(vec!["a".to_string(), "b".to_string()]),
            store.clone(),
            vec![("orders".into(), "int")],
        );
        assert!(t.columns().is_empty());
        assert_eq!(t.column_names(), ["customer_id", "orders"]);
        assert_eq!(
            store.reads.load(SeqCst),
            0,
            "nothing read before it is asked for"
        );
        assert_eq!(t.get("orders"), Some(&orders));
        assert_eq!(t.numbers("orders").unwrap(), vec![Some(1.0), Some(3.0)]);
        assert_eq!(store.reads.load(SeqCst), 1, "read once, then kept");
        let score = ColumnData::Float(vec![Some(0.5), None].into());
        t.set("score", score.clone()).unwrap();
        assert_eq!(t.column_types(), [("orders", "int"), ("score", "float")]);
        assert!(t.push("score", score.clone()).is_err());
        t.release();
        assert_eq!(t.get("score"), Some(&score));
        assert_eq!(store.reads.load(SeqCst), 2);
        t.release();
        let once = t.read_once("orders").unwrap().into_owned();
        assert_eq!(once, orders);
        assert_eq!(store.reads.load(SeqCst), 3, "read for the caller");
        assert_eq!(t.get("score"), Some(&score));
        assert_eq!(
            store.reads.load(SeqCst),
            4,
            "and not kept: orders was not cached"
        );
        let slice = t.slice_rows(1..2).unwrap();
        assert!(!slice.is_stored());
        assert_eq!(slice.ints("orders").unwrap().to_vec(), [Some(3)]);
        assert_eq!(slice.column_names(), ["customer_id", "orders", "score"]);
        let sub = t.take(&[1]);
        assert!(!sub.is_stored());
        assert_eq!(sub.ints("orders").unwrap().to_vec(), [Some(3)]);
        let whole = t.clone().into_memory().unwrap();
        let mut want = CustomerTable::new(vec!["a".into(), "b".into()]);
        want.push("orders", orders).unwrap();
        want.push("score", score).unwrap();
        assert_eq!(whole, want);
        assert!(t.store_failure().is_none());
        // a read that fails shows as an absent column to the step, and as an error after it
        t.release();
        store.broken.store(true, SeqCst);
        assert!(t.get("orders").is_none());
        let e = t.store_failure().unwrap().to_string();
        assert!(e.contains("`orders`") && e.contains("disk gone"), "{e}");
        assert!(t.into_memory().is_err());
    }

    #[test]
    fn columns_set_at_once_are_those_set_one_after_another() {
        let ids = || Ids::from(vec!["a".to_string(), "b".to_string()]);
        let made = || {
            vec![
                (
                    "p".to_string(),
                    ColumnData::Float(vec![Some(0.5), None].into()),
                ),
                (
                    "q".to_string(),
                    ColumnData::Int(vec![Some(1), Some(2)].into()),
                ),
                (
                    "p".to_string(),
                    ColumnData::Float(vec![Some(0.25), None].into()),
                ),
            ]
        };
        for columns in [made(), made()[..2].to_vec()] {
            let (one, all) = (Arc::new(MapStore::default()), Arc::new(MapStore::default()));
            let mut by_one = CustomerTable::stored(ids(), one.clone(), Vec::new());
            let mut at_once = CustomerTable::stored(ids(), all.clone(), Vec::new());
            let columns_again = columns.clone();
            for (n, d) in columns.clone() {
                by_one.set(n, d).unwrap();
            }
            at_once.set_all(columns).unwrap();
            assert_eq!(at_once.column_types(), by_one.column_types());
            assert_eq!(
                at_once.clone().into_memory().unwrap(),
                by_one.clone().into_memory().unwrap()
            );
            // in memory alike
            let mut memory = CustomerTable::new(vec!["a".into(), "b".into()]);
            memory.set_all(columns_again).unwrap();
            assert_eq!(memory, at_once.into_memory().unwrap());
        }
        // a column of the wrong length sets nothing of a stored table
        let store = Arc::new(MapStore::default());
        let mut t = CustomerTable::stored(ids(), store, Vec::new());
        let short = vec![("x".to_string(), ColumnData::Int(vec![Some(1)].into()))];
        assert!(t.set_all(short).is_err());
        assert!(t.column_types().is_empty());
    }

    #[test]
    fn floats_are_written_as_they_read_back_with_an_exponent_when_tiny_or_huge() {
        let xs = [
            0.1,
            3.0,
            -2.5,
            0.0,
            1.5e-101,
            2e20,
            123456.789,
            1e-5,
            9.9e-6,
            f64::NAN,
        ];
        let c = ColumnData::Float(xs.iter().map(|&x| Some(x)).collect());
        let texts: Vec<String> = (0..xs.len()).map(|i| c.text(i).unwrap()).collect();
        assert_eq!(
            texts,
            [
                "0.1",
                "3",
                "-2.5",
                "0",
                "1.5e-101",
                "2e20",
                "123456.789",
                "0.00001",
                "9.9e-6",
                "NaN"
            ]
        );
        for (t, x) in texts.iter().zip(xs).filter(|(_, x)| x.is_finite()) {
            assert_eq!(t.parse::<f64>().unwrap(), x, "{t}");
        }
    }
}
