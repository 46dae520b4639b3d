//! Customers ranked by a value, largest first, ties by id: the order of value tiers, the
//! Pareto curve and the best-customer list.

use rayon::slice::ParallelSliceMut;

use crate::Ids;

/// Rows from which the ranking sorts on every core (below it, threads cost more than they save).
const PARALLEL_SORT: usize = 1 << 16;

/// A float as a 64-bit key whose unsigned order is `f64::total_cmp`'s.
pub fn float_key(x: f64) -> u64 {
    let b = x.to_bits();
    if b >> 63 == 1 { !b } else { b | (1 << 63) }
}

/// The `rows` (row index, value) ordered by value, largest first (`total_cmp` order), equal
/// values by id ([`largest_few`] for only the first few). Values become 64-bit keys and only
/// runs of equal keys compare ids: at millions of customers comparing through the ids on
/// every step took seconds.
pub fn largest_first(ids: &Ids, rows: &[(usize, f64)]) -> Vec<usize> {
    let mut keyed: Vec<(u64, usize)> = rows.iter().map(|&(i, v)| (!float_key(v), i)).collect();
    // (key, row) pairs are all distinct: any sort gives this order, all cores' too
    if keyed.len() >= PARALLEL_SORT {
        keyed.par_sort_unstable();
    } else {
        keyed.sort_unstable();
    }
    // Equal values in row order: by id already when the ids ascend (every table the fold
    // makes), found at the first tie; otherwise each run of ties sorted by id.
    let mut by_row_is_by_id = None;
    let mut start = 0;
    while start < keyed.len() {
        let key = keyed[start].0;
        let end = start + keyed[start..].partition_point(|k| k.0 == key);
        if end - start > 1 {
            if *by_row_is_by_id.get_or_insert_with(|| ids.is_ascending()) {
                break;
            }
            keyed[start..end].sort_unstable_by(|a, b| ids.get(a.1).cmp(ids.get(b.1)));
        }
        start = end;
    }
    keyed.into_iter().map(|(_, i)| i).collect()
}

