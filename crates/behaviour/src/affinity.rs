//! Customer-level category affinity: which categories the same customers buy (support,
//! confidence, lift per pair), and a next-best-category suggestion per customer.
//!
//! Counting is per customer, not per order: "bought A and B" means at some time, which is what
//! a cross-sell list needs. The denominator is customers with any category purchase, so
//! customers without category data do not dilute support.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::baskets::Baskets;

/// Statistics of one unordered category pair (`a < b` by index).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PairStats {
    /// First category index.
    pub a: u32,
    /// Second category index.
    pub b: u32,
    /// Customers who bought both.
    pub customers: u64,
    /// Share of customers (with categories) who bought both.
    pub support: f64,
    /// P(bought b | bought a).
    pub confidence_ab: f64,
    /// P(bought a | bought b).
    pub confidence_ba: f64,
    /// support / (P(a) P(b)); 1 = independent, > 1 = bought together more than by chance.
    pub lift: f64,
}

/// A suggested category for one customer.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Suggestion {
    /// The suggested (not yet bought) category.
    pub category: u32,
    /// The bought category whose rule suggested it.
    pub from: u32,
    /// Lift of the pair.
    pub lift: f64,
    /// P(category | from).
    pub confidence: f64,
    /// lift × confidence: high lift alone favours rare pairs; weighting by confidence prefers
    /// rules that hold for many of the customers they apply to.
    pub score: f64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Rule {
    target: u32,
    lift: f64,
    confidence: f64,
    score: f64,
}

/// Pair statistics above the minimum support, and the rules suggestions use.
#[derive(Debug, Clone, PartialEq)]
pub struct Affinity {
    customers: u64,
    min_customers: u64,
    category_customers: Vec<u64>,
    /// Sorted by (a, b) for lookup.
    pairs: Vec<PairStats>,
    /// Per source category, rules with lift > 1, best score first.
    rules: Vec<Vec<Rule>>,
}

/// Dense pair counts up to this many categories (K² u32 = 16 MiB), a hash map beyond.
const DENSE_MAX: usize = 2048;

impl Affinity {
    /// Counts pairs over all customers; keeps pairs bought together by at least
    /// `ceil(min_support × customers with categories)` customers (and at least one).
    pub fn compute(b: &Baskets, min_support: f64) -> Affinity {
        let k = b.categories();
        let n = b.customers_with_categories() as u64;
        let min_customers = ((min_support * n as f64 - 1e-9).ceil() as u64).max(1);
        let mut single = vec![0u64; k];
        let mut counts: Vec<(u32, u32, u64)> = Vec::new();
        if k <= DENSE_MAX {
            let mut m = vec![0u32; k * k];
            for c in 0..b.customers() {
                let s = b.bought(c);
                for (i, &x) in s.iter().enumerate() {
                    single[x as usize] += 1;
                    let row = x as usize * k;
                    for &y in &s[i + 1..] {
                        m[row + y as usize] += 1;
                    }
                }
            }
            for a in 0..k {
                for bb in a + 1..k {
                    let c = u64::from(m[a * k + bb]);
                    if c >= min_customers {
                        counts.push((a as u32, bb as u32, c));
                    }
                }
            }
        } else {
            let mut m: HashMap<(u32, u32), u64> = HashMap::new();
            for c in 0..b.customers() {
                let s = b.bought(c);
                for (i, &x) in s.iter().enumerate() {
                    single[x as usize] += 1;
                    for &y in &s[i + 1..] {
                        *m.entry((x, y)).or_insert(0) += 1;
                    }
                }
            }
            counts = m
                .into_iter()
                .filter(|&(_, c)| c >= min_customers)
                .map(|((a, bb), c)| (a, bb, c))
                .collect();
            counts.sort_unstable();
        }
        let nf = n as f64;
        let pairs: Vec<PairStats> = counts
            .into_iter()
            .map(|(a, bb, c)| {
                let (na, nb) = (single[a as usize] as f64, single[bb as usize] as f64);
                let cf = c as f64;
                PairStats {
                    a,
                    b: bb,
                    customers: c,
                    support: cf / nf,
                    confidence_ab: cf / na,
                    confidence_ba: cf / nb,
                    lift: cf * nf / (na * nb),
                }
            })
            .collect();
        let mut rules: Vec<Vec<Rule>> = vec![Vec::new(); k];
        for p in pairs.iter().filter(|p| p.lift > 1.0) {
            rules[p.a as usize].push(Rule {
                target: p.b,
                lift: p.lift,
                confidence: p.confidence_ab,
                score: p.lift * p.confidence_ab,
            });
            rules[p.b as usize].push(Rule {
                target: p.a,
                lift: p.lift,
                confidence: p.confidence_ba,
                score: p.lift * p.confidence_ba,
            });
        }
        for r in &mut rules {
            r.sort_by(|x, y| {
                y.score
                    .total_cmp(&x.score)
                    .then_with(|| x.target.cmp(&y.target))
            });
        }
        Affinity {
            customers: n,
            min_customers,
            category_customers: single,
            pairs,
            rules,
        }
    }

