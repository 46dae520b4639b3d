//! A bucket's fold ([`PartTable`]) as bytes, from an executor to the client: six Arrow IPC
//! streams (the table, months, category spend, category names, the sums, and the holdout's
//! purchase days), each after its length. Every number travels as the fold made it (floats
//! bit for bit, money sums in micro-units), so the client's merge is the embedded run's.

use std::collections::BTreeMap;
use std::sync::Arc;

use clientele_core::{ColumnData, CustomerTable, Day};
use clientele_ingest::{
    AsOfCounts, CategorySpend, MonthActivity, PartDetail, PartTable, PeriodSums,
};
use datafusion::arrow::array::{
    ArrayRef, AsArray, BooleanArray, Date32Array, Decimal128Array, Float64Array, Int32Array,
    Int64Array, RecordBatch, StringArray, UInt32Array, UInt64Array,
};
use datafusion::arrow::datatypes::{
    DataType, Date32Type, Decimal128Type, Field, Float64Type, Int32Type, Int64Type, Schema,
    UInt32Type, UInt64Type,
};
use datafusion::arrow::ipc::reader::StreamReader;
use datafusion::arrow::ipc::writer::StreamWriter;

type Res<T> = std::result::Result<T, String>;

fn batch(fields: Vec<Field>, cols: Vec<ArrayRef>) -> Res<RecordBatch> {
    RecordBatch::try_new(Arc::new(Schema::new(fields)), cols).map_err(|e| e.to_string())
}

fn micros() -> DataType {
    DataType::Decimal128(38, 0)
}

fn decimals(v: impl IntoIterator<Item = i128>) -> Res<ArrayRef> {
    Ok(Arc::new(
        Decimal128Array::from_iter_values(v)
            .with_precision_and_scale(38, 0)
            .map_err(|e| e.to_string())?,
    ))
}

