#!/usr/bin/env python3
"""Independent computation of CDNOW monthly trends and the cohort retention matrix with DuckDB.

Usage:
  cdnow_trends.py CDNOW_master.txt --write FIXTURE.json     # (re)write the committed fixture
  cdnow_trends.py CDNOW_master.txt --check summary.json     # compare with clientele's summary.json
Needs: pip install duckdb
Definitions (same as clientele): a purchase occasion is a customer-day with a non-negative row
(CDNOW has no order ids, so orders = purchase days); a customer is active in a month with at least
one order; new = first purchase in that month; cohort = first-purchase month.
"""
import argparse
import json
import sys

import duckdb


def compute(path):
    con = duckdb.connect()
    # whitespace-separated with runs of spaces: let DuckDB split a single column
    con.execute(f"""
        CREATE TABLE raw AS SELECT string_split(regexp_replace(trim(line), '\\s+', ' ', 'g'), ' ') AS f
        FROM read_csv('{path}', columns={{'line':'VARCHAR'}}, header=false, delim='\\x01', quote='')
    """)
    con.execute("""
        CREATE TABLE t AS SELECT f[1] AS c, strptime(f[2], '%Y%m%d')::DATE AS d, f[4]::DOUBLE AS a
        FROM raw WHERE f[1] <> 'customer_id'
    """)
    con.execute("CREATE TABLE m AS SELECT c, date_trunc('month', d)::DATE AS mo, SUM(a) AS rev, "
                "COUNT(DISTINCT CASE WHEN a >= 0 THEN d END) AS orders FROM t GROUP BY 1, 2")
    con.execute("CREATE TABLE f AS SELECT c, MIN(mo) AS first FROM m WHERE orders > 0 GROUP BY 1")
    trends = con.execute("""
        SELECT strftime(m.mo, '%Y-%m') AS month, SUM(rev) AS revenue, SUM(orders) AS orders,
               COUNT(*) FILTER (WHERE orders > 0) AS active,
               COUNT(*) FILTER (WHERE orders > 0 AND f.first = m.mo) AS new
        FROM m JOIN f USING (c) GROUP BY 1 ORDER BY 1""").fetchall()
    cohorts = con.execute("""
        SELECT strftime(f.first, '%Y-%m') AS cohort,
               (year(m.mo) - year(f.first)) * 12 + month(m.mo) - month(f.first) AS k,
               COUNT(*) FILTER (WHERE orders > 0) AS active, SUM(rev) AS revenue
        FROM m JOIN f USING (c) GROUP BY 1, 2 ORDER BY 1, 2""").fetchall()
    sizes = dict(con.execute("SELECT strftime(first, '%Y-%m'), COUNT(*) FROM f GROUP BY 1").fetchall())
    out = {"trends": [dict(month=r[0], revenue=round(r[1], 6), orders=r[2], active=r[3], new=r[4]) for r in trends],
           "cohorts": {}}
    for cohort, k, active, revenue in cohorts:
        row = out["cohorts"].setdefault(cohort, {"size": sizes[cohort], "active": [], "revenue": []})
        while len(row["active"]) < k:
            row["active"].append(0)
            row["revenue"].append(0.0)
        row["active"].append(active)
        row["revenue"].append(round(revenue, 6))
    return out


def check(ref, summary):
    trends = {t["month"]: t for t in summary["lifecycle"]["trends"]}
    bad = 0
    for r in ref["trends"]:
        t = trends.get(r["month"])
        if t is None or abs(t["revenue"] - r["revenue"]) > 1e-6 or any(t[k] != r[k] for k in ("orders", "active", "new")):
            print(f"month {r['month']}: clientele {t} vs duckdb {r}")
            bad += 1
    rows = {c["cohort"]: c for c in summary["lifecycle"]["cohorts"]["rows"]}
    for cohort, r in ref["cohorts"].items():
        c = rows.get(cohort)
        if c is None or c["size"] != r["size"] or c["active"][: len(r["active"])] != r["active"] \
                or any(abs(x - y) > 1e-6 for x, y in zip(c["revenue"], r["revenue"])):
            print(f"cohort {cohort}: clientele {c} vs duckdb {r}")
            bad += 1
    months, cohorts = len(ref["trends"]), len(ref["cohorts"])
    print(f"{months} months and {cohorts} cohorts compared, {bad} differ")
    return bad == 0


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("cdnow")
    ap.add_argument("--write")
    ap.add_argument("--check")
    a = ap.parse_args()
    ref = compute(a.cdnow)
    if a.write:
        json.dump(ref, open(a.write, "w"), indent=1, ensure_ascii=False)
        print(f"wrote {a.write}: {len(ref['trends'])} months, {len(ref['cohorts'])} cohorts")
    if a.check:
        sys.exit(0 if check(ref, json.load(open(a.check))) else 1)
