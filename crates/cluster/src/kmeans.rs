//! Lloyd's k-means on a dense row-major matrix with scikit-learn's semantics: best of `n_init`
//! greedy k-means++ starts, `tol` relative to the mean feature variance and tested on the squared
//! centre shift, a final assignment so labels match the returned centres, and empty clusters
//! re-seeded from the farthest points.
//!
//! Determinism: work is split in fixed chunks of [`CHUNK`] rows and partial sums are added in
//! chunk order, so the result is bit-identical for any number of threads.

use std::collections::HashSet;

use rayon::prelude::*;

use crate::error::{ClusterError, Result};
use crate::init::{STREAM_INIT_SAMPLE, init_stream, kmeans_pp, rng_for};

/// Rows per unit of parallel work (fixed so that floating-point sums do not depend on threads).
pub(crate) const CHUNK: usize = 4096;

/// Settings of one k-means fit.
#[derive(Debug, Clone, PartialEq)]
pub struct KMeansParams {
    /// Number of clusters.
    pub k: usize,
    /// Initialisations; the one with the lowest inertia wins. Default 10 (scikit-learn before
    /// 1.4; its current `'auto'` = 1 run measured 1.8–3.5 % worse inertia).
    pub n_init: usize,
    /// Lloyd iterations per run. Default 300.
    pub max_iter: usize,
    /// Convergence: stop when the squared centre shift summed over centres is at most
    /// `tol × mean feature variance`. Default 1e-4.
    pub tol: f64,
    /// Seed of the ChaCha8 streams.
    pub seed: u64,
    /// Above this many rows the initialisations (k-means++ and Lloyd) run on a seeded sample of
    /// this size; each result is scored on all rows and the best one is refined on all rows.
    /// Default 100 000.
    pub sample_size: usize,
}

impl KMeansParams {
    /// Defaults for `k` clusters (n_init 10, max_iter 300, tol 1e-4, seed 0, sample 100 000).
    pub fn new(k: usize) -> KMeansParams {
        KMeansParams {
            k,
            n_init: 10,
            max_iter: 300,
            tol: 1e-4,
            seed: 0,
            sample_size: 100_000,
        }
    }
}

/// A fitted partition of the rows given to [`kmeans`].
#[derive(Debug, Clone, PartialEq)]
pub struct KMeansFit {
    /// Features per row.
    pub d: usize,
    /// Number of clusters.
    pub k: usize,
    /// Centres, `k × d`, row-major.
    pub centroids: Vec<f64>,
    /// Cluster of each row, `0..k`.
    pub labels: Vec<u32>,
    /// Sum of squared distances of rows to their centre.
    pub inertia: f64,
    /// Lloyd iterations of the final run.
    pub n_iter: usize,
    /// Whether the final run met `tol` (or stopped changing) before `max_iter`.
    pub converged: bool,
}

impl KMeansFit {
    /// Rows in each cluster.
    pub fn sizes(&self) -> Vec<usize> {
        let mut s = vec![0; self.k];
        for &l in &self.labels {
            s[l as usize] += 1;
        }
        s
    }
}

/// Fits k-means to `data` (`n × d`, row-major). Errors on non-finite values, fewer than 2 rows,
/// or fewer than `k` distinct rows.
pub fn kmeans(data: &[f64], d: usize, params: &KMeansParams) -> Result<KMeansFit> {
    let n = check_data(data, d)?;
    check_params(params)?;
    let k = params.k;
    let distinct = count_distinct(data, d, k);
    if distinct < k {
        return Err(ClusterError::TooFewDistinct { k, distinct });
    }
    let tol_abs = params.tol * mean_variance(data, d);
    if n > params.sample_size && params.sample_size >= 2 * k {
        let sample = sample_rows(data, d, params.sample_size, params.seed);
        let tol_s = params.tol * mean_variance(&sample, d);
        let run = |r: usize| {
            let mut rng = rng_for(params.seed, init_stream(k, r));
            let start = kmeans_pp(&sample, d, k, &mut rng);
            lloyd(&sample, d, k, start, params.max_iter, tol_s)
        };
        let mut starts: Vec<(f64, usize, Vec<f64>)> = (0..params.n_init)
            .into_par_iter()
            .map(|r| {
                let fit = run(r);
                (inertia_of(data, d, k, &fit.centroids), r, fit.centroids)
            })
            .collect();
        starts.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let (_, _, best) = starts.swap_remove(0);
        Ok(lloyd(data, d, k, best, params.max_iter, tol_abs))
    } else {
        Ok(best_start(data, d, params, 0..params.n_init, tol_abs))
    }
}

