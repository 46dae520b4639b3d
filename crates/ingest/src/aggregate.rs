//! The per-customer aggregation as one DataFusion SQL plan over the validated rows.

use std::collections::HashMap;
use std::sync::Arc;

use clientele_core::{ColumnData, CustomerTable, Day};
use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Date32Type, Int64Type};
use datafusion::datasource::MemTable;
use datafusion::prelude::{SessionConfig, SessionContext};

use crate::transactions::{MONEY_SCALE, schema};
use crate::{IngestError, IngestOptions, IngestStats};

/// The customer-table query. `{as_of}` is replaced by a `DATE` literal.
///
/// A purchase day is a customer-day with at least one non-negative row (return-only days are
/// not purchases). The CLV convention is built from purchase days: frequency = days − 1,
/// monetary_value = mean net spend of the repeat days.
const CUSTOMER_SQL: &str = "
WITH t AS (SELECT * FROM tx WHERE order_date <= {as_of}),
d AS (
  SELECT customer_id, order_date, SUM(amount) AS amt
  FROM t GROUP BY customer_id, order_date
  HAVING MAX(amount) >= 0
),
g AS (
  SELECT customer_id, order_date, amt,
    CAST(order_date AS INT) - LAG(CAST(order_date AS INT))
      OVER (PARTITION BY customer_id ORDER BY order_date) AS gap
  FROM d
),
p AS (
  SELECT customer_id,
    MIN(order_date) AS first_purchase,
    MAX(order_date) AS last_purchase,
    COUNT(*) AS purchase_days,
    SUM(amt) AS purchase_day_amount,
    first_value(amt ORDER BY order_date) AS first_day_amount,
    MAX(gap) AS longest_gap,
    last_value(gap ORDER BY order_date) AS last_gap
  FROM g GROUP BY customer_id
),
c AS (
  SELECT customer_id,
    SUM(amount) AS monetary,
    COUNT(DISTINCT CASE WHEN amount >= 0 THEN order_id END) AS order_ids,
    COUNT(DISTINCT category) AS categories,
    SUM(profit) AS profit,
    COUNT(profit) AS profit_rows,
    SUM(quantity) AS items,
    COUNT(quantity) AS quantity_rows,
    SUM(CASE WHEN amount < 0 THEN 1 ELSE 0 END) AS returns,
    SUM(CASE WHEN amount < 0 THEN -amount ELSE 0 END) AS return_amount
  FROM t GROUP BY customer_id
),
k AS (
  SELECT customer_id, category AS top_category FROM (
    SELECT customer_id, category,
      ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY SUM(amount) DESC, category ASC) AS rn
    FROM t WHERE category IS NOT NULL GROUP BY customer_id, category
  ) WHERE rn = 1
)
SELECT c.customer_id, c.monetary, c.order_ids, c.categories, c.profit, c.profit_rows,
  c.items, c.quantity_rows, c.returns, c.return_amount,
  p.first_purchase, p.last_purchase, p.purchase_days, p.purchase_day_amount, p.first_day_amount,
  k.top_category, p.longest_gap, p.last_gap
FROM c LEFT JOIN p ON c.customer_id = p.customer_id
       LEFT JOIN k ON c.customer_id = k.customer_id
";

fn runtime() -> Result<tokio::runtime::Runtime, IngestError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| IngestError::Engine(format!("cannot start the query runtime: {e}")))
}

/// Registers the rows as table `tx`, split round-robin into one partition per core.
pub(crate) fn session(batches: Vec<RecordBatch>) -> Result<SessionContext, IngestError> {
    let parts = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .max(1);
    let mut partitions = vec![Vec::new(); parts];
    for (i, b) in batches.into_iter().enumerate() {
        partitions[i % parts].push(b);
    }
    let cfg = SessionConfig::new().with_target_partitions(parts);
    let ctx = SessionContext::new_with_config(cfg);
    let table = MemTable::try_new(schema(), partitions)?;
    ctx.register_table("tx", Arc::new(table))?;
    Ok(ctx)
}

/// Runs a query to completion.
pub(crate) fn query(ctx: &SessionContext, sql: &str) -> Result<Vec<RecordBatch>, IngestError> {
    let rt = runtime()?;
    rt.block_on(async {
        let df = ctx.sql(sql).await?;
        Ok(df.collect().await?)
    })
}

