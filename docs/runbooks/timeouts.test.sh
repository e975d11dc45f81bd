#!/bin/sh
# Runs timeouts.md's snippets on the bundled lab captures.
# shellcheck source=docs/runbooks/lib.sh
. "$(dirname "$0")/lib.sh"
RB=timeouts.md

with syn-timeout syn-timeout.ss.txt
run $RB 1
has "syn_timeout" "203.0.113.30:8080" "3 SYNs" "Windows 10060" "ETIMEDOUT" "1 finding (1 error)"
lacks "refused"

run $RB 2
has "listens on 8080" "firewall"

run $RB 3
has '"server":"203.0.113.30:8080"' '"syns":3'

with icmp-unreachable
run $RB 1
has "icmp_unreachable" "host unreachable" "192.0.2.2" "203.0.113.14:80" "EHOSTUNREACH"
lacks "syn_timeout"

with zero-window-recover
run $RB 1
has "WARNING" "zero_window_stall" "203.0.113.30:9001" "reopened"
lacks "ERROR"
run $RB 4
has '"server":"203.0.113.30:9001"' '"reopened":true'

with retrans-timeout
run $RB 1
has "retransmission_storm" "203.0.113.30:8081" "retransmitted" "ETIMEDOUT"
lacks "syn_timeout"

with slow-connect
run $RB 1
has "slow_connect" "203.0.113.30:8082" "second SYN"
lacks "ERROR"

with handshake-incomplete.server
run $RB 1
has "handshake_incomplete" "203.0.113.30:8083" "SYN-ACK"

with dying
run $RB 1
has "connection_dying" "peer_silent" "203.0.113.30:9002" "exponential back-off" "keep-alives" "WSAECONNABORTED" "WSAENETRESET"

with client-gave-up
run $RB 1
has "client_gave_up" "203.0.113.30:9002" "gave up" "5.0 s"

with window-crawl
run $RB 1
has "WARNING" "window_crawl" "203.0.113.40:9004" "waiting for the window"
lacks "ERROR"

with slow-path
run $RB 1
has "INFO" "slow_path" "between the capture point and the server"
lacks "ERROR" "WARNING"

with healthy
run $RB 1
has "no findings"
run $RB 3
empty "unanswered SYNs"

with pmtu-blackhole
run $RB 1
has "pmtu_blackhole" "203.0.113.30:9110" "[2001:db8:20::30]:9110" "up to 67 bytes" "MSS 1460" "WSAETIMEDOUT" "2 findings (2 errors)"
lacks "connection_dying" "retransmission_storm"
run $RB 5
has '"server":"203.0.113.30:9110"' '"largest_acked":67' '"smallest_lost":1448'

with pmtu-event
run $RB 1
has "no findings"

with idle-timeout
run $RB 1
has "idle_timeout" "203.0.113.30:9111" "idle 5.0 s" "WSAETIMEDOUT" "1 finding (1 error)"
lacks "connection_dying"
run $RB 6
has '"server":"203.0.113.30:9111"' '"by":"client"' '"outcome":"unanswered"'

with idle-timeout-reset
run $RB 1
has "idle_timeout" "idle 5.0 s, then reset" "in the server's name" "WSAECONNRESET"
lacks "reset_mid_connection"

done_ok
