#!/bin/sh
# Runs resets.md's snippets on the bundled lab captures.
# shellcheck source=docs/runbooks/lib.sh
. "$(dirname "$0")/lib.sh"
RB=resets.md

with reset-mid
run $RB 1
has "reset_mid_connection" "203.0.113.30:9000" "reset by the server" "TTL 62" "Windows 10054" \
  "ECONNRESET" "1 finding (1 error)"
run $RB 2
has "203.0.113.30:9000 RST TTL 62: endpoint"

with zero-window-synack
run $RB 1
has "zero_window_at_handshake" "203.0.113.13:80" "zero receive window" "zero-window probes" \
  "Windows 10054"
lacks "203.0.113.11:80" "203.0.113.12:80"
run $RB 2
has "203.0.113.13:80 RST TTL 126: endpoint"

with middlebox-reset
run $RB 2
has "203.0.113.30:8443 RST TTL 64: middlebox"

with reset-after-close
run $RB 1
has "reset_after_close" "203.0.113.30:9003" "half-close" "Windows 10054" "ECONNRESET"
lacks "reset_mid_connection"

with healthy
run $RB 1
has "no findings"
run $RB 2
[ -z "$OUT" ] || { echo "FAIL: healthy capture has RSTs: $OUT"; exit 1; }
done_ok
