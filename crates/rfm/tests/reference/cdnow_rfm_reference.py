"""Independent reference numbers for the CDNOW golden test of clientele-rfm.

Run from the repository root with the project's Python venv (pandas 1.5.3, numpy):

    /work/pyenv/bin/python crates/rfm/tests/reference/cdnow_rfm_reference.py

It writes crates/rfm/tests/reference/cdnow_rfm_reference.json, which tests/cdnow_golden.rs compares
with the Rust results. Conventions (the same ones clientele documents):

* as-of 1998-06-30; recency_days = as-of - last purchase day; orders = distinct purchase days;
  monetary = sum of dollar_value.
* quantile scores, 5 levels: cut points = numpy linear quantiles at 0.2, 0.4, 0.6, 0.8; bins are
  right-closed (a value equal to a cut point stays in the lower bin); recency reversed.
* Chinese 8-class: raw values against the population mean, strict (equal counts as low).
* R x F 10 segments: the published regex map over the 2-character "RF" string, anchored.
* PyMC-Marketing default rfm_segments: pandas.qcut(q=4, duplicates="drop") with PyMC's label
  fallback, frequency = purchase days, monetary = mean spend per purchase day; segment lists copied
  from pymc_marketing/clv/utils.py.
"""

import json
import os
import re

import numpy as np
import pandas as pd

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "data", "CDNOW_master.txt")
OUT = os.path.join(HERE, "cdnow_rfm_reference.json")

tx = pd.read_csv(DATA, sep=r"\s+", dtype={"customer_id": str, "date": str})
tx["date"] = pd.to_datetime(tx["date"], format="%Y%m%d")
as_of = pd.Timestamp("1998-06-30")

g = tx.groupby("customer_id")
cust = pd.DataFrame(
    {
        "recency_days": (as_of - g["date"].max()).dt.days,
        "orders": g["date"].nunique(),
        "monetary": g["dollar_value"].sum(),
    }
)


def quantile_scores(x, bins, reverse):
    cuts = np.quantile(x.to_numpy(), [j / bins for j in range(1, bins)])
    raw = np.searchsorted(cuts, x.to_numpy(), side="left") + 1  # count of cuts < x, plus 1
    score = (bins + 1 - raw) if reverse else raw
    return pd.Series(score, index=x.index), [float(c) for c in cuts]


cust["r"], r_cuts = quantile_scores(cust["recency_days"], 5, True)
cust["f"], f_cuts = quantile_scores(cust["orders"], 5, False)
cust["m"], m_cuts = quantile_scores(cust["monetary"], 5, False)

# Chinese 8-class, raw vs mean, strict.
means = cust[["recency_days", "orders", "monetary"]].mean()
rh = cust["recency_days"] < means["recency_days"]
fh = cust["orders"] > means["orders"]
mh = cust["monetary"] > means["monetary"]
CN8 = {
    (True, True, True): "重要价值客户",
    (True, False, True): "重要发展客户",
    (False, True, True): "重要保持客户",
    (False, False, True): "重要挽留客户",
    (True, True, False): "一般价值客户",
    (True, False, False): "一般发展客户",
    (False, True, False): "一般保持客户",
    (False, False, False): "一般挽留客户",
}
cust["cn8"] = [CN8[(a, b, c)] for a, b, c in zip(rh, fh, mh)]

# R x F regex map (segmentation.md 2.4), anchored.
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


cust["rf10"] = [rf_segment(f"{r}{f}") for r, f in zip(cust["r"], cust["f"])]

# PyMC-Marketing default segments.
def pymc_labels(name, n):
    return list(range(n - 1, 0, -1)) if name == "r" else list(range(1, n))


pym = pd.DataFrame(
    {
        "recency": cust["recency_days"],
        "frequency": cust["orders"],
        "monetary_value": cust["monetary"] / cust["orders"],
    }
)
quart = {}
for q, col in zip(["r", "f", "m"], ["recency", "frequency", "monetary_value"]):
    for n in (5, 4, 3):
        try:
            quart[q] = pd.qcut(pym[col], q=4, labels=pymc_labels(q, n), duplicates="drop").astype(str)
            break
        except ValueError:
            continue
pym["score"] = quart["r"] + quart["f"] + quart["m"]
PYMC = {
    "Premium Customer": ["334", "443", "444", "344", "434", "433", "343", "333"],
    "Repeat Customer": ["244", "234", "232", "332", "143", "233", "243"],
    "Top Spender": ["424", "414", "144", "314", "324", "124", "224", "423", "413", "133", "323", "313", "134"],
    "At Risk Customer": ["422", "223", "212", "122", "222", "132", "322", "312", "412", "123", "214"],
    "Inactive Customer": ["411", "111", "113", "114", "112", "211", "311"],
}
pym["segment"] = "Other"
for k, v in PYMC.items():
    pym.loc[pym["score"].isin(v), "segment"] = k

grid = [[int(((cust["r"] == r) & (cust["f"] == f)).sum()) for f in range(1, 6)] for r in range(1, 6)]
grid_mean = [
    [
        (float(cust.loc[(cust["r"] == r) & (cust["f"] == f), "monetary"].mean()) if grid[r - 1][f - 1] else None)
        for f in range(1, 6)
    ]
    for r in range(1, 6)
]


def counts(s):
    return {str(k): int(v) for k, v in s.value_counts().sort_index().items()}


out = {
    "customers": int(len(cust)),
    "transactions": int(len(tx)),
    "total_monetary": float(cust["monetary"].sum()),
    "cuts": {"recency": r_cuts, "frequency": f_cuts, "monetary": m_cuts},
    "level_counts": {
        "recency": [int((cust["r"] == s).sum()) for s in range(1, 6)],
        "frequency": [int((cust["f"] == s).sum()) for s in range(1, 6)],
        "monetary": [int((cust["m"] == s).sum()) for s in range(1, 6)],
    },
    "cn8_means": {k: float(v) for k, v in means.items()},
    "cn8_counts": counts(cust["cn8"]),
    "cn8_revenue": {k: float(v) for k, v in cust.groupby("cn8")["monetary"].sum().items()},
    "rf_grid_customers": grid,
    "rf_grid_mean_monetary": grid_mean,
    "rf10_counts": counts(cust["rf10"]),
    "pymc_counts": counts(pym["segment"]),
    "rfm_code_counts": counts(cust["r"].astype(str) + cust["f"].astype(str) + cust["m"].astype(str)),
}
with open(OUT, "w", encoding="utf-8") as fh:
    json.dump(out, fh, ensure_ascii=False, indent=1, sort_keys=True)
    fh.write("\n")
print(json.dumps({k: out[k] for k in ["customers", "level_counts", "cn8_counts", "rf10_counts", "pymc_counts"]}, ensure_ascii=False))
