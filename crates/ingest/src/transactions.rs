//! Validated transaction rows as Arrow batches: the table the query engine aggregates.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Date32Builder, Int64Builder, StringBuilder};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;

/// Money and quantities are stored as integers of 1/1,000,000 so that sums are exact and do
/// not depend on row order or on how the engine splits the work.
pub const MONEY_SCALE: f64 = 1_000_000.0;

/// Largest absolute value accepted (keeps any realistic sum inside i64).
pub(crate) const MAX_ABS_VALUE: f64 = 1e9;

pub(crate) const BATCH_ROWS: usize = 64 * 1024;

/// Schema of the validated rows.
pub(crate) fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("customer_id", DataType::Utf8, false),
        Field::new("order_date", DataType::Date32, false),
        Field::new("amount", DataType::Int64, false),
        Field::new("order_id", DataType::Utf8, true),
        Field::new("category", DataType::Utf8, true),
        Field::new("profit", DataType::Int64, true),
        Field::new("quantity", DataType::Int64, true),
    ]))
}

/// One valid row.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Row<'a> {
    pub customer_id: &'a str,
    pub day: i32,
    pub amount: i64,
    pub order_id: Option<&'a str>,
    pub category: Option<&'a str>,
    pub profit: Option<i64>,
    pub quantity: Option<i64>,
}

/// Accumulates rows into batches of [`BATCH_ROWS`].
pub(crate) struct BatchBuilder {
    customer_id: StringBuilder,
    day: Date32Builder,
    amount: Int64Builder,
    order_id: StringBuilder,
    category: StringBuilder,
    profit: Int64Builder,
    quantity: Int64Builder,
    rows: usize,
    pub batches: Vec<RecordBatch>,
}

impl std::fmt::Debug for BatchBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchBuilder")
            .field("rows", &self.rows)
            .finish()
    }
}

impl BatchBuilder {
    pub fn new() -> BatchBuilder {
        BatchBuilder {
            customer_id: StringBuilder::with_capacity(BATCH_ROWS, BATCH_ROWS * 8),
            day: Date32Builder::with_capacity(BATCH_ROWS),
            amount: Int64Builder::with_capacity(BATCH_ROWS),
            order_id: StringBuilder::with_capacity(BATCH_ROWS, BATCH_ROWS * 8),
            category: StringBuilder::with_capacity(BATCH_ROWS, BATCH_ROWS * 8),
            profit: Int64Builder::with_capacity(BATCH_ROWS),
            quantity: Int64Builder::with_capacity(BATCH_ROWS),
            rows: 0,
            batches: Vec::new(),
        }
    }

    pub fn push(&mut self, r: Row<'_>) {
        self.customer_id.append_value(r.customer_id);
        self.day.append_value(r.day);
        self.amount.append_value(r.amount);
        self.order_id.append_option(r.order_id);
        self.category.append_option(r.category);
        self.profit.append_option(r.profit);
        self.quantity.append_option(r.quantity);
        self.rows += 1;
        if self.rows == BATCH_ROWS {
            self.flush();
        }
    }

    pub fn flush(&mut self) {
        if self.rows == 0 {
            return;
        }
        let cols: Vec<ArrayRef> = vec![
            Arc::new(self.customer_id.finish()),
            Arc::new(self.day.finish()),
            Arc::new(self.amount.finish()),
            Arc::new(self.order_id.finish()),
            Arc::new(self.category.finish()),
            Arc::new(self.profit.finish()),
            Arc::new(self.quantity.finish()),
        ];
        // The arrays match the schema by construction.
        if let Ok(b) = RecordBatch::try_new(schema(), cols) {
            self.batches.push(b);
        }
        self.rows = 0;
    }
}

/// Parses a money or quantity value: optional currency sign, thousands separators, a
/// trailing `%` is not allowed. Returns micro-units.
pub(crate) fn parse_scaled(s: &str) -> Result<i64, &'static str> {
    if let Some(v) = parse_decimal(s.as_bytes()) {
        return Ok(v);
    }
    let mut t = s.trim();
    for sym in ['¥', '￥', '$', '€', '£'] {
        if let Some(rest) = t.strip_prefix(sym) {
            t = rest.trim_start();
        }
        if let Some(rest) = t.strip_prefix('-').and_then(|r| r.strip_prefix(sym)) {
            // "-$5" → "-5"
            return parse_plain(&format!("-{}", rest.trim_start()));
        }
    }
    if t.contains(',') {
        return parse_plain(&t.replace(',', ""));
    }
    parse_plain(t)
}

