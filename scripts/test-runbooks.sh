#!/bin/sh
# Runs every runbook's tested snippets (docs/runbooks/*.test.sh) and the tutorial's (docs/*.test.sh)
# against the bundled captures,
# with the debug build of the tools first on PATH (make test builds it).
set -eu
cd "$(dirname "$0")/.."
n=0; fail=0
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for t in docs/runbooks/*.test.sh docs/*.test.sh; do
  [ -f "$t" ] || continue
  n=$((n + 1))
  if PATH="$PWD/target/debug:$PATH" sh "$t" >"$out" 2>&1; then
    cat "$out"
  else
    echo "runbook test failed: $t"; sed 's/^/  /' "$out"; fail=$((fail + 1))
  fi
done
echo "runbooks: $((n - fail)) passed, $fail failed"
[ "$fail" = 0 ]
