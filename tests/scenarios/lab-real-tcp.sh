# Sourced by run.sh, in its order, after the topology and the servers are up: its helpers
# (scenario, want, labwait, nsx, bg, listening …) and variables are this file's.
# Real-world TCP: a path that dies, a slow path, a crawling window, a client that gives up, a reset
# after a half-close, one-sided captures, injected resets, a port scan, a SYN flood, and healthy traffic.

if want dying; then
  # Two connections to a server that reads and never answers (app:9002): one uploads 1000 bytes
  # every 0.1 s, one sent its request and waits with TCP keep-alives every 1 s. After 2 s router2
  # starts dropping everything the client sends there (the path or the server died): the upload
  # is retransmitted with a doubling RTO and never acknowledged, the keep-alives go unanswered,
  # and the capture stops 8 s later with both connections still trying (no RST, no timeout yet).
  settle
  log "scenario dying"
  BG_TCPDUMP=
  capture_start cl "$OUT/dying.pcap"; BG_TCPDUMP="${BG_PIDS##* }"
  # (ip netns exec, not nsx: `ip` execs python, so $! is the client itself and can be stopped)
  ip netns exec "$P-cl" "$PY" "$HERE/lab.py" client "upload-slow $APP 9002 40" >"$WORK/dying-a.jsonl" &
  DA=$!
  sleep 0.2
  ip netns exec "$P-cl" "$PY" "$HERE/lab.py" client "keepalive $APP 9002 40" >"$WORK/dying-b.jsonl" &
  DB=$!
  sleep 2
  nsx r2 iptables -A FORWARD -p tcp -s 198.51.100.10 -d $APP --dport 9002 -j DROP
  sleep 8
  capture_stop
  rm -f "$OUT/dying.pcap.log"
  kill "$DA" "$DB" 2>/dev/null || true
  wait "$DA" "$DB" 2>/dev/null || true
  cat "$WORK/dying-a.jsonl" "$WORK/dying-b.jsonl" >"$OUT/dying.app.jsonl"
  nsx r2 iptables -F FORWARD
fi

if want slow-path; then
  # The server slow (203.0.113.40) sits behind a 600 ms delay (everything it sends waits in dl,
  # like a satellite hop): the client's capture shows SYN -> SYN-ACK 600 ms (the delay is on the
  # server's side of the capture point), the server's own capture SYN-ACK -> ACK 600 ms (on the
  # client's side).
  scenario slow-path "get 203.0.113.40 80, get 203.0.113.40 80" slow
fi

if want window-crawl; then
  # A receiver with a tiny receive buffer (SO_RCVBUF 1024, MSS 200: an embedded device, a
  # printer) behind the 600 ms path of slow-path: it reads at once, so its window never closes,
  # but it never offers more than about 1 KB, and the client's upload waits on it every round
  # trip: about 1.5 KB/s.
  scenario window-crawl "get $APP 80, bulk 203.0.113.40 9004 8000, get $APP 80"
fi

if want client-gave-up; then
  # app:9002 reads the request and never answers; the client's read timeout (5 s) fires and the
  # application aborts the connection with a RST (SO_LINGER 0).
  scenario client-gave-up "get $APP 80, get-giveup $APP 9002 5, get $APP 80"
fi

if want reset-after-close; then
  # The client sends its request and shuts down writing (FIN), then reads; the server sends part
  # of the answer and aborts (SO_LINGER 0): the client's read fails with ECONNRESET.
  scenario reset-after-close "get $APP 80, get-halfclose $APP 9003, get $APP 80" app
fi

if want one-sided-out; then
  # A one-way capture: tcpdump -Q out on the client sees only what the client sends (as a one-way
  # SPAN port or a tap on one link of asymmetric routing would). Two working requests, and a
  # refused connect whose RST the capture cannot show.
  CAP_OPTS="-Q out" scenario one-sided-out "get $APP 80, get $SQL 2725, connect $SQL 2383, get $APP 80"
fi

if want one-sided-in; then
  # The other way: only what reaches the client (tcpdump -Q in).
  CAP_OPTS="-Q in" scenario one-sided-in "get $APP 80, get $SQL 2725, get $APP 80"
fi

if want injected-reset; then
  # An on-path device (router1, one hop from the client) forges RSTs from the server when it sees
  # a request (an IPS or censorship box): TTL 64 where the server's packets arrive with 62, the
  # request's IP ID copied. The server (app:8085, app:8086) thinks 0.3 s before it answers, so the
  # forged RST comes first. To 8085 its sequence number misses the window (the client ignores it
  # and the connection carries on to the end); to 8086 it is exact (the client's connection dies
  # with ECONNRESET while the real server answers later, and the client's stack resets that).
  # To app:8087 the injector refuses the SYN itself: its RST/ACK comes before the real SYN-ACK
  # (router2 holds the SYNs to 8087 back 0.2 s: a slow path), so connect() fails with
  # ECONNREFUSED although the server answers, and the client's stack resets that SYN-ACK.
  bg app "$PY" "$HERE/lab.py" slow-http 0.3 8085 8086 8087
  bg r1 "$PY" "$HERE/lab.py" rst-injector eth0 8085 8086 8087
  nsx r2 iptables -A FORWARD -p tcp --syn -d $APP --dport 8087 -j DROP
  bg r2 "$PY" "$HERE/lab.py" syn-delay eth0 8087 0.2
  labwait injector slow-http syn-delay
  scenario injected-reset "get $APP 80, get $APP 8085, get $APP 8086, sleep 0.5, \
    connect $APP 8087, sleep 0.5, get $APP 80" app
  nsx r2 iptables -F FORWARD
fi

if want port-scan; then
  # nmap from the client: a SYN scan of app's ports 1-200 (SYN, SYN-ACK, the client's kernel
  # resets; RST/ACK from the closed ports), a connect scan of sql's ports 2300-2399, and a sweep
  # of port 22 over 30 addresses of the server network. Working requests around them.
  scenario port-scan "get $APP 80, nmap -n -Pn -sS --max-rate 200 -p 1-200 $APP, \
    nmap -n -Pn -sT --max-rate 200 -p 2300-2399 $SQL, \
    nmap -n -Pn -sS --max-rate 100 --max-retries 0 --host-timeout 5s -p 22 203.0.113.1-30, get $APP 80"
fi

if want syn-flood; then
  # 600 SYNs from spoofed addresses (scapy on the client) to app:8084, which router2 drops (the
  # SYN-ACKs would never come back to spoofed sources anyway). Working requests around it.
  nsx r2 iptables -A FORWARD -p tcp -d $APP --dport 8084 -j DROP
  scenario syn-flood "get $APP 80, syn-flood $APP 8084 600, get $APP 80"
  nsx r2 iptables -F FORWARD
fi

if want healthy; then
  # Only healthy traffic (DNS, round robin over two good backends, IPv6): tcpwhy must stay silent.
  scenario healthy "resolve-get app.lab.test 80 $DNS, resolve-get www.lab.test 80 $DNS, \
    resolve-get www.lab.test 80 $DNS, resolve-get www.lab.test 80 $DNS, resolve sql.lab.test $DNS AAAA, \
    get $SQL6 2725, get $SQL 2725, get $APP6 80"
fi