/// The bytes of `part`.
pub(crate) fn encode(part: &PartTable) -> Res<Vec<u8>> {
    let t = &part.table;
    let mut fields = vec![Field::new("customer_id", DataType::Utf8, false)];
    let mut cols: Vec<ArrayRef> = vec![Arc::new(StringArray::from_iter_values(t.ids().iter()))];
    for c in t.columns() {
        let (ty, a): (DataType, ArrayRef) = match &c.data {
            ColumnData::Int(v) => (DataType::Int64, Arc::new(Int64Array::from(v.to_vec()))),
            ColumnData::Float(v) => (DataType::Float64, Arc::new(Float64Array::from(v.to_vec()))),
            ColumnData::Date(v) => (
                DataType::Date32,
                Arc::new(Date32Array::from_iter(v.iter().map(|d| d.map(|d| d.0)))),
            ),
            ColumnData::Text(v) => (DataType::Utf8, Arc::new(StringArray::from_iter(v.iter()))),
        };
        fields.push(Field::new(c.name.as_str(), ty, true));
        cols.push(a);
    }
    let table = batch(fields, cols)?;
    let detail = part.detail.clone().unwrap_or_default();
    let m = &detail.months;
    let months = batch(
        vec![
            Field::new("customer", DataType::UInt32, false),
            Field::new("year", DataType::Int32, false),
            Field::new("month", DataType::UInt32, false),
            Field::new("revenue", DataType::Float64, false),
            Field::new("orders", DataType::UInt32, false),
        ],
        vec![
            Arc::new(UInt32Array::from_iter_values(m.iter().map(|m| m.customer))),
            Arc::new(Int32Array::from_iter_values(m.iter().map(|m| m.year))),
            Arc::new(UInt32Array::from_iter_values(m.iter().map(|m| m.month))),
            Arc::new(Float64Array::from_iter_values(m.iter().map(|m| m.revenue))),
            Arc::new(UInt32Array::from_iter_values(m.iter().map(|m| m.orders))),
        ],
    )?;
    let s = &detail.category_spend;
    let spend = batch(
        vec![
            Field::new("customer", DataType::UInt32, false),
            Field::new("category", DataType::UInt32, false),
            Field::new("revenue", DataType::Float64, false),
            Field::new("orders", DataType::UInt32, false),
        ],
        vec![
            Arc::new(UInt32Array::from_iter_values(s.iter().map(|s| s.customer))),
            Arc::new(UInt32Array::from_iter_values(s.iter().map(|s| s.category))),
            Arc::new(Float64Array::from_iter_values(s.iter().map(|s| s.revenue))),
            Arc::new(UInt32Array::from_iter_values(s.iter().map(|s| s.orders))),
        ],
    )?;
    let names = batch(
        vec![Field::new("category", DataType::Utf8, false)],
        vec![Arc::new(StringArray::from_iter_values(
            detail.categories.iter(),
        ))],
    )?;
    // row 0: the counts (and whether there is detail); rows 1..=19: weekdays, then months;
    // then one row per line day
    let (week, year) = &detail.seasonality;
    let periods: Vec<&PeriodSums> = week.iter().chain(year.iter()).collect();
    let c = &part.counts;
    let days: Vec<(i32, u64)> = part.line_days.iter().map(|(&d, &n)| (d, n)).collect();
    let rows = 1 + periods.len() + days.len();
    let mut a = Vec::with_capacity(rows);
    let mut b = Vec::with_capacity(rows);
    let mut x = Vec::with_capacity(rows);
    let mut y = Vec::with_capacity(rows);
    a.push(c.total_micros);
    b.push(c.return_only_micros);
    x.push(c.used);
    y.push(c.after_as_of);
    let mut z = vec![c.return_only_customers];
    for p in &periods {
        a.push(p.revenue_micros);
        b.push(0);
        x.push(p.occasions);
        y.push(p.customers);
        z.push(0);
    }
    for &(d, n) in &days {
        a.push(i128::from(d));
        b.push(0);
        x.push(n);
        y.push(0);
        z.push(0);
    }
    let sums = batch(
        vec![
            Field::new("a", micros(), false),
            Field::new("b", micros(), false),
            Field::new("x", DataType::UInt64, false),
            Field::new("y", DataType::UInt64, false),
            Field::new("z", DataType::UInt64, false),
            Field::new("detail", DataType::Boolean, false),
            Field::new("holdout", DataType::Boolean, false),
        ],
        vec![
            decimals(a)?,
            decimals(b)?,
            Arc::new(UInt64Array::from(x)),
            Arc::new(UInt64Array::from(y)),
            Arc::new(UInt64Array::from(z)),
            Arc::new(BooleanArray::from(vec![part.detail.is_some(); rows])),
            Arc::new(BooleanArray::from(vec![part.holdout.is_some(); rows])),
        ],
    )?;
    let holdout = batch(
        vec![Field::new("days", DataType::Float64, false)],
        vec![Arc::new(Float64Array::from_iter_values(
            part.holdout.iter().flatten().copied(),
        ))],
    )?;
    let mut out = Vec::new();
    for b in [table, months, spend, names, sums, holdout] {
        let mut bytes = Vec::new();
        let mut w = StreamWriter::try_new(&mut bytes, &b.schema()).map_err(|e| e.to_string())?;
        w.write(&b).map_err(|e| e.to_string())?;
        w.finish().map_err(|e| e.to_string())?;
        drop(w);
        out.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
        out.extend_from_slice(&bytes);
    }
    Ok(out)
}

