#!/usr/bin/env bash
# Customer-table benchmark (issue "Foundation"): clientele next to DuckDB, Polars and pandas
# computing the same per-customer table from the same synthetic transactions, CSV and Parquet.
# Wall time and peak RSS come from /usr/bin/time -v, one process per measurement; the table
# steps run REPEAT times, round robin, and the median is reported.
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
#   REPEAT            runs of each customer-table step, round robin (default 3)
#   SKIP_BUILD=1      use the existing release binary
# Data: bench/data/tx.csv and tx.parquet (tx-<CUSTOMERS>.* for other sizes), made once.
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
# data files: tx.csv / tx.parquet at the default size, tx-N.* for other sizes, so that a quick
# run does not overwrite the 10M-row files
TX=$DATA/tx
[[ $CUSTOMERS == 3360000 ]] || TX=$DATA/tx-$CUSTOMERS
LOGS=$DATA/logs
mkdir -p "$LOGS"

# 1. data (regenerated only when missing or generated for another size)
for fmt in $FORMATS; do
  f=$TX.$fmt
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

# 3. measurements. The table step of every engine runs REPEAT times, round robin (clientele,
# then each peer, then again), so that this machine's drift falls on all of them alike; the
# table gives the median wall time with the range, and the largest peak RSS. The whole
# analyze runs once.
RESULTS=() # "label|wall|peak RSS MiB|notes"
WALL= RSS=
timed() { # log name, command... → WALL, RSS (or "failed")
  local name=$1
  shift
  local out=$LOGS/$name.out tim=$LOGS/$name.time
  # the previous run's files go to disk now, not during this run's measurement
  sync
  if ! /usr/bin/time -v "$@" >"$out" 2>"$tim"; then
    echo "FAILED: $name (see $out, $tim)" >&2
    tail -5 "$tim" >&2
    WALL=failed RSS=failed
    return
  fi
  WALL=$(awk -F': ' '/Elapsed \(wall clock\)/ {
    n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; printf "%.2f", s }' "$tim")
  RSS=$(awk -F': ' '/Maximum resident set size/ { printf "%.0f", $2 / 1024 }' "$tim")
  echo "$name: $WALL s, $RSS MiB" >&2
}
median() { # numbers... → "median (min–max)", or "failed" if any failed
  printf '%s\n' "$@" | sort -n | awk '!/^[0-9.]+$/ { bad = 1 } { a[NR] = $1 }
    END { if (bad) { print "failed"; exit }
      m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
      if (NR == 1) printf "%.2f", m; else printf "%.2f (%.2f–%.2f)", m, a[1], a[NR] }'
}
largest() { printf '%s\n' "$@" | sort -n | tail -1; }
checksum_ours() { # output dir → checksum line
  "$PY" "$ROOT/bench/checksum_customers.py" "$1/customers.parquet"
}
steps_of() { # --timings log → "reading building writing" seconds
  awk '/^  reading / { r += $(NF-1) } /^  building the customer table/ { b = $(NF-1) }
    /^  writing outputs/ { w = $(NF-1) } END { printf "%.2f %.2f %.2f\n", r, b, w }' "$1"
}

REPEAT=${REPEAT:-3}
rows=$(grep -o '"transactions": [0-9]*' "$TX.csv.truth.json" 2>/dev/null || grep -o '"transactions": [0-9]*' "$TX.parquet.truth.json")
for fmt in $FORMATS; do
  f=$TX.$fmt
  out=$DATA/out-$fmt
  declare -A walls=() rsss=()
  reads=() builds=() writes=()
  for ((rep = 1; rep <= REPEAT; rep++)); do
    timed "clientele-table-$fmt" \
      "$BIN" analyze "$f" --out "$out" --quiet --lang en --customer-table-only --format parquet --timings
    walls[clientele]+=" $WALL" rsss[clientele]+=" $RSS"
    read -r r b w < <(steps_of "$LOGS/clientele-table-$fmt.time")
    reads+=("$r") builds+=("$b") writes+=("$w")
    for e in ${ENGINES//,/ }; do
      timed "$e-$fmt" "$PY" "$SHARED/peers_customer_table.py" "$f" --engines "$e" --threads "$THREADS"
      walls[$e]+=" $WALL" rsss[$e]+=" $RSS"
    done
  done
  # shellcheck disable=SC2086 # word splitting of the lists is intended
  RESULTS+=("clientele · customer table only · $fmt|$(median ${walls[clientele]})|$(largest ${rsss[clientele]})|read+fold $(median "${reads[@]}") s, build $(median "${builds[@]}") s, write $(median "${writes[@]}") s; $(checksum_ours "$out")")
  for e in ${ENGINES//,/ }; do
    # the peer's own timer (inside Python, without interpreter start and imports), last run
    inner=$(awk '{ print $2 }' "$LOGS/$e-$fmt.out")
    # shellcheck disable=SC2086
    RESULTS+=("$e · customer table · $fmt|$(median ${walls[$e]})|$(largest ${rsss[$e]})|in-process ${inner} s (last run); $(sed -E 's/^[a-z]+ +[0-9.]+ s +//' "$LOGS/$e-$fmt.out")")
  done
  timed "clientele-analyze-$fmt" "$BIN" analyze "$f" --out "$out-full" --quiet --lang en --timings
  RESULTS+=("clientele · whole analyze · $fmt|$WALL|$RSS|$(awk '/^  reading / { r += $(NF-1) }
    /^  building the customer table/ { b = $(NF-1) } /^  models, grades and lists/ { m = $(NF-1) }
    /^  writing outputs/ { w = $(NF-1) }
    END { printf "read+fold %.2f s, build %.2f s, models %.2f s, write %.2f s", r, b, m, w }' \
    "$LOGS/clientele-analyze-$fmt.time")")
  rm -rf "$out-full" # about 6 GB at the default size
  unset walls rsss
done

{
  echo "### $CUSTOMERS customers, ${rows#*: } transactions, $THREADS threads, $REPEAT runs of each table step — $(date -u +%Y-%m-%d)"
  echo
  echo "| run | wall s: median (range) | peak RSS MiB | steps and checksums |"
  echo "|---|---:|---:|---|"
  for r in "${RESULTS[@]}"; do
    IFS='|' read -r label wall rss sums <<<"$r"
    echo "| $label | $wall | $rss | $sums |"
  done
  echo
  echo "files: $(du -h "$TX.csv" 2>/dev/null | cut -f1) CSV, $(du -h "$TX.parquet" 2>/dev/null | cut -f1) Parquet;" \
    "$(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; $("$BIN" --version)"
} | tee "$DATA/results-$CUSTOMERS.md"
