#!/usr/bin/env bash
# Starts a throwaway PostgreSQL server for the database tests: a fresh cluster in a temp
# folder, listening on loopback only, with a password-protected role `clientele` (scram) and
# a database `shop`, and TLS with a CA of its own (a role `clientele_tls` may connect only over
# TLS). Prints the environment the tests read; stop it with `$0 stop DIR`.
#
#   eval "$(bash .ci/postgres.sh start)"    # sets CLIENTELE_PG_TESTS, CLIENTELE_PG_URL, …
#   bash .ci/postgres.sh stop "$CLIENTELE_PG_DIR"
set -euo pipefail

if [ "${1:-}" = "stop" ]; then
    dir="$2"
    bin="$(cat "$dir/bin")"
    as_pg() { if [ "$(id -u)" = 0 ]; then su postgres -s /bin/bash -c "$*"; else bash -c "$*"; fi; }
    as_pg "'$bin/pg_ctl' -D '$dir/data' -m fast -w stop" >/dev/null 2>&1 || true
    rm -rf "$dir"
    exit 0
fi

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >&2
fi
if ! command -v openssl >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openssl >&2
fi
bin="$(dirname "$(ls /usr/lib/postgresql/*/bin/initdb | sort -V | tail -1)")"
# the first free port from 54329 (another run's server may hold one)
port="${CLIENTELE_PG_PORT:-}"
if [ -z "$port" ]; then
    for p in $(seq 54329 54399); do
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then port=$p; break; fi
    done
fi
dir="$(mktemp -d /tmp/clientele-pg.XXXXXX)"
echo "$bin" > "$dir/bin"
password="ci-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
echo "$password" > "$dir/pw"
# initdb refuses to run as root: the cluster belongs to the postgres user when we are root
if [ "$(id -u)" = 0 ]; then
    chown postgres "$dir"
    chmod 700 "$dir"
    as_pg() { su postgres -s /bin/bash -c "$*"; }
else
    as_pg() { bash -c "$*"; }
fi
as_pg "'$bin/initdb' -D '$dir/data' -U postgres --auth-local=trust --auth-host=scram-sha-256 \
    --encoding=UTF8 --locale=C.UTF-8 --pwfile='$dir/pw'" >/dev/null
# TLS: a CA of our own and a server certificate for the name `localhost` only (so that
# verify-full by IP address fails, as it should), plus a second CA that signed nothing
tls="$dir/tls"
mkdir -p "$tls"
(
    cd "$tls"
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=clientele-test-ca \
        -keyout ca.key -out ca.pem 2>/dev/null
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=other-ca \
        -keyout other.key -out other-ca.pem 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout server.key -out server.csr 2>/dev/null
    printf 'subjectAltName=DNS:localhost\n' > san.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
        -extfile san.ext -out server.crt 2>/dev/null
    chmod 600 server.key
    # a client certificate for the role that logs in by certificate (its CN is the role)
    openssl req -newkey rsa:2048 -nodes -subj /CN=clientele_cert -keyout client.key \
        -out client.csr 2>/dev/null
    printf 'extendedKeyUsage=clientAuth\n' > client.ext
    openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
        -extfile client.ext -out client.crt 2>/dev/null
    chmod 600 client.key
)
if [ "$(id -u)" = 0 ]; then chown -R postgres "$tls"; chmod 755 "$tls"; chmod 644 "$tls"/*.pem; fi
# a role that may only connect over TLS: a session of it proves the connection is encrypted
sed -i '1i hostnossl all clientele_tls all reject' "$dir/data/pg_hba.conf"
# a role that logs in by client certificate only (no password), over TLS only
sed -i '1i hostssl all clientele_cert all cert' "$dir/data/pg_hba.conf"
sed -i '1i hostnossl all clientele_cert all reject' "$dir/data/pg_hba.conf"
as_pg "'$bin/pg_ctl' -D '$dir/data' -l '$dir/log' -w -o \"-p $port -k '$dir' -c listen_addresses=127.0.0.1 -c fsync=off -c timezone=UTC -c ssl=on -c ssl_cert_file='$tls/server.crt' -c ssl_key_file='$tls/server.key' -c ssl_ca_file='$tls/ca.pem'\" start" >/dev/null
as_pg "'$bin/psql' -h '$dir' -p $port -U postgres -d postgres -v ON_ERROR_STOP=1 -q" <<SQL
CREATE ROLE clientele LOGIN PASSWORD '$password';
CREATE DATABASE shop OWNER clientele;
CREATE ROLE clientele_tls LOGIN PASSWORD '$password' IN ROLE clientele;
CREATE ROLE clientele_cert LOGIN IN ROLE clientele;
SQL
cat <<ENV
export CLIENTELE_PG_TESTS=1
export CLIENTELE_PG_DIR='$dir'
export CLIENTELE_PG_URL='postgresql://clientele@127.0.0.1:$port/shop'
export CLIENTELE_PG_ADMIN_URL='postgresql://postgres@127.0.0.1:$port/shop'
export CLIENTELE_PG_TEST_PASSWORD='$password'
export CLIENTELE_PG_TLS_URL='postgresql://clientele_tls@localhost:$port/shop?hostaddr=127.0.0.1'
export CLIENTELE_PG_CA='$tls/ca.pem'
export CLIENTELE_PG_OTHER_CA='$tls/other-ca.pem'
export CLIENTELE_PG_CERT_URL='postgresql://clientele_cert@localhost:$port/shop?hostaddr=127.0.0.1'
export CLIENTELE_PG_CLIENT_CERT='$tls/client.crt'
export CLIENTELE_PG_CLIENT_KEY='$tls/client.key'
ENV
