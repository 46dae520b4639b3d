//! The buckets' folds, from the executors, merged into what one fold of all the rows makes:
//! the table in customer-id order, the as-of accounting added up, the detail placed by
//! [`clientele_ingest::merge_details`].

use std::borrow::Cow;

use clientele_core::{ColumnData, CustomerTable};
use clientele_ingest::{AsOfCounts, IngestOptions, PartDetail, PartTable};

use crate::DistributedError;

/// The merged folds of every bucket.
pub(crate) struct Merged {
    pub table: CustomerTable,
    pub counts: AsOfCounts,
    /// With [`clientele_ingest::IngestOptions::monthly_activity`]; the seasonality as exact
    /// sums ([`PartDetail::into_merged`] makes the totals).
    pub detail: Option<PartDetail>,
    /// With [`clientele_ingest::IngestOptions::holdout_end`]: one per row of the table.
    pub holdout: Option<Vec<f64>>,
}

fn internal(reason: String) -> DistributedError {
    DistributedError::Internal {
        step: "merging the buckets' folds",
        reason,
    }
}

/// The columns of all buckets in the fold's order ([`clientele_ingest::order_as_fold`]).
fn column_order(
    parts: &[PartTable],
    opts: &IngestOptions,
) -> Result<Vec<String>, DistributedError> {
    let mut order: Vec<String> = Vec::new();
    for p in parts {
        for c in p.table.columns() {
            if !order.contains(&c.name) {
                order.push(c.name.clone());
            }
        }
    }
    let own = clientele_ingest::order_as_fold(&mut order, String::as_str, opts)?;
    if let Some(n) = order.get(own) {
        return Err(internal(format!(
            "a bucket has a column {n} the fold does not make"
        )));
    }
    Ok(order)
}

/// Merges `parts` (each sorted by id; a customer is in one part).
pub(crate) fn merge(
    parts: Vec<PartTable>,
    opts: &IngestOptions,
) -> Result<Merged, DistributedError> {
    let n: usize = parts.iter().map(|p| p.table.len()).sum();
    // every customer's (bucket, row), in id order
    let mut at: Vec<(usize, usize)> = parts
        .iter()
        .enumerate()
        .flat_map(|(k, p)| (0..p.table.len()).map(move |r| (k, r)))
        .collect();
    at.sort_unstable_by(|&(a, i), &(b, j)| parts[a].table.ids()[i].cmp(&parts[b].table.ids()[j]));
    if at
        .windows(2)
        .any(|w| parts[w[0].0].table.ids()[w[0].1] == parts[w[1].0].table.ids()[w[1].1])
    {
        return Err(internal("a customer is in two buckets".into()));
    }
    let mut rows: Vec<Vec<u32>> = parts.iter().map(|p| vec![0; p.table.len()]).collect();
    for (g, &(k, r)) in at.iter().enumerate() {
        rows[k][r] = g as u32;
    }
    let mut table = CustomerTable::new(
        at.iter()
            .map(|&(k, r)| parts[k].table.ids()[r].to_string())
            .collect(),
    );
    for name in column_order(&parts, opts)? {
        let template = parts
            .iter()
            .find_map(|p| p.table.get(&name))
            .ok_or_else(|| internal(format!("no bucket has {name}")))?;
        // each bucket's column, or what its customers would have without it
        let cols: Vec<Cow<'_, ColumnData>> = parts
            .iter()
            .map(|p| match p.table.get(&name) {
                Some(c) if c.type_name() == template.type_name() => Ok(Cow::Borrowed(c)),
                Some(c) => Err(internal(format!(
                    "{name} is {} in one bucket and {} in another",
                    c.type_name(),
                    template.type_name()
                ))),
                None => Ok(Cow::Owned(clientele_ingest::absent_column(
                    &name,
                    template,
                    p.table.len(),
                ))),
            })
            .collect::<Result<_, _>>()?;
        let data = gather(template, &cols, &at);
        table
            .push(name, data)
            .map_err(|e| internal(e.to_string()))?;
    }
    debug_assert_eq!(table.len(), n);
    let holdout = match opts.holdout_end {
        Some(_) => {
            let days: Vec<&Vec<f64>> = parts.iter().filter_map(|p| p.holdout.as_ref()).collect();
            if days.len() != parts.len() {
                return Err(internal("some buckets came without the holdout".into()));
            }
            Some(at.iter().map(|&(k, r)| days[k][r]).collect())
        }
        None => None,
    };
    let mut counts = AsOfCounts::default();
    let mut details = Vec::with_capacity(parts.len());
    for p in parts {
        counts.add(&p.counts);
        details.extend(p.detail);
    }
    let detail = if details.is_empty() {
        None
    } else if details.len() == rows.len() {
        Some(
            clientele_ingest::merge_part_details(details, &rows)
                .map_err(|e| internal(e.to_string()))?,
        )
    } else {
        return Err(internal("some buckets came without their detail".into()));
    };
    Ok(Merged {
        table,
        counts,
        detail,
        holdout,
    })
}

