//! Rows mapped to a few labelled groups: a column by value (`categorical`) or a measure by
//! quantile bands (`banded`). The building block of breakdowns and per-grade tables.

use std::collections::HashMap;

use clientele_core::ColumnData;

use crate::input::Lang;

/// Label lookups hash a million short values; the labels are the user's own data, so a fast
/// fixed-seed hash is enough (and the maps are only looked up, never iterated).
type FastHash = foldhash::fast::FixedState;

/// A number for a label: integers without decimals, others with up to 2 significant decimals.
pub(crate) fn fmt_num(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        return format!("{}", x as i64);
    }
    let mag = x.abs().log10().floor() as i32;
    let decimals = (1 - mag).clamp(0, 12) as usize;
    let s = format!("{x:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// `x` rounded to 2 significant digits, so band cut points read like 25, 35, 52000.
pub(crate) fn round_sig2(x: f64) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let mag = x.abs().log10().floor() as i32;
    let p = 10f64.powi(mag - 1);
    let r = (x / p).round() * p;
    // Re-round through the decimal rendering to drop binary noise (0.30000000000000004).
    fmt_num(r).parse().unwrap_or(r)
}

/// Rows mapped to a few labelled groups. `labels[codes[i]]` is row `i`'s group.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Groups {
    pub labels: Vec<String>,
    pub codes: Vec<u32>,
}

const MISSING: u32 = u32::MAX;

/// The sorted distinct values when there are at most `max`, else `None` (stops early).
fn distinct_up_to(xs: &[f64], max: usize) -> Option<Vec<f64>> {
    let mut d: Vec<f64> = Vec::with_capacity(max + 1);
    for &x in xs {
        if !d.contains(&x) {
            if d.len() == max {
                return None;
            }
            d.push(x);
        }
    }
    d.sort_by(f64::total_cmp);
    Some(d)
}

/// Type-7 quantiles at k/bands, k = 1..bands, by successive selection on the remaining right
/// part (O(n log bands) instead of a full sort). Reorders `xs` (non-empty).
fn quantiles(xs: &mut [f64], bands: usize) -> Vec<f64> {
    let n = xs.len();
    let mut out = Vec::with_capacity(bands - 1);
    let mut done = 0; // xs[..done] holds values <= everything in xs[done..]
    for k in 1..bands {
        let h = (n - 1) as f64 * k as f64 / bands as f64;
        let lo = h.floor() as usize;
        let frac = h - lo as f64;
        let a = if lo >= done {
            let (_, a, _) = xs[done..].select_nth_unstable_by(lo - done, f64::total_cmp);
            done = lo;
            *a
        } else {
            xs[lo]
        };
        let b = if frac > 0.0 && lo + 1 < n {
            xs[lo + 1..].iter().copied().fold(f64::INFINITY, f64::min)
        } else {
            a
        };
        out.push(a + (b - a) * frac);
    }
    out
}

/// Raw distinct values (first-seen order) and per-row codes, `MISSING` for nulls.
fn raw_codes(col: &ColumnData) -> (Vec<String>, Vec<u32>) {
    let n = col.len();
    let mut labels = Vec::new();
    let mut codes = Vec::with_capacity(n);
    match col {
        ColumnData::Text(v) => {
            // the column's own codes, renumbered in first-seen order over the values in use
            let mut renum = vec![MISSING; v.labels().len()];
            for i in 0..n {
                codes.push(match v.code(i) {
                    None => MISSING,
                    Some(c) => {
                        let r = &mut renum[c as usize];
                        if *r == MISSING {
                            *r = labels.len() as u32;
                            labels.push(v.labels()[c as usize].clone());
                        }
                        *r
                    }
                });
            }
        }
        _ => {
            let mut map: HashMap<String, u32, FastHash> = HashMap::default();
            for i in 0..n {
                codes.push(match col.text(i) {
                    None => MISSING,
                    Some(s) => match map.get(&s) {
                        Some(&c) => c,
                        None => {
                            labels.push(s.clone());
                            let c = (labels.len() - 1) as u32;
                            map.insert(s, c);
                            c
                        }
                    },
                });
            }
        }
    }
    (labels, codes)
}

