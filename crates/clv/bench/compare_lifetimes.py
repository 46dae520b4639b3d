#!/usr/bin/env python3
"""clientele-clv vs lifetimes 0.11.3 on the same data, same machine, one run.

For each size (default 10k, 100k, 1M customers) this
  1. generates transactions with ../shared/bench/gen_transactions.py (seed 7; BG/NBD purchases,
     Gamma-Gamma spend, 730 days),
  2. builds lifetimes' daily summary once (summary_data_from_transaction_data, freq='D',
     observation end = start + 730 days) and writes it as CSV (x,tx,T,m),
  3. times lifetimes on it, each step in a fresh child process (only the call is timed,
     median of --reps): BetaGeoFitter.fit, ParetoNBDFitter.fit (killed after --timeout s and
     reported as skipped), GammaGammaFitter.fit, and predictions (conditional_probability_alive
     + conditional_expected_number_of_purchases_up_to_time(364 days) + customer_lifetime_value,
     12 months, 1 %/month, freq 'D') at the fitted params,
  4. runs `bench_clv` (crates/clv/examples/bench_clv.rs) on the same CSV,
and prints a markdown table (and writes it with the raw JSON to --out).

  CARGO_TARGET_DIR=/work/target-clv cargo build --release -p clientele-clv --example bench_clv
  /work/pyenv/bin/python crates/clv/bench/compare_lifetimes.py \
      --bin /work/target-clv/release/examples/bench_clv --out /tmp/clvbench
Needs numpy, pandas, lifetimes (and its scipy).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
GEN = os.path.join(HERE, "../../../../shared/bench/gen_transactions.py")


def child(step, csv, params_json):
    """One timed lifetimes step in this (fresh) process; prints JSON."""
    import warnings

    import pandas as pd
    from lifetimes import BetaGeoFitter, GammaGammaFitter, ParetoNBDFitter

    warnings.simplefilter("ignore")
    d = pd.read_csv(csv)
    x, tx, T, m = d["x"], d["tx"], d["T"], d["m"]
    out = {}
    t0 = time.perf_counter()
    if step == "bgnbd":
        f = BetaGeoFitter().fit(x, tx, T)
        out["params"] = [float(f.params_[k]) for k in ["r", "alpha", "a", "b"]]
    elif step == "pnbd":
        f = ParetoNBDFitter().fit(x, tx, T)
        out["params"] = [float(f.params_[k]) for k in ["r", "alpha", "s", "beta"]]
    elif step == "gg":
        rep = x > 0
        f = GammaGammaFitter().fit(x[rep], m[rep])
        out["params"] = [float(f.params_[k]) for k in ["p", "q", "v"]]
    elif step == "predict":
        p = json.loads(params_json)
        bg = BetaGeoFitter()
        bg.params_ = pd.Series(dict(zip(["r", "alpha", "a", "b"], p["bgnbd"])))
        bg.predict = bg.conditional_expected_number_of_purchases_up_to_time  # as fit() sets it
        gg = GammaGammaFitter()
        gg.params_ = pd.Series(dict(zip(["p", "q", "v"], p["gg"])))
        t0 = time.perf_counter()
        pa = bg.conditional_probability_alive(x, tx, T)
        e = bg.conditional_expected_number_of_purchases_up_to_time(364, x, tx, T)
        clv = gg.customer_lifetime_value(bg, x, tx, T, m, time=12, freq="D", discount_rate=0.01)
        out.update(sum_p_alive=float(pa.sum()), sum_expected_52w=float(e.sum()), sum_clv=float(clv.sum()))
    out["s"] = time.perf_counter() - t0
    print(json.dumps(out))


def run_child(step, csv, reps, timeout, params=None):
    runs = []
    for _ in range(reps):
        try:
            r = subprocess.run([sys.executable, __file__, "--child", step, csv, json.dumps(params or {})],
                               capture_output=True, text=True, timeout=timeout, check=True)
        except subprocess.TimeoutExpired:
            return {"skipped": f"> {timeout} s"}
        runs.append(json.loads(r.stdout.strip().splitlines()[-1]))
    res = runs[-1]
    res["s"] = statistics.median(r["s"] for r in runs)
    res["n"] = len(runs)
    return res


def summary_csv(n, seed, work):
    import pandas as pd
    from lifetimes.utils import summary_data_from_transaction_data

    csv = os.path.join(work, f"summary_{n}.csv")
    if os.path.exists(csv):
        return csv
    txf = os.path.join(work, f"tx_{n}.csv")
    subprocess.run([sys.executable, GEN, "--customers", str(n), "--seed", str(seed), "--out", txf], check=True)
    truth = json.load(open(txf + ".truth.json"))
    tx = pd.read_csv(txf, usecols=["customer_id", "order_date", "amount"])
    tx["order_date"] = pd.to_datetime(tx["order_date"])
    end = pd.Timestamp(truth["start"]) + pd.Timedelta(days=truth["days"])
    s = summary_data_from_transaction_data(tx, "customer_id", "order_date", monetary_value_col="amount",
                                           observation_period_end=end, freq="D")
    out = pd.DataFrame({"x": s["frequency"].astype(int), "tx": s["recency"].astype(int),
                        "T": s["T"].astype(int), "m": s["monetary_value"]})
    out.to_csv(csv, index=False, float_format="%.17g")
    os.remove(txf)
    return csv


def fmt(v):
    if v is None:
        return "–"
    return f"{v:.3f} s" if v < 10 else f"{v:.1f} s"


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        return child(*sys.argv[2:5])
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True, help="bench_clv binary (release)")
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--reps", default="3,3,1", help="lifetimes reps per size (ours: max(3, ...))")
    ap.add_argument("--timeout", type=int, default=300, help="seconds per lifetimes step")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--our-pnbd-max", type=int, default=10**9, help="skip our Pareto/NBD fit above this size")
    ap.add_argument("--out", default="clv-bench")
    ap.add_argument("--reuse-lifetimes", help="results.json of an earlier run: reuse its lifetimes timings")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    sizes = [int(s) for s in args.sizes.split(",")]
    reps = [int(r) for r in args.reps.split(",")]
    results = []
    old = {r["customers"]: r["lifetimes"] for r in json.load(open(args.reuse_lifetimes))} if args.reuse_lifetimes else {}
    for n, k in zip(sizes, reps):
        csv = summary_csv(n, args.seed, args.out)
        print(f"# {n} customers: {csv}", file=sys.stderr)
        cmd = [args.bin, csv, "--unit", "days", "--reps", str(max(3, k))]
        if n > args.our_pnbd_max:
            cmd.append("--skip-pnbd")
        ours = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)
        print(json.dumps(ours), file=sys.stderr)
        if n in old:
            results.append({"customers": n, "ours": ours, "lifetimes": old[n]})
            continue
        lt = {}
        for step in ["bgnbd", "gg", "pnbd"]:
            lt[step] = run_child(step, csv, k, args.timeout)
            print(step, json.dumps(lt[step]), file=sys.stderr)
        params = {"bgnbd": lt["bgnbd"]["params"], "gg": lt["gg"]["params"]}
        lt["predict"] = run_child("predict", csv, k, args.timeout, params)
        print("predict", json.dumps(lt["predict"]), file=sys.stderr)
        results.append({"customers": n, "ours": ours, "lifetimes": lt})
    json.dump(results, open(os.path.join(args.out, "results.json"), "w"), indent=1)

    rows = ["| customers (unique x,tₓ,T rows) | step | lifetimes 0.11.3 | clientele-clv | speed-up |",
            "|---|---|---|---|---|"]
    for r in results:
        o, lt = r["ours"], r["lifetimes"]
        label = f"{r['customers']:,} ({o['bgnbd']['rows']:,})"
        for name, ls, os_ in [("BG/NBD fit", lt["bgnbd"], o["bgnbd_fit_s"]),
                              ("Pareto/NBD fit", lt["pnbd"], o["pnbd_fit_s"]),
                              ("Gamma-Gamma fit", lt["gg"], o["gg_fit_s"]),
                              ("P(alive) + E[X(52 w)] + CLV, all customers", lt["predict"], o["predict_clv_s"])]:
            if "skipped" in ls:
                rows.append(f"| {label} | {name} | skipped ({ls['skipped']}) | {fmt(os_)} | – |")
            elif os_ is None:
                rows.append(f"| {label} | {name} | {fmt(ls['s'])} | not run | – |")
            else:
                rows.append(f"| {label} | {name} | {fmt(ls['s'])} | {fmt(os_)} | {ls['s'] / os_:.0f}× |")
    rows.append("")
    rows.append("Agreement (ours vs lifetimes): " + "; ".join(
        f"{r['customers']:,}: BG/NBD LL {r['ours']['bgnbd']['ll']:.2f}, "
        f"Σ CLV {r['ours']['sum_clv']:.6g} vs {r['lifetimes']['predict'].get('sum_clv', float('nan')):.6g}"
        for r in results))
    table = "\n".join(rows)
    print(table)
    open(os.path.join(args.out, "results.md"), "w").write(table + "\n")


if __name__ == "__main__":
    main()
