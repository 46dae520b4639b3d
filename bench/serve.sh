#!/usr/bin/env bash
# clientele serve on the output of 10M transactions (3.36M customers): time to ready, memory,
# customer lookup and filtered-page latency under load (wrk on loopback), and a streamed
# export of a list of about a million customers. Results in docs/BENCHMARKS.md.
#
#   bench/serve.sh                      # 3.36M customers (bench/data/tx.parquet, made once)
#   CUSTOMERS=100000 bench/serve.sh     # a quick run
#
# Needs: wrk (apt-get install wrk), curl, a Python with numpy + pyarrow for the data
# generator (PY, default ~/.cache/clientele-venv/bin/python).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CUSTOMERS=${CUSTOMERS:-3360000}
PY=${PY:-$HOME/.cache/clientele-venv/bin/python}
SHARED=${SHARED:-$ROOT/../shared/bench}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/work/target-release}
DURATION=${DURATION:-20s}
CONNECTIONS=${CONNECTIONS:-8}
PORT=${PORT:-8799}
DATA=$ROOT/bench/data
TX=$DATA/tx
[[ $CUSTOMERS == 3360000 ]] || TX=$DATA/tx-$CUSTOMERS
OUT=$DATA/serve-out-$CUSTOMERS
LOGS=$DATA/logs
mkdir -p "$LOGS"
if ! grep -qs "\"customers\": $CUSTOMERS," "$TX.parquet.truth.json" || [[ ! -s $TX.parquet ]]; then
  "$PY" "$SHARED/gen_transactions.py" --customers "$CUSTOMERS" --out "$TX.parquet" >&2
fi
[[ -n ${SKIP_BUILD:-} ]] || cargo build --release -p clientele >&2
BIN=$CARGO_TARGET_DIR/release/clientele
if [[ ! -f $OUT/customers.parquet ]]; then
  echo "analyzing $TX.parquet" >&2
  "$BIN" analyze "$TX.parquet" --out "$OUT" --quiet --format parquet --lang en > "$LOGS/serve-analyze.out"
fi

# 1. ready: from start to the first answer of /health
start=$(date +%s.%N)
"$BIN" serve "$OUT" --bind "127.0.0.1:$PORT" --quiet > "$LOGS/serve.out" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
until curl -sf "http://127.0.0.1:$PORT/health" > /dev/null; do sleep 0.05; done
ready=$(echo "$(date +%s.%N) - $start" | bc)
rss() { awk '/^'"$1"':/ { printf "%.0f", $2 / 1024 }' "/proc/$server/status"; }
echo "ready in ${ready}s, RSS $(rss VmRSS) MiB, peak $(rss VmHWM) MiB" >&2
ready_rss=$(rss VmRSS)
ready_peak=$(rss VmHWM)
URL=http://127.0.0.1:$PORT

# ids to look up, drawn from the table (seeded)
"$PY" - "$OUT/customers.parquet" "$DATA/serve-ids.txt" <<'PYEOF'
import sys, random
import pyarrow.parquet as pq
ids = pq.read_table(sys.argv[1], columns=["customer_id"]).column(0).to_pylist()
random.seed(3)
open(sys.argv[2], "w").write("\n".join(random.sample(ids, min(100000, len(ids)))) + "\n")
PYEOF

wrk_run() { # name, lua, args… → wrk --latency output in logs
  local name=$1 lua=$2
  shift 2
  wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -s "$ROOT/bench/serve/$lua" "$URL" -- "$@" \
    > "$LOGS/serve-$name.wrk"
  cat "$LOGS/serve-$name.wrk" >&2
}
# 2. lookups
wrk_run lookup lookup.lua "$DATA/serve-ids.txt"

# 3. pages of a filtered grade: the first page (cold: the filter runs over every customer),
# then random pages of it under load (warm: the selection is cached)
q="scheme=lifecycle&grade=active&where=monetary%20%3E%20100%20AND%20orders%20%3E%3D%202&sort=-monetary&limit=100"
cold=$(curl -s -o "$LOGS/serve-page.json" -w '%{time_total}' "$URL/api/v1/customers?$q")
read -r total fp < <("$PY" -c "import json,sys; v=json.load(open(sys.argv[1])); print(v['total'], (v.get('next_cursor') or '0.x').split('.')[1])" "$LOGS/serve-page.json")
echo "first page (cold): ${cold}s of $total customers" >&2
wrk_run page page.lua "/api/v1/customers?$q" "$fp" "$total"

# 4. export of about a million customers, streamed
before=$(rss VmRSS)
peak_before=$(rss VmHWM)
ex=$(curl -s -o /dev/null -w '%{time_total} %{size_download}' "$URL/api/v1/export?where=orders%20%3E%3D%202&format=csv")
exp_rows=$(curl -s "$URL/api/v1/customers?where=orders%20%3E%3D%202&limit=1" | "$PY" -c "import json,sys; print(json.load(sys.stdin)['total'])")
peak_after=$(rss VmHWM)
echo "export: $exp_rows customers, $ex (s, bytes); RSS before $before MiB; peak before $peak_before MiB, after $peak_after MiB" >&2
p() { awk -v k="$1" '$1 == k { print $2 }' "$LOGS/serve-$2.wrk"; }
rps() { awk '/Requests\/sec/ { print $2 }' "$LOGS/serve-$1.wrk"; }
cat <<MD | tee "$DATA/serve-results-$CUSTOMERS.md"
| $CUSTOMERS customers | value |
|---|---|
| ready (start → first /health answer) | ${ready} s |
| server RSS when ready / peak while loading | $ready_rss / $ready_peak MiB |
| customer lookup, p50 / p90 / p99 | $(p 50% lookup) / $(p 90% lookup) / $(p 99% lookup) |
| customer lookup, throughput | $(rps lookup) req/s |
| 100-row page of a filtered grade ($total customers), first page (cold) | ${cold} s |
| same, random pages under load, p50 / p90 / p99 | $(p 50% page) / $(p 90% page) / $(p 99% page) |
| same, throughput | $(rps page) req/s |
| export of $exp_rows customers as CSV (s, bytes) | $ex |
| server RSS before the export / peak before it / peak after it | $before / $peak_before / $peak_after MiB |
MD
