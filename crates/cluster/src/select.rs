//! Quality measures for a partition and the choice of k.
//!
//! All follow scikit-learn's definitions (`silhouette_score`, `calinski_harabasz_score`,
//! `davies_bouldin_score`), computed on the standardised features.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::kmeans::{CHUNK, LabelSums, sq_dist};

/// How well one k did. Higher silhouette and Calinski–Harabasz are better, lower Davies–Bouldin
/// is better; inertia always falls with k (read it as an elbow curve).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct KScore {
    /// Number of clusters.
    pub k: usize,
    /// Sum of squared distances to the centres (elbow).
    pub inertia: f64,
    /// Mean silhouette on the silhouette sample, in [-1, 1].
    pub silhouette: f64,
    /// Between- over within-cluster dispersion, scaled by degrees of freedom.
    pub calinski_harabasz: f64,
    /// Mean worst-case similarity between a cluster and another (≥ 0).
    pub davies_bouldin: f64,
    /// Share of customers in the smallest cluster (a cluster of 0.5 % is rarely actionable).
    pub smallest_share: f64,
    /// Lloyd iterations of the winning run.
    pub n_iter: usize,
    /// Whether that run converged before `max_iter`.
    pub converged: bool,
}

/// Calinski–Harabasz and Davies–Bouldin of `labels` (centres recomputed as label means, as
/// scikit-learn does).
pub fn ch_db(data: &[f64], d: usize, k: usize, labels: &[u32]) -> (f64, f64) {
    ch_db_of(data, d, k, labels, &label_sums(data, d, k, labels))
}

/// The rows' coordinate sums and counts per label, as [`crate::kmeans`]'s assignment adds
/// them (chunk by chunk in row order, the chunks in order): the same bits either way.
pub(crate) fn label_sums(data: &[f64], d: usize, k: usize, labels: &[u32]) -> LabelSums {
    let parts: Vec<(Vec<f64>, Vec<usize>)> = data
        .par_chunks(CHUNK * d)
        .zip(labels.par_chunks(CHUNK))
        .map(|(x, lab)| {
            let mut s = vec![0.0; k * d];
            let mut c = vec![0; k];
            for (row, &l) in x.chunks_exact(d).zip(lab) {
                let l = l as usize;
                c[l] += 1;
                for (a, &v) in s[l * d..(l + 1) * d].iter_mut().zip(row) {
                    *a += v;
                }
            }
            (s, c)
        })
        .collect();
    let mut sums = vec![0.0; k * d];
    let mut counts = vec![0usize; k];
    for (s, c) in parts {
        sums.iter_mut().zip(s).for_each(|(a, b)| *a += b);
        counts.iter_mut().zip(c).for_each(|(a, b)| *a += b);
    }
    LabelSums { sums, counts }
}

