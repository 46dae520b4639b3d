#!/usr/bin/env python3
"""Reference customer summary from lifetimes for the CDNOW golden test.

Setup:  python3 -m venv venv && venv/bin/pip install "lifetimes==0.11.3" "pandas<2" "numpy<1.25" "scipy<1.11"
Run:    venv/bin/python crates/ingest/tests/reference/lifetimes_summary.py
Writes: crates/ingest/tests/data/lifetimes_cdnow_master_daily.csv
"""
import os

import lifetimes
import pandas as pd
from lifetimes.utils import summary_data_from_transaction_data

here = os.path.dirname(os.path.abspath(__file__))
data = os.path.join(here, "..", "data")
tx = pd.read_csv(os.path.join(data, "CDNOW_master.txt"), sep=r"\s+", dtype={"customer_id": str, "date": str})
tx["date"] = pd.to_datetime(tx["date"], format="%Y%m%d")
s = summary_data_from_transaction_data(
    tx, "customer_id", "date", monetary_value_col="dollar_value",
    observation_period_end="1998-06-30", freq="D")
s = s.reset_index().sort_values("customer_id")
out = os.path.join(data, "lifetimes_cdnow_master_daily.csv")
s.to_csv(out, index=False, float_format="%.10g")
print(f"lifetimes {lifetimes.__version__}, pandas {pd.__version__}: {len(s)} customers -> {out}")
