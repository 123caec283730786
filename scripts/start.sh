#!/usr/bin/env bash
# `npm start`: the whole flash-sale stack on this machine, in one command.
# Installs what is missing (Debian packages, npm ci), starts what is not already
# running on ports of our own (a 3-master Redis Cluster on 17001-17003; PostgreSQL
# and NATS only when the machine has none), migrates, creates the streams, seeds a
# demo product, and runs every service in one Moleculer node. Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/ensure-deps.sh
# shellcheck source=scripts/local-stack.sh
source scripts/local-stack.sh

export DATABASE_URL="${DATABASE_URL:-${PG_ADMIN_URL%/*}/flash_sale}"
export SEED_PRODUCT="${SEED_PRODUCT:-true}"
# Every service in this process, as a node of a Moleculer cluster over NATS: other
# nodes (`npm run node`) and the operator's REPL (`npm run repl`) can join it.
# TRANSPORTER=none keeps it to itself.
export TRANSPORTER="${TRANSPORTER:-nats}"

# --experimental-async-context-frame: AsyncLocalStorage (MikroORM's contexts) without
# promise hooks on every promise of the process (Node 24's default)
exec node --experimental-async-context-frame scripts/run.ts
