#!/usr/bin/env bash
# Sourced by the scripts that start servers: one way to wait for something.

# wait_for SECONDS COMMAND...: runs COMMAND (quietly) every 0.1 s until it succeeds, or
# fails once SECONDS have passed.
wait_for() {
  local end=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < end)) || return 1
    sleep 0.1
  done
}
