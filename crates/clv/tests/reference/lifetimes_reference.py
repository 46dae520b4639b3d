"""Per-customer lifetimes 0.11.3 predictions at fixed parameters on the CDNOW sample summary.

Run: /work/pyenv/bin/python lifetimes_reference.py > ../data/lifetimes_reference.csv
(lifetimes 0.11.3, pandas 1.5.3, numpy 1.24, scipy 1.10).
"""
import sys
import pandas as pd
from lifetimes import BetaGeoFitter, ModifiedBetaGeoFitter, ParetoNBDFitter

d = pd.read_csv(sys.path[0] + "/../data/cdnow_customers_summary.csv")
x, tx, T = d["frequency"], d["recency"], d["T"]
out = pd.DataFrame({"x": x, "tx": tx, "T": T})
for name, cls, params in [
    ("bg", BetaGeoFitter, dict(r=0.24259, alpha=4.41353, a=0.79289, b=2.42575)),
    ("mbg", ModifiedBetaGeoFitter, dict(r=0.52484, alpha=6.18299, a=0.89136, b=1.61400)),
    ("pnbd", ParetoNBDFitter, dict(r=0.55328, alpha=10.57775, s=0.60617, beta=11.66691)),
]:
    m = cls()
    m.params_ = pd.Series(params)
    out[name + "_palive"] = m.conditional_probability_alive(x, tx, T)
    out[name + "_e39"] = m.conditional_expected_number_of_purchases_up_to_time(39, x, tx, T)
pd.set_option("display.precision", 17)
out.to_csv(sys.stdout, index=False, float_format="%.17g")
