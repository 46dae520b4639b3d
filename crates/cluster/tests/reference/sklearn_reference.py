"""Reference numbers from scikit-learn for tests/sklearn_agreement.rs.

Regenerate (from the repository root):
    /work/pyenv/bin/python crates/cluster/tests/reference/sklearn_reference.py

The data are not stored: synth_blobs.py rebuilds, bit for bit, the points that
`clientele_cluster::synth::Blobs` generates in Rust, and each case records an exact checksum
(wrapping sum of the f64 bit patterns) so the Rust test can prove it clusters the same numbers.
Writes sklearn_reference.json next to this file: per case, scikit-learn's best-of-10 inertia
(`KMeans(k, init='k-means++', n_init=10, max_iter=300, tol=1e-4, random_state=0)`) and, for
well-separated blobs, a hash of its partition (labels renumbered by first appearance, FNV-1a).
"""
import json
import os

import numpy as np
import sklearn
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score

from synth_blobs import Blobs

HERE = os.path.dirname(os.path.abspath(__file__))


def bits_checksum(x):
    return int(np.ascontiguousarray(x).view(np.uint64).sum(dtype=np.uint64))


def partition_hash(labels):
    first = {}
    h = 0xCBF29CE484222325
    for l in labels.tolist():
        c = first.setdefault(l, len(first))
        h ^= c
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def main():
    cases = []
    specs = [
        ("customers_k4", "customers", 100_000, 4, 7),
        ("customers_k8", "customers", 100_000, 8, 7),
        ("separated_k4", "separated", 100_000, 4, 11),
        ("separated_k8", "separated", 100_000, 8, 12),
    ]
    for name, kind, n, k, seed in specs:
        b = Blobs.customers(n, seed) if kind == "customers" else Blobs.separated(n, k, seed)
        x, truth = b.generate()
        km = KMeans(n_clusters=k, init="k-means++", n_init=10, max_iter=300, tol=1e-4, random_state=0).fit(x)
        case = {
            "name": name, "kind": kind, "n": n, "k": k, "seed": seed,
            "checksum": str(bits_checksum(x)),
            "sklearn_inertia": km.inertia_,
            "sklearn_n_iter": int(km.n_iter_),
        }
        if kind == "separated":
            ari = adjusted_rand_score(truth, km.labels_)
            assert ari == 1.0, f"{name}: scikit-learn did not recover the blobs (ARI {ari})"
            case["sklearn_partition_hash"] = str(partition_hash(km.labels_))
        cases.append(case)
        print(name, km.inertia_)
    out = {"generator": "crates/cluster/tests/reference/sklearn_reference.py",
           "sklearn": sklearn.__version__, "numpy": np.__version__, "cases": cases}
    with open(os.path.join(HERE, "sklearn_reference.json"), "w") as f:
        json.dump(out, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
