//! The scoring input: one row per customer with the three raw metrics, checked once (lengths,
//! finite values, unique ids) so scoring itself cannot fail on data.

use clientele_core::columns as col;

use clientele_core::{CustomerTable, Ids, RfmSummary};

use crate::config::{FrequencyDef, MonetaryDef};
use crate::error::RfmError;

/// Raw R, F, M values per customer, plus revenue (Σ net amount) for segment summaries.
#[derive(Debug, Clone, PartialEq)]
pub struct RfmData {
    pub(crate) ids: Ids,
    pub(crate) recency_days: Vec<f64>,
    pub(crate) frequency: Vec<f64>,
    pub(crate) monetary: Vec<f64>,
    pub(crate) revenue: Vec<f64>,
    pub(crate) frequency_column: &'static str,
    pub(crate) monetary_column: &'static str,
}

impl RfmData {
    /// From plain vectors; revenue is taken to be `monetary` (the sum convention).
    pub fn new(
        ids: Vec<String>,
        recency_days: Vec<f64>,
        frequency: Vec<f64>,
        monetary: Vec<f64>,
    ) -> Result<RfmData, RfmError> {
        let revenue = monetary.clone();
        let d = RfmData {
            ids: Ids::from(ids),
            recency_days,
            frequency,
            monetary,
            revenue,
            frequency_column: col::ORDERS,
            monetary_column: col::MONETARY,
        };
        d.check()?;
        Ok(d)
    }

    /// Sets revenue separately, for when monetary is a mean per order.
    pub fn with_revenue(mut self, revenue: Vec<f64>) -> Result<RfmData, RfmError> {
        self.revenue = revenue;
        self.check()?;
        Ok(self)
    }

    /// Sets the column names used in messages and reported thresholds.
    pub fn with_definitions(mut self, frequency: FrequencyDef, monetary: MonetaryDef) -> RfmData {
        self.frequency_column = frequency.column();
        self.monetary_column = monetary.column();
        self
    }

    /// From core's RFM summary convention (orders, sum of amount).
    pub fn from_summary(ids: Vec<String>, s: &RfmSummary) -> Result<RfmData, RfmError> {
        RfmData::new(
            ids,
            s.recency_days.clone(),
            s.orders.clone(),
            s.monetary.clone(),
        )
    }

    /// From the customer table: `recency_days`, the frequency and monetary columns chosen by the
    /// definitions, and `monetary` as revenue (the M column itself when `monetary` is absent).
    pub fn from_table(
        table: &CustomerTable,
        frequency: FrequencyDef,
        monetary: MonetaryDef,
    ) -> Result<RfmData, RfmError> {
        let ids = table.ids();
        let read = |column: &'static str| -> Result<Vec<f64>, RfmError> {
            table
                .number_view(column)?
                .iter()
                .enumerate()
                .map(|(row, v)| {
                    v.ok_or_else(|| RfmError::Missing {
                        column,
                        customer_id: ids[row].to_string(),
                        row,
                    })
                })
                .collect()
        };
        let m = read(monetary.column())?;
        let revenue = if monetary == MonetaryDef::Sum || table.get(col::MONETARY).is_none() {
            m.clone()
        } else {
            read(col::MONETARY)?
        };
        let d = RfmData {
            ids: ids.clone(),
            recency_days: read(col::RECENCY_DAYS)?,
            frequency: read(frequency.column())?,
            monetary: m,
            revenue,
            frequency_column: frequency.column(),
            monetary_column: monetary.column(),
        };
        d.check()?;
        Ok(d)
    }

    /// Number of customers.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// True when there are no customers.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Customer ids in input order.
    pub fn ids(&self) -> &Ids {
        &self.ids
    }

    /// The customers of `rows` (checked already, as these are).
    pub(crate) fn rows(&self, rows: std::ops::Range<usize>) -> RfmData {
        let idx: Vec<usize> = rows.clone().collect();
        RfmData {
            ids: self.ids.take(&idx),
            recency_days: self.recency_days[rows.clone()].to_vec(),
            frequency: self.frequency[rows.clone()].to_vec(),
            monetary: self.monetary[rows.clone()].to_vec(),
            revenue: self.revenue[rows].to_vec(),
            frequency_column: self.frequency_column,
            monetary_column: self.monetary_column,
        }
    }

    fn check(&self) -> Result<(), RfmError> {
        let n = self.ids.len();
        let cols: [(&'static str, &[f64]); 4] = [
            (col::RECENCY_DAYS, &self.recency_days),
            (self.frequency_column, &self.frequency),
            (self.monetary_column, &self.monetary),
            ("revenue", &self.revenue),
        ];
        for (column, v) in cols {
            if v.len() != n {
                return Err(RfmError::Length {
                    column,
                    expected: n,
                    got: v.len(),
                });
            }
            if let Some(row) = v.iter().position(|x| !x.is_finite()) {
                return Err(RfmError::NonFinite {
                    column,
                    customer_id: self.ids[row].to_string(),
                    row,
                    value: v[row],
                });
            }
        }
        match self.ids.first_repeated() {
            Some(id) => Err(RfmError::DuplicateId(id.to_string())),
            None => Ok(()),
        }
    }
}