/// [`ch_db`] given the [`label_sums`] of `labels`.
pub(crate) fn ch_db_of(
    data: &[f64],
    d: usize,
    k: usize,
    labels: &[u32],
    by_label: &LabelSums,
) -> (f64, f64) {
    let n = labels.len();
    let (sums, counts) = (&by_label.sums, &by_label.counts);
    let mut centers = sums.clone();
    for c in 0..k {
        let inv = 1.0 / counts[c].max(1) as f64;
        centers[c * d..(c + 1) * d]
            .iter_mut()
            .for_each(|v| *v *= inv);
    }
    let mut mean = vec![0.0; d];
    for c in 0..k {
        for j in 0..d {
            mean[j] += sums[c * d + j];
        }
    }
    mean.iter_mut().for_each(|v| *v /= n as f64);
    // Within: squared (CH) and plain (DB) distances to the own centre.
    let parts: Vec<(f64, Vec<f64>)> = data
        .par_chunks(CHUNK * d)
        .zip(labels.par_chunks(CHUNK))
        .map(|(x, lab)| {
            let mut w = 0.0;
            let mut s = vec![0.0; k];
            for (row, &l) in x.chunks_exact(d).zip(lab) {
                let l = l as usize;
                let q = sq_dist(row, &centers[l * d..(l + 1) * d]);
                w += q;
                s[l] += q.sqrt();
            }
            (w, s)
        })
        .collect();
    let mut within = 0.0;
    let mut spread = vec![0.0; k];
    for (w, s) in parts {
        within += w;
        spread.iter_mut().zip(s).for_each(|(a, b)| *a += b);
    }
    let live: Vec<usize> = (0..k).filter(|&c| counts[c] > 0).collect();
    let kk = live.len();
    let between: f64 = live
        .iter()
        .map(|&c| counts[c] as f64 * sq_dist(&centers[c * d..(c + 1) * d], &mean))
        .sum();
    let ch = if kk < 2 || n <= kk {
        0.0
    } else if within == 0.0 {
        1.0 // scikit-learn's convention for zero within-dispersion
    } else {
        between * (n - kk) as f64 / (within * (kk - 1) as f64)
    };
    for &c in &live {
        spread[c] /= counts[c] as f64;
    }
    let db = if kk < 2 {
        0.0
    } else {
        live.iter()
            .map(|&a| {
                live.iter()
                    .filter(|&&b| b != a)
                    .map(|&b| {
                        let dist =
                            sq_dist(&centers[a * d..(a + 1) * d], &centers[b * d..(b + 1) * d])
                                .sqrt();
                        if dist == 0.0 {
                            0.0
                        } else {
                            (spread[a] + spread[b]) / dist
                        }
                    })
                    .fold(0.0, f64::max)
            })
            .sum::<f64>()
            / kk as f64
    };
    (ch, db)
}

/// Mean silhouette of several labelings of the same `points` (`s × d`) in one O(s²) pass: the
/// pairwise distances are shared, so scoring all of k = 2..=8 costs little more than one k.
/// `labelings[m]` has one label per point, `< ks[m]`. A point alone in its cluster scores 0.
///
/// The points are taken cell by cell, a cell being the points that share their label in every
/// labeling (a few hundred cells for 10,000 points and six labelings), so that a point's
/// distances are added up once per cell and each cluster's sum is the sum of its cells' sums,
/// instead of once per labeling. The distances are added as integers on a fixed scale (62
/// bits below the point's largest distance): exact sums, so a cluster's sum is the same
/// however its points are grouped, and each labeling's silhouette is the one it has scored
/// alone, to the bit.
pub fn silhouettes(points: &[f64], d: usize, labelings: &[Vec<u32>], ks: &[usize]) -> Vec<f64> {
    let s = points.len() / d;
    if s < 2 {
        return vec![0.0; ks.len()];
    }
    let nl = labelings.len();
    // The cells: the points ordered by their labels in every labeling (then by index), a cell
    // being a run of equal labels; each cell's label in each labeling.
    let labels_of = |j: usize| labelings.iter().map(move |l| l[j]);
    let mut order: Vec<usize> = (0..s).collect();
    order.sort_by(|&a, &b| labels_of(a).cmp(labels_of(b)).then(a.cmp(&b)));
    let mut cell_ends: Vec<usize> = Vec::new();
    let mut cell_labels: Vec<u32> = Vec::new();
    for (p, &j) in order.iter().enumerate() {
        if p > 0 && labels_of(j).eq(labels_of(order[p - 1])) {
            continue;
        }
        if p > 0 {
            cell_ends.push(p);
        }
        cell_labels.extend(labels_of(j));
    }
    cell_ends.push(s);
    // each cluster's size, and where each labeling's clusters start among all sums
    let offsets: Vec<usize> = ks
        .iter()
        .scan(0, |o, &k| {
            let here = *o;
            *o += k;
            Some(here)
        })
        .collect();
    let total: usize = ks.iter().sum();
    let mut counts = vec![0usize; total];
    for (m, lab) in labelings.iter().enumerate() {
        for &l in lab {
            counts[offsets[m] + l as usize] += 1;
        }
    }
    // Features by column in cell order, so that one point's distances to all others
    // vectorise; each distance still adds its features in the same order as pair by pair.
    let mut by_col = vec![0.0; s * d];
    for (p, &j) in order.iter().enumerate() {
        for (f, &v) in points[j * d..(j + 1) * d].iter().enumerate() {
            by_col[f * s + p] = v;
        }
    }
    let per_point: Vec<Vec<f64>> = (0..s)
        .into_par_iter()
        .map_init(
            || (vec![0.0; s], vec![0i128; total]),
            |(dist, sums), i| {
                let xi = &points[i * d..(i + 1) * d];
                dist.fill(0.0);
                for (f, &v) in xi.iter().enumerate() {
                    for (acc, &c) in dist.iter_mut().zip(&by_col[f * s..(f + 1) * s]) {
                        let t = v - c;
                        *acc += t * t;
                    }
                }
                dist.iter_mut().for_each(|q| *q = q.sqrt());
                let scale = fixed_scale(dist.iter().copied().fold(0.0, f64::max));
                sums.fill(0);
                let mut from = 0;
                for (u, &to) in cell_ends.iter().enumerate() {
                    let cell: i128 = dist[from..to]
                        .iter()
                        .map(|&q| i128::from((q * scale) as i64))
                        .sum();
                    from = to;
                    for (m, &l) in cell_labels[u * nl..(u + 1) * nl].iter().enumerate() {
                        sums[offsets[m] + l as usize] += cell;
                    }
                }
                let mean_to = |at: usize, n: usize| sums[at] as f64 / scale / n as f64;
                labelings
                    .iter()
                    .enumerate()
                    .map(|(m, lab)| {
                        let (o, k) = (offsets[m], ks[m]);
                        let own = lab[i] as usize;
                        let n_own = counts[o + own];
                        if n_own <= 1 {
                            return 0.0;
                        }
                        let a = mean_to(o + own, n_own - 1);
                        let b = (0..k)
                            .filter(|&c| c != own && counts[o + c] > 0)
                            .map(|c| mean_to(o + c, counts[o + c]))
                            .fold(f64::INFINITY, f64::min);
                        let den = a.max(b);
                        if !b.is_finite() || den == 0.0 {
                            0.0
                        } else {
                            (b - a) / den
                        }
                    })
                    .collect()
            },
        )
        .collect();
    let mut mean = vec![0.0; ks.len()];
    for p in per_point {
        mean.iter_mut().zip(p).for_each(|(a, b)| *a += b);
    }
    mean.iter_mut().for_each(|v| *v /= s as f64);
    mean
}

