#!/usr/bin/env bash
# gridscheme developer entry point.
#   ./dev.sh demo   set up a venv, install, plan a sample application on the bundled demo city
#   ./dev.sh test   set up a venv with every extra, then run the gates (ruff, mypy) and the
#                   whole test suite
#   ./dev.sh serve  set up a venv with the service extra, then run `gridscheme serve` (args passed on)
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}
VENV=${GRIDSCHEME_VENV:-.venv}

setup() {
  local extras=$1
  if [ ! -x "$VENV/bin/python" ]; then
    "$PY" -m venv "$VENV"
  fi
  "$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null
  "$VENV/bin/python" -m pip install -q -e ".${extras}"
}

case "${1:-}" in
  demo)
    setup ""
    shift
    exec "$VENV/bin/gridscheme" demo "$@"
    ;;
  test)
    setup "[all]"
    shift
    # PostgreSQL for the service tests: started when installed (else they skip, and fail in CI)
    # (only the URL is taken from its output, never eval'd: a stray line cannot run as a command)
    if [ -z "${GRIDSCHEME_TEST_POSTGRES_URL:-}" ] && pg_env=$(.ci/postgres.sh); then
      pg_url=$(printf '%s\n' "$pg_env" | sed -n 's/^export GRIDSCHEME_TEST_POSTGRES_URL=//p' | tail -1)
      if [ -n "$pg_url" ]; then
        export GRIDSCHEME_TEST_POSTGRES_URL="$pg_url"
      fi
    fi
    # the gates (issue 11): lint and type errors stop the run before the tests (set -e)
    "$VENV/bin/ruff" check .
    "$VENV/bin/mypy"
    exec "$VENV/bin/python" -m pytest -q "$@"
    ;;
  serve)
    setup "[service]"
    shift
    exec "$VENV/bin/gridscheme" serve "$@"
    ;;
  *)
    echo "usage: ./dev.sh demo | ./dev.sh test [pytest args] | ./dev.sh serve [--port P]" >&2
    exit 2
    ;;
esac