fn date_literal(d: Day) -> String {
    format!("DATE '{d}'")
}

#[derive(Default)]
struct Cols {
    ids: Vec<String>,
    first: Vec<Option<Day>>,
    last: Vec<Option<Day>>,
    recency_days: Vec<Option<i64>>,
    orders: Vec<Option<i64>>,
    purchase_days: Vec<Option<i64>>,
    monetary: Vec<Option<f64>>,
    aov: Vec<Option<f64>>,
    frequency: Vec<Option<f64>>,
    recency: Vec<Option<f64>>,
    t: Vec<Option<f64>>,
    monetary_value: Vec<Option<f64>>,
    categories: Vec<Option<i64>>,
    top_category: Vec<Option<String>>,
    profit: Vec<Option<f64>>,
    items: Vec<Option<f64>>,
    returns: Vec<Option<i64>>,
    return_amount: Vec<Option<f64>>,
    tenure_days: Vec<Option<i64>>,
    interpurchase: Vec<Option<f64>>,
    longest_gap: Vec<Option<i64>>,
    last_gap: Vec<Option<i64>>,
}

/// Per customer and calendar month: net revenue and orders (distinct order ids of
/// non-negative rows, else purchase days). The input of trends and cohorts.
const MONTHS_SQL: &str = "
SELECT customer_id,
  CAST(date_part('year', order_date) AS INT) AS y,
  CAST(date_part('month', order_date) AS INT) AS m,
  SUM(amount) AS revenue,
  COUNT(DISTINCT CASE WHEN amount >= 0 THEN order_id END) AS order_ids,
  COUNT(DISTINCT CASE WHEN amount >= 0 THEN order_date END) AS purchase_days
FROM tx WHERE order_date <= {as_of}
GROUP BY 1, 2, 3
";

/// Per customer and category: net revenue and orders (as in [`MONTHS_SQL`]).
const CATEGORY_SQL: &str = "
SELECT customer_id, category,
  SUM(amount) AS revenue,
  COUNT(DISTINCT CASE WHEN amount >= 0 THEN order_id END) AS order_ids,
  COUNT(DISTINCT CASE WHEN amount >= 0 THEN order_date END) AS purchase_days
FROM tx WHERE order_date <= {as_of} AND category IS NOT NULL
GROUP BY 1, 2
";

/// Revenue, purchase occasions (customer-days with a purchase) and customers per weekday
/// (`dow`: 0 = Sunday) or calendar month.
const SEASON_SQL: &str = "
SELECT CAST(date_part('{part}', order_date) AS INT) AS p,
  SUM(amount) AS revenue,
  COUNT(DISTINCT CASE WHEN amount >= 0 THEN concat(customer_id, '|', CAST(order_date AS VARCHAR)) END) AS occasions,
  COUNT(DISTINCT customer_id) AS customers
FROM tx WHERE order_date <= {as_of}
GROUP BY 1
";

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
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize)]
pub struct PeriodTotals {
    /// Net amount.
    pub revenue: f64,
    /// Purchase occasions (customer-days with a purchase).
    pub orders: u64,
    /// Distinct customers.
    pub customers: u64,
}

/// Category spend per customer of `table` (sorted by customer, category) and the category names.
pub(crate) fn category_spend(
    ctx: &SessionContext,
    table: &CustomerTable,
    as_of: Day,
) -> Result<(Vec<CategorySpend>, Vec<String>), IngestError> {
    let index: HashMap<&str, u32> = table
        .ids()
        .iter()
        .enumerate()
        .map(|(i, s)| (s.as_str(), i as u32))
        .collect();
    let mut names: Vec<String> = Vec::new();
    let mut name_ix: HashMap<String, u32> = HashMap::new();
    let mut rows = Vec::new();
    for b in &query(ctx, &CATEGORY_SQL.replace("{as_of}", &date_literal(as_of)))? {
        let ids = b.column(0).as_string::<i32>();
        let cats = b.column(1).as_string::<i32>();
        let rev = b.column(2).as_primitive::<Int64Type>();
        let (oid, days) = (
            cast(b.column(3), &DataType::Int64)?,
            cast(b.column(4), &DataType::Int64)?,
        );
        let (oid, days) = (
            oid.as_primitive::<Int64Type>(),
            days.as_primitive::<Int64Type>(),
        );
        for r in 0..b.num_rows() {
            let Some(&customer) = index.get(ids.value(r)) else {
                continue;
            };
            rows.push((
                customer,
                cats.value(r).to_string(),
                rev.value(r),
                if oid.value(r) > 0 {
                    oid.value(r)
                } else {
                    days.value(r)
                },
            ));
        }
    }
    // category indexes in name order, so outputs do not depend on hash or partition order
    let mut all: Vec<&String> = rows.iter().map(|r| &r.1).collect();
    all.sort();
    all.dedup();
    for n in all {
        name_ix.insert(n.clone(), names.len() as u32);
        names.push(n.clone());
    }
    let mut out: Vec<CategorySpend> = rows
        .iter()
        .map(|(c, n, rev, o)| CategorySpend {
            customer: *c,
            category: name_ix[n],
            revenue: *rev as f64 / MONEY_SCALE,
            orders: *o as u32,
        })
        .collect();
    out.sort_by_key(|c| (c.customer, c.category));
    Ok((out, names))
}

