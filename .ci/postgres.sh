#!/usr/bin/env bash
# A throwaway local PostgreSQL server for the tests of shared search storage.
#   source .ci/postgres.sh start   # exports SMNAS_TEST_POSTGRES=postgresql://...
#   .ci/postgres.sh stop
# Uses Debian's postgresql package (installed with apt-get when missing and we are
# root). The server runs as the 'postgres' user (PostgreSQL refuses root) from a
# data dir under /tmp, on a port of its own, so nothing of the machine is touched.
PGPORT="${SMNAS_PG_PORT:-55432}"
PGDATA_DIR="${SMNAS_PG_DIR:-/tmp/smnas-ci-postgres}"

_pg_bin() {
  local d
  for d in /usr/lib/postgresql/*/bin; do
    [[ -x "$d/initdb" ]] && { echo "$d"; return 0; }
  done
  command -v initdb >/dev/null 2>&1 && { dirname "$(command -v initdb)"; return 0; }
  return 1
}

_as_pg() {  # run as the postgres user when we are root
  if [[ "$(id -u)" == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_start() {
  local bin
  if ! bin="$(_pg_bin)"; then
    if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
      echo "[postgres] installing Debian's postgresql package"
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null || true
    fi
    bin="$(_pg_bin)" || { echo "[postgres] no PostgreSQL server available: its tests will be skipped"; return 0; }
  fi
  if [[ "$(id -u)" == 0 ]] && ! id postgres >/dev/null 2>&1; then
    useradd --system --home-dir "$PGDATA_DIR" postgres
  fi
  rm -rf "$PGDATA_DIR"
  mkdir -p "$PGDATA_DIR"
  [[ "$(id -u)" == 0 ]] && chown postgres "$PGDATA_DIR"
  _as_pg "$bin/initdb" -D "$PGDATA_DIR/data" -U postgres --auth=trust >"$PGDATA_DIR/initdb.log" 2>&1 \
    || { echo "[postgres] initdb failed: see $PGDATA_DIR/initdb.log"; return 1; }
  _as_pg "$bin/pg_ctl" -D "$PGDATA_DIR/data" -l "$PGDATA_DIR/server.log" -w \
    -o "-p $PGPORT -k $PGDATA_DIR -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null \
    || { echo "[postgres] the server did not start: see $PGDATA_DIR/server.log"; return 1; }
  export SMNAS_TEST_POSTGRES="postgresql://postgres@127.0.0.1:$PGPORT/postgres"
  echo "[postgres] server up: $SMNAS_TEST_POSTGRES"
}

pg_stop() {
  local bin
  bin="$(_pg_bin)" || return 0
  [[ -d "$PGDATA_DIR/data" ]] && _as_pg "$bin/pg_ctl" -D "$PGDATA_DIR/data" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$PGDATA_DIR"
}

case "${1:-}" in
  start) pg_start ;;
  stop) pg_stop ;;
  *) echo "usage: source .ci/postgres.sh start | .ci/postgres.sh stop" >&2 ;;
esac
