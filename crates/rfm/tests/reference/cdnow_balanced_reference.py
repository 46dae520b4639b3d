"""Independent reference numbers for the default `balanced` RFM scoring on CDNOW.

Run from the repository root with numpy (no pandas needed):

    python crates/rfm/tests/reference/cdnow_balanced_reference.py

It writes crates/rfm/tests/reference/cdnow_balanced_reference.json, which tests/cdnow_golden.rs
compares with the Rust results. The rule, as clientele documents it (crates/rfm/src/config.rs,
`Method::Balanced`):

* cut points = numpy linear quantiles at 0.2, 0.4, 0.6, 0.8 when every level, right-closed (a
  value equal to a cut point stays in the lower level), gets at least one customer;
* otherwise, with at least 5 distinct values: cut points are chosen among the distinct values
  from left to right; cut j goes to the distinct value whose number of customers at or below it
  is closest to placed + (n - placed) / (levels left), the lower value on a tie, keeping one
  distinct value free for every level still to fill; recency reversed.

Written without looking at the Rust code: every candidate cut point is tried by brute force.
"""

import json
import os
import re
from collections import defaultdict
from datetime import date

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "data", "CDNOW_master.txt")
OUT = os.path.join(HERE, "cdnow_balanced_reference.json")

AS_OF = date(1998, 6, 30)
days = defaultdict(set)
money = defaultdict(float)
with open(DATA) as f:
    next(f)
    for line in f:
        cid, d, _n, amount = line.split()
        days[cid].add(date(int(d[:4]), int(d[4:6]), int(d[6:])))
        money[cid] += float(amount)
ids = sorted(days)
recency = np.array([(AS_OF - max(days[c])).days for c in ids], dtype=float)
orders = np.array([len(days[c]) for c in ids], dtype=float)
monetary = np.array([money[c] for c in ids])
BINS = 5


def raw_bins(x, cuts):
    return np.searchsorted(np.asarray(cuts), x, side="left") + 1  # cuts below x, plus 1


def balanced_cuts(x, bins):
    n = len(x)
    q = [float(c) for c in np.quantile(x, [j / bins for j in range(1, bins)])]
    if all(np.bincount(raw_bins(x, q), minlength=bins + 1)[1:] > 0):
        return q
    values = np.unique(x)
    below = [int((x <= v).sum()) for v in values]
    assert len(values) >= bins
    cuts, placed, first = [], 0, 0
    for j in range(1, bins):
        target = placed + (n - placed) / (bins - j + 1)
        last = len(values) - 1 - (bins - j)
        best = min(range(first, last + 1), key=lambda i: (abs(below[i] - target), i))
        cuts.append(float(values[best]))
        placed, first = below[best], best + 1
    return cuts


cuts = {
    "recency": balanced_cuts(recency, BINS),
    "frequency": balanced_cuts(orders, BINS),
    "monetary": balanced_cuts(monetary, BINS),
}
r = BINS + 1 - raw_bins(recency, cuts["recency"])
fq = raw_bins(orders, cuts["frequency"])
m = raw_bins(monetary, cuts["monetary"])


def level_counts(s):
    return [int((s == k).sum()) for k in range(1, BINS + 1)]


RF_REGEX = [
    (r"^[1-2][1-2]$", "hibernating"),
    (r"^[1-2][3-4]$", "at_risk"),
    (r"^[1-2]5$", "cant_lose"),
    (r"^3[1-2]$", "about_to_sleep"),
    (r"^33$", "need_attention"),
    (r"^[3-4][4-5]$", "loyal_customers"),
    (r"^41$", "promising"),
    (r"^51$", "new_customers"),
    (r"^[4-5][2-3]$", "potential_loyalists"),
    (r"^5[4-5]$", "champions"),
]


def rf_segment(code):
    hits = [name for pat, name in RF_REGEX if re.match(pat, code)]
    assert len(hits) == 1, (code, hits)
    return hits[0]


def counts(items):
    out = defaultdict(int)
    for k in items:
        out[k] += 1
    return dict(sorted(out.items()))


out = {
    "customers": len(ids),
    "cuts": cuts,
    "level_counts": {
        "recency": level_counts(r),
        "frequency": level_counts(fq),
        "monetary": level_counts(m),
    },
    "rfm_code_counts": counts(f"{a}{b}{c}" for a, b, c in zip(r, fq, m)),
    "rf_grid_customers": [
        [int(((r == i) & (fq == j)).sum()) for j in range(1, BINS + 1)] for i in range(1, BINS + 1)
    ],
    "rf10_counts": counts(rf_segment(f"{a}{b}") for a, b in zip(r, fq)),
}
with open(OUT, "w") as f:
    json.dump(out, f, indent=1, sort_keys=True)
    f.write("\n")
print(json.dumps({k: out[k] for k in ("cuts", "level_counts")}, indent=1))