/// [`kmeans`] of `data` given `done`, its fit with only the first `first` of the starts
/// (`n_init = first`, every other setting the same): the later starts are run and the best
/// of all kept, the fit [`kmeans`] gives with every start for the price of the later ones.
/// Where `kmeans` would rank its starts on a sample's fits, every start is run again.
pub fn kmeans_resumed(
    data: &[f64],
    d: usize,
    params: &KMeansParams,
    first: usize,
    done: KMeansFit,
) -> Result<KMeansFit> {
    let n = check_data(data, d)?;
    check_params(params)?;
    let k = params.k;
    if first == 0
        || done.k != k
        || done.d != d
        || n > params.sample_size && params.sample_size >= 2 * k
    {
        return kmeans(data, d, params);
    }
    if first >= params.n_init {
        return Ok(done);
    }
    let tol_abs = params.tol * mean_variance(data, d);
    let rest = best_start(data, d, params, first..params.n_init, tol_abs);
    // the first start of the lowest inertia wins, as in `kmeans`
    Ok(if rest.inertia < done.inertia {
        rest
    } else {
        done
    })
}

/// The fit of the lowest inertia among `starts` (k-means++ seeded from each start's stream),
/// the earliest on a tie.
fn best_start(
    data: &[f64],
    d: usize,
    params: &KMeansParams,
    starts: std::ops::Range<usize>,
    tol_abs: f64,
) -> KMeansFit {
    let k = params.k;
    let fits: Vec<KMeansFit> = starts
        .into_par_iter()
        .map(|r| {
            let mut rng = rng_for(params.seed, init_stream(k, r));
            let start = kmeans_pp(data, d, k, &mut rng);
            lloyd(data, d, k, start, params.max_iter, tol_abs)
        })
        .collect();
    let mut best = 0;
    for (i, f) in fits.iter().enumerate() {
        if f.inertia < fits[best].inertia {
            best = i;
        }
    }
    fits.into_iter()
        .nth(best)
        .unwrap_or_else(|| unreachable_fit(d, k))
}

// n_init ≥ 1 is checked, so `fits` is never empty; this keeps the code free of `unwrap`.
fn unreachable_fit(d: usize, k: usize) -> KMeansFit {
    KMeansFit {
        d,
        k,
        centroids: vec![0.0; k * d],
        labels: Vec::new(),
        inertia: f64::INFINITY,
        n_iter: 0,
        converged: false,
    }
}

fn check_data(data: &[f64], d: usize) -> Result<usize> {
    if d == 0 || !data.len().is_multiple_of(d) {
        return Err(ClusterError::Shape { len: data.len(), d });
    }
    if let Some(i) = data.iter().position(|v| !v.is_finite()) {
        return Err(ClusterError::NonFinite {
            column: format!("#{}", i % d),
            customer: format!("row {}", i / d),
            value: data[i].to_string(),
        });
    }
    let n = data.len() / d;
    if n < 2 {
        return Err(ClusterError::TooFewCustomers {
            found: n,
            features: format!("{d} columns"),
        });
    }
    Ok(n)
}

pub(crate) fn check_params(p: &KMeansParams) -> Result<()> {
    let bad = |field, message: &str| {
        Err(ClusterError::Config {
            field,
            message: message.to_string(),
        })
    };
    if p.k < 1 {
        return bad("k", "must be at least 1");
    }
    if p.n_init < 1 {
        return bad("n_init", "must be at least 1");
    }
    // every start's fit is held until the best is chosen; scikit-learn's default is 10
    if p.n_init > MAX_N_INIT {
        return bad("n_init", "must be at most 1000 (10 is the usual choice)");
    }
    if p.max_iter < 1 {
        return bad("max_iter", "must be at least 1");
    }
    if !(p.tol.is_finite() && p.tol >= 0.0) {
        return bad("tol", "must be a finite number ≥ 0");
    }
    Ok(())
}

/// The most initialisations per k: each start's fit is kept until the best is chosen.
pub const MAX_N_INIT: usize = 1000;

