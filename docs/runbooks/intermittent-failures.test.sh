#!/bin/sh
# Runs intermittent-failures.md's snippets on the bundled lab captures.
# shellcheck source=docs/runbooks/lib.sh
. "$(dirname "$0")/lib.sh"
RB=intermittent-failures.md

with intermittent-rr
run $RB 1
has "intermittent_backend" "web2.lab.test:80" "203.0.113.13" "4 of 4 connections" "8 of 8" \
  "zero_window_at_handshake" "Windows 10054" "5 findings (5 errors) in 12 connections"
lacks "203.0.113.11:80:" "203.0.113.12:80:"

run $RB 2
has "$(printf '4 203.0.113.11\t80\tSF')" "$(printf '4 203.0.113.12\t80\tSF')" \
  "$(printf '4 203.0.113.13\t80\tRSTR')"

run $RB 3
has "4 web2.lab.test -> 203.0.113.11 203.0.113.12 203.0.113.13" \
  "4 web2.lab.test -> 203.0.113.13 203.0.113.11 203.0.113.12"

run $RB 4
has '"name":"web2.lab.test"' '"address":"203.0.113.13"' '"failed":4'

# Round robin over healthy backends is not a finding.
with healthy
run $RB 1
has "no findings"
lacks "intermittent_backend"
done_ok
