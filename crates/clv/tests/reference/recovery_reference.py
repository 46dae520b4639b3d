"""Parameter-recovery fixture: 100k synthetic customers with known truth, and lifetimes' fits.

Generates transactions with ../../../../../shared/bench/gen_transactions.py (BG/NBD purchases,
Gamma-Gamma spend; truth r 0.25, alpha 20 /day, a 0.8, b 2.5; p 6, q 4, gamma 15; seed 7),
builds lifetimes' daily summary (freq='D': same-day orders merged, frequency = purchase days - 1,
recency/T in days, monetary_value = mean repeat-day spend; observation end = start + 730 days,
the end of the simulated window) and writes
  ../data/recovery_100k_bgnbd.csv  unique (x, tx, T) rows with customer counts
  ../data/recovery_100k_gg.csv     (x, m) of every repeat customer (m with 17 significant digits)
then prints lifetimes' BetaGeoFitter / GammaGammaFitter params and LLs (recorded in
tests/recovery.rs). Run from this folder:

  /work/pyenv/bin/python recovery_reference.py [path/to/gen_transactions.py]
(lifetimes 0.11.3, pandas 3.1.1, numpy 2.4.6, scipy 1.17.1)
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import pandas as pd
from lifetimes import BetaGeoFitter, GammaGammaFitter
from lifetimes.utils import summary_data_from_transaction_data
from scipy.special import betaln, gammaln

here = sys.path[0]
gen = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "../../../../../shared/bench/gen_transactions.py")
with tempfile.TemporaryDirectory() as tmp:
    out = os.path.join(tmp, "tx.csv")
    subprocess.run([sys.executable, gen, "--customers", "100000", "--seed", "7", "--out", out], check=True)
    truth = json.load(open(out + ".truth.json"))
    tx = pd.read_csv(out, usecols=["customer_id", "order_date", "amount"])
tx["order_date"] = pd.to_datetime(tx["order_date"])
end = pd.Timestamp(truth["start"]) + pd.Timedelta(days=truth["days"])
s = summary_data_from_transaction_data(
    tx, "customer_id", "order_date", monetary_value_col="amount", observation_period_end=end, freq="D"
)
g = s.groupby(["frequency", "recency", "T"]).size().reset_index(name="count")
with open(os.path.join(here, "../data/recovery_100k_bgnbd.csv"), "w") as f:
    f.write("x,tx,T,count\n")
    for r in g.itertuples(index=False):
        f.write(f"{int(r[0])},{int(r[1])},{int(r[2])},{int(r[3])}\n")
rep = s[s["frequency"] > 0]
with open(os.path.join(here, "../data/recovery_100k_gg.csv"), "w") as f:
    f.write("x,m\n")
    for x, m in zip(rep["frequency"].astype(int), rep["monetary_value"]):
        f.write(f"{x},{m:.17g}\n")


def bg_ll(p, x, t_x, T, w):
    r, alpha, a, b = p
    first = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + betaln(a, b + x) - betaln(a, b)
    l3 = -(r + x) * np.log(alpha + T)
    l4 = np.where(x > 0, np.log(a) - np.log(np.maximum(b + x - 1, 1e-300)) - (r + x) * np.log(alpha + t_x), -np.inf)
    return float(np.sum(w * (first + np.logaddexp(l3, l4))))


def gg_ll(p, x, m):
    pp, q, v = p
    return float(np.sum(gammaln(pp * x + q) - gammaln(pp * x) - gammaln(q) + q * np.log(v)
                        + (pp * x - 1) * np.log(m) + pp * x * np.log(x) - (pp * x + q) * np.log(v + x * m)))


x, t_x, T, w = (g[c].values.astype(float) for c in ["frequency", "recency", "T", "count"])
bg = BetaGeoFitter().fit(x, t_x, T, weights=w)
pb = [float(bg.params_[k]) for k in ["r", "alpha", "a", "b"]]
gg = GammaGammaFitter().fit(rep["frequency"], rep["monetary_value"])
pg = [float(gg.params_[k]) for k in ["p", "q", "v"]]
print(json.dumps({
    "truth": truth, "customers": int(len(s)), "bgnbd_rows": int(len(g)), "repeaters": int(len(rep)),
    "bgnbd": pb, "bgnbd_ll": bg_ll(pb, x, t_x, T, w),
    "gamma_gamma": pg, "gg_ll": gg_ll(pg, rep["frequency"].values.astype(float), rep["monetary_value"].values),
}, indent=1))