    /// Customers with any category purchase.
    pub fn customers(&self) -> u64 {
        self.customers
    }

    /// The minimum number of customers a kept pair has.
    pub fn min_customers(&self) -> u64 {
        self.min_customers
    }

    /// Customers who bought each category.
    pub fn category_customers(&self) -> &[u64] {
        &self.category_customers
    }

    /// Kept pairs, sorted by (a, b).
    pub fn pairs(&self) -> &[PairStats] {
        &self.pairs
    }

    /// Kept pairs sorted by lift, then support (both descending), then indices.
    pub fn ranked_pairs(&self) -> Vec<PairStats> {
        let mut v = self.pairs.clone();
        v.sort_by(|x, y| {
            y.lift
                .total_cmp(&x.lift)
                .then_with(|| y.support.total_cmp(&x.support))
                .then_with(|| (x.a, x.b).cmp(&(y.a, y.b)))
        });
        v
    }

    /// The pair of `x` and `y` in either order, if it was kept.
    pub fn pair(&self, x: u32, y: u32) -> Option<&PairStats> {
        let key = (x.min(y), x.max(y));
        self.pairs
            .binary_search_by(|p| (p.a, p.b).cmp(&key))
            .ok()
            .map(|i| &self.pairs[i])
    }

    /// The not-yet-bought category with the best rule (lift > 1, highest lift × confidence,
    /// ties by lower category index) from any of `bought` (sorted, distinct category indices).
    pub fn next_best(&self, bought: &[u32]) -> Option<Suggestion> {
        let mut best: Option<Suggestion> = None;
        for &from in bought {
            let Some(rules) = self.rules.get(from as usize) else {
                continue;
            };
            // Rules are best-first: the first one not already bought is this source's best.
            if let Some(r) = rules
                .iter()
                .find(|r| bought.binary_search(&r.target).is_err())
            {
                let better = best.is_none_or(|b| {
                    r.score > b.score || (r.score == b.score && r.target < b.category)
                });
                if better {
                    best = Some(Suggestion {
                        category: r.target,
                        from,
                        lift: r.lift,
                        confidence: r.confidence,
                        score: r.score,
                    });
                }
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::CustomerCategory;

    fn baskets(sets: &[&[u32]]) -> Vec<CustomerCategory> {
        let mut v = Vec::new();
        for (c, s) in sets.iter().enumerate() {
            for &k in s.iter() {
                v.push(CustomerCategory {
                    customer: c as u32,
                    category: k,
                    revenue: 1.0,
                    orders: 1,
                });
            }
        }
        v
    }

    #[test]
    fn support_confidence_lift_by_hand() {
        // 0 = tea, 1 = cups, 2 = pots, 3 = bought by everyone
        let rows = baskets(&[&[0, 1, 3], &[0, 1, 3], &[0, 3], &[2, 3], &[2, 3]]);
        let b = Baskets::new(&rows, 6, 4).unwrap(); // customer 5 has no categories
        let a = Affinity::compute(&b, 0.01);
        assert_eq!(a.customers(), 5);
        let p = a.pair(1, 0).unwrap();
        assert_eq!((p.a, p.b, p.customers), (0, 1, 2));
        assert_eq!(p.support, 0.4);
        assert_eq!(p.confidence_ab, 2.0 / 3.0);
        assert_eq!(p.confidence_ba, 1.0);
        assert!((p.lift - 2.0 * 5.0 / 6.0).abs() < 1e-12);
        // bought by everyone → lift 1 with every category
        for x in 0..3 {
            assert!((a.pair(x, 3).unwrap().lift - 1.0).abs() < 1e-12);
        }
        assert!(a.pair(0, 2).is_none(), "never bought together");
        let ranked = a.ranked_pairs();
        assert_eq!((ranked[0].a, ranked[0].b), (0, 1));
        // customer with tea only → cups; with cups → nothing new with lift > 1 except tea
        assert_eq!(a.next_best(&[0, 3]).unwrap().category, 1);
        assert_eq!(a.next_best(&[1]).unwrap().category, 0);
        assert!(a.next_best(&[0, 1, 3]).is_none());
        assert!(a.next_best(&[3]).is_none(), "lift 1 rules suggest nothing");
        assert!(a.next_best(&[]).is_none());
    }

    #[test]
    fn min_support_filters_pairs() {
        let rows = baskets(&[&[0, 1], &[0, 1], &[0, 2], &[1], &[2]]);
        let b = Baskets::new(&rows, 5, 3).unwrap();
        let a = Affinity::compute(&b, 0.3); // ≥ 2 customers
        assert_eq!(a.min_customers(), 2);
        assert_eq!(a.pairs().len(), 1);
        let all = Affinity::compute(&b, 0.2);
        assert_eq!(all.min_customers(), 1);
        assert_eq!(all.pairs().len(), 2);
    }

    #[test]
    fn ties_break_by_category_index() {
        // 0 with 1 and 0 with 2 are symmetric: suggestion for {0} is the lower index.
        let rows = baskets(&[&[0, 1], &[0, 2], &[3], &[3]]);
        let b = Baskets::new(&rows, 4, 4).unwrap();
        let a = Affinity::compute(&b, 0.01);
        assert_eq!(a.next_best(&[0]).unwrap().category, 1);
        assert_eq!(a.next_best(&[0, 1]).unwrap().category, 2);
    }

    #[test]
    fn one_customer_and_empty() {
        let rows = baskets(&[&[0, 1]]);
        let b = Baskets::new(&rows, 1, 2).unwrap();
        let a = Affinity::compute(&b, 0.5);
        assert_eq!(a.pair(0, 1).unwrap().lift, 1.0);
        assert!(a.next_best(&[0]).is_none());
        let e = Baskets::new(&[], 3, 0).unwrap();
        let a = Affinity::compute(&e, 0.01);
        assert!(a.pairs().is_empty() && a.next_best(&[]).is_none());
    }

    #[test]
    fn sparse_path_matches_dense() {
        let k = DENSE_MAX as u32 + 5;
        let mut sets: Vec<Vec<u32>> = Vec::new();
        for c in 0..200u32 {
            let mut s = vec![c % 7, 7 + c % 3, k - 1 - c % 2];
            s.sort_unstable();
            sets.push(s);
        }
        let refs: Vec<&[u32]> = sets.iter().map(|s| s.as_slice()).collect();
        let rows = baskets(&refs);
        let b = Baskets::new(&rows, 200, k as usize).unwrap();
        let a = Affinity::compute(&b, 0.01);
        // same counts as a direct count
        let direct = sets
            .iter()
            .filter(|s| s.contains(&0) && s.contains(&7))
            .count() as u64;
        assert_eq!(a.pair(7, 0).map(|p| p.customers), Some(direct));
        assert!(
            a.pairs()
                .windows(2)
                .all(|w| (w[0].a, w[0].b) < (w[1].a, w[1].b))
        );
    }
}