/// Totals per weekday (Monday first) and per calendar month (January first).
pub(crate) fn seasonality(
    ctx: &SessionContext,
    as_of: Day,
) -> Result<([PeriodTotals; 7], [PeriodTotals; 12]), IngestError> {
    let mut week = [PeriodTotals::default(); 7];
    let mut month = [PeriodTotals::default(); 12];
    for (part, slots) in [("dow", &mut week[..]), ("month", &mut month[..])] {
        let sql = SEASON_SQL
            .replace("{part}", part)
            .replace("{as_of}", &date_literal(as_of));
        for b in &query(ctx, &sql)? {
            let p = cast(b.column(0), &DataType::Int64)?;
            let p = p.as_primitive::<Int64Type>();
            let rev = b.column(1).as_primitive::<Int64Type>();
            let (occ, cust) = (
                cast(b.column(2), &DataType::Int64)?,
                cast(b.column(3), &DataType::Int64)?,
            );
            let (occ, cust) = (
                occ.as_primitive::<Int64Type>(),
                cust.as_primitive::<Int64Type>(),
            );
            for r in 0..b.num_rows() {
                let slot = if part == "dow" {
                    (p.value(r) + 6) % 7
                } else {
                    p.value(r) - 1
                };
                if let Some(t) = slots.get_mut(slot as usize) {
                    *t = PeriodTotals {
                        revenue: rev.value(r) as f64 / MONEY_SCALE,
                        orders: occ.value(r) as u64,
                        customers: cust.value(r) as u64,
                    };
                }
            }
        }
    }
    Ok((week, month))
}

/// Purchase days per customer in the holdout period `(calibration end, end]`.
const HOLDOUT_SQL: &str = "
SELECT customer_id, COUNT(*) AS days FROM (
  SELECT customer_id, order_date FROM tx
  WHERE order_date > {cal} AND order_date <= {end}
  GROUP BY customer_id, order_date HAVING MAX(amount) >= 0
) GROUP BY customer_id
";

