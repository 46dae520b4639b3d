//! Greedy k-means++ seeding, as scikit-learn does it, and the seeded random streams.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::kmeans::{CHUNK, sq_dist};

/// Stream used to draw the sample that initialisations run on.
pub(crate) const STREAM_INIT_SAMPLE: u64 = 1 << 63;
/// Stream used to draw the silhouette sample.
pub(crate) const STREAM_SILHOUETTE: u64 = (1 << 63) | 1;

/// A ChaCha8 generator for `seed` on its own `stream`: one stream per (k, init) pair, so runs are
/// reproducible whatever the thread count and adding a k to the range leaves other ks unchanged.
pub(crate) fn rng_for(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}

/// The stream of initialisation `init` for `k` clusters.
pub(crate) fn init_stream(k: usize, init: usize) -> u64 {
    ((k as u64) << 32) | init as u64
}

/// Greedy k-means++ (Arthur & Vassilvitskii 2007, with scikit-learn's `2 + ln k` local trials):
/// each new centre is the best of several candidates drawn proportionally to D², which gives
/// noticeably better starts than plain k-means++ for the same cost order.
pub(crate) fn kmeans_pp(data: &[f64], d: usize, k: usize, rng: &mut ChaCha8Rng) -> Vec<f64> {
    let n = data.len() / d;
    let trials = 2 + (k as f64).ln() as usize;
    let mut centers = Vec::with_capacity(k * d);
    let first = rng.random_range(0..n);
    centers.extend_from_slice(&data[first * d..(first + 1) * d]);
    let c0 = &data[first * d..(first + 1) * d];
    let mut closest: Vec<f64> = data.par_chunks(d).map(|x| sq_dist(x, c0)).collect();
    let mut chunk_sums = chunk_sums(&closest);
    let mut pot: f64 = chunk_sums.iter().sum();
    for _ in 1..k {
        let cands: Vec<usize> = (0..trials)
            .map(|_| {
                let t = rng.random::<f64>() * pot;
                search(&closest, &chunk_sums, t)
            })
            .collect();
        let cand_rows: Vec<&[f64]> = cands.iter().map(|&c| &data[c * d..(c + 1) * d]).collect();
        // Potential after adding each candidate; chunks reduce in a fixed order.
        let parts: Vec<Vec<f64>> = data
            .par_chunks(CHUNK * d)
            .zip(closest.par_chunks(CHUNK))
            .map(|(x, cl)| {
                let mut p = vec![0.0; cand_rows.len()];
                for (row, &c) in x.chunks_exact(d).zip(cl) {
                    for (acc, cand) in p.iter_mut().zip(&cand_rows) {
                        *acc += sq_dist(row, cand).min(c);
                    }
                }
                p
            })
            .collect();
        let mut pots = vec![0.0; cand_rows.len()];
        for p in &parts {
            for (a, b) in pots.iter_mut().zip(p) {
                *a += b;
            }
        }
        let mut best = 0;
        for (i, &p) in pots.iter().enumerate() {
            if p < pots[best] {
                best = i;
            }
        }
        let row = cand_rows[best];
        closest
            .par_iter_mut()
            .zip(data.par_chunks(d))
            .for_each(|(c, x)| *c = c.min(sq_dist(x, row)));
        chunk_sums = self::chunk_sums(&closest);
        pot = chunk_sums.iter().sum();
        centers.extend_from_slice(row);
    }
    centers
}

fn chunk_sums(v: &[f64]) -> Vec<f64> {
    v.par_chunks(CHUNK).map(|c| c.iter().sum()).collect()
}

/// First index whose running sum of weights exceeds `t` (numpy's `searchsorted` on the
/// cumulative sum); falls back to the last positive weight when rounding puts `t` past the end.
fn search(w: &[f64], chunk_sums: &[f64], t: f64) -> usize {
    let mut acc = 0.0;
    for (ci, &s) in chunk_sums.iter().enumerate() {
        if acc + s > t {
            let start = ci * CHUNK;
            for (i, &x) in w[start..(start + CHUNK).min(w.len())].iter().enumerate() {
                acc += x;
                if acc > t {
                    return start + i;
                }
            }
            break;
        }
        acc += s;
    }
    w.iter().rposition(|&x| x > 0.0).unwrap_or(w.len() - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_finds_weighted_index() {
        let w = vec![0.0, 1.0, 0.0, 2.0];
        let cs = chunk_sums(&w);
        assert_eq!(search(&w, &cs, 0.0), 1);
        assert_eq!(search(&w, &cs, 0.999), 1);
        assert_eq!(search(&w, &cs, 1.0), 3);
        assert_eq!(search(&w, &cs, 5.0), 3);
    }

    #[test]
    fn seeding_picks_distinct_points() {
        let data = vec![0.0, 0.0, 0.0, 0.0, 10.0, 10.0, 10.0, 10.0, -5.0, 3.0];
        let mut rng = rng_for(7, 0);
        let c = kmeans_pp(&data, 2, 3, &mut rng);
        let mut rows: Vec<(i64, i64)> = c.chunks(2).map(|r| (r[0] as i64, r[1] as i64)).collect();
        rows.sort();
        assert_eq!(rows, vec![(-5, 3), (0, 0), (10, 10)]);
    }
}