/// The [`PartTable`] `bytes` were made from.
pub(crate) fn decode(mut bytes: &[u8]) -> Res<PartTable> {
    let mut batches = Vec::with_capacity(6);
    for _ in 0..6 {
        let (len, rest) = bytes.split_at_checked(8).ok_or("cut short")?;
        let len = u64::from_le_bytes(len.try_into().map_err(|_| "cut short")?) as usize;
        let (stream, rest) = rest.split_at_checked(len).ok_or("cut short")?;
        bytes = rest;
        let reader =
            StreamReader::try_new(std::io::Cursor::new(stream), None).map_err(|e| e.to_string())?;
        let mut parts = reader
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())?;
        if parts.len() != 1 {
            return Err(format!("{} batches in a stream", parts.len()));
        }
        batches.push(parts.remove(0));
    }
    let [table, months, spend, names, sums, holdout] =
        <[RecordBatch; 6]>::try_from(batches).map_err(|_| "not six streams".to_string())?;
    let table = table_of(&table)?;
    let col = |b: &RecordBatch, i: usize| -> Res<ArrayRef> {
        (i < b.num_columns())
            .then(|| Arc::clone(b.column(i)))
            .ok_or_else(|| format!("no column {i}"))
    };
    macro_rules! prim {
        ($b:expr, $i:expr, $t:ty) => {
            col($b, $i)?
                .as_primitive_opt::<$t>()
                .ok_or_else(|| format!("column {} has the wrong type", $i))?
                .clone()
        };
    }
    let (c0, y, m, r, o) = (
        prim!(&months, 0, UInt32Type),
        prim!(&months, 1, Int32Type),
        prim!(&months, 2, UInt32Type),
        prim!(&months, 3, Float64Type),
        prim!(&months, 4, UInt32Type),
    );
    let month_rows = (0..months.num_rows())
        .map(|i| MonthActivity {
            customer: c0.value(i),
            year: y.value(i),
            month: m.value(i),
            revenue: r.value(i),
            orders: o.value(i),
        })
        .collect();
    let (c0, k, r, o) = (
        prim!(&spend, 0, UInt32Type),
        prim!(&spend, 1, UInt32Type),
        prim!(&spend, 2, Float64Type),
        prim!(&spend, 3, UInt32Type),
    );
    let spend_rows = (0..spend.num_rows())
        .map(|i| CategorySpend {
            customer: c0.value(i),
            category: k.value(i),
            revenue: r.value(i),
            orders: o.value(i),
        })
        .collect();
    let categories = col(&names, 0)?
        .as_string_opt::<i32>()
        .ok_or("category names are not text")?
        .iter()
        .map(|s| s.unwrap_or_default().to_string())
        .collect();
    let (a, b, x, yy, z) = (
        prim!(&sums, 0, Decimal128Type),
        prim!(&sums, 1, Decimal128Type),
        prim!(&sums, 2, UInt64Type),
        prim!(&sums, 3, UInt64Type),
        prim!(&sums, 4, UInt64Type),
    );
    let detail_flag = col(&sums, 5)?;
    let detail_flag = detail_flag.as_boolean_opt().ok_or("no detail flag")?;
    let holdout_flag = col(&sums, 6)?;
    let holdout_flag = holdout_flag.as_boolean_opt().ok_or("no holdout flag")?;
    if sums.num_rows() < 20 {
        return Err("the sums are cut short".into());
    }
    let counts = AsOfCounts {
        used: x.value(0),
        after_as_of: yy.value(0),
        return_only_customers: z.value(0),
        total_micros: a.value(0),
        return_only_micros: b.value(0),
    };
    let period = |i: usize| PeriodSums {
        revenue_micros: a.value(i),
        occasions: x.value(i),
        customers: yy.value(i),
    };
    let week: [PeriodSums; 7] = std::array::from_fn(|i| period(1 + i));
    let year: [PeriodSums; 12] = std::array::from_fn(|i| period(8 + i));
    let line_days: BTreeMap<i32, u64> = (20..sums.num_rows())
        .map(|i| (a.value(i) as i32, x.value(i)))
        .collect();
    let holdout = if holdout_flag.value(0) {
        Some(prim!(&holdout, 0, Float64Type).values().to_vec())
    } else {
        None
    };
    if holdout.as_ref().is_some_and(|h| h.len() != table.len()) {
        return Err("the holdout's days are not one per customer".into());
    }
    Ok(PartTable {
        holdout,
        table,
        counts,
        line_days,
        detail: detail_flag.value(0).then_some(PartDetail {
            months: month_rows,
            category_spend: spend_rows,
            categories,
            seasonality: (week, year),
        }),
    })
}

