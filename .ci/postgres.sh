#!/usr/bin/env bash
# Install (if needed) and start a throwaway PostgreSQL on 127.0.0.1:54329 for tests.
# Exports nothing: tests read CLOSELOOP_TEST_PG_URL from .ci/pg.env written here.
set -euo pipefail
cd "$(dirname "$0")/.."
PGPORT=54329
PGDATA=/tmp/closeloop-pg-data
find_bin() {
  for d in /usr/lib/postgresql/*/bin /usr/local/bin /usr/bin; do
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then echo "$d"; return 0; fi
  done
  return 1
}
BIN=$(find_bin || true)
if [ -z "$BIN" ]; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) || {
    echo "postgres: could not install PostgreSQL" >&2; exit 1; }
  BIN=$(find_bin)
fi
RUNAS=""
if [ "$(id -u)" = "0" ]; then
  id postgres >/dev/null 2>&1 || useradd -r -m postgres
  RUNAS="runuser -u postgres --"
fi
if ! $RUNAS "$BIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; then
  rm -rf "$PGDATA"; mkdir -p "$PGDATA"; [ -n "$RUNAS" ] && chown postgres "$PGDATA"
  $RUNAS "$BIN/initdb" -D "$PGDATA" -U closeloop --auth=trust >/dev/null
  $RUNAS "$BIN/pg_ctl" -D "$PGDATA" -o "-p $PGPORT -k /tmp -c listen_addresses=127.0.0.1 -c max_connections=100" -l /tmp/closeloop-pg.log -w start >/dev/null
fi
$RUNAS "$BIN/psql" -h 127.0.0.1 -p $PGPORT -U closeloop -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname='closeloop_test'" | grep -q 1 \
  || $RUNAS "$BIN/createdb" -h 127.0.0.1 -p $PGPORT -U closeloop closeloop_test
echo "CLOSELOOP_TEST_PG_URL=postgresql+psycopg://closeloop@127.0.0.1:$PGPORT/closeloop_test" > .ci/pg.env
echo "postgres: ready on 127.0.0.1:$PGPORT"