/// Groups a column by value: the `max_values` most common values (ties by label), then
/// "(other)" and "(unknown)" when present. Kept values are in numeric order when they are all
/// numbers (scores, cluster ids), else by customers descending.
pub(crate) fn categorical(col: &ColumnData, max_values: usize, lang: Lang) -> Groups {
    let (raw, codes) = raw_codes(col);
    let mut counts = vec![0u64; raw.len()];
    let mut missing = 0u64;
    for &c in &codes {
        if c == MISSING {
            missing += 1;
        } else {
            counts[c as usize] += 1;
        }
    }
    let mut order: Vec<u32> = (0..raw.len() as u32).collect();
    order.sort_by(|&a, &b| {
        counts[b as usize]
            .cmp(&counts[a as usize])
            .then_with(|| raw[a as usize].cmp(&raw[b as usize]))
    });
    let kept = order.len().min(max_values);
    let has_other = order.len() > kept;
    let mut keep = order[..kept].to_vec();
    let nums: Option<Vec<f64>> = keep
        .iter()
        .map(|&c| raw[c as usize].parse::<f64>().ok())
        .collect();
    if let Some(nums) = nums {
        let mut pairs: Vec<(f64, u32)> = nums.into_iter().zip(keep.iter().copied()).collect();
        pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
        keep = pairs.into_iter().map(|p| p.1).collect();
    }
    let mut remap = vec![0u32; raw.len()];
    let mut labels: Vec<String> = Vec::with_capacity(kept + 2);
    for &c in &keep {
        remap[c as usize] = labels.len() as u32;
        labels.push(raw[c as usize].clone());
    }
    if has_other {
        let o = labels.len() as u32;
        for &c in &order[kept..] {
            remap[c as usize] = o;
        }
        labels.push(crate::input::other_label(lang).to_string());
    }
    let unknown = labels.len() as u32;
    if missing > 0 {
        labels.push(crate::input::unknown_label(lang).to_string());
    }
    let codes = codes
        .into_iter()
        .map(|c| {
            if c == MISSING {
                unknown
            } else {
                remap[c as usize]
            }
        })
        .collect();
    Groups { labels, codes }
}

