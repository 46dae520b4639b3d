//! The per-customer table: one row per customer, named typed columns.

use crate::columns as col;
use serde::{Deserialize, Serialize};

use crate::{CoreError, Day, Ids, Rounding, Texts, Values};

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
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CustomerTable {
    ids: Ids,
    columns: Vec<Column>,
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

    /// All columns except `customer_id`, in order.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// Column names including `customer_id`.
    pub fn column_names(&self) -> Vec<&str> {
        std::iter::once(col::CUSTOMER_ID)
            .chain(self.columns.iter().map(|c| c.name.as_str()))
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
        if name == col::CUSTOMER_ID || self.get(&name).is_some() {
            return Err(CoreError::DuplicateColumn(name));
        }
        self.columns.push(Column { name, data });
        Ok(())
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
        match self.columns.iter_mut().find(|c| c.name == name) {
            Some(c) => c.data = data,
            None => self.columns.push(Column { name, data }),
        }
        Ok(())
    }

    /// The column with this name, if any.
    pub fn get(&self, name: &str) -> Option<&ColumnData> {
        self.columns
            .iter()
            .find(|c| c.name == name)
            .map(|c| &c.data)
    }

    /// The column with this name, or an error that lists the available columns.
    pub fn column(&self, name: &str) -> Result<&ColumnData, CoreError> {
        self.get(name).ok_or_else(|| CoreError::MissingColumn {
            name: name.to_string(),
            available: self.column_names().join(", "),
        })
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
    pub fn take(&self, idx: &[usize]) -> CustomerTable {
        CustomerTable {
            ids: self.ids.take(idx),
            columns: self
                .columns
                .iter()
                .map(|c| Column {
                    name: c.name.clone(),
                    data: c.data.take(idx),
                })
                .collect(),
        }
    }

    /// Rows sorted by customer id, so outputs do not depend on input order.
    pub fn sorted_by_id(&self) -> CustomerTable {
        let mut idx: Vec<usize> = (0..self.len()).collect();
        idx.sort_by(|&a, &b| self.ids[a].cmp(&self.ids[b]));
        self.take(&idx)
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
