//! Histograms of orders per customer, average order value and inter-purchase days.
//!
//! Bins are fixed by rule, not fitted, so two runs (or two snapshots) are comparable:
//! - orders: one bin per count 1..=10, then 11–20 and 21+ (a "<1" bin only when such values exist);
//! - money and days: 1-2-5 log-spaced edges (…, 1, 2, 5, 10, 20, 50, …) from the smallest to the
//!   largest positive value, at most 12 decades; zeros (and values below the first edge) share a
//!   first bin `0–e`, negatives (net returns) a `<0` bin. Bins are half-open `[lo, hi)`.

use serde::{Deserialize, Serialize};

use crate::stats::{div, quantile_select};

/// One histogram bin `[lo, hi)`; `None` is unbounded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Bin {
    /// Readable label, e.g. `3`, `11–20`, `50–100`.
    pub label: String,
    /// Inclusive lower edge.
    pub lo: Option<f64>,
    /// Exclusive upper edge.
    pub hi: Option<f64>,
    /// Customers in the bin.
    pub customers: u64,
    /// Share of customers with a value.
    pub share: f64,
}

/// Summary statistics of the non-missing values.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Stats {
    /// Arithmetic mean.
    pub mean: f64,
    /// Median (type-7 quantile).
    pub median: f64,
    /// 90th percentile (type-7).
    pub p90: f64,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
}

/// A histogram of one customer-table column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Histogram {
    /// Column name.
    pub column: String,
    /// Customers with a value.
    pub customers: u64,
    /// Customers without one (e.g. inter-purchase days of one-time buyers).
    pub missing: u64,
    /// Bins in value order; counts sum to `customers`.
    pub bins: Vec<Bin>,
    /// `None` when no customer has a value.
    pub stats: Option<Stats>,
}

/// The three behaviour distributions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Distributions {
    /// Column `orders`.
    pub orders: Histogram,
    /// Column `avg_order_value`.
    pub avg_order_value: Histogram,
    /// Column `avg_interpurchase_days`.
    pub avg_interpurchase_days: Histogram,
}

fn stats(values: &[Option<f64>]) -> Option<Stats> {
    let mut xs: Vec<f64> = values.iter().flatten().copied().collect();
    if xs.is_empty() {
        return None;
    }
    let mean = xs.iter().sum::<f64>() / xs.len() as f64;
    let (min, max) = xs
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| {
            (a.min(x), b.max(x))
        });
    let median = quantile_select(&mut xs, 0.5);
    // After selecting the median, the p90 lies in the upper half: select there only.
    let half = (xs.len() - 1) / 2;
    let p90 = if xs.len() > 2 {
        let h = (xs.len() - 1) as f64 * 0.9;
        let lo = h.floor() as usize;
        let rest = &mut xs[half..];
        let (_, a, right) = rest.select_nth_unstable_by(lo - half, f64::total_cmp);
        let a = *a;
        let frac = h - lo as f64;
        if frac == 0.0 || right.is_empty() {
            a
        } else {
            a + (right.iter().copied().fold(f64::INFINITY, f64::min) - a) * frac
        }
    } else {
        quantile_select(&mut xs, 0.9)
    };
    Some(Stats {
        mean,
        median,
        p90,
        min,
        max,
    })
}

fn finish(
    column: &str,
    values: &[Option<f64>],
    bins: Vec<(String, Option<f64>, Option<f64>, u64)>,
) -> Histogram {
    let customers: u64 = bins.iter().map(|b| b.3).sum();
    Histogram {
        column: column.to_string(),
        customers,
        missing: values.len() as u64 - customers,
        bins: bins
            .into_iter()
            .map(|(label, lo, hi, n)| Bin {
                label,
                lo,
                hi,
                customers: n,
                share: div(n as f64, customers as f64),
            })
            .collect(),
        stats: stats(values),
    }
}

