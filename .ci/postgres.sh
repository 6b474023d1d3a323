#!/usr/bin/env bash
# Start a local PostgreSQL server for the service tests (idempotent) and print the line
#   export GRIDSCHEME_TEST_POSTGRES_URL=postgresql+psycopg://...
# As root (CI, this machine): Debian's cluster (pg_ctlcluster), a login role with CREATEDB and a
# database. As another user: a private cluster in .pgdata/ (initdb + pg_ctl on port 54329).
# Exits 1 with a note on stderr when PostgreSQL is not installed (`apt-get install -y postgresql`).
set -euo pipefail
cd "$(dirname "$0")/.."
ROLE=gridscheme
PASS=gridscheme
DB=gridscheme_test

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }

if [ "$(id -u)" = 0 ] && command -v pg_lsclusters >/dev/null 2>&1; then
  if [ -z "$(pg_lsclusters -h 2>/dev/null)" ]; then
    ver=$(basename "$(dirname "$(pg_bin)")")
    pg_createcluster "$ver" main >/dev/null
  fi
  read -r ver name port status _ <<<"$(pg_lsclusters -h | head -1)"
  if [ "$status" != "online" ]; then
    pg_ctlcluster "$ver" "$name" start
  fi
  psql_pg() { (cd / && su postgres -c "psql -p $port -v ON_ERROR_STOP=1 -qtAc \"$1\""); }
  for _ in $(seq 1 30); do psql_pg "SELECT 1" >/dev/null 2>&1 && break; sleep 0.5; done
  if [ "$(psql_pg "SELECT 1 FROM pg_roles WHERE rolname='$ROLE'")" != "1" ]; then
    psql_pg "CREATE ROLE $ROLE LOGIN CREATEDB PASSWORD '$PASS'" >/dev/null
  fi
  if [ "$(psql_pg "SELECT 1 FROM pg_database WHERE datname='$DB'")" != "1" ]; then
    psql_pg "CREATE DATABASE $DB OWNER $ROLE" >/dev/null
  fi
  echo "export GRIDSCHEME_TEST_POSTGRES_URL=postgresql+psycopg://$ROLE:$PASS@127.0.0.1:$port/$DB"
elif [ -n "$(pg_bin)" ]; then
  bin=$(pg_bin)
  port=54329
  data=.pgdata
  if [ ! -f "$data/PG_VERSION" ]; then
    "$bin/initdb" -D "$data" -U "$ROLE" --auth=trust >/dev/null
  fi
  if ! "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    "$bin/pg_ctl" -D "$data" -o "-p $port -k /tmp -c listen_addresses=127.0.0.1" -l "$data/log" -w start >/dev/null
  fi
  "$bin/psql" -h 127.0.0.1 -p "$port" -U "$ROLE" -d postgres -qtAc \
    "SELECT 1 FROM pg_database WHERE datname='$DB'" | grep -q 1 \
    || "$bin/createdb" -h 127.0.0.1 -p "$port" -U "$ROLE" "$DB"
  echo "export GRIDSCHEME_TEST_POSTGRES_URL=postgresql+psycopg://$ROLE@127.0.0.1:$port/$DB"
else
  echo "PostgreSQL is not installed (apt-get install -y postgresql): its service tests are skipped" >&2
  exit 1
fi
