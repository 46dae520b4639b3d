//! Synthetic blob data that numpy can reproduce bit for bit, for tests and benchmarks.
//!
//! Why not `rand_distr`: the scikit-learn comparison needs the *same* points in Python without
//! shipping a data file. Every number here comes from a counter-based SplitMix64 and exact IEEE
//! operations (no `ln`/`cos`, whose last bit differs between libms), so
//! `tests/reference/sklearn_reference.py` rebuilds identical data with vectorised numpy.

const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// SplitMix64 output number `i` of the stream `seed` (counter based, so it parallelises).
pub fn splitmix(seed: u64, i: u64) -> u64 {
    let mut z = seed.wrapping_add(i.wrapping_add(1).wrapping_mul(GAMMA));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Uniform in [0, 1) with 53 random bits, exact in f64.
pub fn uniform(seed: u64, i: u64) -> f64 {
    (splitmix(seed, i) >> 11) as f64 * (1.0 / 9_007_199_254_740_992.0)
}

/// A mixture of blobs with bounded, roughly normal noise (Irwin–Hall: sum of 12 uniforms − 6,
/// standard deviation 1, range ±6).
#[derive(Debug, Clone, PartialEq)]
pub struct Blobs {
    /// Number of points.
    pub n: usize,
    /// Features per point.
    pub d: usize,
    /// Centres, `weights.len() × d`, row-major.
    pub centers: Vec<f64>,
    /// Integer blob weights (sizes are proportional to them).
    pub weights: Vec<u64>,
    /// Noise standard deviation.
    pub sigma: f64,
    /// Stream seed.
    pub seed: u64,
}

impl Blobs {
    /// `n_blobs` centres drawn uniformly in `[-half_width, half_width]^d`, weights `weights`.
    pub fn random_centers(
        n: usize,
        d: usize,
        weights: Vec<u64>,
        half_width: f64,
        sigma: f64,
        seed: u64,
    ) -> Blobs {
        let centers = (0..weights.len() * d)
            .map(|i| half_width * (2.0 * uniform(seed ^ 0xC3C3, i as u64) - 1.0))
            .collect();
        Blobs {
            n,
            d,
            centers,
            weights,
            sigma,
            seed,
        }
    }

    /// Customer-like overlapping segments: 6 blobs of unequal size in 5 features.
    pub fn customers(n: usize, seed: u64) -> Blobs {
        Blobs::random_centers(n, 5, vec![30, 25, 18, 12, 10, 5], 1.5, 0.6, seed)
    }

    /// `k` equal, well-separated blobs in 5 features (any sane k-means recovers them exactly).
    pub fn separated(n: usize, k: usize, seed: u64) -> Blobs {
        Blobs::random_centers(n, 5, vec![1; k], 10.0, 0.1, seed)
    }

    /// The blob of point `i`.
    pub fn member(&self, i: usize) -> u32 {
        let total: u64 = self.weights.iter().sum();
        let mut r = splitmix(self.seed ^ 0xA5A5, i as u64) % total;
        for (b, &w) in self.weights.iter().enumerate() {
            if r < w {
                return b as u32;
            }
            r -= w;
        }
        (self.weights.len() - 1) as u32
    }

    /// The points (`n × d`, row-major) and each point's blob.
    pub fn generate(&self) -> (Vec<f64>, Vec<u32>) {
        use rayon::prelude::*;
        let d = self.d;
        let mut x = vec![0.0; self.n * d];
        let members: Vec<u32> = (0..self.n)
            .into_par_iter()
            .map(|i| self.member(i))
            .collect();
        x.par_chunks_mut(d).enumerate().for_each(|(i, row)| {
            let b = members[i] as usize;
            for (j, v) in row.iter_mut().enumerate() {
                let base = ((i * d + j) * 12) as u64;
                let mut acc = 0.0;
                for t in 0..12 {
                    acc += uniform(self.seed, base + t);
                }
                *v = self.centers[b * d + j] + self.sigma * (acc - 6.0);
            }
        });
        (x, members)
    }
}
