#!/usr/bin/env bash
# Start a local PostgreSQL server for the service tests (idempotent) and print the line
#   export GRIDSCHEME_TEST_POSTGRES_URL=postgresql+psycopg://...
# As root (CI, this machine): Debian's cluster (pg_ctlcluster), a login role with CREATEDB and a
# database. As another user: a private cluster in .pgdata/ (initdb + pg_ctl on port 54329).
# Exits 1 with a note on stderr when PostgreSQL is not installed (`apt-get install -y postgresql`).
#
# Only the export line reaches stdout (callers capture or eval it): everything the PostgreSQL
# tools say goes to stderr, e.g. pg_ctlcluster's "Removed stale pid file." on a machine imaged
# while its server ran. The body runs as a function with stdout sent to stderr rather than with
# a saved extra descriptor, because the server daemon would inherit that descriptor and keep a
# caller's $(...) waiting forever.
set -euo pipefail
cd "$(dirname "$0")/.."
ROLE=gridscheme
PASS=gridscheme
DB=gridscheme_test
url=""

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }

# Lock files left by a server that was killed (an imaged machine): removed only when the PID
# they name is no longer alive, so a running server is never touched.
clear_stale_locks() {
  local f pid
  for f in /var/run/postgresql/.s.PGSQL.*.lock; do
    [ -e "$f" ] || continue
    pid=$(head -1 "$f")
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
      echo "removing stale lock $f (PID $pid is not running)"
      rm -f "$f" "${f%.lock}"
    fi
  done
}

start_debian_cluster() {
  if [ -z "$(pg_lsclusters -h 2>/dev/null)" ]; then
    local ver
    ver=$(basename "$(dirname "$(pg_bin)")")
    pg_createcluster "$ver" main
  fi
  local ver name port status _
  read -r ver name port status _ <<<"$(pg_lsclusters -h | head -1)"
  if [ "$status" != "online" ]; then
    if ! pg_ctlcluster "$ver" "$name" start; then
      clear_stale_locks
      pg_ctlcluster "$ver" "$name" start
    fi
  fi
  psql_pg() { (cd / && su postgres -c "psql -p $port -v ON_ERROR_STOP=1 -qtAc \"$1\""); }
  for _ in $(seq 1 30); do psql_pg "SELECT 1" >/dev/null 2>&1 && break; sleep 0.5; done
  if [ "$(psql_pg "SELECT 1 FROM pg_roles WHERE rolname='$ROLE'")" != "1" ]; then
    psql_pg "CREATE ROLE $ROLE LOGIN CREATEDB PASSWORD '$PASS'"
  fi
  if [ "$(psql_pg "SELECT 1 FROM pg_database WHERE datname='$DB'")" != "1" ]; then
    psql_pg "CREATE DATABASE $DB OWNER $ROLE"
  fi
  url="postgresql+psycopg://$ROLE:$PASS@127.0.0.1:$port/$DB"
}

start_private_cluster() {
  local bin port=54329 data=.pgdata
  bin=$(pg_bin)
  if [ ! -f "$data/PG_VERSION" ]; then
    "$bin/initdb" -D "$data" -U "$ROLE" --auth=trust
  fi
  if ! "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    "$bin/pg_ctl" -D "$data" -o "-p $port -k /tmp -c listen_addresses=127.0.0.1" \
      -l "$data/log" -w start
  fi
  "$bin/psql" -h 127.0.0.1 -p "$port" -U "$ROLE" -d postgres -qtAc \
    "SELECT 1 FROM pg_database WHERE datname='$DB'" | grep -q 1 \
    || "$bin/createdb" -h 127.0.0.1 -p "$port" -U "$ROLE" "$DB"
  url="postgresql+psycopg://$ROLE@127.0.0.1:$port/$DB"
}

if [ "$(id -u)" = 0 ] && command -v pg_lsclusters >/dev/null 2>&1; then
  start_debian_cluster >&2
elif [ -n "$(pg_bin)" ]; then
  start_private_cluster >&2
else
  echo "PostgreSQL is not installed (apt-get install -y postgresql): its service tests are skipped" >&2
  exit 1
fi
echo "export GRIDSCHEME_TEST_POSTGRES_URL=$url"