/// Orders per customer: 1..=10, 11–20, 21+ (and "<1" when present).
pub fn orders_histogram(column: &str, values: &[Option<f64>]) -> Histogram {
    let mut counts = [0u64; 13]; // <1, 1..=10, 11–20, 21+
    for &x in values.iter().flatten() {
        let b = if x < 1.0 {
            0
        } else if x < 11.0 {
            x.floor() as usize
        } else if x < 21.0 {
            11
        } else {
            12
        };
        counts[b] += 1;
    }
    let mut bins = Vec::with_capacity(13);
    if counts[0] > 0 {
        bins.push(("<1".to_string(), None, Some(1.0), counts[0]));
    }
    for (k, &n) in counts.iter().enumerate().take(11).skip(1) {
        bins.push((k.to_string(), Some(k as f64), Some(k as f64 + 1.0), n));
    }
    bins.push(("11–20".to_string(), Some(11.0), Some(21.0), counts[11]));
    bins.push(("21+".to_string(), Some(21.0), None, counts[12]));
    finish(column, values, bins)
}

/// A 1-2-5 number `m × 10^e`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Nice {
    m: u8,
    e: i32,
}

impl Nice {
    fn value(self) -> f64 {
        f64::from(self.m) * 10f64.powi(self.e)
    }
    fn next(self) -> Nice {
        match self.m {
            1 => Nice { m: 2, e: self.e },
            2 => Nice { m: 5, e: self.e },
            _ => Nice {
                m: 1,
                e: self.e + 1,
            },
        }
    }
    /// Largest 1-2-5 number ≤ x (x > 0).
    fn floor(x: f64) -> Nice {
        let e = x.log10().floor() as i32;
        let m0 = x / 10f64.powi(e);
        let m = if m0 >= 5.0 {
            5
        } else if m0 >= 2.0 {
            2
        } else {
            1
        };
        let mut n = Nice { m, e };
        // Correct for log10 rounding at exact powers of ten.
        while n.value() > x {
            n = n.prev();
        }
        while n.next().value() <= x {
            n = n.next();
        }
        n
    }
    fn prev(self) -> Nice {
        match self.m {
            5 => Nice { m: 2, e: self.e },
            2 => Nice { m: 1, e: self.e },
            _ => Nice {
                m: 5,
                e: self.e - 1,
            },
        }
    }
    fn label(self) -> String {
        if self.e >= 0 {
            format!("{}{}", self.m, "0".repeat(self.e as usize))
        } else {
            format!("0.{}{}", "0".repeat((-self.e - 1) as usize), self.m)
        }
    }
}

