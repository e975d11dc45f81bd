#!/bin/sh
# Runs diagnose-live.md's snippets on the bundled lab captures (the live ones, tcpdump and
# pktmon, are `console`/`powershell` blocks: tests/tests/live.rs runs a real tcpdump).
# shellcheck source=docs/runbooks/lib.sh
. "$(dirname "$0")/lib.sh"
RB=diagnose-live.md

with refused-2383
run $RB 1
has "ERROR" "refused:" "203.0.113.20:2383" "3 SYNs" "1 finding (1 error)"

# The rehearsal: the finding is printed while the pipe is open (streamed, before the totals),
# the same finding as from the file.
run $RB 2
has "refused:" "203.0.113.20:2383" "3 SYNs" "1 finding (1 error) in 5 connections"

with healthy
run $RB 1
has "no findings"
lacks "ERROR"
done_ok
