"""numpy mirror of `clientele_cluster::synth` (src/synth.rs): bit-identical blob data.

Counter-based SplitMix64 plus exact IEEE arithmetic only, so the Rust tests and benchmarks can
generate the very same points without a data file.
"""
import numpy as np

GAMMA = np.uint64(0x9E3779B97F4A7C15)
M1 = np.uint64(0xBF58476D1CE4E5B9)
M2 = np.uint64(0x94D049BB133111EB)
MASK = (1 << 64) - 1


def splitmix(seed, i):
    """SplitMix64 output number i (uint64 array) of stream `seed`."""
    with np.errstate(over="ignore"):
        z = np.uint64(seed & MASK) + (i + np.uint64(1)) * GAMMA
        z = (z ^ (z >> np.uint64(30))) * M1
        z = (z ^ (z >> np.uint64(27))) * M2
        return z ^ (z >> np.uint64(31))


def uniform(seed, i):
    return (splitmix(seed, i) >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)


class Blobs:
    def __init__(self, n, d, centers, weights, sigma, seed):
        self.n, self.d, self.centers = n, d, np.asarray(centers, dtype=np.float64).reshape(-1, d)
        self.weights, self.sigma, self.seed = list(weights), sigma, seed

    @classmethod
    def random_centers(cls, n, d, weights, half_width, sigma, seed):
        i = np.arange(len(weights) * d, dtype=np.uint64)
        c = half_width * (2.0 * uniform(seed ^ 0xC3C3, i) - 1.0)
        return cls(n, d, c, weights, sigma, seed)

    @classmethod
    def customers(cls, n, seed):
        return cls.random_centers(n, 5, [30, 25, 18, 12, 10, 5], 1.5, 0.6, seed)

    @classmethod
    def separated(cls, n, k, seed):
        return cls.random_centers(n, 5, [1] * k, 10.0, 0.1, seed)

    def members(self):
        total = np.uint64(sum(self.weights))
        r = splitmix(self.seed ^ 0xA5A5, np.arange(self.n, dtype=np.uint64)) % total
        out = np.full(self.n, -1, dtype=np.int64)
        cum = 0
        for b, w in enumerate(self.weights):
            hit = (out < 0) & (r < np.uint64(cum + w))
            out[hit] = b
            cum += w
        out[out < 0] = len(self.weights) - 1
        return out

    def generate(self):
        n, d = self.n, self.d
        m = self.members()
        base = np.arange(n * d, dtype=np.uint64) * np.uint64(12)
        acc = np.zeros(n * d)
        for t in range(12):
            acc = acc + uniform(self.seed, base + np.uint64(t))
        noise = (acc - 6.0).reshape(n, d)
        x = self.centers[m] + self.sigma * noise
        return x, m