/// Bands a numeric column at quantile cut points rounded to 2 significant digits, in value
/// order, then "(unknown)". Integer data with at most `bands` distinct values gets one group
/// per value; integer bands read "25–34" (inclusive), real bands "25–35" meaning [25, 35).
pub(crate) fn banded(values: &[Option<f64>], bands: usize, lang: Lang) -> Groups {
    let mut xs: Vec<f64> = values.iter().flatten().copied().collect();
    let any_missing = xs.len() < values.len();
    let mut labels = Vec::new();
    let mut cuts: Vec<f64> = Vec::new();
    if !xs.is_empty() {
        let (min, max) = xs
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| {
                (a.min(x), b.max(x))
            });
        let integer = xs.iter().all(|x| x.fract() == 0.0);
        let few = if integer {
            distinct_up_to(&xs, bands)
        } else {
            None
        };
        if let Some(distinct) = few {
            // One band per value: cut at every value after the first.
            cuts = distinct[1..].to_vec();
            labels = distinct.iter().map(|&x| fmt_num(x)).collect();
        } else {
            for q in quantiles(&mut xs, bands) {
                let mut c = round_sig2(q);
                if integer {
                    c = c.round();
                }
                if c > min && c <= max && cuts.last().is_none_or(|&l| c > l) {
                    cuts.push(c);
                }
            }
            if cuts.is_empty() {
                labels.push(if min == max {
                    fmt_num(min)
                } else {
                    format!("{}–{}", fmt_num(min), fmt_num(max))
                });
            } else {
                labels.push(format!("<{}", fmt_num(cuts[0])));
                for w in cuts.windows(2) {
                    labels.push(if integer {
                        if w[1] - 1.0 == w[0] {
                            fmt_num(w[0])
                        } else {
                            format!("{}–{}", fmt_num(w[0]), fmt_num(w[1] - 1.0))
                        }
                    } else {
                        format!("{}–{}", fmt_num(w[0]), fmt_num(w[1]))
                    });
                }
                labels.push(format!("≥{}", fmt_num(cuts[cuts.len() - 1])));
            }
        }
    }
    let unknown = labels.len() as u32;
    if any_missing {
        labels.push(crate::input::unknown_label(lang).to_string());
    }
    let codes = values
        .iter()
        .map(|v| match v {
            None => unknown,
            Some(x) => cuts.partition_point(|&c| c <= *x) as u32,
        })
        .collect();
    Groups { labels, codes }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::quantile_sorted;

    #[test]
    fn selection_quantiles_match_sorting() {
        let mut xs: Vec<f64> = (0..1001u64)
            .map(|i| ((i * 7919) % 1009) as f64 / 3.0)
            .collect();
        let mut sorted = xs.clone();
        sorted.sort_by(f64::total_cmp);
        for bands in [2, 3, 5, 7, 20] {
            let q = quantiles(&mut xs, bands);
            for (k, v) in q.iter().enumerate() {
                let want = quantile_sorted(&sorted, (k + 1) as f64 / bands as f64);
                assert!((v - want).abs() < 1e-9, "{bands} {k}: {v} vs {want}");
            }
        }
        assert_eq!(quantiles(&mut [4.0], 4), [4.0, 4.0, 4.0]);
    }

    #[test]
    fn number_labels() {
        assert_eq!(fmt_num(25.0), "25");
        assert_eq!(fmt_num(0.05), "0.05");
        assert_eq!(fmt_num(2.5), "2.5");
        assert_eq!(fmt_num(1234.567), "1235");
        assert_eq!(round_sig2(51234.0), 51000.0);
        assert_eq!(round_sig2(0.3049), 0.3);
        assert_eq!(round_sig2(34.5), 35.0);
    }

    #[test]
    fn categorical_caps_and_orders() {
        let col = ColumnData::Text(
            ["b", "a", "b", "c", "d", "b", "a"]
                .iter()
                .map(|s| Some(s.to_string()))
                .chain([None])
                .collect(),
        );
        let g = categorical(&col, 2, Lang::En);
        assert_eq!(g.labels, ["b", "a", "(other)", "(unknown)"]);
        assert_eq!(g.codes, [0, 1, 0, 2, 2, 0, 1, 3]);
        let ints = ColumnData::Int(vec![Some(10), Some(2), Some(2), None].into());
        let g = categorical(&ints, 5, Lang::Zh);
        assert_eq!(g.labels, ["2", "10", "(未知)"]);
        assert_eq!(g.codes, [1, 0, 0, 2]);
    }

    #[test]
    fn bands_read_like_ages() {
        let ages: Vec<Option<f64>> = (18..=77).map(|a| Some(a as f64)).chain([None]).collect();
        let g = banded(&ages, 4, Lang::En);
        assert_eq!(g.labels, ["<33", "33–47", "48–61", "≥62", "(unknown)"]);
        assert_eq!(g.codes[0], 0);
        assert_eq!(g.codes[(33 - 18) as usize], 1);
        assert_eq!(g.codes[(61 - 18) as usize], 2);
        assert_eq!(g.codes[(62 - 18) as usize], 3);
        assert_eq!(*g.codes.last().unwrap_or(&0), 4);
        let few = [Some(1.0), Some(0.0), Some(1.0)];
        assert_eq!(banded(&few, 5, Lang::En).labels, ["0", "1"]);
        assert_eq!(banded(&few, 5, Lang::En).codes, [1, 0, 1]);
        let same = [Some(2.5), Some(2.5)];
        assert_eq!(banded(&same, 3, Lang::En).labels, ["2.5"]);
        assert!(banded(&[None], 3, Lang::En).labels == ["(unknown)"]);
        assert!(banded(&[], 3, Lang::En).labels.is_empty());
    }
}