/// Money or days on 1-2-5 log-spaced bins (see the module docs).
pub fn log_histogram(column: &str, values: &[Option<f64>]) -> Histogram {
    let mut neg = 0u64;
    let (mut lo, mut hi) = (f64::INFINITY, 0.0f64);
    for &x in values.iter().flatten() {
        if x < 0.0 {
            neg += 1;
        } else if x > 0.0 {
            lo = lo.min(x);
            hi = hi.max(x);
        }
    }
    let mut bins = Vec::new();
    if neg > 0 {
        bins.push(("<0".to_string(), None, Some(0.0), neg));
    }
    if hi == 0.0 {
        // No positive values: zeros only (or nothing).
        let zeros = values.iter().flatten().filter(|&&x| x == 0.0).count() as u64;
        if zeros > 0 {
            bins.push(("0".to_string(), Some(0.0), None, zeros));
        }
        return finish(column, values, bins);
    }
    let lo = lo.max(hi * 1e-12);
    let mut edges = vec![Nice::floor(lo)];
    while edges[edges.len() - 1].value() <= hi {
        let n = edges[edges.len() - 1].next();
        edges.push(n);
    }
    let ev: Vec<f64> = edges.iter().map(|n| n.value()).collect();
    // counts[0]: [0, e0); counts[i]: [e_{i-1}, e_i)
    let mut counts = vec![0u64; ev.len()];
    for &x in values.iter().flatten() {
        if x >= 0.0 {
            counts[ev.partition_point(|&e| e <= x).min(ev.len() - 1)] += 1;
        }
    }
    if counts[0] > 0 {
        bins.push((
            format!("0–{}", edges[0].label()),
            Some(0.0),
            Some(ev[0]),
            counts[0],
        ));
    }
    for i in 1..ev.len() {
        bins.push((
            format!("{}–{}", edges[i - 1].label(), edges[i].label()),
            Some(ev[i - 1]),
            Some(ev[i]),
            counts[i],
        ));
    }
    finish(column, values, bins)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn some(v: &[f64]) -> Vec<Option<f64>> {
        v.iter().map(|&x| Some(x)).collect()
    }

    #[test]
    fn orders_bins_are_fixed() {
        let mut v = some(&[1.0, 1.0, 2.0, 10.0, 11.0, 20.0, 21.0, 500.0]);
        v.push(None);
        let h = orders_histogram("orders", &v);
        let labels: Vec<&str> = h.bins.iter().map(|b| b.label.as_str()).collect();
        assert_eq!(labels[0], "1");
        assert_eq!(labels[10], "11–20");
        assert_eq!(labels[11], "21+");
        assert_eq!(h.bins[0].customers, 2);
        assert_eq!(h.bins[9].customers, 1);
        assert_eq!(h.bins[10].customers, 2);
        assert_eq!(h.bins[11].customers, 2);
        assert_eq!((h.customers, h.missing), (8, 1));
        let s = h.stats.unwrap();
        assert_eq!((s.min, s.max, s.median), (1.0, 500.0, 10.5));
        assert_eq!(h.bins[0].share, 0.25);
    }

    #[test]
    fn empty_and_single() {
        let h = orders_histogram("orders", &[]);
        assert_eq!(h.customers, 0);
        assert!(h.stats.is_none());
        assert!(h.bins.iter().all(|b| b.customers == 0 && b.share == 0.0));
        let h = log_histogram("aov", &[]);
        assert!(h.bins.is_empty());
        let h = log_histogram("aov", &[Some(30.0)]);
        assert_eq!(h.bins.len(), 1);
        assert_eq!(h.bins[0].label, "20–50");
        assert_eq!(h.stats.unwrap().p90, 30.0);
        let h = orders_histogram("orders", &[Some(0.0)]);
        assert_eq!(h.bins[0].label, "<1");
    }

    #[test]
    fn log_bins_cover_range() {
        let v = some(&[-5.0, 0.0, 0.05, 1.0, 2.0, 4.99, 5.0, 99.0, 100.0]);
        let h = log_histogram("aov", &v);
        let labels: Vec<&str> = h.bins.iter().map(|b| b.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "<0",
                "0–0.05",
                "0.05–0.1",
                "0.1–0.2",
                "0.2–0.5",
                "0.5–1",
                "1–2",
                "2–5",
                "5–10",
                "10–20",
                "20–50",
                "50–100",
                "100–200"
            ]
        );
        let counts: Vec<u64> = h.bins.iter().map(|b| b.customers).collect();
        assert_eq!(counts, [1, 1, 1, 0, 0, 0, 1, 2, 1, 0, 0, 1, 1]);
        assert_eq!(h.customers, 9);
    }

    #[test]
    fn nice_floor_at_powers_of_ten() {
        for (x, l) in [
            (1000.0, "1000"),
            (0.001, "0.001"),
            (0.2, "0.2"),
            (499.0, "200"),
        ] {
            assert_eq!(Nice::floor(x).label(), l, "{x}");
        }
    }

    #[test]
    fn zeros_only() {
        let h = log_histogram("days", &some(&[0.0, 0.0]));
        assert_eq!(h.bins.len(), 1);
        assert_eq!(h.bins[0].customers, 2);
    }
}
