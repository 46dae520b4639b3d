//! Per-customer detail beyond the customer table: activity by month and by category, and
//! store-wide totals by weekday and calendar month.

/// One customer's spend in one category.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CategorySpend {
    /// Row of the customer in the customer table.
    pub customer: u32,
    /// Index into [`crate::Ingested::categories`].
    pub category: u32,
    /// Net amount.
    pub revenue: f64,
    /// Orders with this category (0 when only returns).
    pub orders: u32,
}

/// Totals of one weekday or calendar month.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PeriodTotals {
    /// Net amount.
    pub revenue: f64,
    /// Purchase occasions (customer-days with a purchase).
    pub orders: u64,
    /// Distinct customers.
    pub customers: u64,
}

/// One customer's activity in one calendar month.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MonthActivity {
    /// Row of the customer in the customer table.
    pub customer: u32,
    /// Calendar year.
    pub year: i32,
    /// Calendar month 1–12.
    pub month: u32,
    /// Net amount in the month.
    pub revenue: f64,
    /// Orders in the month (0 when the month has only returns).
    pub orders: u32,
}
