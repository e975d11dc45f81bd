#!/bin/sh
# Checks a directory of lab captures (made by run.sh): first at the packet level with tshark
# (each capture shows what its scenario is about), then the conclusions tcpwhy draws from them:
# the end-to-end tests (tests/tests/e2e_*.rs) run again on these captures instead of the
# committed ones (TCPWHY_CAPTURES=DIR).
#
#   sh tests/scenarios/check.sh DIR
set -eu
DIR=${1:?usage: check.sh DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
fail=0; n=0

# count FILE FILTER: frames matching a display filter
count() { tshark -r "$DIR/$1" -Y "$2" </dev/null 2>/dev/null | wc -l | tr -d ' '; }
# compare A =|>= B
compare() {
  case $2 in
    =) [ "$1" -eq "$3" ] ;;
    '>=') [ "$1" -ge "$3" ] ;;
    *) return 2 ;;
  esac
}
# expect FILE FILTER OP NUMBER WHAT
expect() {
  n=$((n + 1))
  got=$(count "$1" "$2")
  if compare "$got" "$3" "$4"; then
    echo "ok   $1: $5 ($got)"
  else
    echo "FAIL $1: $5: expected $3 $4 frames matching '$2', got $got"
    fail=$((fail + 1))
  fi
}
# app FILE JQ-FILTER WHAT: the client application's own view (<name>.app.jsonl)
app() {
  n=$((n + 1))
  if jq -se "$2" "$DIR/$1" </dev/null >/dev/null 2>&1; then
    echo "ok   $1: $3"
  else
    echo "FAIL $1: $3 ($2)"
    fail=$((fail + 1))
  fi
}

HAVE_TSHARK=; command -v tshark >/dev/null && HAVE_TSHARK=1
HAVE_JQ=; command -v jq >/dev/null && HAVE_JQ=1
[ -n "$HAVE_TSHARK" ] || echo "check: tshark not installed, skipping the packet-level checks"
[ -n "$HAVE_JQ" ] || echo "check: jq not installed, skipping the application's view"
# checks.txt: FILE OP N FILTER # WHAT, or FILE jq FILTER # WHAT (its header says more).
while read -r file op num rest; do
  case $file in '' | '#'*) continue ;; esac
  case $file in '?'*) file=${file#?}; [ -f "$DIR/$file" ] || continue ;; esac
  if [ "$op" = jq ]; then
    rest="$num $rest"
    if [ -n "$HAVE_JQ" ]; then app "$file" "${rest%% # *}" "${rest#* # }"; fi
  elif [ -n "$HAVE_TSHARK" ]; then
    expect "$file" "${rest%% # *}" "$op" "$num" "${rest#* # }"
  fi
done <"$HERE/checks.txt"

if [ -n "$HAVE_JQ" ]; then
  for f in refused-2383 refused-ipv6 refused-windows-retry; do
    n=$((n + 1))
    if grep -q '0.0.0.0:2725.*msmdsrv' "$DIR/$f.ss.txt"; then echo "ok   $f.ss.txt: msmdsrv listens on 2725"
    else echo "FAIL $f.ss.txt: no msmdsrv on 2725"; fail=$((fail + 1)); fi
  done
fi

echo "lab packet checks: $((n - fail)) passed, $fail failed"
[ "$fail" = 0 ] || exit 1

# The conclusions: the end-to-end tests on these captures.
if [ "${LAB_SKIP_E2E:-0}" != 1 ] && command -v cargo >/dev/null; then
  cd "$ROOT"
  TCPWHY_CAPTURES=$DIR cargo test -q -p tcpwhy-tests --test e2e_lab --test tcp_real_e2e --test tcp_middle_e2e
  TCPWHY_CAPTURES=$DIR cargo test -q -p tcpwhy-tests --test names_tls_e2e
  TCPWHY_CAPTURES=$DIR cargo test -q -p tcpwhy-tests --test enterprise_fallback_e2e
  TCPWHY_CAPTURES=$DIR cargo test -q -p tcpwhy-tests --test enterprise_pathmtu_e2e
  TCPWHY_CAPTURES=$DIR cargo test -q -p tcpwhy-tests --test enterprise_reuse_e2e
fi