/// The power of two that puts `max` (≥ 0, finite) just under 2⁶²: distances up to `max`
/// times it fit an `i64`, and 10¹⁸ of them an `i128` sum.
fn fixed_scale(max: f64) -> f64 {
    // floor(log2 max) from the exponent bits; 0 and subnormals count as 2⁻¹⁰²²
    let e = ((max.to_bits() >> 52) & 0x7ff) as i32 - 1023;
    2f64.powi((61 - e.max(-1022)).clamp(-1000, 1000))
}

/// The k a range of fits settles on: the **elbow of the inertia curve**.
///
/// Over the k tried (ascending), draw the straight line from the first k's inertia to the last
/// k's; the elbow is the k whose inertia lies farthest below that line (the "kneedle" rule,
/// Satopää et al. 2011, on an unsmoothed curve): up to it every extra segment explains much more
/// of the customers' differences than the ones after it. Ties go to the smaller k. With fewer
/// than three k, or a curve that never falls below the line (no elbow), the highest silhouette
/// decides (ties to the smaller k).
///
/// Why not the silhouette or Calinski–Harabasz maximum: customer metrics form a continuum, not
/// separated blobs, so both reward the coarsest split. On CDNOW and the demo shop the silhouette
/// peaks at k = 2 and Calinski–Harabasz falls with every k (so always picks the smallest), which
/// is too coarse to act on; "the most segments within 0.02 of the best silhouette" is no better,
/// because the silhouette is nearly flat over k = 3–8 and the rule then returns the top of the
/// range (8 on CDNOW, 7 on the demo shop). The elbow picks 5 on CDNOW and 6 on the demo shop
/// (`docs/MODEL_CHOICE.md`), the number of segments marketers usually work with, and every
/// k's silhouette, Calinski–Harabasz and Davies–Bouldin stay in the report for a second opinion.
pub fn choose_k(scores: &[KScore]) -> Option<usize> {
    elbow(scores).or_else(|| best_silhouette(scores))
}

