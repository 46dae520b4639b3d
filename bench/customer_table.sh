#!/usr/bin/env bash
# Customer-table benchmark (issue "Foundation"): clientele next to DuckDB, Polars and pandas
# computing the same per-customer table from the same synthetic transactions, CSV and Parquet.
# Wall time and peak RSS come from /usr/bin/time -v, one process per measurement.
#
#   bench/customer_table.sh                 # 3.36M customers ≈ 10.0M transactions
#   CUSTOMERS=100000 bench/customer_table.sh   # quick check
#
# Environment:
#   CUSTOMERS         customers to generate (default 3360000 → 10.0M transactions; ~2.98 each)
#   PY                python with numpy, pyarrow, duckdb, polars, pandas (default /work/pyenv/bin/python,
#                     else python3); install with: pip install numpy pyarrow duckdb polars pandas
#   SHARED            folder with gen_transactions.py and peers_customer_table.py (default ../shared/bench)
#   CARGO_TARGET_DIR  release build folder (default /work/target-release)
#   ENGINES           peers to run (default duckdb,polars,pandas)
#   FORMATS           csv, parquet or both (default "csv parquet")
#   SKIP_BUILD=1      use the existing release binary
# Output: a Markdown table on stdout and in bench/data/results-<CUSTOMERS>.md; logs in bench/data/logs/.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

CUSTOMERS=${CUSTOMERS:-3360000}
if [[ -z "${PY:-}" ]]; then
  if [[ -x /work/pyenv/bin/python ]]; then PY=/work/pyenv/bin/python; else PY=python3; fi
fi
SHARED=${SHARED:-$ROOT/../shared/bench}
ENGINES=${ENGINES:-duckdb,polars,pandas}
FORMATS=${FORMATS:-csv parquet}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/work/target-release}
THREADS=$(nproc)
DATA=$ROOT/bench/data
LOGS=$DATA/logs
mkdir -p "$LOGS"

# 1. data (regenerated only when missing or generated for another size)
for fmt in $FORMATS; do
  f=$DATA/tx.$fmt
  if ! grep -qs "\"customers\": $CUSTOMERS," "$f.truth.json" || [[ ! -s $f ]]; then
    echo "generating $f ($CUSTOMERS customers)" >&2
    "$PY" "$SHARED/gen_transactions.py" --customers "$CUSTOMERS" --out "$f" >&2
  fi
done

# 2. release build of the CLI
if [[ -z "${SKIP_BUILD:-}" ]]; then
  cargo build --release -p clientele >&2
fi
BIN=$CARGO_TARGET_DIR/release/clientele

# 3. measurements: "label|wall s|peak RSS MiB|checksums"
RESULTS=()
measure() { # label, log name, command...
  local label=$1 name=$2
  shift 2
  local out=$LOGS/$name.out tim=$LOGS/$name.time
  # the previous run's files go to disk now, not during this run's measurement
  sync
  if ! /usr/bin/time -v "$@" >"$out" 2>"$tim"; then
    echo "FAILED: $label (see $out, $tim)" >&2
    tail -5 "$tim" >&2
    RESULTS+=("$label|failed|failed|")
    return
  fi
  local wall rss
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {
    n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; printf "%.2f", s }' "$tim")
  rss=$(awk -F': ' '/Maximum resident set size/ { printf "%.0f", $2 / 1024 }' "$tim")
  RESULTS+=("$label|$wall|$rss|")
  echo "$label: $wall s, $rss MiB" >&2
}
checksum_ours() { # output dir → checksum line
  "$PY" "$ROOT/bench/checksum_customers.py" "$1/customers.parquet"
}

rows=$(grep -o '"transactions": [0-9]*' "$DATA/tx.csv.truth.json" 2>/dev/null || grep -o '"transactions": [0-9]*' "$DATA/tx.parquet.truth.json")
for fmt in $FORMATS; do
  f=$DATA/tx.$fmt
  out=$DATA/out-$fmt
  measure "clientele · customer table only · $fmt" "clientele-table-$fmt" \
    "$BIN" analyze "$f" --out "$out" --quiet --customer-table-only --format parquet --timings
  # its steps (from --timings): reading and folding, building the table, writing Parquet
  steps=$(awk '/^  reading / { r += $(NF-1) } /^  building the customer table/ { b = $(NF-1) }
    /^  writing outputs/ { w = $(NF-1) }
    END { printf "read+fold %.2f s, build %.2f s, write %.2f s; ", r, b, w }' "$LOGS/clientele-table-$fmt.time")
  RESULTS[-1]+="$steps$(checksum_ours "$out")"
  measure "clientele · whole analyze · $fmt" "clientele-analyze-$fmt" \
    "$BIN" analyze "$f" --out "$out-full" --quiet --timings
  RESULTS[-1]+=$(awk '/^  reading / { r += $(NF-1) } /^  building the customer table/ { b = $(NF-1) }
    /^  models, grades and lists/ { m = $(NF-1) } /^  writing outputs/ { w = $(NF-1) }
    END { printf "read+fold %.2f s, build %.2f s, models %.2f s, write %.2f s", r, b, m, w }' \
    "$LOGS/clientele-analyze-$fmt.time")
  rm -rf "$out-full" # about 6 GB at the default size
  for e in ${ENGINES//,/ }; do
    measure "$e · customer table · $fmt" "$e-$fmt" \
      "$PY" "$SHARED/peers_customer_table.py" "$f" --engines "$e" --threads "$THREADS"
    # the peer's own timer (inside Python, without interpreter start and imports)
    inner=$(awk '{ print $2 }' "$LOGS/$e-$fmt.out")
    RESULTS[-1]+="in-process ${inner} s; $(sed -E 's/^[a-z]+ +[0-9.]+ s +//' "$LOGS/$e-$fmt.out")"
  done
done

{
  echo "### $CUSTOMERS customers, ${rows#*: } transactions, $THREADS threads — $(date -u +%Y-%m-%d)"
  echo
  echo "| run | wall s | peak RSS MiB | checksums |"
  echo "|---|---:|---:|---|"
  for r in "${RESULTS[@]}"; do
    IFS='|' read -r label wall rss sums <<<"$r"
    echo "| $label | $wall | $rss | $sums |"
  done
  echo
  echo "files: $(du -h "$DATA/tx.csv" 2>/dev/null | cut -f1) CSV, $(du -h "$DATA/tx.parquet" 2>/dev/null | cut -f1) Parquet;" \
    "$(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; $("$BIN" --version)"
} | tee "$DATA/results-$CUSTOMERS.md"
