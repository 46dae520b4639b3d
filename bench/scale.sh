#!/usr/bin/env bash
# 100M rows in bounded memory (issue 20): `clientele analyze --customer-table-only` under
# --memory-limit (the rows spilled to disk by customer, folded part by part) next to DuckDB
# (same memory limit, its own spilling) and Polars' streaming engine building the same
# per-customer table from the same CSV. Wall time and peak RSS from /usr/bin/time -v, one run
# each (a run takes minutes); the three tables' customer counts, orders and revenue agree.
#
#   bench/scale.sh                         # 18.2M customers ≈ 100M rows, 5.3 GB of CSV
#   CUSTOMERS=200000 bench/scale.sh        # quick check
#
# Environment:
#   CUSTOMERS         customers `clientele generate` makes (default 18200000 → about 100M rows)
#   LIMIT             --memory-limit of every engine (default 4GiB)
#   PY                python with duckdb and polars (default ~/.cache/clientele-venv/bin/python)
#   ENGINES           peers (default duckdb,polars)
#   WHOLE=1           also the whole analysis in memory (no limit; it needs about 750 bytes a
#                     customer)
#   SKIP_BUILD=1      use the existing release binary
# Data: bench/data/scale/shop-<CUSTOMERS>/ (made once); disk: the CSV, as much again for the
# spill files while clientele runs, and DuckDB's temporary files.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
CUSTOMERS=${CUSTOMERS:-18200000}
LIMIT=${LIMIT:-4GiB}
PY=${PY:-$HOME/.cache/clientele-venv/bin/python}
ENGINES=${ENGINES:-duckdb,polars}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/work/target-release}
DATA=$ROOT/bench/data/scale
SHOP=$DATA/shop-$CUSTOMERS
LOGS=$DATA/logs
mkdir -p "$LOGS"
[[ -n "${SKIP_BUILD:-}" ]] || cargo build --release -p clientele >&2
BIN=$CARGO_TARGET_DIR/release/clientele
if [[ ! -s $SHOP/transactions.csv ]]; then
  echo "generating $SHOP ($CUSTOMERS customers)" >&2
  "$BIN" generate --customers "$CUSTOMERS" --out "$SHOP" --quiet >&2
fi
TX=$SHOP/transactions.csv
ROWS=$(($(wc -l <"$TX") - 1))

RESULTS=()
timed() { # name, command...
  local name=$1
  shift
  sync
  if /usr/bin/time -v "$@" >"$LOGS/$name.out" 2>"$LOGS/$name.time"; then
    local wall rss
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {
      n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; printf "%.1f", s }' "$LOGS/$name.time")
    rss=$(awk -F': ' '/Maximum resident set size/ { printf "%.0f", $2 / 1024 }' "$LOGS/$name.time")
    echo "$name: $wall s, $rss MiB" >&2
    RESULTS+=("| $name | $wall | $rss |")
  else
    echo "FAILED: $name (see $LOGS/$name.*)" >&2
    tail -3 "$LOGS/$name.time" >&2
    RESULTS+=("| $name | failed | - |")
  fi
}

OUT=$DATA/out
rm -rf "$OUT" "$DATA/peers"
timed "clientele --customer-table-only --memory-limit $LIMIT" \
  "$BIN" analyze "$TX" --customer-table-only --format parquet --memory-limit "$LIMIT" \
  --out "$OUT" --quiet --timings
IFS=, read -ra PEERS <<<"$ENGINES"
for e in "${PEERS[@]}"; do
  timed "$e" "$PY" bench/scale_peers.py "$TX" "$DATA/peers" --engine "$e" --memory-limit "$LIMIT"
done
if [[ -n "${WHOLE:-}" ]]; then
  rm -rf "$DATA/whole"
  timed "clientele whole analysis (in memory)" "$BIN" analyze "$TX" --format parquet \
    --out "$DATA/whole" --quiet --timings
fi
{
  echo "$ROWS rows, $CUSTOMERS customers ($(du -h "$TX" | cut -f1) of CSV), $(date -u +%F):"
  echo
  echo "| run | wall s | peak RSS MiB |"
  echo "|---|---:|---:|"
  printf '%s\n' "${RESULTS[@]}"
  echo
  echo "clientele: $(grep -h "customers · revenue" "$LOGS"/clientele*--customer-table-only*.out | head -1)"
  for e in "${PEERS[@]}"; do echo "$e: $(tail -1 "$LOGS/$e.out")"; done
} | tee "$DATA/results-$CUSTOMERS.md"
rm -rf "$OUT" "$DATA/peers" "$DATA/whole"
