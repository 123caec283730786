#!/usr/bin/env bash
# Makes a fresh Debian machine ready to run this repo: installs the missing system
# packages (Redis, NATS, PostgreSQL) when run as root, or prints the apt-get command
# to run and exits 1 otherwise; then runs `npm ci` if node_modules is missing or
# older than package-lock.json. Prints one line per action; silent (and fast) when
# there is nothing to do. Safe to run any number of times.
#
#   scripts/ensure-deps.sh [EXTRA...]   EXTRA: more Debian packages a caller needs, by
#                                       package name, found by the command of the same
#                                       name (haproxy, chromium); apt waits for a dpkg
#                                       lock held by another install
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

have() {
  # /usr/sbin is not on every user's PATH (Debian installs nats-server there).
  command -v "$1" >/dev/null 2>&1 || [[ -x "/usr/sbin/$1" ]]
}

have_pg_server() {
  compgen -G '/usr/lib/postgresql/*/bin/pg_ctl' >/dev/null
}

packages=()
want() {
  local pkg="$1" p
  for p in "${packages[@]}"; do [[ "$p" == "$pkg" ]] && return 0; done
  packages+=("$pkg")
}

have redis-server || want redis-server
have redis-cli || want redis-tools # redis-cli's own package (redis-server depends on it)
have nats-server || want nats-server
have psql || want postgresql
have_pg_server || want postgresql
for extra in "$@"; do
  have "$extra" || want "$extra"
done

if ((${#packages[@]} > 0)); then
  if [[ "$(id -u)" -ne 0 ]]; then
    echo "missing system packages: ${packages[*]}; run as root:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y ${packages[*]}" >&2
    exit 1
  fi
  echo "apt-get update"
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update -qq
  echo "apt-get install -y ${packages[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${packages[@]}"
fi

cd "$ROOT"
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "npm ci (node_modules missing or older than package-lock.json)"
  # On a Node older than 22 (Debian's 20) npm warns, in five lines per package, that the
  # packages want Node 22 (EBADENGINE). Harmless: every npm script runs the Node 22 of the
  # node@22 devDependency. Those warnings become one line; npm's other messages are kept.
  { npm ci --no-audit --no-fund 2>&1 1>&3 | awk -v node="$(node --version 2>/dev/null)" '
      /^npm warn EBADENGINE/ {
        if (!said++) print "npm ci: some packages want Node 22, this is Node " node " (their EBADENGINE warnings are hidden): harmless, the npm scripts run the Node 22 of the node@22 devDependency"
        next
      }
      { print; fflush() }' >&2; } 3>&1
fi
