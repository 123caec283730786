#!/usr/bin/env bash
# A local Redis Cluster of three masters (ports BASE_PORT..BASE_PORT+2) from the
# installed redis-server, for development and tests; with REDIS_REPLICAS=N each master
# gets N replicas (ports BASE_PORT+3 on), one promoted when its master dies. With two,
# the promoted master still has a replica at once (the other one follows it).
#
#   scripts/redis-cluster.sh start|stop|status BASE_PORT [DATA_DIR]
#   scripts/redis-cluster.sh start-node BASE_PORT DATA_DIR PORT
#                                 starts one node of a formed cluster again (it rejoins
#                                 from its nodes.conf, a failed-over master as a replica)
#
# REDIS_REPLICAS (0|1|2, default 0), REDIS_NODE_TIMEOUT_MS (cluster-node-timeout: how
# long a silent master has before its replica takes over; default 2000).
# REDIS_HOSTS=distinct (opt-in, for the chaos run's partitions): each node also listens
# on a loopback address of its own, 127.<BASE_PORT/256%256>.<BASE_PORT%256>.<n> (n = 1,
# 2, …), announces it to the cluster and sends its replication and bus traffic from it,
# so that iptables can cut nodes off from each other while clients (from 127.0.0.1)
# still reach them. `start` remembers the choice in DATA_DIR/hosts for `start-node`.
#
# DATA_DIR defaults to <repo>/.data/redis-cluster-BASE_PORT; each node lives in
# DATA_DIR/<port>. `start` is idempotent (a healthy cluster is left alone, missing
# nodes are started, a stale cluster of ours is wiped and recreated) and prints
# REDIS_NODES=... on stdout (progress goes to stderr). `stop` only shuts down nodes
# whose pidfile under DATA_DIR names a live redis-server: never anybody else's.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

usage() {
  echo "usage: $0 start|stop|status BASE_PORT [DATA_DIR] | start-node BASE_PORT DATA_DIR PORT" >&2
  exit 2
}

