#!/usr/bin/env bash
# `npm run bench [-- --quick] [-- --only drop] [-- --targets redis-1p,pg-lock]`:
# the benchmark (bench/run.ts). Uses the machine's PostgreSQL and NATS (or starts
# its own, scripts/local-stack.sh), and a Redis Cluster of its own on ports
# BENCH_REDIS_PORT..+2 (default 17201-17203), started here and stopped at the end,
# even on failure or Ctrl-C. Results: a section of bench/results/HISTORY.md, bench/results/*.json, bench/chart.png
# (bench/RESULTS.md is the report, refreshed by hand from them).
set -euo pipefail
cd "$(dirname "$0")/.."

# Node 22 from the node@22 devDependency, also when this script is run directly
export PATH="$PWD/node_modules/.bin:$PATH"

# wrk drives the load (bench/lib/wrk.ts), haproxy fronts the scale-out gateways
bash scripts/ensure-deps.sh wrk haproxy
# --against URL: only the drop, against a stack running elsewhere: no servers of our own
for arg in "$@"; do
  if [[ "$arg" == --against* ]]; then exec node bench/run.ts "$@"; fi
done

# PostgreSQL and NATS from the machine (or our own); the Redis Cluster is the benchmark's
export LOCAL_STACK_REDIS=0
# shellcheck source=scripts/local-stack.sh
source scripts/local-stack.sh

export BENCH_REDIS_PORT="${BENCH_REDIS_PORT:-17201}"
cluster_started=0
cleanup() {
  local status=$?
  if ((cluster_started)); then
    bash scripts/redis-cluster.sh stop "$BENCH_REDIS_PORT" || true
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

cluster_started=1
out="$(bash scripts/redis-cluster.sh start "$BENCH_REDIS_PORT")"
REDIS_NODES="$(sed -n 's/^REDIS_NODES=//p' <<<"$out" | tail -n 1)"
[[ -n "$REDIS_NODES" ]] || { echo "bench: scripts/redis-cluster.sh did not report REDIS_NODES" >&2; exit 1; }
export REDIS_NODES
unset REDIS_URL

# BENCH_ENTRY=scale-out: the capped scale-out experiment (bench/scale-out.ts, npm run bench:scale-out)
node "bench/${BENCH_ENTRY:-run}.ts" "$@"