/// Distinct rows, counting stops at `limit` (so this is cheap on real data).
pub(crate) fn count_distinct(data: &[f64], d: usize, limit: usize) -> usize {
    let mut seen: HashSet<Vec<u64>> = HashSet::new();
    for row in data.chunks_exact(d) {
        // +0.0 folds -0.0 into 0.0 so they count as one point.
        seen.insert(row.iter().map(|v| (v + 0.0).to_bits()).collect());
        if seen.len() >= limit {
            break;
        }
    }
    seen.len()
}

/// Mean over columns of the population variance (scikit-learn's `tol` scale).
pub(crate) fn mean_variance(data: &[f64], d: usize) -> f64 {
    let n = (data.len() / d) as f64;
    let sums = sum_rows(data, d, |_, v| v);
    let means: Vec<f64> = sums.iter().map(|s| s / n).collect();
    let sq = sum_rows(data, d, |j, v| (v - means[j]) * (v - means[j]));
    sq.iter().sum::<f64>() / n / d as f64
}

fn sum_rows(data: &[f64], d: usize, f: impl Fn(usize, f64) -> f64 + Sync) -> Vec<f64> {
    let parts: Vec<Vec<f64>> = data
        .par_chunks(CHUNK * d)
        .map(|x| {
            let mut s = vec![0.0; d];
            for row in x.chunks_exact(d) {
                for (j, (a, &v)) in s.iter_mut().zip(row).enumerate() {
                    *a += f(j, v);
                }
            }
            s
        })
        .collect();
    let mut s = vec![0.0; d];
    for p in parts {
        for (a, b) in s.iter_mut().zip(p) {
            *a += b;
        }
    }
    s
}

/// A seeded sample of `m` rows without replacement, in row order.
pub(crate) fn sample_rows(data: &[f64], d: usize, m: usize, seed: u64) -> Vec<f64> {
    let n = data.len() / d;
    let mut idx = sample_index(n, m, seed, STREAM_INIT_SAMPLE);
    idx.sort_unstable();
    let mut out = Vec::with_capacity(idx.len() * d);
    for i in idx {
        out.extend_from_slice(&data[i * d..(i + 1) * d]);
    }
    out
}

/// `m` distinct indices out of `n` (all of them when `m ≥ n`), unsorted.
pub(crate) fn sample_index(n: usize, m: usize, seed: u64, stream: u64) -> Vec<usize> {
    if m >= n {
        return (0..n).collect();
    }
    let mut rng = rng_for(seed, stream);
    rand::seq::index::sample(&mut rng, n, m).into_vec()
}

