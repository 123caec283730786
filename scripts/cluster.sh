#!/usr/bin/env bash
# A local flash-sale cluster on this machine, every role on two nodes (DESIGN.md, "The
# cluster"): its own NATS with JetStream (file store), a Redis Cluster of 3 masters with
# two replicas each (AOF), HAProxy on PORT in front of two gateway nodes (health checks on
# /health/ready), two inventory nodes, two orders nodes and payments+sweeper on two
# nodes. PostgreSQL: the machine's (or one started as `npm start` does), with a
# database of the cluster's own; CLUSTER_OWN_PG=1 starts a PostgreSQL of its own.
#
#   scripts/cluster.sh up            start everything in the background, return once
#                                    the cluster takes orders through HAProxy
#   scripts/cluster.sh ps            one line per process: ROLE NODE_ID PID PORT RESTARTS
#   scripts/cluster.sh down          stop all of them, and only them
#   scripts/cluster.sh start NAME    (re)start one process of `ps` by its NODE_ID
#   scripts/cluster.sh stop NAME     SIGTERM one process and wait for it to exit
#   scripts/cluster.sh purge         down, then delete the cluster's data (its directory,
#                                    its PostgreSQL data, its database on a shared server)
#   scripts/cluster.sh names         the cluster's names and ports (starts nothing)
#   scripts/cluster.sh supervise on|off   restart processes that die (on after `up`)
#
# Supervision, as a Kubernetes restart policy: a supervisor process (in `ps`) starts
# again any process of the cluster that dies, at once the first time (a Redis node
# after its failover: 2 × REDIS_NODE_TIMEOUT_MS), then after 1, 2, 4 … 30 s while it
# keeps dying (the delay resets once it stayed up 60 s); `ps` shows
# each process's restarts, $DIR/logs/supervisor.log says why. `stop NAME` stops one for
# good (until `start NAME`). A dead Redis master is replaced by one of its two replicas
# (the other follows the new master at once) and comes back as a replica.
#
# Environment (all optional):
#   PORT               HAProxy's port                                    (3000)
#   CLUSTER_PORT_BASE  first of the ports the rest uses (below), and the cluster's name:
#                      every other name derives from it                   (17200)
#   CLUSTER_DIR        state, logs and data               (.data/cluster-BASE)
#   CLUSTER_PREFIX     STREAM_PREFIX (streams, namespace); the database is
#                      flash_<prefix, lower case>                         (C<BASE>)
#   CLUSTER_OWN_PG=1   a PostgreSQL of its own on base+40 instead of the machine's
#   CLUSTER_PG_URL     the PostgreSQL admin URL to use (else found as npm start does)
#   REDIS_NODE_TIMEOUT_MS  Redis cluster-node-timeout: failover time       (1500)
#   REDIS_REPLICAS     replicas per Redis master                          (2)
#   REDIS_HOSTS=distinct  each Redis node on a loopback address of its own (scripts/redis-cluster.sh)
#   anything else (RESERVATION_TTL_SECONDS, CONSUMER_ACK_WAIT_MS, …) reaches the nodes.
# Ports from the base: NATS +0, gateways +20 +21, Redis +10..+18, PostgreSQL +40.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"

