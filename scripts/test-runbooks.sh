#!/bin/sh
# Runs every runbook's tested snippet (docs/runbooks/*.test.sh) against the bundled captures.
set -eu
cd "$(dirname "$0")/.."
n=0; fail=0
for t in docs/runbooks/*.test.sh; do
  [ -f "$t" ] || continue
  n=$((n + 1))
  if PATH="$PWD/target/debug:$PATH" sh "$t" >/tmp/runbook.out 2>&1; then :; else
    echo "runbook test failed: $t"; cat /tmp/runbook.out; fail=$((fail + 1))
  fi
done
echo "runbooks: $((n - fail)) passed, $fail failed"
[ "$fail" = 0 ]
