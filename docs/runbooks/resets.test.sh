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
empty "RSTs"

with keepalive-race
run $RB 1
has "keepalive_race" "203.0.113.30:8090" "keep-alive race" "idle 1." "Windows 10054" "ECONNRESET" \
  "1 finding (1 error)"
lacks "reset_mid_connection" "reset_after_close"
run $RB 3
has "→ 203.0.113.30:8090: request at frame" "after the server FIN"

with timewait-reuse
run $RB 1
has "timewait_reuse" "203.0.113.30:8091" "TIME_WAIT collision" "bare ACK" "retried its SYN"
lacks "retransmission_storm"
run $RB 3
has "40500 → 203.0.113.30:8091: SYN (frame" "answered by a bare ACK"

with port-exhaustion
run $RB 1
has "port_exhaustion" "203.0.113.30:8092" "60 connections" "WSAENOBUFS" "EADDRNOTAVAIL"
run $RB 4
has "198.51.100.10 → 203.0.113.30:8092: 60 connections from"

with healthy
run $RB 3
empty "late requests or challenge ACKs"
run $RB 4
empty "50 connections to one destination"
done_ok
