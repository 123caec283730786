#!/usr/bin/env bash
# Sourced (`source scripts/local-stack.sh`) by the start and test scripts: makes sure
# PostgreSQL, NATS (JetStream) and a Redis Cluster are reachable, starting our own
# instance under <repo>/.data only for what is not already there, and exports
#   PG_ADMIN_URL   postgres://postgres@HOST:PORT/postgres
#   NATS_URL       nats://HOST:PORT
#   REDIS_NODES    127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3 (unless REDIS_NODES/REDIS_URL is set)
# Inputs: PGHOST_PORT (default 127.0.0.1:5432), NATS_URL (default nats://127.0.0.1:4222),
# REDIS_CLUSTER_PORT (default 17001), LOCAL_STACK_REDIS=0 (no Redis: the caller brings one). Variables the caller already set are kept, except
# NATS_URL when it points at nothing (then our own NATS replaces it, with a notice).
# Fallback instances: PostgreSQL on 15432 (.data/pg), NATS on 14222 (.data/nats).
#
# Being sourced, this file does not `set -euo pipefail` (that would change the
# caller's shell) but runs cleanly under it; it never exits, and on failure prints
# the reason and returns 1. It defines port_open for the caller's use.

# port_open HOST PORT: true if a TCP connection succeeds within 0.5 s.
port_open() {
  timeout 0.5 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null
}

_ls_log() { echo "local-stack: $*" >&2; }

# wait_for SECONDS COMMAND...: polls COMMAND every 0.1 s until it succeeds or time is up.
# shellcheck source=scripts/poll.sh
source "$(dirname "${BASH_SOURCE[0]}")/poll.sh"

# Runs a command as the postgres OS user when we are root (PostgreSQL refuses root).
_ls_as_pg() {
  if [[ "$(id -u)" -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

_ls_postgres() {
  local hostport="${PGHOST_PORT:-127.0.0.1:5432}"
  if [[ -n "${PG_ADMIN_URL:-}" ]]; then
    export PG_ADMIN_URL # the caller chose a server
    return 0
  fi
  if port_open "${hostport%:*}" "${hostport##*:}"; then
    export PG_ADMIN_URL="postgres://postgres@$hostport/postgres"
    return 0
  fi

  local dir="$_LS_ROOT/.data/pg" port=15432 bin
  bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
  if [[ -z "$bin" || ! -x "$bin/pg_ctl" ]]; then
    _ls_log "PostgreSQL is not reachable at $hostport and no server binaries in /usr/lib/postgresql/*/bin (run scripts/ensure-deps.sh)"
    return 1
  fi
  if ! "$bin/pg_isready" -q -h 127.0.0.1 -p "$port"; then
    _ls_log "PostgreSQL not reachable at $hostport; starting our own on 127.0.0.1:$port ($dir)"
    mkdir -p "$dir/run" || return 1
    if [[ "$(id -u)" -eq 0 ]]; then
      chown -R postgres:postgres "$dir" || return 1
      if ! runuser -u postgres -- test -w "$dir"; then
        _ls_log "the postgres OS user cannot write $dir (is a parent directory private?)"
        return 1
      fi
    fi
    if [[ ! -f "$dir/data/PG_VERSION" ]]; then
      _ls_as_pg "$bin/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 >"$dir/initdb.log" 2>&1 || {
        _ls_log "initdb failed; see $dir/initdb.log"
        return 1
      }
    fi
    _ls_as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 30 \
      -o "-p $port -k '$dir/run' -c listen_addresses=127.0.0.1" start >/dev/null || {
      _ls_log "pg_ctl start failed; see $dir/postgres.log"
      return 1
    }
    wait_for 30 "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" || {
      _ls_log "PostgreSQL on 127.0.0.1:$port is not ready after 30 s; see $dir/postgres.log"
      return 1
    }
  fi
  export PG_ADMIN_URL="postgres://postgres@127.0.0.1:$port/postgres"
}

_ls_nats() {
  local url="${NATS_URL:-nats://127.0.0.1:4222}" hostport
  hostport="${url#*://}"   # drop the scheme
  hostport="${hostport%%,*}" # first server of a list
  hostport="${hostport##*@}" # credentials
  hostport="${hostport%%/*}" # path
  [[ "$hostport" == *:* ]] || hostport="$hostport:4222"
  if port_open "${hostport%:*}" "${hostport##*:}"; then
    export NATS_URL="${NATS_URL:-$url}"
    return 0
  fi

  local dir="$_LS_ROOT/.data/nats" port=14222 bin
  bin="$(command -v nats-server || echo /usr/sbin/nats-server)"
  if ! port_open 127.0.0.1 "$port"; then
    if [[ ! -x "$bin" ]]; then
      _ls_log "NATS is not reachable at $hostport and nats-server is not installed (run scripts/ensure-deps.sh)"
      return 1
    fi
    _ls_log "NATS not reachable at $hostport; starting our own nats-server -js on 127.0.0.1:$port ($dir)"
    mkdir -p "$dir" || return 1
    # Detached from our session and stdio, so callers capturing our output do not hang.
    setsid nohup "$bin" -a 127.0.0.1 -p "$port" -js -sd "$dir" -P "$dir/nats.pid" -l "$dir/nats.log" \
      </dev/null >/dev/null 2>&1 &
    disown $! 2>/dev/null || true
    wait_for 10 port_open 127.0.0.1 "$port" || {
      _ls_log "nats-server did not open 127.0.0.1:$port within 10 s; see $dir/nats.log"
      return 1
    }
  fi
  [[ -z "${NATS_URL:-}" ]] || _ls_log "NATS_URL=$NATS_URL is not reachable; using nats://127.0.0.1:$port instead"
  export NATS_URL="nats://127.0.0.1:$port"
}

_ls_redis() {
  # LOCAL_STACK_REDIS=0: the caller brings its own Redis (the tests start theirs)
  [[ "${LOCAL_STACK_REDIS:-1}" != "0" ]] || return 0
  if [[ -n "${REDIS_NODES:-}" || -n "${REDIS_URL:-}" ]]; then
    [[ -z "${REDIS_NODES:-}" ]] || export REDIS_NODES
    [[ -z "${REDIS_URL:-}" ]] || export REDIS_URL
    return 0
  fi
  local out
  out="$(bash "$_LS_ROOT/scripts/redis-cluster.sh" start "${REDIS_CLUSTER_PORT:-17001}")" || {
    _ls_log "could not start the Redis Cluster on port ${REDIS_CLUSTER_PORT:-17001} (see the messages above)"
    return 1
  }
  out="$(sed -n 's/^REDIS_NODES=//p' <<<"$out" | tail -n 1)"
  if [[ -z "$out" ]]; then
    _ls_log "scripts/redis-cluster.sh did not report REDIS_NODES"
    return 1
  fi
  export REDIS_NODES="$out"
}

_LS_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if _ls_postgres && _ls_nats && _ls_redis; then
  unset -f _ls_log _ls_as_pg _ls_postgres _ls_nats _ls_redis
  unset _LS_ROOT
else
  unset -f _ls_log _ls_as_pg _ls_postgres _ls_nats _ls_redis
  unset _LS_ROOT
  echo "local-stack: FAILED to prepare the local services" >&2
  return 1
fi
