#!/usr/bin/env python3
"""DuckDB and Polars' streaming engine building the customer table from a large CSV, for
bench/scale.sh: the aggregation of ../shared/bench/peers_customer_table.py (first and last day,
orders, purchase days, monetary, the CLV-convention mean spend, distinct categories), written to
Parquet so that the whole table passes through each engine as clientele's does.

Usage: scale_peers.py FILE OUT_DIR --engine duckdb|polars [--threads 2] [--memory-limit 4GB]
Needs: pip install duckdb polars
"""
import argparse
import os
import time


def run_duckdb(path, out, threads, memory_limit):
    import duckdb
    con = duckdb.connect()
    con.execute(f"SET threads={threads}")
    con.execute(f"SET memory_limit='{memory_limit}'")
    con.execute(f"SET temp_directory='{out}/duckdb.tmp'")
    con.execute("SET preserve_insertion_order=false")
    q = f"""
    COPY (
    WITH t AS (SELECT customer_id, CAST(order_date AS DATE) AS d, amount, category
               FROM read_csv('{path}', header=true)),
    days AS (SELECT customer_id, d, SUM(amount) AS amt, COUNT(*) AS n FROM t GROUP BY 1, 2),
    cats AS (SELECT customer_id, COUNT(DISTINCT category) AS categories FROM t GROUP BY 1),
    c AS (SELECT customer_id, MIN(d) AS first, MAX(d) AS last, SUM(n) AS orders, COUNT(*) AS days,
                 SUM(amt) AS monetary, arg_min(amt, d) AS first_amt FROM days GROUP BY 1)
    SELECT customer_id, first, last, orders, days, monetary,
           CASE WHEN days > 1 THEN (monetary - first_amt) / (days - 1) ELSE 0 END AS mv,
           categories
    FROM c JOIN cats USING (customer_id)
    ) TO '{out}/duckdb.parquet' (FORMAT parquet)"""
    con.execute(q)
    return con.execute(f"SELECT COUNT(*), SUM(orders), SUM(monetary) FROM '{out}/duckdb.parquet'").fetchone()


def run_polars(path, out, threads, memory_limit):
    os.environ["POLARS_MAX_THREADS"] = str(threads)
    import polars as pl
    lf = pl.scan_csv(path, try_parse_dates=True, schema_overrides={"order_date": pl.Date})
    days = lf.group_by(["customer_id", "order_date"]).agg(
        pl.col("amount").sum().alias("amt"), pl.len().alias("n"))
    c = days.group_by("customer_id").agg(
        pl.col("order_date").min().alias("first"), pl.col("order_date").max().alias("last"),
        pl.col("n").sum().alias("orders"), pl.len().alias("days"), pl.col("amt").sum().alias("monetary"),
        pl.col("amt").sort_by("order_date").first().alias("first_amt"))
    cats = lf.group_by("customer_id").agg(pl.col("category").n_unique().alias("categories"))
    table = c.join(cats, on="customer_id").select(
        "customer_id", "first", "last", "orders", "days", "monetary",
        pl.when(pl.col("days") > 1).then((pl.col("monetary") - pl.col("first_amt")) / (pl.col("days") - 1))
        .otherwise(0).alias("mv"), "categories")
    table.sink_parquet(f"{out}/polars.parquet", engine="streaming")
    t = pl.scan_parquet(f"{out}/polars.parquet").select(
        pl.len(), pl.col("orders").sum(), pl.col("monetary").sum()).collect()
    return tuple(t.row(0))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("out")
    ap.add_argument("--engine", required=True, choices=["duckdb", "polars"])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--memory-limit", default="4GB")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    t0 = time.perf_counter()
    res = globals()[f"run_{a.engine}"](a.file, a.out, a.threads, a.memory_limit)
    print(f"{a.engine} {time.perf_counter() - t0:.1f} s customers={res[0]} orders={res[1]} "
          f"monetary={float(res[2]):.2f}")


if __name__ == "__main__":
    main()
