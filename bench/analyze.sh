#!/usr/bin/env bash
# Whole-analysis benchmark (issue "The whole analysis at scale"): the whole `analyze` next to
# the customer-table-only step on the same file, in the same run, round robin, so that the
# ratio between them is measured under the same conditions. Wall time and peak RSS come from
# /usr/bin/time -v, one process per measurement; the median of REPEAT runs is reported, with
# the last whole run's --timings breakdown (every model step and every file written).
#
#   bench/analyze.sh                        # bench/data/tx.parquet (10.0M rows, 3.36M customers)
#   FILE=bench/data/tx-336000.parquet bench/analyze.sh
#   HISTORY=1 FILE=… bench/analyze.sh       # also --history monthly, once
#
# Environment:
#   FILE        transactions (default bench/data/tx.parquet; made by bench/customer_table.sh)
#   REPEAT      runs of each, round robin (default 3)
#   HISTORY=1   also time one `--history monthly` run of the same file
#   BOTH=1      also time one whole run with --format both (customers.csv at any size)
#   CARGO_TARGET_DIR  release build folder (default /work/target-release)
#   SKIP_BUILD=1      use the existing release binary
# Output: a Markdown table on stdout and in bench/data/analyze-<file>.md; logs in bench/data/logs/.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
FILE=${FILE:-$ROOT/bench/data/tx.parquet}
REPEAT=${REPEAT:-3}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/work/target-release}
LOGS=$ROOT/bench/data/logs
mkdir -p "$LOGS"
if [[ ! -s $FILE ]]; then
  echo "no $FILE: make it with bench/customer_table.sh (FORMATS=parquet) or clientele generate" >&2
  exit 2
fi
if [[ -z "${SKIP_BUILD:-}" ]]; then
  cargo build --release -p clientele >&2
fi
BIN=$CARGO_TARGET_DIR/release/clientele
OUT=$(mktemp -d "${TMPDIR:-/tmp}/clientele-bench.XXXXXX")
trap 'rm -rf "$OUT"' EXIT

WALL= RSS=
timed() { # log name, command... → WALL, RSS
  local name=$1
  shift
  sync
  if ! /usr/bin/time -v "$@" >"$LOGS/$name.out" 2>"$LOGS/$name.time"; then
    echo "FAILED: $name (see $LOGS/$name.time)" >&2
    tail -5 "$LOGS/$name.time" >&2
    exit 1
  fi
  WALL=$(awk -F': ' '/Elapsed \(wall clock\)/ {
    n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; printf "%.2f", s }' "$LOGS/$name.time")
  RSS=$(awk -F': ' '/Maximum resident set size/ { printf "%.0f", $2 / 1024 }' "$LOGS/$name.time")
  echo "$name: $WALL s, $RSS MiB" >&2
}
median() {
  printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END {
    m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
    if (NR == 1) printf "%.2f", m; else printf "%.2f (%.2f–%.2f)", m, a[1], a[NR] }'
}
largest() { printf '%s\n' "$@" | sort -n | tail -1; }

tw=() tr=() aw=() ar=()
for ((rep = 1; rep <= REPEAT; rep++)); do
  rm -rf "$OUT/table" "$OUT/whole"
  timed table "$BIN" analyze "$FILE" --out "$OUT/table" --quiet --lang en --customer-table-only --format parquet --timings
  tw+=("$WALL") tr+=("$RSS")
  timed whole "$BIN" analyze "$FILE" --out "$OUT/whole" --quiet --lang en --timings
  aw+=("$WALL") ar+=("$RSS")
done
t_med=$(median "${tw[@]}" | cut -d' ' -f1)
a_med=$(median "${aw[@]}" | cut -d' ' -f1)
rows=() # "label|wall|rss"
rows+=("customer table only (\`--customer-table-only --format parquet\`)|$(median "${tw[@]}")|$(largest "${tr[@]}")")
rows+=("whole analyze (defaults)|$(median "${aw[@]}")|$(largest "${ar[@]}")")
if [[ -n "${BOTH:-}" ]]; then
  rm -rf "$OUT/both"
  timed both "$BIN" analyze "$FILE" --out "$OUT/both" --quiet --lang en --timings --format both
  rows+=("whole analyze, \`--format both\` (customers.csv too)|$WALL|$RSS")
  rm -rf "$OUT/both"
fi
if [[ -n "${HISTORY:-}" ]]; then
  rm -rf "$OUT/history"
  timed history "$BIN" analyze "$FILE" --out "$OUT/history" --quiet --lang en --timings --history monthly
  ends=$(find "$OUT/history/snapshot/history" -name '*.json' | wc -l)
  rows+=("whole analyze \`--history monthly\` ($ends month ends)|$WALL|$RSS")
  h_wall=$WALL
fi

{
  echo "### $(basename "$FILE"): $(du -h "$FILE" | cut -f1), $(nproc) cores, $REPEAT runs each, round robin — $(date -u +%Y-%m-%d)"
  echo
  echo "| run | wall s: median (range) | peak RSS MiB |"
  echo "|---|---:|---:|"
  for r in "${rows[@]}"; do
    IFS='|' read -r label wall rss <<<"$r"
    echo "| $label | $wall | $rss |"
  done
  echo
  awk -v a="$a_med" -v t="$t_med" 'BEGIN { printf "whole analyze / customer table only: **%.1f×** (target ≤ 3×)\n", a / t }'
  if [[ -n "${h_wall:-}" ]]; then
    awk -v h="$h_wall" -v a="$a_med" 'BEGIN { printf "\n--history monthly / whole analyze: **%.1f×** (target ≤ 3× for 24 month ends)\n", h / a }'
  fi
  echo
  echo "The last whole run, \`--timings\`:"
  echo
  echo '```'
  sed -n '/^timings/,$p' "$LOGS/whole.time" | grep -v -E '^\s+(Command|User|System|Percent|Elapsed|Average|Maximum|Major|Minor|Voluntary|Involuntary|Swaps|File system|Socket|Signals|Page size|Exit)'
  echo '```'
  echo
  echo "$("$BIN" --version); $(free -g | awk '/Mem:/ {print $2}') GiB"
} | tee "$ROOT/bench/data/analyze-$(basename "$FILE").md"