/// The values of `cols` (one per bucket) in the order `at` lists (bucket, row).
fn gather(
    template: &ColumnData,
    cols: &[Cow<'_, ColumnData>],
    at: &[(usize, usize)],
) -> ColumnData {
    macro_rules! pick {
        ($variant:ident) => {
            ColumnData::$variant(
                at.iter()
                    .map(|&(k, r)| match cols[k].as_ref() {
                        ColumnData::$variant(v) => v.get(r),
                        _ => None,
                    })
                    .collect::<Vec<_>>()
                    .into(),
            )
        };
    }
    match template {
        ColumnData::Int(_) => pick!(Int),
        ColumnData::Float(_) => pick!(Float),
        ColumnData::Date(_) => pick!(Date),
        ColumnData::Text(_) => ColumnData::Text(
            at.iter()
                .map(|&(k, r)| match cols[k].as_ref() {
                    ColumnData::Text(v) => v.get(r).map(str::to_string),
                    _ => None,
                })
                .collect::<Vec<_>>()
                .into(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use clientele_core::Day;
    use datafusion::arrow::array::{Date32Array, Int64Array, RecordBatch, StringArray};

    use super::*;

    /// Rows of `ids` (one category, profit and quantity only for some), folded whole and by
    /// `parts` buckets of the customer hash.
    fn folds(parts: usize) -> (PartTable, Merged) {
        let ids: Vec<String> = (0..60).map(|i| format!("c{:03}", (i * 7) % 23)).collect();
        let n = ids.len();
        let rows = RecordBatch::try_new(
            clientele_ingest::validated_schema(),
            vec![
                Arc::new(StringArray::from_iter_values(ids.iter())),
                Arc::new(Date32Array::from_iter_values(
                    (0..n).map(|i| 19000 + (i as i32 * 5) % 97),
                )),
                Arc::new(Int64Array::from_iter_values(
                    (0..n).map(|i| (i as i64 * 1_234_567) % 9_000_000 - 1_000_000),
                )),
                Arc::new(Int64Array::from_iter(
                    (0..n).map(|i| (i % 3 == 0).then_some(i as i64)),
                )),
                Arc::new(StringArray::from_iter(
                    (0..n).map(|i| (i == 4).then_some("toys")),
                )),
                Arc::new(Int64Array::from_iter(
                    (0..n).map(|i| (i == 9).then_some(5_000_000)),
                )),
                Arc::new(Int64Array::from_iter(
                    (0..n).map(|i| (i % 11 == 0).then_some(2_000_000)),
                )),
            ],
        )
        .unwrap();
        let mut opts = clientele_ingest::IngestOptions::new(Vec::new());
        opts.monthly_activity = true;
        opts.holdout_end = Some(Day(19095));
        let as_of = Day(19090);
        let whole = clientele_ingest::fold_part([&rows], as_of, &opts).unwrap();
        let bucket: Vec<usize> = ids
            .iter()
            .map(|id| clientele_ingest::part_of(id, parts))
            .collect();
        let folded: Vec<PartTable> = (0..parts)
            .map(|k| {
                let keep: Vec<u32> = (0..n as u32).filter(|&i| bucket[i as usize] == k).collect();
                let idx = datafusion::arrow::array::UInt32Array::from(keep);
                let b = datafusion::arrow::compute::take_record_batch(&rows, &idx).unwrap();
                let p = clientele_ingest::fold_part([&b], as_of, &opts).unwrap();
                crate::wire::decode(&crate::wire::encode(&p).unwrap()).unwrap()
            })
            .collect();
        (whole, merge(folded, &opts).unwrap())
    }

    #[test]
    fn buckets_merged_equal_the_whole_fold() {
        for parts in [1, 3, 16] {
            let (whole, merged) = folds(parts);
            let (a, b) = (&whole.table, &merged.table);
            assert_eq!(a.ids(), b.ids(), "{parts} buckets");
            assert_eq!(a.column_names(), b.column_names(), "{parts} buckets");
            for (x, y) in a.columns().iter().zip(b.columns()) {
                assert_eq!(x.data.type_name(), y.data.type_name(), "{}", x.name);
                for i in 0..a.len() {
                    assert_eq!(
                        x.data.number(i).map(f64::to_bits),
                        y.data.number(i).map(f64::to_bits),
                        "{} row {i}, {parts} buckets",
                        x.name
                    );
                    assert_eq!(x.data.text(i), y.data.text(i), "{} row {i}", x.name);
                }
            }
            assert_eq!(whole.counts, merged.counts);
            let (d, m) = (whole.detail.unwrap(), merged.detail.unwrap());
            assert_eq!(d.months, m.months);
            assert_eq!(d.category_spend, m.category_spend);
            assert_eq!(d.categories, m.categories);
            assert_eq!(d.seasonality, m.seasonality);
            let days = whole.holdout.as_ref().expect("the holdout asked for");
            assert!(days.iter().sum::<f64>() > 0.0, "purchases in the holdout");
            assert_eq!(Some(days), merged.holdout.as_ref(), "{parts} buckets");
        }
    }
}
