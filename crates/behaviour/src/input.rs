//! Inputs the engine hands over besides the customer table.

use serde::{Deserialize, Serialize};

/// Purchases of one customer in one category.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CustomerCategory {
    /// Row in the customer table.
    pub customer: u32,
    /// Index into the category list.
    pub category: u32,
    /// Net revenue in this category.
    pub revenue: f64,
    /// Orders containing this category.
    pub orders: u32,
}

impl CustomerCategory {
    /// A row counts as a purchase when it has an order or positive revenue; pure returns do not.
    pub fn bought(&self) -> bool {
        self.orders > 0 || self.revenue > 0.0
    }
}

/// The customer × category rows, sorted by customer, handed over a chunk at a time and read
/// more than once: a run by parts keeps them on disk (at 100M rows about 70M rows, 1.7 GB
/// in memory), so the step never holds them all.
pub trait CategoryRows: std::fmt::Debug {
    /// Calls `f` with consecutive chunks of the rows, first to last; stops at `f`'s first
    /// error and returns it. A source that cannot be read says so with
    /// [`BehaviourError::CategoryRowsUnreadable`](crate::BehaviourError::CategoryRowsUnreadable).
    fn for_each_chunk(
        &self,
        f: &mut dyn FnMut(&[CustomerCategory]) -> crate::Result<()>,
    ) -> crate::Result<()>;
}

/// Rows in memory: one chunk.
impl CategoryRows for [CustomerCategory] {
    fn for_each_chunk(
        &self,
        f: &mut dyn FnMut(&[CustomerCategory]) -> crate::Result<()>,
    ) -> crate::Result<()> {
        f(self)
    }
}

impl CategoryRows for Vec<CustomerCategory> {
    fn for_each_chunk(
        &self,
        f: &mut dyn FnMut(&[CustomerCategory]) -> crate::Result<()>,
    ) -> crate::Result<()> {
        f(self)
    }
}

impl<const N: usize> CategoryRows for [CustomerCategory; N] {
    fn for_each_chunk(
        &self,
        f: &mut dyn FnMut(&[CustomerCategory]) -> crate::Result<()>,
    ) -> crate::Result<()> {
        f(self)
    }
}

/// Totals for one weekday or month.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PeriodTotals {
    /// Net revenue.
    pub revenue: f64,
    /// Orders.
    pub orders: u64,
    /// Distinct customers (not additive across periods).
    pub customers: u64,
}

/// Weekday and month totals computed by the engine.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Seasonality {
    /// Monday first.
    pub weekday: [PeriodTotals; 7],
    /// January first.
    pub month: [PeriodTotals; 12],
}

pub use clientele_core::Lang;

/// Label for missing values.
pub(crate) fn unknown_label(lang: Lang) -> &'static str {
    lang.pick("(未知)", "(unknown)")
}

/// Label for values lumped together past the cap.
pub(crate) fn other_label(lang: Lang) -> &'static str {
    lang.pick("(其他)", "(other)")
}