/// The common case without going through `f64`: `[-]D[.D]` with at most 10 integer digits, at
/// most 6 decimals and a magnitude of at most 1e9. The result is the same as the float path's:
/// there the value is exact to within 0.25 micro-units (two roundings of relative size 2^-53
/// on at most 1e15 micro-units), so its rounding lands on the same integer. Anything else
/// (signs, symbols, separators, spaces, exponents, more decimals) returns `None`.
fn parse_decimal(b: &[u8]) -> Option<i64> {
    let (neg, b) = match b.first()? {
        b'-' => (true, &b[1..]),
        _ => (false, b),
    };
    let int_len = b.iter().take_while(|c| c.is_ascii_digit()).count();
    if int_len == 0 || int_len > 10 {
        return None;
    }
    let mut v: i64 = 0;
    for &c in &b[..int_len] {
        v = v * 10 + i64::from(c - b'0');
    }
    let mut scale: i64 = 1_000_000;
    v *= scale;
    let rest = &b[int_len..];
    if let Some((&b'.', frac)) = rest.split_first() {
        if frac.len() > 6 {
            return None;
        }
        for &c in frac {
            if !c.is_ascii_digit() {
                return None;
            }
            scale /= 10;
            v += i64::from(c - b'0') * scale;
        }
    } else if !rest.is_empty() {
        return None;
    }
    if v > 1_000_000_000_000_000 {
        return None;
    }
    Some(if neg { -v } else { v })
}

fn parse_plain(t: &str) -> Result<i64, &'static str> {
    let v: f64 = t.parse().map_err(|_| "is not a number")?;
    to_scaled(v)
}

pub(crate) fn to_scaled(v: f64) -> Result<i64, &'static str> {
    if !v.is_finite() {
        return Err("is not a finite number");
    }
    if v.abs() > MAX_ABS_VALUE {
        return Err("is too large (limit 1e9 per row)");
    }
    Ok((v * MONEY_SCALE).round() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money() {
        assert_eq!(parse_scaled("12.5"), Ok(12_500_000));
        assert_eq!(parse_scaled(" -3 "), Ok(-3_000_000));
        assert_eq!(parse_scaled("¥1,234.5"), Ok(1_234_500_000));
        assert_eq!(parse_scaled("-$5"), Ok(-5_000_000));
        assert_eq!(parse_scaled("1e3"), Ok(1_000_000_000));
        assert!(parse_scaled("abc").is_err());
        assert!(parse_scaled("NaN").is_err());
        assert!(parse_scaled("inf").is_err());
        assert!(parse_scaled("").is_err());
        assert!(parse_scaled("1e10").is_err());
        assert_eq!(parse_scaled("5."), Ok(5_000_000));
        assert_eq!(parse_scaled("-0"), Ok(0));
        assert_eq!(parse_scaled("1000000000"), Ok(1_000_000_000_000_000));
        assert!(parse_scaled("1000000000.000001").is_err());
        assert!(parse_scaled("-").is_err());
        assert!(parse_scaled("-.").is_err());
        assert!(parse_scaled("1.2.3").is_err());
    }

    /// The integer fast path gives what the float path gives, wherever it applies.
    fn via_float(s: &str) -> Result<i64, &'static str> {
        parse_plain(s.trim())
    }

    proptest::proptest! {
        #[test]
        fn decimal_fast_path_matches_float(
            neg in proptest::bool::ANY,
            int in 0u64..=1_000_000_000,
            frac in 0u32..1_000_000,
            decimals in 0usize..=7,
        ) {
            let f = format!("{frac:06}");
            let s = match decimals {
                0 => format!("{}{int}", if neg { "-" } else { "" }),
                7 => format!("{}{int}.{f}1", if neg { "-" } else { "" }),
                d => format!("{}{int}.{}", if neg { "-" } else { "" }, &f[..d]),
            };
            proptest::prop_assert_eq!(parse_scaled(&s), via_float(&s), "{}", s);
        }

        #[test]
        fn decimal_fast_path_matches_float_small(
            neg in proptest::bool::ANY,
            int in 0u64..100_000,
            frac in 0u32..1_000_000,
            decimals in 1usize..=6,
        ) {
            let f = format!("{frac:06}");
            let s = format!("{}{int}.{}", if neg { "-" } else { "" }, &f[..decimals]);
            proptest::prop_assert_eq!(parse_scaled(&s), via_float(&s), "{}", s);
        }
    }
}