/// The elbow of [`choose_k`] alone: None with fewer than three k or no point below the chord
/// (then the silhouette decides). It reads only the inertia, so the silhouettes can wait until
/// the chosen k is fitted.
pub fn elbow(scores: &[KScore]) -> Option<usize> {
    if let [first, .., last] = scores
        && scores.len() >= 3
        && last.k > first.k
    {
        let span = (last.k - first.k) as f64;
        let mut best: Option<(usize, f64)> = None;
        for s in &scores[1..scores.len() - 1] {
            let at = (s.k - first.k) as f64 / span;
            let line = first.inertia + (last.inertia - first.inertia) * at;
            let below = line - s.inertia;
            if below > 0.0 && best.is_none_or(|(_, b)| below > b) {
                best = Some((s.k, below));
            }
        }
        return best.map(|(k, _)| k);
    }
    None
}

/// The k with the highest silhouette; ties go to the smaller k (simpler to act on).
pub fn best_silhouette(scores: &[KScore]) -> Option<usize> {
    let mut best: Option<&KScore> = None;
    for s in scores {
        if best.is_none_or(|b| {
            s.silhouette > b.silhouette || (s.silhouette == b.silhouette && s.k < b.k)
        }) {
            best = Some(s);
        }
    }
    best.map(|s| s.k)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Values from scikit-learn 1.9.1 on this data:
    // X = [[0,0],[0,1],[1,0],[5,5],[5,6],[6,5],[9,0]], labels = [0,0,0,1,1,1,2]
    const X: [f64; 14] = [0., 0., 0., 1., 1., 0., 5., 5., 5., 6., 6., 5., 9., 0.];
    const L: [u32; 7] = [0, 0, 0, 1, 1, 1, 2];

    #[test]
    fn matches_scikit_learn_on_a_small_case() {
        let (ch, db) = ch_db(&X, 2, 3, &L);
        let sil = silhouettes(&X, 2, &[L.to_vec()], &[3])[0];
        assert!((sil - SIL).abs() < 1e-12, "{sil}");
        assert!((ch - CH).abs() < 1e-9, "{ch}");
        assert!((db - DB).abs() < 1e-12, "{db}");
    }

    /// Several labelings scored in one pass give each one's silhouette alone, to the bit
    /// (the sums are exact, however the points are grouped into cells), and an assignment's own sums
    /// per label give the Calinski–Harabasz and Davies–Bouldin of its labels.
    #[test]
    fn scores_made_together_or_from_an_assignment_are_those_made_alone() {
        let (n, d) = (300, 3);
        let data: Vec<f64> = (0..n * d)
            .map(|i| ((i * 7919) % 1009) as f64 / 97.0 + (i % 3) as f64)
            .collect();
        let ks = [2, 3, 5];
        let mut labelings = Vec::new();
        for &k in &ks {
            let centres: Vec<f64> = data[..k * d].to_vec();
            let (labels, _, sums) = crate::kmeans::assign_with_sums(&data, d, k, &centres);
            let from_sums = ch_db_of(&data, d, k, &labels, &sums);
            let alone = ch_db(&data, d, k, &labels);
            assert_eq!(from_sums.0.to_bits(), alone.0.to_bits());
            assert_eq!(from_sums.1.to_bits(), alone.1.to_bits());
            labelings.push(labels);
        }
        let together = silhouettes(&data, d, &labelings, &ks);
        for (m, &k) in ks.iter().enumerate() {
            let alone = silhouettes(&data, d, &labelings[m..=m], &[k])[0];
            assert_eq!(together[m].to_bits(), alone.to_bits(), "k = {k}");
        }
    }

    /// The silhouettes as defined, pair by pair: the sums by cell on a fixed scale agree to
    /// rounding,
    /// with a label left empty and a point alone in its cluster.
    #[test]
    fn silhouettes_equal_the_definition_pair_by_pair() {
        let (n, d) = (257, 2);
        let data: Vec<f64> = (0..n * d)
            .map(|i| ((i * 4273) % 811) as f64 / 53.0)
            .collect();
        let ks = [3, 4, 6];
        let labelings: Vec<Vec<u32>> = ks
            .iter()
            .map(|&k| {
                (0..n)
                    .map(|i| match i {
                        0 => k as u32 - 1,              // alone
                        _ => (i * 31 % (k - 2)) as u32, // k - 2 unused
                    })
                    .collect()
            })
            .collect();
        let got = silhouettes(&data, d, &labelings, &ks);
        for (m, lab) in labelings.iter().enumerate() {
            let dist = |i: usize, j: usize| {
                let (a, b) = (&data[i * d..(i + 1) * d], &data[j * d..(j + 1) * d]);
                a.iter()
                    .zip(b)
                    .map(|(x, y)| (x - y) * (x - y))
                    .sum::<f64>()
                    .sqrt()
            };
            let mut total = 0.0;
            for i in 0..n {
                let mean_to = |c: u32| {
                    let js: Vec<usize> = (0..n).filter(|&j| j != i && lab[j] == c).collect();
                    (!js.is_empty())
                        .then(|| js.iter().map(|&j| dist(i, j)).sum::<f64>() / js.len() as f64)
                };
                let Some(a) = mean_to(lab[i]) else { continue };
                let b = (0..ks[m] as u32)
                    .filter(|&c| c != lab[i])
                    .filter_map(mean_to)
                    .fold(f64::INFINITY, f64::min);
                total += (b - a) / a.max(b);
            }
            let want = total / n as f64;
            assert!(
                (got[m] - want).abs() < 1e-12,
                "k = {}: {} vs {want}",
                ks[m],
                got[m]
            );
        }
    }

    const SIL: f64 = 0.7124387250580051;
    const CH: f64 = 85.85714285714285;
    const DB: f64 = 0.15701145925595564;

    fn score(k: usize, inertia: f64, silhouette: f64) -> KScore {
        KScore {
            k,
            inertia,
            silhouette,
            calinski_harabasz: 0.0,
            davies_bouldin: 0.0,
            smallest_share: 0.0,
            n_iter: 1,
            converged: true,
        }
    }

    #[test]
    fn the_elbow_is_the_k_farthest_below_the_chord() {
        // CDNOW's inertia over k = 3..8 (full data, default features): the elbow is 5, while the
        // silhouette is best at 4 and nearly flat
        let cdnow = [
            score(3, 34806.0, 0.4023),
            score(4, 28454.0, 0.4031),
            score(5, 23974.0, 0.3878),
            score(6, 20940.0, 0.3807),
            score(7, 18485.0, 0.3949),
            score(8, 16991.0, 0.4000),
        ];
        assert_eq!(choose_k(&cdnow), Some(5));
        assert_eq!(best_silhouette(&cdnow), Some(4));
        // a sharp bend at 4
        let bend = [
            score(3, 100.0, 0.1),
            score(4, 40.0, 0.1),
            score(5, 35.0, 0.1),
            score(6, 30.0, 0.1),
        ];
        assert_eq!(choose_k(&bend), Some(4));
    }

    #[test]
    fn no_elbow_falls_back_to_the_best_silhouette() {
        // two k: no interior point
        assert_eq!(
            choose_k(&[score(3, 10.0, 0.2), score(4, 8.0, 0.3)]),
            Some(4)
        );
        // a straight or concave curve has no elbow
        let straight = [
            score(3, 30.0, 0.2),
            score(4, 20.0, 0.5),
            score(5, 10.0, 0.3),
        ];
        assert_eq!(choose_k(&straight), Some(4));
        assert_eq!(choose_k(&[score(5, 1.0, 0.0)]), Some(5));
        assert_eq!(choose_k(&[]), None);
    }

    #[test]
    fn silhouette_ties_choose_the_smaller_k() {
        let s = [score(2, 0.0, 0.5), score(3, 0.0, 0.7), score(4, 0.0, 0.7)];
        assert_eq!(best_silhouette(&s), Some(3));
        // equal gaps below the chord: the smaller k
        let tie = [
            score(3, 30.0, 0.0),
            score(4, 15.0, 0.0),
            score(5, 5.0, 0.0),
            score(6, 0.0, 0.0),
        ];
        assert_eq!(choose_k(&tie), Some(4));
    }
}
