#!/bin/sh
# Runs connection-setup.md's snippets on the bundled lab captures.
# shellcheck source=docs/runbooks/lib.sh
. "$(dirname "$0")/lib.sh"
RB=connection-setup.md

with backlog-full
run $RB 1
has "WARNING backlog_full" "203.0.113.30:8097" "listen (accept) queue on port 8097 is full" \
  "not a dead host, not a firewall"
lacks "syn_timeout" "slow_connect" "203.0.113.30:80:"
run $RB 2
has "syns_unanswered=2" "ack_ignored=true" "reset=false"

with backlog-abort
run $RB 2
has "reset=true"

with ipv6-fallback
run $RB 3
has "dual.lab.test fell back to IPv4: lost=7.2s ended_by=stack" "ended_by=application" \
  "dual.lab.test never tried IPv4: syn_timeout after 1s of IPv6 SYNs"
run $RB 1
has "ipv6_fallback" "7.2 s lost" "no IPv4 attempt followed"
lacks "no_response"

with ecn-syn
run $RB 4
has "203.0.113.30:8095 dropped" "203.0.113.30:8096 reset"
run $RB 1
has "3 findings (1 error, 2 info)" "refused_by_middlebox" "the refused SYN asked for ECN"

# Healthy traffic: none of the three.
with healthy
run $RB 1
has "no findings"
lacks "backlog_full" "ipv6_fallback" "ecn_setup_blocked"
done_ok
