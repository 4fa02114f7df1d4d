#!/usr/bin/env bash
# Starts a private PostgreSQL server for the AutoML trial-store tests, listening on 127.0.0.1 only, and prints the
# line that exports its connection string:
#
#   eval "$(bash .ci/postgres.sh)"        # start (or reuse) the server; sets MLNETLLM_TEST_POSTGRES
#   bash .ci/postgres.sh stop             # stop it (the data folder is kept; `clean` also deletes it)
#   bash .ci/postgres.sh status
#
# Idempotent: rerunning it reuses a running server, restarts a stopped one and re-creates nothing that exists.
# On Debian/Ubuntu as root it installs the `postgresql` package when missing (apt-get); otherwise the PostgreSQL
# server binaries must already be installed. Runs the server as the `postgres` user when started as root.
# Settings (environment): MLNETLLM_PG_PORT (55432), MLNETLLM_PG_DIR (${TMPDIR:-/tmp}/mlnetllm-postgres-PORT),
# MLNETLLM_PG_USER (mlnetllm), MLNETLLM_PG_PASSWORD (mlnetllm), MLNETLLM_PG_DATABASE (mlnetllm_test).
# Only the export line goes to stdout; progress goes to stderr.
set -euo pipefail

PORT=${MLNETLLM_PG_PORT:-55432}
DIR=${MLNETLLM_PG_DIR:-${TMPDIR:-/tmp}/mlnetllm-postgres-$PORT}
DB_USER=${MLNETLLM_PG_USER:-mlnetllm}
DB_PASSWORD=${MLNETLLM_PG_PASSWORD:-mlnetllm}
DB_NAME=${MLNETLLM_PG_DATABASE:-mlnetllm_test}
ACTION=${1:-start}

say() { echo "postgres.sh: $*" >&2; }
die() { say "error: $*"; exit 1; }

case "$ACTION" in start|stop|status|clean) ;; *) die "unknown action '$ACTION' (start, stop, status or clean)";; esac
[[ "$PORT" =~ ^[0-9]+$ ]] || die "MLNETLLM_PG_PORT must be a number (got '$PORT')"
[[ "$DB_USER" =~ ^[a-z_][a-z0-9_]*$ && "$DB_NAME" =~ ^[a-z_][a-z0-9_]*$ ]] || die "user and database names must be lower-case identifiers"
[[ "$DB_PASSWORD" != *"'"* && "$DB_PASSWORD" != *";"* ]] || die "the password must not contain ' or ;"

find_bindir() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [[ -n "$d" && -x "$d/initdb" && -x "$d/pg_ctl" ]]; then echo "$d"; return; fi
  if command -v pg_config >/dev/null 2>&1; then
    d=$(pg_config --bindir)
    if [[ -x "$d/initdb" && -x "$d/pg_ctl" ]]; then echo "$d"; return; fi
  fi
  if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then dirname "$(command -v pg_ctl)"; return; fi
}

BIN=$(find_bindir)
if [[ -z "$BIN" ]]; then
  [[ "$ACTION" == start ]] || die "PostgreSQL is not installed"
  if [[ $EUID -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    say "installing the postgresql package"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq postgresql >&2
    BIN=$(find_bindir)
  fi
  [[ -n "$BIN" ]] || die "PostgreSQL server binaries not found; install the 'postgresql' package (as root: apt-get install -y postgresql)"
fi

# Run PostgreSQL tools as the server's owner: `postgres` when we are root (the server refuses to run as root).
if [[ $EUID -eq 0 ]]; then
  getent passwd postgres >/dev/null || die "running as root but there is no 'postgres' user to run the server as"
  as_owner() { runuser -u postgres -- "$@"; }
  OWNER=postgres
else
  as_owner() { "$@"; }
  OWNER=$(id -un)
fi

running() { [[ -f "$DIR/PG_VERSION" ]] && as_owner "$BIN/pg_ctl" -D "$DIR" status >/dev/null 2>&1; }

case "$ACTION" in
  status)
    if running; then say "running on 127.0.0.1:$PORT (data $DIR)"; exit 0; else say "not running (data $DIR)"; exit 3; fi ;;
  stop|clean)
    if running; then as_owner "$BIN/pg_ctl" -D "$DIR" -m fast -w stop >&2; say "stopped"; else say "not running"; fi
    if [[ "$ACTION" == clean ]]; then rm -rf "$DIR"; say "removed $DIR"; fi
    exit 0 ;;
esac

# --- start ---
if [[ ! -f "$DIR/PG_VERSION" ]]; then
  say "initializing a cluster in $DIR ($("$BIN/postgres" --version))"
  mkdir -p "$DIR"
  chown "$OWNER" "$DIR"
  chmod 700 "$DIR"
  # Local (unix-socket, inside the 0700 data folder) connections: trust; TCP: password (SCRAM).
  as_owner "$BIN/initdb" -D "$DIR" -U postgres --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >/dev/null 2>"$DIR.initdb.log" \
    || as_owner "$BIN/initdb" -D "$DIR" -U postgres --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --no-locale >/dev/null 2>"$DIR.initdb.log" \
    || { cat "$DIR.initdb.log" >&2; die "initdb failed"; }
  rm -f "$DIR.initdb.log"
  cat >>"$DIR/postgresql.conf" <<EOF

# mlnetllm test server (.ci/postgres.sh)
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$DIR'
max_connections = 100
fsync = on
EOF
fi

if running; then
  say "already running on 127.0.0.1:$PORT"
else
  say "starting on 127.0.0.1:$PORT"
  if ! as_owner "$BIN/pg_ctl" -D "$DIR" -l "$DIR/server.log" -w -t 60 start >/dev/null; then
    tail -n 20 "$DIR/server.log" >&2 || true
    die "the server did not start (is port $PORT taken? set MLNETLLM_PG_PORT)"
  fi
fi

psql_admin() { as_owner "$BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$DIR" -p "$PORT" -U postgres -d postgres "$@"; }
psql_admin >/dev/null <<SQL
SELECT format('CREATE ROLE %I LOGIN', '$DB_USER') WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$DB_USER') \gexec
ALTER ROLE "$DB_USER" WITH LOGIN PASSWORD '$DB_PASSWORD';
SELECT format('CREATE DATABASE %I OWNER %I', '$DB_NAME', '$DB_USER') WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = '$DB_NAME') \gexec
SQL

CONNECTION="Host=127.0.0.1;Port=$PORT;Username=$DB_USER;Password=$DB_PASSWORD;Database=$DB_NAME"
# Check the TCP login the tests will use.
PGPASSWORD="$DB_PASSWORD" "$BIN/psql" -X -q -h 127.0.0.1 -p "$PORT" -U "$DB_USER" -d "$DB_NAME" -tAc "SELECT 1" >/dev/null \
  || die "could not log in as $DB_USER over TCP"
say "ready: $CONNECTION"
echo "export MLNETLLM_TEST_POSTGRES='$CONNECTION'"
