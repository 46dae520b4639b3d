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

/// [`PeriodTotals`] before the money becomes a float: micro-units, so the sums of the parts
/// of a spilled run (or a cluster's buckets) add up to exactly the whole run's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PeriodSums {
    /// Net amount, micro-units.
    pub revenue_micros: i128,
    /// Purchase occasions (customer-days with a purchase).
    pub occasions: u64,
    /// Distinct customers.
    pub customers: u64,
}

impl PeriodSums {
    /// Adds another part's sums (customers are in one part each, so they add up too).
    pub fn add(&mut self, o: &PeriodSums) {
        self.revenue_micros += o.revenue_micros;
        self.occasions += o.occasions;
        self.customers += o.customers;
    }

    /// The totals as the summary shows them.
    pub fn totals(&self) -> PeriodTotals {
        PeriodTotals {
            revenue: self.revenue_micros as f64 / crate::MONEY_SCALE,
            orders: self.occasions,
            customers: self.customers,
        }
    }
}

/// Sums per weekday (Monday first) and calendar month.
pub type Seasonality = ([PeriodSums; 7], [PeriodSums; 12]);

/// The totals of `s`, as [`crate::Ingested::seasonality`] holds them.
pub fn totals_of(s: &Seasonality) -> ([PeriodTotals; 7], [PeriodTotals; 12]) {
    (s.0.map(|p| p.totals()), s.1.map(|p| p.totals()))
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
