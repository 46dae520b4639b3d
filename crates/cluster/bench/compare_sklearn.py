"""Compare clientele's k-means with scikit-learn's KMeans on the same 1M × 5 data, k = 8.

Usage (from the repository root):
    CARGO_TARGET_DIR=/work/target-cluster cargo build --release -p clientele-cluster --example bench_kmeans
    /work/pyenv/bin/python crates/cluster/bench/compare_sklearn.py [--n 1000000] [--k 8] [--rust BIN]

Both sides generate the data themselves from `synth` (seed 42; see
tests/reference/synth_blobs.py), and the data checksums are printed to prove they are equal.
scikit-learn runs `KMeans(k, init='k-means++', n_init=10, tol=1e-4, max_iter=300,
random_state=0)`: the same settings as clientele's defaults.
"""
import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "reference"))

import numpy as np  # noqa: E402
import sklearn  # noqa: E402
from sklearn.cluster import KMeans  # noqa: E402
from threadpoolctl import threadpool_info  # noqa: E402

from synth_blobs import Blobs  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--k", type=int, default=8)
    ap.add_argument("--rust", default="/work/target-cluster/release/examples/bench_kmeans")
    ap.add_argument("--skip-rust", action="store_true")
    a = ap.parse_args()

    t0 = time.perf_counter()
    x, _ = Blobs.customers(a.n, 42).generate()
    gen_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    km = KMeans(n_clusters=a.k, init="k-means++", n_init=10, max_iter=300, tol=1e-4, random_state=0).fit(x)
    fit_s = time.perf_counter() - t1
    sk = {
        "tool": f"scikit-learn {sklearn.__version__}",
        "n": a.n, "k": a.k,
        "threads": max((p.get("num_threads", 1) for p in threadpool_info()), default=1),
        "generate_s": round(gen_s, 3),
        "checksum": round(float(np.sum(x.ravel(), dtype=np.float64)), 6),
        "fit_s": round(fit_s, 3), "inertia": km.inertia_, "n_iter": int(km.n_iter_),
    }
    print(json.dumps(sk))
    if not a.skip_rust:
        out = subprocess.run([a.rust, str(a.n), str(a.k)], check=True, capture_output=True, text=True).stdout
        rs = json.loads(out.strip().splitlines()[-1])
        print(json.dumps(rs))
        print(f"speed-up {sk['fit_s'] / rs['fit_s']:.1f}x; inertia ratio clientele/sklearn "
              f"{rs['inertia'] / sk['inertia']:.6f}")


if __name__ == "__main__":
    main()
