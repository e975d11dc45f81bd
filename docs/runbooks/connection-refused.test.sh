#!/bin/sh
# Runs connection-refused.md's snippets on the bundled lab captures.
# shellcheck source=docs/runbooks/lib.sh
. "$(dirname "$0")/lib.sh"
RB=connection-refused.md

with refused-2383 refused-2383.ss.txt
run $RB 1
has "ERROR" "refused:" "203.0.113.20:2383" "3 SYNs" "from the server itself" "TTL 126" \
  "Windows 10061" "ECONNREFUSED" "1 finding (1 error)"
lacks "refused_by_middlebox"

run $RB 2
has "203.0.113.20:2383 refused" "nothing listens on 2383" "msmdsrv" "2725"

run $RB 3
has "2383/tcp" "SSAS"

run $RB 4
has "$(printf '203.0.113.20\t2383\t126\t2\tendpoint')"

run $RB 5
has "connection failures in trace.pcap"

# The same snippets on the other refusals.
with middlebox-reset middlebox-reset.ss.txt
run $RB 1
has "refused_by_middlebox" "203.0.113.30:8443" "not by the server" "Windows 10061"
run $RB 4
has "$(printf '203.0.113.30\t8443\t64\t0\tmiddlebox')"
lacks "endpoint"

with refused-ipv6 refused-ipv6.ss.txt
run $RB 1
has "refused:" "[2001:db8:20::20]:2383" "hop limit 126" "from the server itself"
run $RB 2
has "nothing listens on 2383" "2725"

with refused-host-firewall refused-host-firewall.ss.txt
run $RB 2
has "203.0.113.30:8443 refused" "listens on 8443" "firewall"

with icmp-unreachable
run $RB 1
has "icmp_unreachable" "port unreachable" "192.0.2.2" "203.0.113.30:5432"

with healthy
run $RB 1
has "no findings"
lacks "ERROR"
run $RB 5
lacks "connection failures"
done_ok
