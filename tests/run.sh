#!/usr/bin/env bash
# Sets up a virtualenv with cvatcore, its plugins and the test tools, makes sure the servers the
# suite talks to are up, and runs the whole suite. Usage: bash tests/run.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e '.[test]' -e plugins/example -e plugins/ldap \
    -e 'plugins/s3[test]' -e 'plugins/azure[test]' -e 'plugins/gcs[test]' -e 'plugins/gdrive[test]' \
    -e 'plugins/redis-streams[test]' \
    -e 'plugins/clickhouse[test]' \
    -e 'plugins/nuclio[test]' \
    -e 'plugins/datumaro[test]'

# The LDAP plug-in's tests start a real OpenLDAP server (they fail, never skip, without it).
if { ! command -v slapd >/dev/null && [ ! -x /usr/sbin/slapd ]; } || ! command -v ldapadd >/dev/null
then
    apt-get update -qq && apt-get install -y -qq slapd ldap-utils
fi

# FUSE for `cvatcore mount` (fusepy loads libfuse 2; fusermount unmounts).
if ! command -v fusermount >/dev/null || ! ldconfig -p | grep -q 'libfuse.so.2'; then
    apt-get update -qq && apt-get install -y -qq fuse3 libfuse2
fi

# Azurite (the Azure Blob emulator) from npm, into a cache the Azure fixtures look in.
if [ ! -x "$HOME/.cache/cvatcore/azurite/node_modules/.bin/azurite-blob" ]; then
    command -v npm >/dev/null || { apt-get update -qq && apt-get install -y -qq nodejs npm; }
    npm install --prefix "$HOME/.cache/cvatcore/azurite" --no-audit --no-fund \
        --loglevel=error azurite@3
fi

# PostgreSQL on 127.0.0.1:5432 (trust auth): start the machine's cluster if it is down.
if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
    if command -v pg_ctlcluster >/dev/null; then
        pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
    fi
    for _ in $(seq 50); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.2; done
fi
pg_isready -h 127.0.0.1 -p 5432 || { echo "PostgreSQL is not reachable on 127.0.0.1:5432" >&2; exit 1; }

.venv/bin/ruff check .
# Two processes (pytest-xdist): the machines have 2 cores, and most of the suite waits on
# servers and databases. PYTEST_WORKERS=0 runs everything in this process.
exec .venv/bin/pytest -n "${PYTEST_WORKERS:-2}" "$@"
