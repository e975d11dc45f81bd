#!/bin/sh
# Runs docs/tutorial.md's commands (from the repository root, on the committed captures) and
# checks the facts the tutorial's text relies on. The pasted outputs themselves are refreshed by
# `python3 tests/scenarios/refresh-tutorial.py`.
# shellcheck source=docs/runbooks/lib.sh
. "$(dirname "$0")/runbooks/lib.sh"
# shellcheck disable=SC2034 # read by run() in lib.sh
RUN_IN=$RB_ROOT
T=tutorial.md

run $T 1   # packets around the first failure
has '"frame":28' '"tcp_flags":"SA","window":0' '"ttl":126' '"tcp_flags":"R"' '"203.0.113.13","203.0.113.11","203.0.113.12"'
run $T 2   # flows
has '"state":"RSTR","history":"ShwAr","synack_window":0' '"state":"SF"'
run $T 3   # the diagnosis
has "intermittent_backend" "web2.lab.test:80" "203.0.113.13" "4 of 4" "5 findings (5 errors) in 12 connections"
run $T 4
has '"server_ip":"203.0.113.13"' '"attempts":4' '"name":"web2.lab.test"'
run $T 5   # SYNs and RSTs
has '"src_port":20531,"dst_port":2383' '"ttl":126,"tcp_flags":"RA","window":0' '"dst_port":2725'
run $T 6   # the Windows client's retries
has '"state":"REJ"' '"syn_count":3'
run $T 7   # RST origin
has '"origin":"endpoint","observed_ttl":126,"initial_ttl":128,"hops":2,"expected_hops":2'
lacks "middlebox"
run $T 8   # hosts
has '"ip":"203.0.113.20","ttls":[126],"initial_ttl":128,"hops":2,"os_hint":"windows"'
run $T 9
has "refused:" "from the server itself" "TTL 126" "Windows 10061" "1 finding (1 error) in 5 connections"
run $T 10
has "msmdsrv" "0.0.0.0:2725"
run $T 11
has "nothing listens on 2383" "msmdsrv" "listens on 2725"
done_ok