CMD="${1:-}"
PORT="${PORT:-3000}"
BASE="${CLUSTER_PORT_BASE:-17200}"
[[ "$BASE" =~ ^[0-9]+$ ]] && ((BASE >= 1024 && BASE <= 65000)) || { echo "cluster: CLUSTER_PORT_BASE must be a port in [1024, 65000]" >&2; exit 2; }
# Two clusters differ by their port base, so every name derives from it.
DIR="${CLUSTER_DIR:-$ROOT/.data/cluster-$BASE}"
[[ "$DIR" == /* ]] || DIR="$ROOT/$DIR"
PREFIX="${CLUSTER_PREFIX:-C$BASE}"
NATS_PORT=$BASE
REDIS_BASE=$((BASE + 10))
GW_PORTS=($((BASE + 20)) $((BASE + 21)))
PG_PORT=$((BASE + 40))
REDIS_REPLICAS="${REDIS_REPLICAS:-2}"
REDIS_NODE_TIMEOUT_MS="${REDIS_NODE_TIMEOUT_MS:-1500}"
[[ "$REDIS_REPLICAS" =~ ^[12]$ ]] || { echo "cluster: REDIS_REPLICAS must be 1 or 2" >&2; exit 2; }
HOST=127.0.0.1
PROCS="$DIR/procs" # lines: ROLE NODE_ID PORT (what `up` started; pids in $DIR/pids)

log() { echo "cluster: $*" >&2; }
die() {
  log "ERROR: $*"
  exit 1
}
usage() {
  sed -n '9,18p' "$0" >&2
  exit 2
}

port_open() { timeout 0.5 bash -c "exec 3<>/dev/tcp/$HOST/$1" 2>/dev/null; }

# shellcheck source=scripts/poll.sh
source "$ROOT/scripts/poll.sh" # wait_for SECONDS COMMAND...

pid_of() { # NAME: the live pid of a process we started, or fail
  local f="$DIR/pids/$1.pid" pid
  [[ -f "$f" ]] || return 1
  pid="$(<"$f")"
  [[ "$pid" =~ ^[0-9]+$ ]] && alive "$pid" || return 1
  echo "$pid"
}

# alive PID: running, not a zombie (what we start is reparented to init, which may
# reap it late)
alive() { [[ -e "/proc/$1" ]] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }
gone() { ! alive "$1"; }

# launch NAME COMMAND...: starts COMMAND detached, logs to $DIR/logs/NAME.log, records
# the pid; the command line is kept in $DIR/cmd/NAME so `start NAME` can run it again.
launch() {
  local name="$1"
  shift
  mkdir -p "$DIR/logs" "$DIR/pids" "$DIR/cmd"
  printf '%q ' "$@" >"$DIR/cmd/$name"
  setsid nohup "$@" </dev/null >>"$DIR/logs/$name.log" 2>&1 &
  echo $! >"$DIR/pids/$name.pid"
  disown $! 2>/dev/null || true
}

# The settings the nodes were started with (the tests' short TTLs, say), kept by `up` so
# that `start NAME` brings a node back exactly as it was.
SETTINGS='^(PATH|NODE_ENV|LOG_LEVEL|ADMIN_TOKEN|WEBHOOK_|RESERVATION_|IDEMPOTENCY_|INVENTORY_MODE|RATE_LIMIT_|PUBLISH_TIMEOUT|REQUEST_TIMEOUT|CONSUMER_|SWEEP_|ORPHAN_|REDIS_|HEARTBEAT_|SHUTDOWN_|SEED_PRODUCT|METRICS_|SOLD_OUT_|RESERVE_BATCH_)'
save_settings() {
  local name
  : >"$DIR/settings"
  for name in $(compgen -e | grep -E "$SETTINGS" || true); do
    printf 'export %s=%q\n' "$name" "${!name}" >>"$DIR/settings"
  done
}

relaunch() { # NAME: runs the recorded command again, with the recorded settings
  local name="$1" line
  [[ -f "$DIR/cmd/$name" ]] || die "no process named $name in this cluster"
  if pid_of "$name" >/dev/null; then
    log "$name is running"
    return 0
  fi
  line="$(<"$DIR/cmd/$name")"
  # shellcheck source=/dev/null
  source "$DIR/settings"
  eval "launch $name $line"
}

# ---- the parts ----------------------------------------------------------------------

start_nats() {
  local dir="$DIR/nats" conf bin
  bin="$(command -v nats-server || echo /usr/sbin/nats-server)"
  mkdir -p "$dir"
  conf="$dir/nats.conf"
  # The strongest fsync the installed server supports: `sync_interval: always` exists
  # from nats-server 2.10 on (2.9 keeps acknowledged messages through a process crash,
  # in the page cache, but not through a power loss).
  cat >"$conf" <<CONF
listen: $HOST:$NATS_PORT
jetstream { store_dir: "$dir/store"
  sync_interval: always
}
CONF
  if ! "$bin" -t -c "$conf" >/dev/null 2>&1; then
    log "$("$bin" --version 2>&1) has no jetstream sync_interval: running with its default fsync"
    sed -i '/sync_interval/d' "$conf"
  fi
  echo "nats nats $NATS_PORT" >>"$PROCS"
  launch nats "$bin" -c "$conf"
  wait_for 10 port_open "$NATS_PORT" || die "NATS did not open $HOST:$NATS_PORT (see $DIR/logs/nats.log)"
}

start_redis() {
  local out i
  out="$(REDIS_REPLICAS="$REDIS_REPLICAS" REDIS_NODE_TIMEOUT_MS="$REDIS_NODE_TIMEOUT_MS" \
    bash scripts/redis-cluster.sh start "$REDIS_BASE" "$DIR/redis")" || die "the Redis Cluster did not start"
  REDIS_NODES="$(sed -n 's/^REDIS_NODES=//p' <<<"$out")"
  for ((i = 0; i < 3 * (1 + REDIS_REPLICAS); i++)); do echo "redis redis-$((REDIS_BASE + i)) $((REDIS_BASE + i))" >>"$PROCS"; done
}

# pg_dir: where the cluster's own PostgreSQL keeps its data. PostgreSQL runs as the
# postgres user, which may not enter the checkout (a clone under root's 0700 home): then
# a directory of its own under /tmp, named after the cluster's directory, and remembered.
pg_dir() {
  if [[ -f "$DIR/pg-dir" ]]; then
    cat "$DIR/pg-dir"
    return
  fi
  local dir="$DIR/pg"
  if [[ "$(id -u)" -eq 0 ]] && ! runuser -u postgres -- test -x "$DIR" 2>/dev/null; then
    dir="/tmp/flash-cluster-pg-$(printf '%s' "$DIR" | sha1sum | cut -c1-12)"
  fi
  mkdir -p "$DIR"
  echo "$dir" | tee "$DIR/pg-dir"
}

start_postgres() {
  if [[ "${CLUSTER_OWN_PG:-0}" == 1 ]]; then
    local bin dir
    dir="$(pg_dir)"
    bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
    mkdir -p "$dir/run"
    [[ "$(id -u)" -ne 0 ]] || chown -R postgres:postgres "$dir"
    as_pg() { if [[ "$(id -u)" -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
    [[ -f "$dir/data/PG_VERSION" ]] || as_pg "$bin/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 >"$dir/initdb.log" 2>&1 ||
      die "initdb failed (see $dir/initdb.log)"
    # fsync off: this instance exists to be stopped and started by the fault tests
    pg_ctl_own start || die "PostgreSQL did not start (see $dir/postgres.log)"
    echo "postgres postgres $PG_PORT" >>"$PROCS"
    PG_ADMIN_URL="postgres://postgres@$HOST:$PG_PORT/postgres"
  elif [[ -n "${CLUSTER_PG_URL:-}" ]]; then
    PG_ADMIN_URL="$CLUSTER_PG_URL"
  else
    # the machine's, or one of our own as `npm start` does
    LOCAL_STACK_REDIS=0 NATS_URL="nats://$HOST:$NATS_PORT" source scripts/local-stack.sh || die "no PostgreSQL"
  fi
  DATABASE_URL="${PG_ADMIN_URL%/*}/$(db_name)"
}

db_name() { # the cluster's database: flash_<prefix>, lower case
  local db="${PREFIX,,}"
  echo "flash_${db//-/_}"
}

# start_node NAME SERVICES [HTTP_PORT]: one Moleculer node of the cluster
start_node() {
  local name="$1" services="$2" port="${3:-0}" role
  role="${services//,/+}"
  echo "$role $name ${3:--}" >>"$PROCS"
  launch "$name" env NODE_ID="$name" SERVICES="$services" PORT="$port" HOST="$HOST" \
    TRANSPORTER=nats NATS_URL="nats://$HOST:$NATS_PORT" REDIS_NODES="$REDIS_NODES" \
    REDIS_MIN_REPLICAS="${REDIS_MIN_REPLICAS:-1}" STREAM_PREFIX="$PREFIX" DATABASE_URL="$DATABASE_URL" \
    SEED_PRODUCT="${SEED_PRODUCT:-true}" \
    node --experimental-async-context-frame scripts/run.ts
}

start_haproxy() {
  local conf="$DIR/haproxy.cfg" bin
  bin="$(command -v haproxy || echo /usr/sbin/haproxy)"
  [[ -x "$bin" ]] || die "haproxy is not installed (scripts/ensure-deps.sh haproxy)"
  sed -e "s#@PORT@#$PORT#" -e "s#@GW1@#$HOST:${GW_PORTS[0]}#" -e "s#@GW2@#$HOST:${GW_PORTS[1]}#" \
    -e "s#@ERRORS@#$ROOT/deploy/haproxy/errors#" deploy/haproxy/cluster.cfg >"$conf"
  "$bin" -c -q -f "$conf" || die "haproxy refused $conf"
  echo "haproxy haproxy $PORT" >>"$PROCS"
  launch haproxy "$bin" -db -f "$conf"
}

ready() { [[ "$(curl -s -o /dev/null -w '%{http_code}' "http://$HOST:$1/health/ready")" == 200 ]]; }

cmd_up() {
  bash scripts/ensure-deps.sh haproxy
  mkdir -p "$DIR"
  exec 9>"$DIR/.lock"
  flock -w 60 9 || die "another cluster.sh holds $DIR/.lock"
  if [[ -f "$PROCS" ]] && pid_of haproxy >/dev/null; then
    log "already up (scripts/cluster.sh ps)"
    return 0
  fi
  port_open "$PORT" && die "port $PORT is taken (set PORT)"
  : >"$PROCS"
  save_settings
  start_nats
  start_redis
  start_postgres
  # migrations and streams once, before the nodes (each would otherwise race to do it)
  env TRANSPORTER=nats NATS_URL="nats://$HOST:$NATS_PORT" STREAM_PREFIX="$PREFIX" DATABASE_URL="$DATABASE_URL" SERVICES=none \
    node scripts/migrate.ts >/dev/null
  env NATS_URL="nats://$HOST:$NATS_PORT" STREAM_PREFIX="$PREFIX" DATABASE_URL="$DATABASE_URL" SERVICES=none \
    node scripts/setup-streams.ts >/dev/null
  start_node inventory-1 inventory
  start_node inventory-2 inventory
  start_node orders-1 orders
  start_node orders-2 orders
  start_node ops-1 payments,sweeper
  start_node ops-2 payments,sweeper
  start_node gateway-1 gateway "${GW_PORTS[0]}"
  start_node gateway-2 gateway "${GW_PORTS[1]}"
  start_haproxy
  wait_for 120 ready "${GW_PORTS[0]}" || die "gateway-1 is not ready after 120 s (see $DIR/logs/)"
  wait_for 60 ready "${GW_PORTS[1]}" || die "gateway-2 is not ready after 60 s (see $DIR/logs/)"
  wait_for 30 ready "$PORT" || die "HAProxy on $PORT does not reach a ready gateway (see $DIR/logs/haproxy.log)"
  start_supervisor
  # the demo product is seeded by the first inventory node that starts
  log "up: http://$HOST:$PORT (HAProxy) — scripts/cluster.sh ps lists the processes; logs in $DIR/logs"
}

redis_role() { # PORT: master | replica | down (as Redis says now)
  local r
  r="$(timeout 2 redis-cli -h "$HOST" -p "$1" role 2>/dev/null | head -n 1)" || r=""
  case "$r" in master) echo redis-master ;; slave) echo redis-replica ;; *) echo redis-down ;; esac
}

cmd_ps() {
  [[ -f "$PROCS" ]] || return 0
  local role name port pid
  while read -r role name port; do
    [[ "$role" == redis ]] && role="$(redis_role "$port")"
    pid="$(proc_pid "${role%%-*}" "$name" "$port")" || pid=-
    echo "$role $name $pid $port $(cat "$DIR/restarts/$name" 2>/dev/null || echo 0)"
  done <"$PROCS"
}

pid_of_redis() { # PORT
  local f="$DIR/redis/$1/redis.pid" pid
  [[ -f "$f" ]] && pid="$(<"$f")" && alive "$pid" && echo "$pid"
}

pid_of_postgres() {
  local pid
  pid="$(head -n 1 "$(pg_dir)/data/postmaster.pid" 2>/dev/null)" && alive "$pid" && echo "$pid"
}

proc_pid() { # ROLE NAME PORT (a line of $PROCS): the live pid, or fail
  case "$1" in
    redis) pid_of_redis "$3" ;;
    postgres) pid_of_postgres ;;
    *) pid_of "$2" ;;
  esac
}

stop_one() { # NAME: SIGTERM (graceful shutdown), SIGKILL to its process group after 30 s
  local pid
  pid="$(pid_of "$1")" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_for 30 gone "$pid"; then
    log "$1 (pid $pid) ignored SIGTERM for 30 s: SIGKILL"
  fi
  # launch() made it the leader of a process group: nothing of it outlives this
  kill -KILL -- "-$pid" 2>/dev/null || true
  rm -f "$DIR/pids/$1.pid"
}

cmd_down() {
  [[ -f "$PROCS" ]] || {
    log "nothing to stop"
    return 0
  }
  local role name port
  stop_one supervisor
  # the front first, the data last
  stop_one haproxy
  while read -r role name port; do
    case "$role" in nats | redis | postgres | haproxy | supervisor) ;; *) stop_one "$name" & ;; esac
  done <"$PROCS"
  wait
  REDIS_REPLICAS="$REDIS_REPLICAS" bash scripts/redis-cluster.sh stop "$REDIS_BASE" "$DIR/redis" || true
  stop_one nats
  if grep -q '^postgres ' "$PROCS"; then pg_ctl_own stop || true; fi
  rm -f "$PROCS" "$DIR/supervise-off"
  rm -rf "$DIR/stopped" "$DIR/restarts"
  log "down"
}

pg_ctl_own() { # start|stop: the cluster's own PostgreSQL (CLUSTER_OWN_PG=1)
  local bin dir
  dir="$(pg_dir)"
  [[ -f "$dir/data/PG_VERSION" ]] || die "this cluster has no PostgreSQL of its own"
  bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
  local args=(-D "$dir/data" -w -t 30)
  if [[ "$1" == start ]]; then
    args+=(-l "$dir/postgres.log" -o "-p $PG_PORT -k '$dir/run' -c listen_addresses=$HOST -c fsync=off -c max_connections=200" start)
  else
    args+=(-m fast stop)
  fi
  if [[ "$(id -u)" -eq 0 ]]; then runuser -u postgres -- "$bin/pg_ctl" "${args[@]}" >/dev/null; else "$bin/pg_ctl" "${args[@]}" >/dev/null; fi
}

# start|stop NAME for the data servers: Redis nodes rejoin the cluster (a failed-over
# master comes back as a replica), PostgreSQL restarts on its data directory.
start_named() {
  local lock status=0
  mkdir -p "$DIR/locks"
  exec {lock}>"$DIR/locks/$1"
  flock -w 60 "$lock" || die "another start of $1 holds its lock"
  # the process started must not inherit the lock: it would hold it as long as it runs,
  # and the next start of it (the supervisor's, an operator's) would wait for nothing
  (
    exec {lock}>&-
    case "$1" in
      redis-*) REDIS_REPLICAS="$REDIS_REPLICAS" REDIS_NODE_TIMEOUT_MS="$REDIS_NODE_TIMEOUT_MS" bash scripts/redis-cluster.sh start-node "$REDIS_BASE" "$DIR/redis" "${1#redis-}" ;;
      postgres) pg_ctl_own start ;;
      *) relaunch "$1" ;;
    esac
  ) || status=$?
  exec {lock}>&-
  return "$status"
}
stop_named() {
  case "$1" in
    redis-*) timeout 5 redis-cli -h "$HOST" -p "${1#redis-}" shutdown >/dev/null 2>&1 || true ;;
    postgres) pg_ctl_own stop ;;
    *) stop_one "$1" ;;
  esac
}

# down, then the cluster's data: its directory, its own PostgreSQL's data, or its
# database on a shared PostgreSQL (best effort: that server may be gone).
cmd_purge() {
  local own=0
  [[ -f "$DIR/pg-dir" ]] && own=1
  cmd_down
  if ((own)); then
    rm -rf -- "$(pg_dir)"
  else
    local admin="${CLUSTER_PG_URL:-postgres://postgres@${PGHOST_PORT:-127.0.0.1:5432}/postgres}"
    timeout 10 psql -q "$admin" -c "drop database if exists $(db_name) with (force)" >/dev/null 2>&1 || true
  fi
  rm -rf -- "$DIR"
  log "purged"
}

cmd_names() {
  echo "CLUSTER_DIR=$DIR"
  echo "STREAM_PREFIX=$PREFIX"
  echo "DATABASE=$(db_name)"
  echo "PORT=$PORT NATS_PORT=$NATS_PORT REDIS_PORTS=$REDIS_BASE-$((REDIS_BASE + 5)) GATEWAY_PORTS=${GW_PORTS[*]} OWN_PG_PORT=$PG_PORT"
}

# ---- supervision ---------------------------------------------------------------------

supervise_loop() {
  exec 8>"$DIR/.supervisor.lock"
  flock -n 8 || die "a supervisor already runs for $DIR"
  mkdir -p "$DIR/restarts" "$DIR/stopped"
  local -A delay=() next=() since=()
  local role name port now n d
  slog() { echo "$(date -u +%FT%T.%3NZ) $*"; }
  slog "supervising the processes of $PROCS"
  trap 'slog "supervisor stopped"; exit 0' TERM INT
  while [[ -f "$PROCS" ]]; do
    if [[ ! -f "$DIR/supervise-off" ]]; then
      while read -r role name port; do
        [[ "$role" == supervisor || -f "$DIR/stopped/$name" ]] && continue
        now="$(date +%s%3N)"
        if proc_pid "$role" "$name" "$port" >/dev/null; then
          # up for a minute since its last restart: the next death is restarted at once
          if [[ -n "${since[$name]:-}" ]] && ((now - since[$name] >= 60000)); then
            delay[$name]=0
            unset "since[$name]"
          fi
          continue
        fi
        if [[ -z "${next[$name]:-}" ]]; then
          d="${delay[$name]:-0}"
          # a Redis node waits out the failover first (twice cluster-node-timeout), so it
          # comes back as a replica of the promoted master rather than racing the promotion
          [[ "$role" == redis ]] && ((d < 2 * REDIS_NODE_TIMEOUT_MS)) && d=$((2 * REDIS_NODE_TIMEOUT_MS))
          next[$name]=$((now + d))
          slog "$name is not running: restart in $d ms"
        fi
        ((now >= next[$name])) || continue
        n=$(($(cat "$DIR/restarts/$name" 2>/dev/null || echo 0) + 1))
        echo "$n" >"$DIR/restarts/$name"
        if (start_named "$name") </dev/null >>"$DIR/logs/supervisor.log" 2>&1; then
          slog "$name restarted (restart $n)"
        else
          slog "$name: restart $n failed"
        fi
        d="${delay[$name]:-0}"
        delay[$name]=$((d == 0 ? 1000 : (d * 2 > 30000 ? 30000 : d * 2)))
        since[$name]="$now"
        unset "next[$name]"
      done <"$PROCS"
    fi
    sleep 0.5
  done
}

start_supervisor() {
  echo "supervisor supervisor -" >>"$PROCS"
  launch supervisor bash "$ROOT/scripts/cluster.sh" supervise-loop
}

cmd_supervise() {
  case "${1:-}" in
    on) rm -f "$DIR/supervise-off" ;;
    off) mkdir -p "$DIR" && touch "$DIR/supervise-off" ;;
    *) usage ;;
  esac
  log "supervision ${1}"
}

case "$CMD" in
  names) cmd_names ;;
  supervise) [[ $# -eq 2 ]] || usage; cmd_supervise "$2" ;;
  supervise-loop) supervise_loop >>"$DIR/logs/supervisor.log" 2>&1 ;;
  up) cmd_up ;;
  purge) cmd_purge ;;
  ps) cmd_ps ;;
  down) cmd_down ;;
  start) [[ $# -eq 2 ]] || usage; rm -f "$DIR/stopped/$2"; start_named "$2" ;;
  stop) [[ $# -eq 2 ]] || usage; mkdir -p "$DIR/stopped" && touch "$DIR/stopped/$2"; stop_named "$2" ;;
  *) usage ;;
esac