/// Holdout purchase days for each customer of `table` (calibration customers only; customers
/// born in the holdout are not part of a calibration/holdout validation).
pub(crate) fn holdout_purchase_days(
    ctx: &SessionContext,
    table: &CustomerTable,
    cal: Day,
    end: Day,
) -> Result<Vec<f64>, IngestError> {
    let index: HashMap<&str, usize> = table
        .ids()
        .iter()
        .enumerate()
        .map(|(i, s)| (s.as_str(), i))
        .collect();
    let sql = HOLDOUT_SQL
        .replace("{cal}", &date_literal(cal))
        .replace("{end}", &date_literal(end));
    let mut out = vec![0.0; table.len()];
    for b in &query(ctx, &sql)? {
        let ids = b.column(0).as_string::<i32>();
        let n = b.column(1).as_primitive::<Int64Type>();
        for r in 0..b.num_rows() {
            if let Some(&i) = index.get(ids.value(r)) {
                out[i] = n.value(r) as f64;
            }
        }
    }
    Ok(out)
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

/// Monthly activity of the customers in `table` (rows of customers not in the table, i.e.
/// return-only customers, are left out), sorted by customer then month.
pub(crate) fn monthly_activity(
    ctx: &SessionContext,
    table: &CustomerTable,
    as_of: Day,
) -> Result<Vec<MonthActivity>, IngestError> {
    let index: HashMap<&str, u32> = table
        .ids()
        .iter()
        .enumerate()
        .map(|(i, s)| (s.as_str(), i as u32))
        .collect();
    let batches = query(ctx, &MONTHS_SQL.replace("{as_of}", &date_literal(as_of)))?;
    let mut out = Vec::new();
    for b in &batches {
        let ids = b.column(0).as_string::<i32>();
        let int = |i: usize| cast(b.column(i), &DataType::Int64);
        let (y, m, rev, oid, days) = (
            int(1)?,
            int(2)?,
            b.column(3).as_primitive::<Int64Type>(),
            int(4)?,
            int(5)?,
        );
        let (y, m, oid, days) = (
            y.as_primitive::<Int64Type>(),
            m.as_primitive::<Int64Type>(),
            oid.as_primitive::<Int64Type>(),
            days.as_primitive::<Int64Type>(),
        );
        for r in 0..b.num_rows() {
            let Some(&customer) = index.get(ids.value(r)) else {
                continue;
            };
            let orders = if oid.value(r) > 0 {
                oid.value(r)
            } else {
                days.value(r)
            };
            out.push(MonthActivity {
                customer,
                year: y.value(r) as i32,
                month: m.value(r) as u32,
                revenue: rev.value(r) as f64 / MONEY_SCALE,
                orders: orders as u32,
            });
        }
    }
    out.sort_by_key(|a| (a.customer, a.year, a.month));
    Ok(out)
}

/// Aggregates validated rows to the customer table at `as_of`, filling the as-of and
/// reconciliation counts of `stats`.
pub(crate) fn customer_table(
    batches: Vec<RecordBatch>,
    opts: &IngestOptions,
    as_of: Day,
    stats: &mut IngestStats,
) -> Result<(CustomerTable, SessionContext), IngestError> {
    let ctx = session(batches)?;
    let lit = date_literal(as_of);
    let counts = query(
        &ctx,
        &format!(
            "SELECT COUNT(*) FILTER (WHERE order_date > {lit}) AS after, \
                    COUNT(*) FILTER (WHERE order_date <= {lit}) AS used, \
                    SUM(amount) FILTER (WHERE order_date <= {lit}) AS total FROM tx"
        ),
    )?;
    if let Some(b) = counts.first().filter(|b| b.num_rows() == 1) {
        stats.after_as_of = b.column(0).as_primitive::<Int64Type>().value(0) as u64;
        stats.used = b.column(1).as_primitive::<Int64Type>().value(0) as u64;
        let total = b.column(2).as_primitive::<Int64Type>();
        stats.total_amount = if total.is_null(0) {
            0.0
        } else {
            total.value(0) as f64 / MONEY_SCALE
        };
    }
    let result = query(&ctx, &CUSTOMER_SQL.replace("{as_of}", &lit))?;
    let unit = opts.unit.days();
    let mut c = Cols::default();
    let (mut any_category, mut any_profit, mut any_quantity) = (false, false, false);
    let money = |v: i64| v as f64 / MONEY_SCALE;
    let mut return_only: HashMap<String, f64> = HashMap::new();
    for b in &result {
        let s = |i: usize| b.column(i).as_string::<i32>();
        let i64c = |i: usize| b.column(i).as_primitive::<Int64Type>();
        let datec = |i: usize| b.column(i).as_primitive::<Date32Type>();
        let (id, monetary, order_ids, categories, profit, profit_rows) =
            (s(0), i64c(1), i64c(2), i64c(3), i64c(4), i64c(5));
        let (items, quantity_rows, returns, return_amount) = (i64c(6), i64c(7), i64c(8), i64c(9));
        let (first, last, pdays, pamount, first_amt) =
            (datec(10), datec(11), i64c(12), i64c(13), i64c(14));
        let top = s(15);
        let gap_col = |i: usize| cast(b.column(i), &DataType::Int64);
        let (longest, last_gap) = (gap_col(16)?, gap_col(17)?);
        let (longest, last_gap) = (
            longest.as_primitive::<Int64Type>(),
            last_gap.as_primitive::<Int64Type>(),
        );
        for r in 0..b.num_rows() {
            if first.is_null(r) {
                return_only.insert(id.value(r).to_string(), money(monetary.value(r)));
                continue;
            }
            let (f, l, n) = (first.value(r), last.value(r), pdays.value(r));
            let m = money(monetary.value(r));
            let orders = if order_ids.value(r) > 0 {
                order_ids.value(r)
            } else {
                n
            };
            c.ids.push(id.value(r).to_string());
            c.first.push(Some(Day(f)));
            c.last.push(Some(Day(l)));
            c.recency_days.push(Some(i64::from(as_of.0 - l)));
            c.orders.push(Some(orders));
            c.purchase_days.push(Some(n));
            c.monetary.push(Some(m));
            c.aov.push(Some(m / orders as f64));
            c.frequency.push(Some((n - 1) as f64));
            c.recency.push(Some(f64::from(l - f) / unit));
            c.t.push(Some(f64::from(as_of.0 - f) / unit));
            c.monetary_value.push(Some(if n > 1 {
                money(pamount.value(r) - first_amt.value(r)) / (n - 1) as f64
            } else {
                0.0
            }));
            any_category |= categories.value(r) > 0;
            c.categories.push(Some(categories.value(r)));
            c.top_category
                .push((!top.is_null(r)).then(|| top.value(r).to_string()));
            any_profit |= profit_rows.value(r) > 0;
            c.profit
                .push((profit_rows.value(r) > 0).then(|| money(profit.value(r))));
            any_quantity |= quantity_rows.value(r) > 0;
            c.items
                .push((quantity_rows.value(r) > 0).then(|| money(items.value(r))));
            c.returns.push(Some(returns.value(r)));
            c.return_amount.push(Some(money(return_amount.value(r))));
            c.tenure_days.push(Some(i64::from(as_of.0 - f)));
            c.interpurchase
                .push((n > 1).then(|| f64::from(l - f) / (n - 1) as f64));
            c.longest_gap
                .push((!longest.is_null(r)).then(|| longest.value(r)));
            c.last_gap
                .push((!last_gap.is_null(r)).then(|| last_gap.value(r)));
        }
    }
    stats.return_only_customers = return_only.len() as u64;
    stats.return_only_amount = return_only.values().sum();
    let mut table = CustomerTable::new(std::mem::take(&mut c.ids));
    let mut push = |name: &str, data: ColumnData| table.push(name, data);
    let core = |e: clientele_core::CoreError| IngestError::Engine(e.to_string());
    push("first_purchase", ColumnData::Date(c.first)).map_err(core)?;
    push("last_purchase", ColumnData::Date(c.last)).map_err(core)?;
    push("recency_days", ColumnData::Int(c.recency_days)).map_err(core)?;
    push("orders", ColumnData::Int(c.orders)).map_err(core)?;
    push("purchase_days", ColumnData::Int(c.purchase_days)).map_err(core)?;
    push("monetary", ColumnData::Float(c.monetary)).map_err(core)?;
    push("avg_order_value", ColumnData::Float(c.aov)).map_err(core)?;
    push("frequency", ColumnData::Float(c.frequency)).map_err(core)?;
    push("recency", ColumnData::Float(c.recency)).map_err(core)?;
    push("T", ColumnData::Float(c.t)).map_err(core)?;
    push("monetary_value", ColumnData::Float(c.monetary_value)).map_err(core)?;
    if any_category {
        push("categories", ColumnData::Int(c.categories)).map_err(core)?;
        push("top_category", ColumnData::Text(c.top_category)).map_err(core)?;
    }
    if any_profit {
        push("profit", ColumnData::Float(c.profit)).map_err(core)?;
    }
    if any_quantity {
        push("items", ColumnData::Float(c.items)).map_err(core)?;
    }
    push("returns", ColumnData::Int(c.returns)).map_err(core)?;
    push("return_amount", ColumnData::Float(c.return_amount)).map_err(core)?;
    push("tenure_days", ColumnData::Int(c.tenure_days)).map_err(core)?;
    push("avg_interpurchase_days", ColumnData::Float(c.interpurchase)).map_err(core)?;
    push("longest_gap_days", ColumnData::Int(c.longest_gap)).map_err(core)?;
    push("last_gap_days", ColumnData::Int(c.last_gap)).map_err(core)?;
    Ok((table.sorted_by_id(), ctx))
}