#[inline]
pub(crate) fn sq_dist(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// Centres transposed to `d × k`, so the loop over clusters is contiguous and vectorises.
fn transpose(c: &[f64], k: usize, d: usize) -> Vec<f64> {
    let mut t = vec![0.0; k * d];
    for ci in 0..k {
        for j in 0..d {
            t[j * k + ci] = c[ci * d + j];
        }
    }
    t
}

/// Squared distances from a row to every centre (the centres transposed, `d × k`). For the
/// usual k the count is known at compile time ([`FixedK`]), so the k running sums stay in
/// registers instead of a buffer; either way each sum starts at 0 and adds the features in
/// order, the same operations and so the same bits.
trait Near: Copy + Send + Sync {
    /// The nearest centre of `x` and the squared distance to it (ties go to the lower index).
    fn nearest(self, x: &[f64], ct: &[f64], buf: &mut [f64]) -> (usize, f64);
}

/// Any number of centres, summed in `buf` (one slot per centre).
#[derive(Clone, Copy)]
struct AnyK;

impl AnyK {
    #[inline]
    fn distances(x: &[f64], ct: &[f64], buf: &mut [f64]) {
        let k = buf.len();
        buf.fill(0.0);
        for (j, &xj) in x.iter().enumerate() {
            for (b, &c) in buf.iter_mut().zip(&ct[j * k..(j + 1) * k]) {
                let t = xj - c;
                *b += t * t;
            }
        }
    }
}

impl Near for AnyK {
    #[inline]
    fn nearest(self, x: &[f64], ct: &[f64], buf: &mut [f64]) -> (usize, f64) {
        AnyK::distances(x, ct, buf);
        closest(buf)
    }
}

/// Exactly `K` centres.
#[derive(Clone, Copy)]
struct FixedK<const K: usize>;

impl<const K: usize> FixedK<K> {
    #[inline]
    fn distances(x: &[f64], ct: &[f64]) -> [f64; K] {
        let mut acc = [0.0; K];
        for (&xj, cj) in x.iter().zip(ct.chunks_exact(K)) {
            for (b, &c) in acc.iter_mut().zip(cj) {
                let t = xj - c;
                *b += t * t;
            }
        }
        acc
    }
}

impl<const K: usize> Near for FixedK<K> {
    #[inline]
    fn nearest(self, x: &[f64], ct: &[f64], _: &mut [f64]) -> (usize, f64) {
        closest(&FixedK::<K>::distances(x, ct))
    }
}

/// `$f(near, args…)` with the [`Near`] for `k` centres: a [`FixedK`] for k up to 10 (the
/// range segmentations use), [`AnyK`] past it.
macro_rules! by_k {
    ($k:expr, $f:ident($($arg:expr),* $(,)?)) => {
        match $k {
            1 => $f(FixedK::<1>, $($arg),*),
            2 => $f(FixedK::<2>, $($arg),*),
            3 => $f(FixedK::<3>, $($arg),*),
            4 => $f(FixedK::<4>, $($arg),*),
            5 => $f(FixedK::<5>, $($arg),*),
            6 => $f(FixedK::<6>, $($arg),*),
            7 => $f(FixedK::<7>, $($arg),*),
            8 => $f(FixedK::<8>, $($arg),*),
            9 => $f(FixedK::<9>, $($arg),*),
            10 => $f(FixedK::<10>, $($arg),*),
            _ => $f(AnyK, $($arg),*),
        }
    };
}

/// The index and value of the smallest distance (the first on a tie).
#[inline]
fn closest(dist: &[f64]) -> (usize, f64) {
    let mut best = 0;
    let mut bd = dist[0];
    // selects rather than branches: which centre is nearer is a coin toss the branch
    // predictor loses often
    for (c, &v) in dist.iter().enumerate().skip(1) {
        let nearer = v < bd;
        bd = if nearer { v } else { bd };
        best = if nearer { c } else { best };
    }
    (best, bd)
}

/// Labels of `data` under `centroids` (`k × d`) and the inertia.
pub(crate) fn assign(data: &[f64], d: usize, k: usize, centroids: &[f64]) -> (Vec<u32>, f64) {
    let (labels, inertia, _) = assign_with_sums(data, d, k, centroids);
    (labels, inertia)
}

/// Rows' coordinate sums (`k × d`) and counts per label.
#[derive(Clone)]
pub(crate) struct LabelSums {
    pub(crate) sums: Vec<f64>,
    pub(crate) counts: Vec<usize>,
}

/// [`assign`] with the rows' sums and counts per label, which the pass adds up anyway (equal
/// to [`crate::select::label_sums`] of the labels, bit for bit).
pub(crate) fn assign_with_sums(
    data: &[f64],
    d: usize,
    k: usize,
    centroids: &[f64],
) -> (Vec<u32>, f64, LabelSums) {
    let mut labels = vec![u32::MAX; data.len() / d];
    let step = lloyd_step(data, d, k, centroids, &mut labels);
    let sums = LabelSums {
        sums: step.sums,
        counts: step.counts,
    };
    (labels, step.inertia, sums)
}

/// Lloyd on all of `data` from given centres, with `params`' tolerance and iteration limit.
pub(crate) fn refine(data: &[f64], d: usize, start: Vec<f64>, params: &KMeansParams) -> KMeansFit {
    let tol_abs = params.tol * mean_variance(data, d);
    lloyd(data, d, params.k, start, params.max_iter, tol_abs)
}

/// Inertia of `data` under `centroids` without keeping labels.
fn inertia_of(data: &[f64], d: usize, k: usize, centroids: &[f64]) -> f64 {
    by_k!(k, inertia_with(data, d, k, centroids))
}

fn inertia_with(near: impl Near, data: &[f64], d: usize, k: usize, centroids: &[f64]) -> f64 {
    let ct = transpose(centroids, k, d);
    let parts: Vec<f64> = data
        .par_chunks(CHUNK * d)
        .map(|x| {
            let mut buf = vec![0.0; k];
            x.chunks_exact(d)
                .map(|r| near.nearest(r, &ct, &mut buf).1)
                .sum()
        })
        .collect();
    parts.iter().sum()
}

struct Step {
    sums: Vec<f64>,
    counts: Vec<usize>,
    inertia: f64,
    changed: usize,
}

/// Assignment plus the sums for the update, in one pass.
fn lloyd_step(data: &[f64], d: usize, k: usize, centroids: &[f64], labels: &mut [u32]) -> Step {
    by_k!(k, lloyd_step_with(data, d, k, centroids, labels))
}

fn lloyd_step_with(
    near: impl Near,
    data: &[f64],
    d: usize,
    k: usize,
    centroids: &[f64],
    labels: &mut [u32],
) -> Step {
    let ct = transpose(centroids, k, d);
    let parts: Vec<Step> = data
        .par_chunks(CHUNK * d)
        .zip(labels.par_chunks_mut(CHUNK))
        .map(|(x, lab)| {
            let mut s = Step {
                sums: vec![0.0; k * d],
                counts: vec![0; k],
                inertia: 0.0,
                changed: 0,
            };
            let mut buf = vec![0.0; k];
            for (row, l) in x.chunks_exact(d).zip(lab.iter_mut()) {
                let (c, dist) = near.nearest(row, &ct, &mut buf);
                if *l != c as u32 {
                    s.changed += 1;
                    *l = c as u32;
                }
                s.counts[c] += 1;
                s.inertia += dist;
                for (a, &v) in s.sums[c * d..(c + 1) * d].iter_mut().zip(row) {
                    *a += v;
                }
            }
            s
        })
        .collect();
    let mut total = Step {
        sums: vec![0.0; k * d],
        counts: vec![0; k],
        inertia: 0.0,
        changed: 0,
    };
    for p in parts {
        for (a, b) in total.sums.iter_mut().zip(p.sums) {
            *a += b;
        }
        for (a, b) in total.counts.iter_mut().zip(p.counts) {
            *a += b;
        }
        total.inertia += p.inertia;
        total.changed += p.changed;
    }
    total
}

/// Lloyd iterations from `start` until the centre shift is within `tol_abs`, labels stop
/// changing, or `max_iter`; then one more plain assignment so labels and inertia match the
/// centres exactly.
///
/// Every point is measured against every centre each iteration. Hamerly's bounds (2010),
/// which let a point skip that once the centres settle, were used before and were a fifth
/// slower on customer features (a continuum, not separated blobs: the bounds seldom hold,
/// and checking and keeping them cost more than the few distances they spared); on
/// well-separated blobs the two were even.
pub(crate) fn lloyd(
    data: &[f64],
    d: usize,
    k: usize,
    start: Vec<f64>,
    max_iter: usize,
    tol_abs: f64,
) -> KMeansFit {
    let n = data.len() / d;
    let mut centers = start;
    let mut labels = vec![u32::MAX; n];
    let mut n_iter = 0;
    let mut converged = false;
    for it in 0..max_iter {
        let mut step = lloyd_step(data, d, k, &centers, &mut labels);
        n_iter = it + 1;
        if step.counts.contains(&0) {
            relocate_empty(data, d, &centers, &mut labels, &mut step);
        }
        let mut shift = 0.0;
        for c in 0..k {
            if step.counts[c] == 0 {
                continue; // only when n < k; keep the old centre
            }
            let inv = 1.0 / step.counts[c] as f64;
            // each centre's squared move, then their sum: the order the convergence test
            // has always added them in
            let mut moved = 0.0;
            for j in 0..d {
                let v = step.sums[c * d + j] * inv;
                let old = centers[c * d + j];
                moved += (v - old) * (v - old);
                centers[c * d + j] = v;
            }
            shift += moved;
        }
        if step.changed == 0 || shift <= tol_abs {
            converged = true;
            break;
        }
    }
    let step = lloyd_step(data, d, k, &centers, &mut labels);
    KMeansFit {
        d,
        k,
        centroids: centers,
        labels,
        inertia: step.inertia,
        n_iter,
        converged,
    }
}

/// Moves the points farthest from their centre into the empty clusters (scikit-learn's
/// `_relocate_empty_clusters`), taking care not to empty their old cluster.
fn relocate_empty(data: &[f64], d: usize, centers: &[f64], labels: &mut [u32], step: &mut Step) {
    let k = step.counts.len();
    let empty: Vec<usize> = (0..k).filter(|&c| step.counts[c] == 0).collect();
    let dist: Vec<f64> = data
        .par_chunks(d)
        .zip(labels.par_iter())
        .map(|(x, &l)| sq_dist(x, &centers[l as usize * d..(l as usize + 1) * d]))
        .collect();
    let mut order: Vec<usize> = (0..dist.len()).collect();
    let by_far = |a: &usize, b: &usize| dist[*b].total_cmp(&dist[*a]).then(a.cmp(b));
    let m = (empty.len() * 2 + k).min(order.len());
    if m < order.len() {
        order.select_nth_unstable_by(m, by_far);
        order.truncate(m);
    }
    order.sort_unstable_by(by_far);
    let mut far = order.into_iter();
    for e in empty {
        for p in far.by_ref() {
            let old = labels[p] as usize;
            if step.counts[old] < 2 {
                continue;
            }
            let row = &data[p * d..(p + 1) * d];
            for (a, &v) in step.sums[old * d..(old + 1) * d].iter_mut().zip(row) {
                *a -= v;
            }
            step.counts[old] -= 1;
            step.sums[e * d..(e + 1) * d].copy_from_slice(row);
            step.counts[e] = 1;
            labels[p] = e as u32;
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_huge_n_init_is_a_config_error_not_an_allocation_failure() {
        let mut p = KMeansParams::new(2);
        p.n_init = usize::MAX;
        let e = check_params(&p).expect_err("refused").to_string();
        assert!(e.contains("n_init"), "{e}");
        p.n_init = MAX_N_INIT;
        assert!(check_params(&p).is_ok());
    }
    use crate::synth::Blobs;

    /// `by_k!`'s nearest centre of one row and its distance, as bits.
    fn both(near: impl Near, x: &[f64], ct: &[f64], k: usize) -> (usize, u64) {
        let mut buf = vec![0.0; k];
        let (c, d) = near.nearest(x, ct, &mut buf);
        (c, d.to_bits())
    }

    #[test]
    fn a_fixed_k_finds_the_nearest_centres_of_any_k_to_the_bit() {
        let (data, _) = Blobs::customers(400, 3).generate();
        let d = 5;
        for k in 1..=12 {
            // centres from the data itself, so that ties and equal distances occur
            let mut centres = data[..k * d].to_vec();
            if k > 2 {
                centres.copy_within(0..d, 2 * d);
            }
            let ct = transpose(&centres, k, d);
            for x in data.chunks_exact(d) {
                let fixed = by_k!(k, both(x, &ct, k));
                assert_eq!(fixed, both(AnyK, x, &ct, k), "k = {k}, row {x:?}");
            }
        }
        // ties go to the lower index, a NaN distance is never the nearest
        assert_eq!(closest(&[2.0, 1.0, 1.0, 3.0]), (1, 1.0));
        assert_eq!(closest(&[1.0, f64::NAN, 0.5]), (2, 0.5));
        assert_eq!(closest(&[3.0, 0.0, 0.0]), (1, 0.0));
    }

    #[test]
    fn recovers_separated_blobs() {
        let b = Blobs::separated(3000, 4, 1);
        let (x, truth) = b.generate();
        let fit = kmeans(&x, 5, &KMeansParams::new(4)).unwrap();
        assert!(same_partition(&fit.labels, &truth));
        assert!(fit.converged);
    }

    #[test]
    fn a_fit_resumed_from_its_first_starts_is_the_fit_with_every_start() {
        let d = 5;
        for (seed, k, first) in [(1, 4, 3), (2, 6, 3), (3, 5, 1), (4, 7, 9), (5, 3, 10)] {
            let (x, _) = Blobs::customers(6_000, seed).generate();
            let all = KMeansParams {
                seed,
                ..KMeansParams::new(k)
            };
            let few = KMeansParams {
                n_init: first,
                ..all.clone()
            };
            let done = kmeans(&x, d, &few).unwrap();
            let resumed = kmeans_resumed(&x, d, &all, first, done).unwrap();
            assert_eq!(resumed, kmeans(&x, d, &all).unwrap(), "seed {seed}, k {k}");
        }
    }

    /// `lloyd` is the textbook iteration: assign every point, move each centre to its
    /// points' mean, as many times as it reports.
    #[test]
    fn lloyd_gives_the_textbook_iterations_result() {
        let (x, _) = Blobs::customers(20_000, 8).generate();
        let d = 5;
        let start = x[..6 * d].to_vec();
        let fast = lloyd(&x, d, 6, start.clone(), 300, 0.0);
        // full assignment every iteration
        let mut c = start;
        let mut labels = vec![u32::MAX; 20_000];
        for _ in 0..fast.n_iter {
            let s = lloyd_step(&x, d, 6, &c, &mut labels);
            for (j, v) in c.iter_mut().enumerate() {
                *v = s.sums[j] / s.counts[j / d] as f64;
            }
        }
        let plain = lloyd_step(&x, d, 6, &c, &mut labels);
        assert_eq!(fast.labels, labels);
        assert!((fast.inertia - plain.inertia).abs() < 1e-9 * plain.inertia);
    }

    #[test]
    fn empty_cluster_is_reseeded_from_farthest_point() {
        // Two centres start on the same spot: one of them gets nothing on the first pass.
        let data = vec![0.0, 0.1, 0.2, 10.0];
        let fit = lloyd(&data, 1, 3, vec![0.1, 0.1, 10.0], 100, 0.0);
        let mut c = fit.centroids.clone();
        c.sort_by(f64::total_cmp);
        assert_eq!(fit.sizes().iter().filter(|&&s| s == 0).count(), 0);
        assert!((c[2] - 10.0).abs() < 1e-12, "{c:?}");
    }

    #[test]
    fn thread_count_does_not_change_the_result() {
        let (x, _) = Blobs::customers(20_000, 3).generate();
        let p = KMeansParams::new(5);
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let three = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap();
        let a = one.install(|| kmeans(&x, 5, &p).unwrap());
        let b = three.install(|| kmeans(&x, 5, &p).unwrap());
        assert_eq!(a, b);
        let sampled = KMeansParams {
            sample_size: 4_000,
            ..p
        };
        let a = one.install(|| kmeans(&x, 5, &sampled).unwrap());
        let b = three.install(|| kmeans(&x, 5, &sampled).unwrap());
        assert_eq!(a, b);
    }

    #[test]
    fn sampled_initialisation_is_close_to_full() {
        let (x, _) = Blobs::customers(30_000, 5).generate();
        let mut p = KMeansParams::new(6);
        let full = kmeans(&x, 5, &p).unwrap();
        p.sample_size = 5_000;
        let sampled = kmeans(&x, 5, &p).unwrap();
        assert!(
            sampled.inertia <= full.inertia * 1.01,
            "{} vs {}",
            sampled.inertia,
            full.inertia
        );
    }

    #[test]
    fn rejects_bad_input() {
        let p = KMeansParams::new(2);
        assert!(matches!(
            kmeans(&[1.0, 2.0, 3.0], 2, &p),
            Err(ClusterError::Shape { .. })
        ));
        assert!(matches!(
            kmeans(&[1.0, 2.0], 2, &p),
            Err(ClusterError::TooFewCustomers { .. })
        ));
        assert!(matches!(
            kmeans(&[1.0, f64::NAN, 2.0, 3.0], 2, &p),
            Err(ClusterError::NonFinite { .. })
        ));
        assert!(matches!(
            kmeans(&[1.0, 1.0, 1.0], 1, &KMeansParams::new(2)),
            Err(ClusterError::TooFewDistinct { k: 2, distinct: 1 })
        ));
        let mut p0 = KMeansParams::new(2);
        p0.n_init = 0;
        assert!(matches!(
            kmeans(&[1.0, 2.0], 1, &p0),
            Err(ClusterError::Config {
                field: "n_init",
                ..
            })
        ));
    }

    /// Same partition up to label order.
    pub(crate) fn same_partition(a: &[u32], b: &[u32]) -> bool {
        let mut map = std::collections::HashMap::new();
        let mut back = std::collections::HashMap::new();
        a.iter()
            .zip(b)
            .all(|(x, y)| *map.entry(x).or_insert(y) == y && *back.entry(y).or_insert(x) == x)
    }
}
