#!/bin/sh
# Runs docs/portmap.md's commands from the repository root and checks what the page shows.
# shellcheck source=docs/runbooks/lib.sh
. "$(dirname "$0")/runbooks/lib.sh"
# shellcheck disable=SC2034 # read by run() in lib.sh
RUN_IN=$RB_ROOT
T=portmap.md

run $T 1   # the lab's refused-2383 with the sql server's real ss -ltnp
has "nothing listens on 2383 (SSAS 2005+); msmdsrv PID 19289 listens on 2725 (SSAS 2000 default)"
run $T 2   # the same with a Windows netstat -ano + tasklist
has '{"hint":"nothing listens on 2383 (SSAS 2005+); msmdsrv.exe PID 2344 listens on 2725 (SSAS 2000 default)","listening":false,"matched_by":"host","listeners":[{"address":"0.0.0.0","port":2725,"pid":2344,"process":"msmdsrv.exe"}]}'
run $T 3   # --list for jq
has "$(printf '0.0.0.0:2725\tmsmdsrv.exe\tmsolap-ptp2')" "$(printf '127.0.0.1:1434\tsqlservr.exe\tms-sql-m')" "$(printf ':::445\tSystem\tmicrosoft-ds')"
run $T 4   # --lookup
has "2383/tcp  ms-olap4  (SSAS 2005+)" "related: 2725/tcp  SSAS 2000 default" "processes: msmdsrv.exe"
done_ok