(($# >= 2 && $# <= 4)) || usage
[[ $# -le 3 || "$1" == start-node ]] || usage
CMD="$1"
BASE_PORT="$2"
[[ "$BASE_PORT" =~ ^[0-9]+$ ]] && ((BASE_PORT >= 1 && BASE_PORT <= 65533)) || usage
DATA_DIR="${3:-$ROOT/.data/redis-cluster-$BASE_PORT}"
[[ "$DATA_DIR" == /* ]] || DATA_DIR="$PWD/$DATA_DIR"
DATA_DIR="${DATA_DIR%/}"
[[ -n "$DATA_DIR" ]] || usage

REPLICAS="${REDIS_REPLICAS:-0}"
[[ "$REPLICAS" =~ ^[012]$ ]] || usage
NODE_TIMEOUT_MS="${REDIS_NODE_TIMEOUT_MS:-2000}"
[[ "$NODE_TIMEOUT_MS" =~ ^[0-9]+$ ]] || usage
PORTS=()
for ((i = 0; i < 3 * (1 + REPLICAS); i++)); do PORTS+=("$((BASE_PORT + i))"); done
HOST=127.0.0.1
# the seeds clients start from: the three first masters (the client learns the rest)
REDIS_NODES="$HOST:${PORTS[0]},$HOST:${PORTS[1]},$HOST:${PORTS[2]}"
REDIS_SERVER="$(command -v redis-server || echo /usr/bin/redis-server)"
HOSTS="${REDIS_HOSTS:-}"
[[ -n "$HOSTS" || ! -f "$DATA_DIR/hosts" ]] || HOSTS="$(<"$DATA_DIR/hosts")"
[[ -z "$HOSTS" || "$HOSTS" == distinct ]] || usage

# node_host PORT: the address the node announces (the shared $HOST unless distinct)
node_host() {
  if [[ "$HOSTS" == distinct ]]; then
    echo "127.$((BASE_PORT >> 8 & 255)).$((BASE_PORT & 255)).$(($1 - BASE_PORT + 1))"
  else
    echo "$HOST"
  fi
}

log() { echo "redis-cluster[$BASE_PORT]: $*" >&2; }
die() {
  log "ERROR: $*"
  exit 1
}

cli() { timeout 3 redis-cli -h "$HOST" "$@" 2>/dev/null; } # cli -p PORT args...
node_dir() { echo "$DATA_DIR/$1"; }
pidfile() { echo "$DATA_DIR/$1/redis.pid"; }

pings() { [[ "$(cli -p "$1" ping)" == "PONG" ]]; }

port_open() { timeout 0.5 bash -c "exec 3<>/dev/tcp/$HOST/$1" 2>/dev/null; }
port_closed() { ! port_open "$1"; }

# Field of `cluster info` on one node (empty if the node does not answer).
info_field() { { cli -p "$1" cluster info || true; } | tr -d '\r' | sed -n "s/^$2://p"; }

# The pid of the live redis-server on PORT that we started: the one our pidfile names,
# or, when DATA_DIR was deleted under it (pidfile gone), the one whose working
# directory is (or was) this node's directory under DATA_DIR.
our_pid() {
  local f pid cwd
  f="$(pidfile "$1")"
  if [[ -f "$f" ]]; then
    pid="$(<"$f")"
    [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "redis-server.*:$1\b" || return 1
    echo "$pid"
    return 0
  fi
  for pid in $(pgrep -f "redis-server .*:$1\b" 2>/dev/null); do
    cwd="$(readlink "/proc/$pid/cwd" 2>/dev/null)" || continue
    if [[ "$cwd" == "$(node_dir "$1")" || "$cwd" == "$(node_dir "$1") (deleted)" ]]; then
      echo "$pid"
      return 0
    fi
  done
  return 1
}

node_ok() {
  local info
  info="$(cli -p "$1" cluster info | tr -d '\r')" || return 1
  grep -qx 'cluster_state:ok' <<<"$info" && grep -qx 'cluster_slots_ok:16384' <<<"$info"
}

# With replicas: every master (whichever node is one now) has its replicas in sync.
replicas_ok() {
  ((REPLICAS == 0)) && return 0
  local p info masters=0 covered=0
  for p in "${PORTS[@]}"; do
    info="$(cli -p "$p" info replication | tr -d '\r')" || return 1
    grep -qx 'role:master' <<<"$info" || continue
    masters=$((masters + 1))
    grep -q "^slave$((REPLICAS - 1)):.*state=online" <<<"$info" && covered=$((covered + 1))
  done
  ((masters == 3 && covered == 3))
}

cluster_ok() {
  local p
  for p in "${PORTS[@]}"; do node_ok "$p" || return 1; done
  replicas_ok
}

probe_ok() {
  local key="{redis-cluster-probe}:$$"
  [[ "$(timeout 3 redis-cli -c -h "$HOST" -p "${PORTS[0]}" set "$key" 1 2>/dev/null)" == "OK" ]] &&
    [[ "$(timeout 3 redis-cli -c -h "$HOST" -p "${PORTS[0]}" get "$key" 2>/dev/null)" == "1" ]] &&
    timeout 3 redis-cli -c -h "$HOST" -p "${PORTS[0]}" del "$key" >/dev/null 2>&1
}

healthy() { cluster_ok && probe_ok; }

# wait_for SECONDS COMMAND...: polls COMMAND every 0.1 s until it succeeds or time is up.
wait_for() {
  local end
  end=$((SECONDS + $1))
  shift
  until "$@"; do
    ((SECONDS < end)) || return 1
    sleep 0.1
  done
}

start_node() {
  local p="$1" dir
  dir="$(node_dir "$p")"
  mkdir -p "$dir"
  log "starting node $(node_host "$p"):$p"
  local bind=(--bind "$HOST")
  if [[ "$HOSTS" == distinct ]]; then
    # protected mode would take only 127.0.0.1 for loopback: every address here is one
    bind=(--bind "$(node_host "$p")" "$HOST" --bind-source-addr "$(node_host "$p")" --cluster-announce-ip "$(node_host "$p")" --protected-mode no)
  fi
  # 9>&-: the daemon must not inherit our lock.
  "$REDIS_SERVER" \
    --cluster-enabled yes --cluster-config-file nodes.conf \
    "${bind[@]}" --port "$p" \
    --daemonize yes --pidfile "$(pidfile "$p")" --logfile "$dir/redis.log" --dir "$dir" \
    --appendonly yes --appendfsync everysec --maxmemory-policy noeviction \
    --cluster-node-timeout "$NODE_TIMEOUT_MS" 9>&- >/dev/null
}

gone() { [[ ! -e "/proc/$1" ]] || grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; } # PID exited (or a zombie)

stop_node() {
  local p="$1" pid
  if pid="$(our_pid "$p")"; then
    log "stopping node $HOST:$p (pid $pid)"
    cli -p "$p" shutdown nosave >/dev/null || true
    if ! wait_for 10 gone "$pid"; then
      log "node $HOST:$p ignored SHUTDOWN; sending SIGTERM to pid $pid"
      kill -TERM "$pid" 2>/dev/null || true
      if ! wait_for 5 gone "$pid"; then
        # e.g. its directory was deleted under it: it cannot write its AOF and refuses to stop
        log "node $HOST:$p (pid $pid) ignored SIGTERM: SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        wait_for 5 gone "$pid" || die "node $HOST:$p (pid $pid) did not stop"
      fi
    fi
  else
    rm -f "$(pidfile "$p")"
  fi
}

start_missing_nodes() {
  local p
  for p in "${PORTS[@]}"; do # check every port before starting anything
    if ! pings "$p" && port_open "$p"; then
      die "port $p is taken by something that does not answer a Redis PING"
    fi
  done
  for p in "${PORTS[@]}"; do
    pings "$p" && continue
    start_node "$p" || die "redis-server on port $p failed to start; see $(node_dir "$p")/redis.log"
  done
  for p in "${PORTS[@]}"; do
    wait_for 10 pings "$p" || die "node $HOST:$p does not answer PING; see $(node_dir "$p")/redis.log"
  done
}

# fresh: a node that has never joined a cluster. formed: knows the others and the slots.
node_shape() {
  local known assigned
  known="$(info_field "$1" cluster_known_nodes)"
  assigned="$(info_field "$1" cluster_slots_assigned)"
  if [[ "$known" == 1 && "$assigned" == 0 ]]; then
    echo fresh
  elif [[ "${known:-0}" -ge "${#PORTS[@]}" && "$assigned" == 16384 ]]; then
    echo formed
  else
    echo stale
  fi
}

# Only nodes we started (pidfile under DATA_DIR) may be wiped.
wipe_and_restart() {
  local p
  for p in "${PORTS[@]}"; do
    if pings "$p" && ! our_pid "$p" >/dev/null; then
      die "cluster on $REDIS_NODES is in a bad state and node $HOST:$p is not ours (no live pidfile under $DATA_DIR); not touching it"
    fi
  done
  log "wiping stale cluster state under $DATA_DIR and recreating"
  for p in "${PORTS[@]}"; do stop_node "$p"; done
  for p in "${PORTS[@]}"; do rm -rf -- "${DATA_DIR:?}/$p"; done
  start_missing_nodes
}

create_cluster() {
  local out
  log "creating cluster $REDIS_NODES"
  local p addrs=()
  for p in "${PORTS[@]}"; do addrs+=("$(node_host "$p"):$p"); done
  # the first three become masters, the next three their replicas
  out="$(redis-cli --cluster create "${addrs[@]}" --cluster-replicas "$REPLICAS" --cluster-yes 2>&1)" || {
    echo "$out" >&2
    return 1
  }
}

cmd_start() {
  if cluster_ok; then
    log "already running ($REDIS_NODES, cluster_state:ok)"
    echo "REDIS_NODES=$REDIS_NODES"
    return 0
  fi

  # Serialise concurrent starts/stops of the same cluster (e.g. two test runs).
  mkdir -p "$DATA_DIR"
  [[ -z "$HOSTS" ]] || echo "$HOSTS" >"$DATA_DIR/hosts"
  exec 9>"$DATA_DIR/.lock"
  flock -w 60 9 || die "could not lock $DATA_DIR/.lock within 60 s"

  start_missing_nodes

  local shapes p
  shapes="$(for p in "${PORTS[@]}"; do node_shape "$p"; done | sort -u | tr '\n' ' ')"
  case "$shapes" in
    "fresh ")
      create_cluster || { wipe_and_restart && create_cluster; } || die "redis-cli --cluster create failed"
      ;;
    "formed ")
      # Restarted from nodes.conf: give the nodes a moment to find each other again.
      if ! wait_for 15 cluster_ok; then
        log "restarted cluster did not become healthy"
        wipe_and_restart
        create_cluster || die "redis-cli --cluster create failed"
      fi
      ;;
    *)
      log "nodes disagree about the cluster (${shapes% })"
      wipe_and_restart
      create_cluster || die "redis-cli --cluster create failed"
      ;;
  esac

  wait_for 30 healthy || die "within 30 s the cluster did not reach cluster_state:ok / cluster_slots_ok:16384 on every node with a working SET/GET (see $DATA_DIR/*/redis.log)"
  log "running ($REDIS_NODES)"
  echo "REDIS_NODES=$REDIS_NODES"
}

cmd_stop() {
  if [[ -d "$DATA_DIR" ]]; then
    exec 9>"$DATA_DIR/.lock"
    flock -w 60 9 || die "could not lock $DATA_DIR/.lock within 60 s"
  fi
  local p
  for p in "${PORTS[@]}"; do
    if our_pid "$p" >/dev/null; then
      stop_node "$p"
    elif pings "$p"; then
      log "node $HOST:$p is not ours (no live pidfile under $DATA_DIR); leaving it"
    else
      rm -f "$(pidfile "$p")"
    fi
  done
  log "stop done"
}

cmd_status() {
  local p pid state down=0
  for p in "${PORTS[@]}"; do
    if pings "$p"; then
      if pid="$(our_pid "$p")"; then state="up (pid $pid)"; else state="up (not started from $DATA_DIR)"; fi
      echo "$HOST:$p $state cluster_state:$(info_field "$p" cluster_state) slots_ok:$(info_field "$p" cluster_slots_ok)"
    else
      echo "$HOST:$p down"
      down=1
    fi
  done
  if ((down == 0)) && cluster_ok; then
    echo "cluster ok: REDIS_NODES=$REDIS_NODES"
  else
    echo "cluster not ok"
    return 1
  fi
}

# One node again, as it was (never a wipe: the rest of the cluster is serving).
cmd_start_node() {
  local p="$1"
  [[ " ${PORTS[*]} " == *" $p "* ]] || die "port $p is not a node of this cluster (${PORTS[*]})"
  pings "$p" && return 0
  port_open "$p" && die "port $p is taken by something that does not answer a Redis PING"
  [[ -f "$(node_dir "$p")/nodes.conf" ]] || die "node $p has never joined this cluster: use start"
  start_node "$p" || die "redis-server on port $p failed to start; see $(node_dir "$p")/redis.log"
  wait_for 10 pings "$p" || die "node $HOST:$p does not answer PING; see $(node_dir "$p")/redis.log"
}

case "$CMD" in
  start-node) [[ $# -eq 4 && "$4" =~ ^[0-9]+$ ]] || usage; cmd_start_node "$4" ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  *) usage ;;
esac
