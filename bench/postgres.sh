#!/usr/bin/env bash
# PostgreSQL read throughput: clientele reading a table (binary COPY of the mapped columns,
# validated and folded into the customer table) next to `psql \copy` of the same table to a
# file (text CSV and binary), and next to clientele reading the same rows from a CSV file, in
# one run, round robin. Wall time from /usr/bin/time; the median of REPEAT runs.
#
#   bench/postgres.sh                       # 2M rows (380,000 customers of `clientele generate`)
#   CUSTOMERS=1900000 bench/postgres.sh     # about 10M rows
#
# Environment:
#   CUSTOMERS         customers of the generated shop (default 380000, about 5.3 rows each)
#   REPEAT            runs of each, round robin (default 3)
#   CLIENTELE_PG_URL  a server to use (with PGPASSWORD); default: a throwaway one from
#                     .ci/postgres.sh, stopped at the end
#   CARGO_TARGET_DIR  release build folder (default /work/target-release); SKIP_BUILD=1 to reuse
# Output: a Markdown table on stdout and in bench/data/postgres.md.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
CUSTOMERS=${CUSTOMERS:-380000}
REPEAT=${REPEAT:-3}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/work/target-release}
mkdir -p bench/data
if [[ -z "${SKIP_BUILD:-}" ]]; then
  cargo build --release -p clientele >&2
fi
BIN=$CARGO_TARGET_DIR/release/clientele
WORK=$(mktemp -d "${TMPDIR:-/tmp}/clientele-pgbench.XXXXXX")
chmod 755 "$WORK"
started_pg=
cleanup() {
  [[ -z $started_pg ]] || bash .ci/postgres.sh stop "$CLIENTELE_PG_DIR"
  rm -rf "$WORK"
}
trap cleanup EXIT
if [[ -z "${CLIENTELE_PG_URL:-}" ]]; then
  eval "$(bash .ci/postgres.sh start)"
  export PGPASSWORD=$CLIENTELE_PG_TEST_PASSWORD
  started_pg=1
fi
URL=$CLIENTELE_PG_URL

shop=bench/data/shop-$CUSTOMERS
if [[ ! -s $shop/transactions.csv ]]; then
  rm -rf "$shop"
  "$BIN" generate --customers "$CUSTOMERS" --seed 7 --out "$shop" --quiet >&2
fi
TX=$ROOT/$shop/transactions.csv
ROWS=$(($(wc -l < "$TX") - 1))
echo "loading $ROWS rows into bench_tx" >&2
psql "$URL" -q -v ON_ERROR_STOP=1 <<SQL >&2
DROP TABLE IF EXISTS bench_tx;
CREATE TABLE bench_tx (line_no bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id text, customer_id text, order_date date, amount numeric(12,2),
    profit numeric(12,2), category text, quantity integer);
\copy bench_tx (order_id, customer_id, order_date, amount, profit, category, quantity) FROM '$TX' (FORMAT csv, HEADER true)
VACUUM ANALYZE bench_tx;
SQL

declare -A times
timed() { # name, command...
  local name=$1; shift
  local t0 t1
  t0=$(date +%s.%N)
  "$@" > /dev/null 2> "$WORK/err" || { cat "$WORK/err" >&2; exit 1; }
  t1=$(date +%s.%N)
  times[$name]+="$(echo "$t1 - $t0" | bc) "
}
cols="customer_id, order_date, amount, profit, category, quantity, order_id"
for _ in $(seq "$REPEAT"); do
  timed "psql \\copy to a CSV file" psql "$URL" -q -c "\\copy (SELECT $cols FROM bench_tx) TO '$WORK/out.csv' (FORMAT csv)"
  timed "psql \\copy to a binary file" psql "$URL" -q -c "\\copy (SELECT $cols FROM bench_tx) TO '$WORK/out.bin' (FORMAT binary)"
  rm -rf "$WORK/o1" "$WORK/o2"
  timed "clientele, customer table from the table" "$BIN" analyze --postgres "$URL" --table bench_tx \
    --customer-table-only --quiet --format parquet --out "$WORK/o1"
  timed "clientele, customer table from the CSV file" "$BIN" analyze "$TX" \
    --customer-table-only --quiet --format parquet --out "$WORK/o2"
done
# the same customer table either way
if cmp -s "$WORK/o1/customers.parquet" "$WORK/o2/customers.parquet"; then
  same="customers.parquet from the table and from the file: identical bytes"
else
  same="customers.parquet from the table and from the file DIFFER"
fi

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
{
  echo "PostgreSQL $(psql "$URL" -Atc 'SHOW server_version'), loopback; $ROWS rows, $CUSTOMERS customers (clientele generate --seed 7); median of $REPEAT, $(nproc) cores"
  echo
  echo "| step | wall | rows/s |"
  echo "|---|---:|---:|"
  for name in "psql \\copy to a CSV file" "psql \\copy to a binary file" \
              "clientele, customer table from the table" "clientele, customer table from the CSV file"; do
    m=$(echo "${times[$name]}" | median)
    printf '| %s | %.2f s | %s |\n' "$name" "$m" "$(echo "$ROWS / $m" | bc | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta')"
  done
  echo
  echo "$same"
} | tee bench/data/postgres.md
