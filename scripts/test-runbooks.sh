#!/bin/sh
# Runs every runbook's tested snippets (docs/runbooks/*.test.sh) and the tutorial's (docs/*.test.sh)
# against the bundled captures, with the tools of TCPWHY_BIN_DIR (absolute, or relative to where
# this runs from) first on PATH, else the debug build in cargo's target directory (make test
# builds it; CARGO_TARGET_DIR respected).
set -eu
B=$(sh "$(dirname "$0")/bin-dir.sh" debug)
cd "$(dirname "$0")/.."
export TCPWHY_BIN_DIR=$B
n=0; fail=0
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for t in docs/runbooks/*.test.sh docs/*.test.sh; do
  [ -f "$t" ] || continue
  n=$((n + 1))
  if sh "$t" >"$out" 2>&1; then
    cat "$out"
  else
    echo "runbook test failed: $t"; sed 's/^/  /' "$out"; fail=$((fail + 1))
  fi
done
echo "runbooks: $((n - fail)) passed, $fail failed"
[ "$fail" = 0 ]
