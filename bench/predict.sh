#!/usr/bin/env bash
# Predictions next to lifetimes and PyMC-Marketing (issue 21): builds the `bench_predict`
# example of clientele-clv (release), then runs bench/predict.py, which builds the CDNOW
# weekly summary and a seeded synthetic 1M-customer summary, runs clientele, lifetimes and
# PyMC-Marketing on the same summaries in one run, and compares their values.
#
#   bench/predict.sh                          # CDNOW + 1M synthetic (peers: BG/NBD only at 1M)
#   MCMC=500 bench/predict.sh                 # also NUTS for PyMC-Marketing's BG/NBD on CDNOW
#   SYNTHETIC=0 bench/predict.sh              # CDNOW only
#
# Environment:
#   PYTHON      interpreter with pandas, lifetimes 0.11.3, pymc-marketing (default /work/bench-venv/bin/python)
#   REPS        repetitions of each step under 10 s, median kept (default 3)
#   SYNTHETIC   customers of the synthetic summary (default 1000000; 0 skips it)
#   SYNTHETIC_PEERS  models the peers also run at that size (default bg; '' for none)
#   MCMC        tune + draws per chain for PyMC-Marketing's BG/NBD NUTS on CDNOW (default 0: skip)
#   OUT         output folder (default bench/data/predict)
#   CARGO_TARGET_DIR  release build folder (default /work/target-release)
#   SKIP_BUILD=1      use the existing example binary
# Output: Markdown tables on stdout and in $OUT/predict.md, raw numbers in $OUT/results.json,
# per-customer predictions of clientele in $OUT/<set>_clientele.csv.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PYTHON=${PYTHON:-/work/bench-venv/bin/python}
OUT=${OUT:-$ROOT/bench/data/predict}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/work/target-release}
mkdir -p "$OUT"
if [[ -z "${SKIP_BUILD:-}" ]]; then
  cargo build --release -p clientele-clv --example bench_predict >&2
fi
BIN=$CARGO_TARGET_DIR/release/examples/bench_predict
{
  echo "$(date -u +%Y-%m-%d), $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, load before: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo
  "$PYTHON" bench/predict.py --bin "$BIN" --out "$OUT" --reps "${REPS:-3}" \
    --synthetic "${SYNTHETIC:-1000000}" --synthetic-peers "${SYNTHETIC_PEERS-bg}" \
    --mcmc-draws "${MCMC:-0}"
  echo
  echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$OUT/predict.md"