/// The first `n` of [`largest_first`] of `rows`, without holding every row: the best
/// customers of millions, read as they come, with at most `2n` candidates at a time.
pub fn largest_few(
    ids: &Ids,
    rows: impl IntoIterator<Item = (usize, f64)>,
    n: usize,
) -> Vec<usize> {
    if n == 0 {
        return Vec::new();
    }
    let by_key_then_id = |a: &(u64, usize), b: &(u64, usize)| {
        a.0.cmp(&b.0).then_with(|| ids.get(a.1).cmp(ids.get(b.1)))
    };
    let mut kept: Vec<(u64, usize)> = Vec::with_capacity(2 * n);
    // the n-th best so far, once there have been n: a row after it cannot be among the best
    let mut bar: Option<(u64, usize)> = None;
    for (i, v) in rows {
        let row = (!float_key(v), i);
        if bar.is_some_and(|b| by_key_then_id(&row, &b).is_gt()) {
            continue;
        }
        kept.push(row);
        if kept.len() == 2 * n {
            kept.select_nth_unstable_by(n - 1, by_key_then_id);
            kept.truncate(n);
            bar = kept.iter().copied().max_by(by_key_then_id);
        }
    }
    if kept.len() > n {
        kept.select_nth_unstable_by(n - 1, by_key_then_id);
        kept.truncate(n);
    }
    kept.sort_unstable_by(by_key_then_id);
    kept.into_iter().map(|(_, i)| i).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ids(v: &[String]) -> Ids {
        let mut ids = Ids::new();
        for s in v {
            ids.push(s);
        }
        ids
    }

    proptest! {
        /// The same order as a comparison sort by (value descending, id).
        #[test]
        fn equals_the_comparison_sort(
            values in prop::collection::vec(prop_oneof![Just(1.5), Just(-0.0), Just(0.0), -3.0f64..3.0], 0..60),
            take in prop::option::of(0usize..70),
        ) {
            let names: Vec<String> = (0..values.len()).map(|i| format!("c{}", (i * 7919) % 61)).collect();
            let ids = ids(&names);
            let rows: Vec<(usize, f64)> = values.iter().copied().enumerate().collect();
            let mut want: Vec<usize> = (0..values.len()).collect();
            want.sort_by(|&a, &b| values[b].total_cmp(&values[a]).then_with(|| ids.get(a).cmp(ids.get(b))));
            if let Some(n) = take { want.truncate(n); }
            let got = match take {
                Some(n) => largest_few(&ids, rows.iter().copied(), n),
                None => largest_first(&ids, &rows),
            };
            // equal (value, id) pairs may come in either order: compare what they show
            let show = |v: &[usize]| -> Vec<(u64, String)> { v.iter().map(|&i| (values[i].to_bits(), names[i].clone())).collect() };
            prop_assert_eq!(show(&got), show(&want));
        }

        /// Ids in ascending order (a folded table's), some rows left out: ties come in id
        /// order, row for row the comparison sort's.
        #[test]
        fn ascending_ids_order_ties_as_the_comparison_sort(
            values in prop::collection::vec(prop_oneof![Just(1.5), Just(-0.0), Just(0.0), Just(2.0)], 0..80),
            kept in prop::collection::vec(any::<bool>(), 80),
        ) {
            let names: Vec<String> = (0..values.len()).map(|i| format!("c{i:03}")).collect();
            let ids = ids(&names);
            prop_assert!(ids.is_ascending());
            let rows: Vec<(usize, f64)> = values.iter().copied().enumerate().filter(|&(i, _)| kept[i]).collect();
            let mut want: Vec<usize> = rows.iter().map(|&(i, _)| i).collect();
            want.sort_by(|&a, &b| values[b].total_cmp(&values[a]).then_with(|| ids.get(a).cmp(ids.get(b))));
            prop_assert_eq!(largest_first(&ids, &rows), want);
        }
    }

    proptest! {
        /// The first few of the whole ranking, rows read one by one.
        #[test]
        fn the_few_largest_are_the_rankings_first(
            values in prop::collection::vec(prop_oneof![Just(1.5), Just(-0.0), Just(0.0), -3.0f64..3.0], 0..300),
            n in 0usize..40,
            ascending in any::<bool>(),
        ) {
            let names: Vec<String> = (0..values.len()).map(|i| format!("c{}", (i * 7919) % 307)).collect();
            let ids = ids(&names);
            let mut rows: Vec<(usize, f64)> = values.iter().copied().enumerate().collect();
            if ascending {
                rows.sort_by(|a, b| a.1.total_cmp(&b.1));
            }
            let mut first = largest_first(&ids, &rows);
            first.truncate(n);
            prop_assert_eq!(largest_few(&ids, rows.iter().copied(), n), first);
        }
    }

    #[test]
    fn a_ranking_sorted_on_every_core_is_the_comparison_sorts() {
        // past PARALLEL_SORT rows, with ties and ids not in row order
        let n = PARALLEL_SORT + 4321;
        let names: Vec<String> = (0..n).map(|i| format!("c{}", (i * 7919) % n)).collect();
        let ids = ids(&names);
        let values: Vec<f64> = (0..n)
            .map(|i| ((i * 2654435761) % 1000) as f64 / 7.0)
            .collect();
        let rows: Vec<(usize, f64)> = values.iter().copied().enumerate().collect();
        let mut want: Vec<usize> = (0..n).collect();
        want.sort_by(|&a, &b| {
            values[b]
                .total_cmp(&values[a])
                .then_with(|| ids.get(a).cmp(ids.get(b)))
        });
        assert_eq!(largest_first(&ids, &rows), want);
    }

    #[test]
    fn ascending_means_each_id_above_the_one_before() {
        let of = |v: &[&str]| ids(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert!(of(&[]).is_ascending());
        assert!(of(&["a"]).is_ascending());
        assert!(of(&["a", "ab", "b"]).is_ascending());
        assert!(!of(&["a", "a"]).is_ascending());
        assert!(!of(&["b", "a"]).is_ascending());
        assert!(!of(&["9", "10"]).is_ascending()); // text order, not number order
    }
}
