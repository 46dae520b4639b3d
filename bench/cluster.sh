#!/usr/bin/env bash
# Cluster engine benchmark (issue 22): the same `clientele analyze` embedded and on a loopback
# Ballista cluster (a scheduler and two executors on this machine), on a synthetic shop of
# about 10M rows. Wall time and the client's peak RSS from /usr/bin/time -v; the executors'
# peak RSS from /proc (VmHWM) before they are stopped. Both cluster plans: `fold` (clientele's
# fold as a UDAF on the executors, the default) and `sql` (the fold written as SQL), and the
# fold plan by parts (`--spill-dir`, the client holding one part at a time, within
# `--memory-limit $PARTS_LIMIT`). Every run's customers.parquet is compared with the embedded
# one's.
#
#   bench/cluster.sh                       # 1.8M customers ≈ 10M rows
#   CUSTOMERS=180000 bench/cluster.sh      # ≈ 1M rows, a quick check
#
# Environment:
#   CUSTOMERS         customers to generate (default 1800000 → ~10.0M rows; ~5.56 each)
#   CARGO_TARGET_DIR  release build folder (default /work/target-cluster-release)
#   SKIP_BUILD=1      use the existing release binary
#   MODES             "table" (--customer-table-only), "full" (the whole analysis) or both
#                     (default "table full")
#   PARTS_LIMIT       --memory-limit of the run by parts (default 1GB)
# Data: bench/data/shop-<CUSTOMERS>/ (made once). Output: a Markdown table on stdout and in
# bench/data/cluster-<CUSTOMERS>.md; logs in bench/data/logs/.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
CUSTOMERS=${CUSTOMERS:-1800000}
MODES=${MODES:-table full}
PARTS_LIMIT=${PARTS_LIMIT:-1GB}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/work/target-cluster-release}
DATA=$ROOT/bench/data
LOGS=$DATA/logs
SHOP=$DATA/shop-$CUSTOMERS
mkdir -p "$LOGS"

if [[ -z "${SKIP_BUILD:-}" ]]; then
  cargo build --release -p clientele --features cluster >&2
fi
BIN=$CARGO_TARGET_DIR/release/clientele

if [[ ! -s $SHOP/transactions.csv ]]; then
  "$BIN" generate --customers "$CUSTOMERS" --seed 7 --out "$SHOP" --quiet >&2
fi
TX=$SHOP/transactions.csv
ROWS=$(($(wc -l < "$TX") - 1))

WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

PORT=50650
"$BIN" cluster scheduler --bind 127.0.0.1:$PORT 2> "$LOGS/scheduler.log" &
PIDS+=($!)
sleep 1
for k in 1 2; do
  "$BIN" cluster executor --scheduler 127.0.0.1:$PORT --port $((PORT + 10 * k)) \
    --grpc-port $((PORT + 10 * k + 1)) --work-dir "$WORK/executor-$k" 2> "$LOGS/executor-$k.log" &
  PIDS+=($!)
done
sleep 2

# one run: wall seconds and the client's peak RSS in MB
measure() {
  local name=$1; shift
  /usr/bin/time -v "$@" > "$LOGS/$name.out" 2> "$LOGS/$name.time"
  local wall rss
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,t,":"); s=0; for(i=1;i<=n;i++) s=s*60+t[i]; print s}' "$LOGS/$name.time")
  rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2/1024}' "$LOGS/$name.time")
  echo "$wall $rss"
}

OUT=$DATA/cluster-$CUSTOMERS.md
{
  echo "| step | embedded | cluster, fold plan | cluster, fold plan by parts ($PARTS_LIMIT) | cluster, SQL plan | client peak RSS embedded / fold / by parts / SQL |"
  echo "|---|---:|---:|---:|---:|---|"
} > "$OUT"
for mode in $MODES; do
  flag=()
  [[ $mode == table ]] && flag=(--customer-table-only)
  read -r ew er < <(measure "emb-$mode" "$BIN" analyze "$TX" "${flag[@]}" --quiet --out "$WORK/emb-$mode")
  read -r fw fr < <(measure "fold-$mode" "$BIN" analyze "$TX" "${flag[@]}" --quiet \
    --cluster df://127.0.0.1:$PORT --cluster-plan fold --out "$WORK/fold-$mode")
  cmp "$WORK/emb-$mode/customers.parquet" "$WORK/fold-$mode/customers.parquet"
  mkdir -p "$WORK/spill"
  read -r pw pr < <(measure "parts-$mode" "$BIN" analyze "$TX" "${flag[@]}" --quiet \
    --cluster df://127.0.0.1:$PORT --cluster-plan fold --spill-dir "$WORK/spill" \
    --memory-limit "$PARTS_LIMIT" --out "$WORK/parts-$mode")
  cmp "$WORK/emb-$mode/customers.parquet" "$WORK/parts-$mode/customers.parquet"
  read -r sw sr < <(measure "sql-$mode" "$BIN" analyze "$TX" "${flag[@]}" --quiet \
    --cluster df://127.0.0.1:$PORT --cluster-plan sql --out "$WORK/sql-$mode")
  cmp "$WORK/emb-$mode/customers.parquet" "$WORK/sql-$mode/customers.parquet"
  label="customer table only"
  [[ $mode == full ]] && label="whole analysis"
  echo "| $label | ${ew} s | ${fw} s | ${pw} s | ${sw} s | ${er} / ${fr} / ${pr} / ${sr} MB |" >> "$OUT"
  rm -rf "$WORK/emb-$mode" "$WORK/fold-$mode" "$WORK/parts-$mode" "$WORK/sql-$mode"
done
hwm=""
for p in "${PIDS[@]:1}"; do
  hwm+="$(awk '/VmHWM/ {printf "%.0f", $2/1024}' /proc/"$p"/status) MB "
done
{
  echo
  echo "$ROWS rows, $CUSTOMERS customers, $(nproc) cores; executors' peak RSS: $hwm;"
  echo "customers.parquet equal in every mode."
} >> "$OUT"
cat "$OUT"
