# Helpers for the runbook tests (*.test.sh, run by scripts/test-runbooks.sh in `make test`).
# A runbook's copy-paste snippets are its ```sh blocks; a test runs them, unchanged, in a scratch
# directory where trace.pcap and listeners.txt are bundled lab captures (tests/captures/), and
# checks what they print.
#
# The tools: TCPWHY_BIN_DIR (absolute, or relative to where the test runs from) first on PATH,
# else the debug build in cargo's target directory (CARGO_TARGET_DIR respected).
set -eu
RB_DIR=$(cd "$(dirname "$0")" && pwd)
RB_ROOT=$(cd "$RB_DIR" && while [ ! -f Cargo.toml ] && [ "$PWD" != / ]; do cd ..; done && pwd)
RB_BIN=$(sh "$RB_ROOT/scripts/bin-dir.sh" debug)
PATH="$RB_BIN:$PATH"
export PATH
CAPS=${TCPWHY_CAPTURES:-$RB_ROOT/tests/captures}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
PASS=0

# snippet RUNBOOK N: the Nth ```sh block of a runbook (1-based), as a reader copies it.
snippet() {
  awk -v n="$2" '
    /^```sh[ \t]*$/ { i++; if (i == n) { on = 1; next } }
    /^```[ \t]*$/   { if (on) { found = 1; exit } }
    on              { print }
    END             { if (!found) exit 3 }' "$RB_DIR/$1"
}

# with CAPTURE [LISTENERS]: trace.pcap (and listeners.txt) in the scratch directory are these.
with() {
  rm -f "$WORK/trace.pcap" "$WORK/listeners.txt"
  ln -s "$CAPS/$1.pcap" "$WORK/trace.pcap"
  if [ -n "${2:-}" ]; then ln -s "$CAPS/$2" "$WORK/listeners.txt"; fi
}

# run RUNBOOK N: runs the snippet in the scratch directory (RUN_IN overrides it); its output is
# in $OUT.
run() {
  code=$(snippet "$1" "$2") || { echo "FAIL: $1 has no sh block #$2"; exit 1; }
  [ -n "$code" ] || { echo "FAIL: $1 sh block #$2 is empty"; exit 1; }
  RB_WHAT="$1 #$2"
  if ! OUT=$(cd "${RUN_IN:-$WORK}" && printf '%s\n' "$code" | sh -e 2>&1); then
    echo "FAIL: $RB_WHAT exited non-zero:"; printf '%s\n' "$code" | sed 's/^/    /'; echo "$OUT"
    exit 1
  fi
}

# has TEXT...: the last snippet's output contains every TEXT (fixed strings).
has() {
  for t in "$@"; do
    if ! printf '%s\n' "$OUT" | grep -qF -- "$t"; then
      echo "FAIL: $RB_WHAT: output lacks \"$t\":"; printf '%s\n' "$OUT" | sed 's/^/    /'
      exit 1
    fi
  done
  PASS=$((PASS + 1))
}

# lacks TEXT...: the last snippet's output contains none of them.
lacks() {
  for t in "$@"; do
    if printf '%s\n' "$OUT" | grep -qF -- "$t"; then
      echo "FAIL: $RB_WHAT: output has \"$t\":"; printf '%s\n' "$OUT" | sed 's/^/    /'
      exit 1
    fi
  done
  PASS=$((PASS + 1))
}

# empty WHAT: the last snippet printed nothing (on a healthy capture, it would have listed WHAT).
empty() {
  [ -z "$OUT" ] || { echo "FAIL: $RB_WHAT: healthy capture has $1:"; printf '%s\n' "$OUT" | sed 's/^/    /'; exit 1; }
  PASS=$((PASS + 1))
}

done_ok() { echo "$(basename "$0"): $PASS checks passed"; }
