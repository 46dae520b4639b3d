#!/usr/bin/env python3
"""Checksums of clientele's customers.parquet, in the form peers_customer_table.py prints them.

customers = rows; orders = Σ orders (one order id per row in the synthetic data, so = rows read);
days = Σ purchase_days; monetary = Σ monetary; mv_sum = Σ monetary_value (CLV convention, 0 for
one-day customers); categories = Σ categories.

Usage: checksum_customers.py OUT_DIR/customers.parquet   (needs pyarrow)
"""
import sys

import pyarrow.compute as pc
import pyarrow.parquet as pq

t = pq.read_table(sys.argv[1], columns=["orders", "purchase_days", "monetary", "monetary_value", "categories"])


def total(c):
    return pc.sum(t[c]).as_py() or 0


print(f"customers={t.num_rows} orders={total('orders')} days={total('purchase_days')} "
      f"monetary={float(total('monetary')):.2f} mv_sum={float(total('monetary_value')):.4f} "
      f"categories={total('categories')}")
