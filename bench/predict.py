#!/usr/bin/env python3
"""clientele's per-customer predictions next to lifetimes and PyMC-Marketing (issue 21).

Driven by bench/predict.sh; one run, one machine, the same summaries for every tool:

  1. CDNOW (23,570 customers): lifetimes' summary_data_from_transaction_data(freq='D',
     freq_multiplier=7, observation_period_end='1998-06-30', monetary_value_col='amount'):
     same-day purchases merged, recency and T in fractional weeks of whole days -- clientele's
     `--unit weeks` convention (README, "The CLV convention").
  2. A synthetic 1M-customer summary (BG/NBD r 0.25, alpha 4 weeks, a 0.8, b 2.5; first
     purchases uniform over 52 weeks, observed to week 104, times in whole days; Gamma-Gamma
     spend p 6, q 4, gamma 15), seeded (--seed), to show scale.
  3. For each summary: `bench_predict` (crates/clv/examples/bench_predict.rs), then in this
     process lifetimes 0.11.3 (BetaGeoFitter, ModifiedBetaGeoFitter, ParetoNBDFitter,
     GammaGammaFitter) and PyMC-Marketing (BetaGeoModel, ModifiedBetaGeoModel, ParetoNBDModel,
     GammaGammaModel; fit(method="map"), its point-estimate method, default priors).
  4. Values: every quantity two tools share, max |difference| per model, (a) each tool at its
     own fit and (b) the peer's formula at clientele's maximum-likelihood parameters.

Timing rule (all tools): wall time of the call alone; a call under 10 s is repeated --reps
times and the median kept, a longer one runs once. Writes results.json and prints Markdown.

  bench/predict.sh                 # builds bench_predict, then runs this with the bench venv
  python bench/predict.py --bin /work/target-bench/release/examples/bench_predict --out DIR
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import warnings

import numpy as np
import pandas as pd

HERE = os.path.dirname(os.path.abspath(__file__))
CDNOW = os.path.join(HERE, "../crates/ingest/tests/data/CDNOW_master.txt")
WEEKS_30D, WEEKS_90D = 30 / 7, 90 / 7
PARAMS = {"bg": ["r", "alpha", "a", "b"], "mbg": ["r", "alpha", "a", "b"], "pnbd": ["r", "alpha", "s", "beta"]}
NAMES = {"bg": "BG/NBD", "mbg": "MBG/NBD", "pnbd": "Pareto/NBD"}
QUANTITIES = {"p_alive": "P(alive)", "e52": "E[purchases in 52 w]", "pp30": "P(purchase in 30 d)",
              "pp90": "P(purchase in 90 d)", "clv": "12-month CLV",
              "clv_spend": "CLV, without repeat buyers of mean spend ≤ 0"}


def timed(reps, f):
    """(median seconds, result): repeated `reps` times when one call takes under 10 s."""
    t0 = time.perf_counter()
    out = f()
    times = [time.perf_counter() - t0]
    if times[0] < 10:
        for _ in range(reps - 1):
            t0 = time.perf_counter()
            out = f()
            times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def flat(a):
    """A MAP prediction (chain 1, draw 1, customer) or a Series as a 1-d float array."""
    return np.asarray(getattr(a, "values", a), dtype=float).reshape(-1)


def cdnow_summary():
    from lifetimes.utils import summary_data_from_transaction_data

    tx = pd.read_csv(CDNOW, sep=r"\s+", header=None, skiprows=1, names=["id", "date", "n", "amount"],
                     dtype={"id": str, "date": str})
    tx["date"] = pd.to_datetime(tx["date"], format="%Y%m%d")
    s = summary_data_from_transaction_data(tx, "id", "date", monetary_value_col="amount",
                                           observation_period_end="1998-06-30", freq="D", freq_multiplier=7)
    return pd.DataFrame({"x": s["frequency"].values, "tx": s["recency"].values, "T": s["T"].values,
                         "m": s["monetary_value"].values})


def synthetic_summary(n, seed):
    """BG/NBD customers with Gamma-Gamma spend, times in whole days expressed in weeks."""
    rng = np.random.default_rng(seed)
    r, alpha, a, b = 0.25, 4.0, 0.8, 2.5
    p_s, q_s, g_s = 6.0, 4.0, 15.0
    lam = rng.gamma(r, 1 / alpha, n)
    drop = rng.beta(a, b, n)
    T = np.floor(rng.uniform(52, 104, n) * 7) / 7
    x = np.zeros(n)
    tx = np.zeros(n)
    t = np.zeros(n)
    alive = np.ones(n, dtype=bool)
    idx = np.arange(n)
    while idx.size:
        t[idx] += rng.exponential(1 / lam[idx])
        bought = t[idx] <= T[idx]
        idx = idx[bought]
        x[idx] += 1
        tx[idx] = t[idx]
        idx = idx[rng.uniform(size=idx.size) >= drop[idx]]  # survives this purchase
    tx = np.floor(tx * 7) / 7
    nu = rng.gamma(q_s, 1 / g_s, n)
    m = np.where(x > 0, rng.gamma(p_s * np.maximum(x, 1), 1 / nu) / np.maximum(x, 1), 0.0)
    return pd.DataFrame({"x": x, "tx": tx, "T": T, "m": m})


def write_summary(df, path):
    with open(path, "w") as f:
        f.write("x,tx,T,m\n")
        for x, tx, T, m in zip(df["x"].values, df["tx"].values, df["T"].values, df["m"].values):
            f.write(f"{int(x)},{tx:.17g},{T:.17g},{m:.17g}\n")


def run_ours(binary, csv, pred, reps, skip_pnbd):
    cmd = [binary, csv, "--out", pred, "--reps", str(reps)] + (["--skip-pnbd"] if skip_pnbd else [])
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, check=True)
    out = json.loads(r.stdout)
    out["process_s"] = time.perf_counter() - t0
    return out, pd.read_csv(pred)


def lifetimes_side(d, models, reps, ours_params):
    """Times lifetimes; returns (timings, own-fit values, values at clientele's params)."""
    from lifetimes import BetaGeoFitter, GammaGammaFitter, ModifiedBetaGeoFitter, ParetoNBDFitter

    x, tx, T, m = d["x"], d["tx"], d["T"], d["m"]
    fitters = {"bg": BetaGeoFitter, "mbg": ModifiedBetaGeoFitter, "pnbd": ParetoNBDFitter}
    spend = (x > 0) & (m > 0)  # lifetimes refuses m <= 0; clientele leaves them out too
    times, own, same, params = {}, {}, {}, {}
    times["gg_fit"], gg = timed(reps, lambda: GammaGammaFitter().fit(x[spend], m[spend]))
    params["gg"] = [float(gg.params_[k]) for k in ["p", "q", "v"]]
    for tag in models:
        t, f = {}, None
        t["fit"], f = timed(reps, lambda: fitters[tag]().fit(x, tx, T))
        params[tag] = [float(f.params_[k]) for k in PARAMS[tag]]

        def predict(f, timing):
            v = {}
            s, v["p_alive"] = timed(reps, lambda: flat(f.conditional_probability_alive(x, tx, T)))
            if timing is not None:
                timing["p_alive"] = s
            s, v["e52"] = timed(reps, lambda: flat(f.conditional_expected_number_of_purchases_up_to_time(52, x, tx, T)))
            if timing is not None:
                timing["e52"] = s
            if tag == "pnbd":  # the only lifetimes fitter with a conditional P(X = n) after T
                for q, h in [("pp30", WEEKS_30D), ("pp90", WEEKS_90D)]:
                    s, p0 = timed(reps, lambda: flat(f.conditional_probability_of_n_purchases_up_to_time(0, h, x, tx, T)))
                    v[q] = 1 - p0
                    if timing is not None:
                        timing[q] = s
            s, v["clv"] = timed(reps, lambda: flat(gg.customer_lifetime_value(
                f, x, tx, T, m, time=12, freq="W", discount_rate=0.01)))
            if timing is not None:
                timing["clv"] = s
            return v

        own[tag] = predict(f, t)
        times[tag] = t
        if tag in ours_params:  # lifetimes' formulas at clientele's parameters
            f.params_ = pd.Series(dict(zip(PARAMS[tag], ours_params[tag])))
            gg.params_ = pd.Series(dict(zip(["p", "q", "v"], ours_params["gg"])))
            same[tag] = predict(f, None)
            gg.params_ = pd.Series(dict(zip(["p", "q", "v"], params["gg"])))
    return times, own, same, params


def pymc_side(d, models, reps, ours_params, mcmc_draws):
    """Times PyMC-Marketing (MAP, default priors); same returns as lifetimes_side."""
    import pytensor
    from pymc_marketing.clv import BetaGeoModel, GammaGammaModel, ModifiedBetaGeoModel, ParetoNBDModel

    classes = {"bg": BetaGeoModel, "mbg": ModifiedBetaGeoModel, "pnbd": ParetoNBDModel}
    n = len(d)
    data = pd.DataFrame({"customer_id": np.arange(n), "frequency": d["x"].values, "recency": d["tx"].values,
                         "T": d["T"].values, "monetary_value": d["m"].values})
    spend = data[(data.frequency > 0) & (data.monetary_value > 0)]
    times, own, same, params, extra = {}, {}, {}, {}, {}

    def fit(cls, frame, **kw):
        mdl = cls(data=frame)
        mdl.fit(method="map", progressbar=False, **kw)
        return mdl

    times["gg_fit"], gg = timed(reps, lambda: fit(GammaGammaModel, spend[["customer_id", "frequency", "monetary_value"]]))
    params["gg"] = [float(gg.fit_result[k].values.reshape(-1)[0]) for k in ["p", "q", "v"]]

    def set_params(mdl, names, values):
        for k, v in zip(names, values):
            mdl.idata.posterior[k].values[...] = v

    for tag in models:
        t = {}
        t["fit"], mdl = timed(reps, lambda: fit(classes[tag], data[["customer_id", "frequency", "recency", "T"]]))
        params[tag] = [float(mdl.fit_result[k].values.reshape(-1)[0]) for k in PARAMS[tag]]

        def predict(mdl, timing):
            v = {}

            def step(q, f):
                s, v[q] = timed(reps, f)
                if timing is not None:
                    timing[q] = s

            step("p_alive", lambda: flat(mdl.expected_probability_alive()))
            step("e52", lambda: flat(mdl.expected_purchases(future_t=52)))
            if tag == "bg":
                for q, h in [("pp30", WEEKS_30D), ("pp90", WEEKS_90D)]:
                    step(q, lambda: 1 - flat(mdl.expected_probability_no_purchase(t=h)))
            elif tag == "pnbd":
                for q, h in [("pp30", WEEKS_30D), ("pp90", WEEKS_90D)]:
                    step(q, lambda: 1 - flat(mdl.expected_purchase_probability(n_purchases=0, future_t=h)))
            if tag != "mbg":  # its CLV supports BetaGeoModel and ParetoNBDModel
                step("clv", lambda: flat(gg.expected_customer_lifetime_value(
                    mdl, data, future_t=12, discount_rate=0.01, time_unit="W")))
            return v

        own[tag] = predict(mdl, t)
        times[tag] = t
        if tag in ours_params:
            keep = [float(mdl.fit_result[k].values.reshape(-1)[0]) for k in PARAMS[tag]]
            set_params(mdl, PARAMS[tag], ours_params[tag])
            set_params(gg, ["p", "q", "v"], ours_params["gg"])
            same[tag] = predict(mdl, None)
            set_params(mdl, PARAMS[tag], keep)
            set_params(gg, ["p", "q", "v"], params["gg"])
        if tag == "bg" and mcmc_draws:
            t0 = time.perf_counter()
            post = classes[tag](data=data[["customer_id", "frequency", "recency", "T"]])
            post.fit(method="mcmc", chains=2, cores=2, draws=mcmc_draws, tune=mcmc_draws, random_seed=0,
                     progressbar=False)
            t["mcmc_fit"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            clv = gg.expected_customer_lifetime_value(post, data, future_t=12, discount_rate=0.01, time_unit="W")
            q = clv.quantile([0.05, 0.95], dim=("chain", "draw")).values
            t["mcmc_clv_intervals"] = time.perf_counter() - t0
            extra["mcmc"] = {"draws": mcmc_draws, "chains": 2, "clv_p05": q[0], "clv_p95": q[1],
                             "divergences": int(post.idata.sample_stats["diverging"].sum())}
    return times, own, same, params, extra


def max_diff(a, b):
    ok = np.isfinite(a) & np.isfinite(b)
    return float(np.max(np.abs(a[ok] - b[ok]))) if ok.any() else None


def compare(ours, peer, tags, d):
    """{tag: {quantity: max |ours - peer|}} over the quantities both have. CLV also without the
    repeat buyers whose mean repeat spend is <= 0 (`clv_spend`): clientele gives them the
    population mean spend, lifetimes and PyMC-Marketing put m = 0 into the conditional mean."""
    keep = ~((d["x"].values > 0) & (d["m"].values <= 0))
    out = {}
    for tag in tags:
        if tag not in peer:
            continue
        out[tag] = {q: max_diff(ours[f"{tag}_{q}"].values, np.asarray(v)) for q, v in peer[tag].items()}
        if "clv" in peer[tag]:
            out[tag]["clv_spend"] = max_diff(ours[f"{tag}_clv"].values[keep], np.asarray(peer[tag]["clv"])[keep])
    return out


def fmt_s(v):
    if v is None:
        return "—"
    return f"{v:.3g} s" if v >= 0.01 else f"{v * 1000:.2g} ms"


def fmt_d(v):
    return "—" if v is None else f"{v:.1e}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--synthetic", type=int, default=1_000_000, help="customers (0: skip)")
    ap.add_argument("--seed", type=int, default=21)
    ap.add_argument("--synthetic-peers", default="bg",
                    help="models the peers run on the synthetic summary (comma list; '' for none)")
    ap.add_argument("--mcmc-draws", type=int, default=0,
                    help="also NUTS for PyMC-Marketing's BG/NBD on CDNOW (2 chains, this many tune + draws)")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    os.makedirs(args.out, exist_ok=True)
    import lifetimes
    import pymc
    import pymc_marketing
    import scipy

    results = {"versions": {"python": sys.version.split()[0], "numpy": np.__version__, "pandas": pd.__version__,
                            "scipy": scipy.__version__, "lifetimes": lifetimes.__version__,
                            "pymc_marketing": pymc_marketing.__version__, "pymc": pymc.__version__},
               "cores": os.cpu_count(), "load_before": os.getloadavg(), "runs": {}}
    sets = [("cdnow", cdnow_summary, ["bg", "mbg", "pnbd"], args.mcmc_draws)]
    if args.synthetic:
        sets.append((f"synthetic_{args.synthetic}", lambda: synthetic_summary(args.synthetic, args.seed),
                     [t for t in args.synthetic_peers.split(",") if t], 0))
    for name, make, peer_models, mcmc in sets:
        print(f"== {name}", file=sys.stderr, flush=True)
        d = make()
        csv = os.path.join(args.out, f"{name}.csv")
        write_summary(d, csv)
        ours, pred = run_ours(args.bin, csv, os.path.join(args.out, f"{name}_clientele.csv"), args.reps, False)
        print(f"   clientele done ({ours['process_s']:.1f} s)", file=sys.stderr, flush=True)
        ours_params = {tag: m["params"] for tag, m in ours["models"].items()}
        ours_params["gg"] = ours["gg"]["params"]
        run = {"customers": len(d), "unique_rows": int(d[["x", "tx", "T"]].drop_duplicates().shape[0]),
               "clientele": ours}
        if peer_models:
            lt_t, lt_own, lt_same, lt_p = lifetimes_side(d, peer_models, args.reps, ours_params)
            print("   lifetimes done", file=sys.stderr, flush=True)
            pm_t, pm_own, pm_same, pm_p, pm_extra = pymc_side(d, peer_models, args.reps, ours_params, mcmc)
            print("   pymc-marketing done", file=sys.stderr, flush=True)
            run["lifetimes"] = {"times": lt_t, "params": lt_p, "own_fit": compare(pred, lt_own, peer_models, d),
                                "clientele_params": compare(pred, lt_same, peer_models, d)}
            run["pymc_marketing"] = {"times": pm_t, "params": pm_p, "own_fit": compare(pred, pm_own, peer_models, d),
                                     "clientele_params": compare(pred, pm_same, peer_models, d)}
            # Where the largest differences sit, for the notes.
            run["detail"] = details(d, pred, lt_own, lt_same, pm_own, pm_same, peer_models)
            if "mcmc" in pm_extra:
                mc = pm_extra.pop("mcmc")
                ours_w = pred["bg_clv_p95"] - pred["bg_clv_p05"]
                mc_w = mc["clv_p95"] - mc["clv_p05"]
                ok = ours_w > 0
                run["pymc_marketing"]["mcmc"] = {
                    "draws": mc["draws"], "chains": mc["chains"], "divergences": mc["divergences"],
                    "median_width_ratio_mcmc_over_clientele": float(np.median(mc_w[ok] / ours_w[ok])),
                    "total_width_mcmc": float(mc_w.sum()), "total_width_clientele": float(ours_w.sum())}
        run["load_after"] = os.getloadavg()
        results["runs"][name] = run
        with open(os.path.join(args.out, "results.json"), "w") as f:
            json.dump(results, f, indent=1, default=float)
    print(markdown(results))


def details(d, pred, lt_own, lt_same, pm_own, pm_same, tags):
    """Largest differences at clientele's parameters: which customers, and counts above 1e-4."""
    out = {}
    for peer, vals in [("lifetimes", lt_same), ("pymc_marketing", pm_same)]:
        for tag in tags:
            for q, v in vals.get(tag, {}).items():
                diff = np.abs(pred[f"{tag}_{q}"].values - np.asarray(v))
                if not np.isfinite(diff).any() or np.nanmax(diff) < 1e-4:
                    continue
                i = int(np.nanargmax(diff))
                big = diff > 1e-4
                out[f"{peer}/{tag}/{q}"] = {
                    "above_1e-4": int(big.sum()), "x0_above_1e-4": int((big & (d["x"].values == 0)).sum()),
                    "worst": {"x": float(d["x"].iloc[i]), "tx": float(d["tx"].iloc[i]), "T": float(d["T"].iloc[i]),
                              "m": float(d["m"].iloc[i]), "clientele": float(pred[f"{tag}_{q}"].iloc[i]),
                              "peer": float(np.asarray(v)[i])}}
    return out


def markdown(results):
    lines = []
    for name, run in results["runs"].items():
        ours = run["clientele"]
        lines += [f"### {name}: {run['customers']:,} customers ({run['unique_rows']:,} distinct x, tₓ, T)", "",
                  "| model | step | clientele | lifetimes | PyMC-Marketing (MAP) |", "|---|---|---:|---:|---:|"]
        lt = run.get("lifetimes", {}).get("times", {})
        pm = run.get("pymc_marketing", {}).get("times", {})
        lines.append(f"| Gamma-Gamma | fit | {fmt_s(ours['gg_fit_s'])} | {fmt_s(lt.get('gg_fit'))} | {fmt_s(pm.get('gg_fit'))} |")
        steps = [("fit", "fit_s", "fit"), ("P(alive)", "p_alive_s", "p_alive"),
                 ("E[purchases in 52 w]", "expected_52w_s", "e52"),
                 ("P(purchase in 30 d)", "p_purchase_30d_s", "pp30"), ("P(purchase in 90 d)", "p_purchase_90d_s", "pp90"),
                 ("next purchase (median, ≤ 104 w)", "next_purchase_s", None),
                 ("12-month CLV, point (with expected spend)", "clv_s", "clv"),
                 ("12-month CLV + E[purchases] 90 % intervals, 200 draws", "intervals_s", None)]
        for tag, m in ours["models"].items():
            for label, ok, pk in steps:
                o = m.get(ok) if ok else None
                lt_v = lt.get(tag, {}).get(pk) if pk else None
                pm_v = pm.get(tag, {}).get(pk) if pk else None
                lines.append(f"| {NAMES[tag]} | {label} | {fmt_s(o)} | {fmt_s(lt_v)} | {fmt_s(pm_v)} |")
            if "mcmc_fit" in pm.get(tag, {}):
                mc = run["pymc_marketing"]["mcmc"]
                lines.append(f"| {NAMES[tag]} | NUTS, {mc['chains']}×({mc['draws']} tune + {mc['draws']} draws) | — | — | "
                             f"{fmt_s(pm[tag]['mcmc_fit'])} |")
                lines.append(f"| {NAMES[tag]} | CLV 90 % posterior intervals from the draws | — | — | "
                             f"{fmt_s(pm[tag]['mcmc_clv_intervals'])} |")
        lines.append("")
        for peer in ["lifetimes", "pymc_marketing"]:
            if peer not in run:
                continue
            for kind in ["clientele_params", "own_fit"]:
                lines += [f"max |clientele − {peer}|, {kind.replace('_', ' ')}:", "",
                          "| model | " + " | ".join(QUANTITIES.values()) + " |", "|---|" + "---:|" * len(QUANTITIES)]
                for tag, qs in run[peer][kind].items():
                    lines.append(f"| {NAMES[tag]} | " + " | ".join(fmt_d(qs.get(q)) for q in QUANTITIES) + " |")
                lines.append("")
        lines += ["parameters: clientele " + json.dumps({t: [round(v, 4) for v in m["params"]] for t, m in ours["models"].items()}),
                  "", "lifetimes " + json.dumps({t: [round(v, 4) for v in p] for t, p in run.get("lifetimes", {}).get("params", {}).items()}),
                  "", "pymc-marketing " + json.dumps({t: [round(v, 4) for v in p] for t, p in run.get("pymc_marketing", {}).get("params", {}).items()}), ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
