"""Full CDNOW (23,570 customers) weekly summary and lifetimes' BG/NBD fit on it.

Summary: same-day purchases merged (freq='D'), x = purchase days - 1, recency and T in
days/7 (freq_multiplier=7), observation end 1998-06-30 -- the summary clientele builds.
Writes ../data/cdnow_full_weekly.csv: unique (x, tx, T) rows with their customer counts
(tx and T printed with 17 significant digits, so the Rust side reads the same doubles), and
prints lifetimes' BetaGeoFitter params + the LL in original units as JSON (recorded in
tests/cdnow_full.rs). Run from this folder:

  /work/pyenv/bin/python cdnow_full_reference.py ../../../ingest/tests/data/CDNOW_master.txt
(lifetimes 0.11.3, pandas 3.1.1, numpy 2.4.6, scipy 1.17.1)
"""
import json
import sys

import numpy as np
import pandas as pd
from lifetimes import BetaGeoFitter
from lifetimes.utils import summary_data_from_transaction_data
from scipy.special import betaln, gammaln

here = sys.path[0]
src = sys.argv[1] if len(sys.argv) > 1 else here + "/../../../ingest/tests/data/CDNOW_master.txt"
tx = pd.read_csv(src, sep=r"\s+", header=None, skiprows=1, names=["id", "date", "n", "amount"], dtype={"id": str, "date": str})
tx["date"] = pd.to_datetime(tx["date"], format="%Y%m%d")
s = summary_data_from_transaction_data(
    tx, "id", "date", observation_period_end="1998-06-30", freq="D", freq_multiplier=7
)
g = s.groupby(["frequency", "recency", "T"]).size().reset_index(name="count")
with open(here + "/../data/cdnow_full_weekly.csv", "w") as f:
    f.write("x,tx,T,count\n")
    for r in g.itertuples(index=False):
        f.write(f"{int(r.frequency)},{r.recency:.17g},{r.T:.17g},{int(r[3])}\n")


def ll(p, x, t_x, T):
    r, alpha, a, b = p
    A = (r + x) * np.log(alpha + t_x)
    first = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + betaln(a, b + x) - betaln(a, b)
    l3 = -(r + x) * np.log(alpha + T)
    l4 = np.where(x > 0, np.log(a) - np.log(np.maximum(b + x - 1, 1e-300)) - A, -np.inf)
    return float(np.sum(first + np.logaddexp(l3 + A, np.where(x > 0, l4 + A, -np.inf)) - A))


bg = BetaGeoFitter().fit(s["frequency"], s["recency"], s["T"])
p = [bg.params_[k] for k in ["r", "alpha", "a", "b"]]
out = {"customers": int(len(s)), "rows": int(len(g)),
       "bgnbd": dict(zip(["r", "alpha", "a", "b"], p)),
       "ll": ll(p, s["frequency"].values, s["recency"].values, s["T"].values)}
print(json.dumps(out, indent=1))
