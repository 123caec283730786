#!/usr/bin/env bash
# `npm test`: the whole suite against real servers. Installs what is missing, uses
# the machine's PostgreSQL and NATS (or starts its own), and the tests start their
# own Redis Cluster (ports 17101-17103) and database (flash_sale_test); FLASH_TEST_PORT_BASE
# and FLASH_TEST_DB move them (test/support/env.ts).
# docker-compose and prometheus (promtool) check deploy/ (test/deploy); iptables cuts a
# Redis node off in the chaos run (test/faults/chaos.test.ts).
# Ends with one line "Tests: N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/ensure-deps.sh haproxy chromium docker-compose prometheus iptables
# the tests need PostgreSQL and NATS; the Redis Cluster is their own
LOCAL_STACK_REDIS=0
# shellcheck source=scripts/local-stack.sh
source scripts/local-stack.sh

mkdir -p .data
status=0
NODE_OPTIONS="--experimental-vm-modules --no-warnings=ExperimentalWarning" \
  jest --json --outputFile=.data/jest-results.json "$@" || status=$?

node -e '
  const r = JSON.parse(require("fs").readFileSync(".data/jest-results.json", "utf8"));
  console.log(`Tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed`);
' || echo "Tests: 0 passed, 1 failed"
exit $status