fn table_of(b: &RecordBatch) -> Res<CustomerTable> {
    let ids = b
        .column(0)
        .as_string_opt::<i32>()
        .ok_or("the ids are not text")?;
    let mut t = CustomerTable::new(
        ids.iter()
            .map(|s| s.unwrap_or_default().to_string())
            .collect(),
    );
    for (f, a) in b.schema().fields().iter().zip(b.columns()).skip(1) {
        let data = match f.data_type() {
            DataType::Int64 => ColumnData::Int(
                a.as_primitive::<Int64Type>()
                    .iter()
                    .collect::<Vec<_>>()
                    .into(),
            ),
            DataType::Float64 => ColumnData::Float(
                a.as_primitive::<Float64Type>()
                    .iter()
                    .collect::<Vec<_>>()
                    .into(),
            ),
            DataType::Date32 => ColumnData::Date(
                a.as_primitive::<Date32Type>()
                    .iter()
                    .map(|d| d.map(Day))
                    .collect::<Vec<_>>()
                    .into(),
            ),
            DataType::Utf8 => ColumnData::Text(
                a.as_string::<i32>()
                    .iter()
                    .map(|s| s.map(str::to_string))
                    .collect::<Vec<_>>()
                    .into(),
            ),
            other => return Err(format!("column {} has type {other}", f.name())),
        };
        t.push(f.name().as_str(), data).map_err(|e| e.to_string())?;
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fold_survives_the_trip_bit_for_bit() {
        let mut opts = clientele_ingest::IngestOptions::new(Vec::new());
        opts.monthly_activity = true;
        let schema = clientele_ingest::validated_schema();
        let rows = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from(vec!["b", "a", "a", "c"])),
                Arc::new(Date32Array::from(vec![19000, 19001, 19040, 19002])),
                Arc::new(Int64Array::from(vec![1_234_567, 2_000_001, -500_000, 3])),
                Arc::new(Int64Array::from(vec![Some(7), None, Some(9), None])),
                Arc::new(StringArray::from(vec![Some("x"), None, Some("y"), None])),
                Arc::new(Int64Array::from(vec![Some(10), None, None, None])),
                Arc::new(Int64Array::from(vec![None, Some(2_000_000), None, None])),
            ],
        )
        .unwrap();
        let part = clientele_ingest::fold_part([&rows], Day(19050), &opts).unwrap();
        let back = decode(&encode(&part).unwrap()).unwrap();
        assert_eq!(back.table.ids(), part.table.ids());
        assert_eq!(back.table.column_names(), part.table.column_names());
        for (x, y) in back.table.columns().iter().zip(part.table.columns()) {
            for i in 0..part.table.len() {
                let same = match (x.data.number(i), y.data.number(i)) {
                    (Some(a), Some(b)) => a.to_bits() == b.to_bits(),
                    (a, b) => a == b && x.data.text(i) == y.data.text(i),
                };
                assert!(same, "{} row {i}", x.name);
            }
        }
        assert_eq!(back.counts, part.counts);
        assert_eq!(back.line_days, part.line_days);
        let (d, e) = (back.detail.unwrap(), part.detail.unwrap());
        assert_eq!(d.months, e.months);
        assert_eq!(d.category_spend, e.category_spend);
        assert_eq!(d.categories, e.categories);
        assert_eq!(d.seasonality, e.seasonality);
        assert_eq!(back.holdout, None);
        // with a holdout its purchase days travel too (a's row on day 19040 is a return: no
        // purchase day)
        opts.holdout_end = Some(Day(19060));
        let part = clientele_ingest::fold_part([&rows], Day(19030), &opts).unwrap();
        let back = decode(&encode(&part).unwrap()).unwrap();
        assert_eq!(back.holdout, part.holdout);
        assert_eq!(part.holdout.as_deref(), Some(&[0.0, 0.0, 0.0][..]));
        assert!(decode(&[1, 2, 3]).is_err());
    }
}
