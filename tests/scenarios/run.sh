#!/bin/sh
# The tcpwhy lab: real Linux TCP stacks in network namespaces reproduce the failures tcpwhy
# diagnoses, captured with tcpdump on the client side (and on the server side where useful).
#
#   sudo sh tests/scenarios/run.sh            regenerate tests/captures/*.pcap (commit them)
#   sudo sh tests/scenarios/run.sh DIR        write the captures to DIR instead
#   sudo LAB_CHECK=1 sh tests/scenarios/run.sh   (CI: `make lab LAB_CHECK=1`) regenerate into a
#        temporary directory and check the conclusions the captures must lead to, not the bytes
#   LAB_ONLY="refused-2383 healthy" ...       run only these scenarios
#
# Scenarios (tests/captures/README.md says what each capture shows): refused-2383,
# refused-windows-retry, middlebox-reset, syn-timeout, icmp-unreachable, retrans-timeout, slow-connect,
# handshake-incomplete, refused-host-firewall,
# zero-window-synack, intermittent-rr, reset-mid, zero-window-recover, refused-ipv6, dying,
# slow-path, window-crawl, client-gave-up, reset-after-close, one-sided-out, one-sided-in,
# injected-reset, port-scan, syn-flood,
# dns-nxdomain, dns-servfail, dns-refused, dns-timeout, tls-version, tls-client-cert,
# tls-untrusted, tls-plain-http, healthy, backlog-full, ipv6-fallback, ecn-syn, pmtu-blackhole,
# pmtu-event, pmtu-blackhole-tls, idle-timeout, idle-timeout-reset, keepalive-race, timewait-reuse,
# port-exhaustion.
# Servers and clients are tests/scenarios/lab.py; tests/scenarios/check.sh checks the result.
#
# Topology (addresses are documentation ranges; nothing leaves the namespaces):
#
#   client ---- router1 ---- router2 ---+-- sql    203.0.113.20  TTL 128 (Windows-like), :2725
#   .10          .1  .1        .2  .1   +-- web2a  203.0.113.11  HTTP :80
#   198.51.100.0/24  192.0.2.0/30       +-- web2b  203.0.113.12  HTTP :80
#   2001:db8:10::/64 2001:db8:12::/64   +-- web2c  203.0.113.13  zero-window SYN-ACK (scapy)
#                                       +-- app    203.0.113.30  :80 :8443 :8080-8083 :9000 :9001
#                                       +-- dns    203.0.113.53  web2.lab.test round robin
#                                       |          .54 .55 .56 .57  dnsmasq resolvers (below)
#                                       +-- app    :4431-:4433 TLS (openssl s_server), :8000 plain
#                                          (bridge 203.0.113.0/24, 2001:db8:20::/64)
#
# Name resolution scenarios use the client's real glibc resolver: run.sh writes
# /etc/netns/<ns>-cl/resolv.conf (ip netns exec mounts it over /etc/resolv.conf) and removes it.
#
# Needs: root, iproute2, iptables/ip6tables, tcpdump, python3 with scapy; dnsmasq, openssl and
# curl for the dns-* and tls-* scenarios (skipped with a note when missing); tshark and jq for the
# checks. About a minute and a half; cleans up its namespaces and processes even on failure.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
LAB_CHECK=${LAB_CHECK:-0}
LAB_ONLY=${LAB_ONLY:-}

if [ "$(id -u)" != 0 ]; then
  echo "lab: needs root (network namespaces, iptables, tcpdump); try: sudo make lab" >&2
  exit 2
fi
for t in ip iptables tcpdump; do
  command -v "$t" >/dev/null || { echo "lab: $t not found" >&2; exit 2; }
done
PY=
for p in ${LAB_PYTHON:-} /usr/bin/python3 python3; do
  if "$p" -c 'import scapy.all' >/dev/null 2>&1; then PY=$p; break; fi
done
[ -n "$PY" ] || { echo "lab: needs python3 with scapy (apt-get install python3-scapy)" >&2; exit 2; }

WORK=$(mktemp -d /tmp/tcpwhy-lab.XXXXXX)
chmod 755 "$WORK"
if [ "$LAB_CHECK" = 1 ]; then
  OUT=$WORK/captures
else
  OUT=${1:-$ROOT/tests/captures}
fi
mkdir -p "$OUT"
export LAB_READY_DIR="$WORK"

P=tw$$
NODES="cl r1 r2 sql w2a w2b w2c app dns slow dl"
BG_PIDS=

cleanup() {
  set +e
  for pid in $BG_PIDS; do kill "$pid" 2>/dev/null; done
  for n in $NODES; do
    if ip netns list | grep -q "^$P-$n\\b"; then
      for pid in $(ip netns pids "$P-$n" 2>/dev/null); do kill "$pid" 2>/dev/null; done
    fi
  done
  sleep 0.2
  for n in $NODES; do
    if ip netns list | grep -q "^$P-$n\\b"; then
      for pid in $(ip netns pids "$P-$n" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
      ip netns del "$P-$n" 2>/dev/null
    fi
  done
  rm -rf "/etc/netns/$P-cl"
  rmdir /etc/netns 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "lab: $*" >&2; }
nsx() { n=$1; shift; ip netns exec "$P-$n" "$@"; }
bg() { n=$1; shift; ip netns exec "$P-$n" "$@" & BG_PIDS="$BG_PIDS $!"; }
# labwait NAME...: waits for the servers that write $WORK/NAME.ready (lab.py) to be ready.
labwait() {
  for f in "$@"; do
    i=0
    while [ ! -f "$WORK/$f.ready" ]; do
      i=$((i + 1)); [ $i -le 300 ] || { log "server $f did not start"; exit 1; }; sleep 0.1
    done
  done
}

# ------------------------------------------------------------------ topology
log "building namespaces ($P-*)"
for n in $NODES; do
  ip netns add "$P-$n"
  ip -n "$P-$n" link set lo up
  nsx "$n" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
    net.ipv6.conf.default.router_solicitations=0 net.ipv6.conf.default.accept_ra=0 \
    net.ipv6.conf.all.accept_ra=0
done

veth() { # NS1 IF1 NS2 IF2
  ip link add "$2" netns "$P-$1" type veth peer name "$4" netns "$P-$3"
  ip -n "$P-$1" link set "$2" up
  ip -n "$P-$3" link set "$4" up
}
addr() { ip -n "$P-$1" addr add "$3" dev "$2"; }
addr6() { ip -n "$P-$1" -6 addr add "$3" dev "$2" nodad; }

veth cl eth0 r1 eth0
veth r1 eth1 r2 eth0
ip -n "$P-r2" link add br0 type bridge stp_state 0 forward_delay 0
ip -n "$P-r2" link set br0 up

addr cl eth0 198.51.100.10/24; addr6 cl eth0 2001:db8:10::10/64
ip -n "$P-cl" route add default via 198.51.100.1
ip -n "$P-cl" -6 route add default via 2001:db8:10::1

addr r1 eth0 198.51.100.1/24; addr6 r1 eth0 2001:db8:10::1/64
addr r1 eth1 192.0.2.1/30; addr6 r1 eth1 2001:db8:12::1/64
ip -n "$P-r1" route add 203.0.113.0/24 via 192.0.2.2
ip -n "$P-r1" -6 route add 2001:db8:20::/64 via 2001:db8:12::2

addr r2 eth0 192.0.2.2/30; addr6 r2 eth0 2001:db8:12::2/64
addr r2 br0 203.0.113.1/24; addr6 r2 br0 2001:db8:20::1/64
ip -n "$P-r2" route add default via 192.0.2.1
ip -n "$P-r2" -6 route add default via 2001:db8:12::1

for r in r1 r2; do
  nsx "$r" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
done

server() { # NODE LASTOCTET
  veth "$1" eth0 r2 "v$1"
  ip -n "$P-r2" link set "v$1" master br0
  addr "$1" eth0 "203.0.113.$2/24"; addr6 "$1" eth0 "2001:db8:20::$2/64"
  ip -n "$P-$1" route add default via 203.0.113.1
  ip -n "$P-$1" -6 route add default via 2001:db8:20::1
}
server sql 20
server w2a 11
server w2b 12
server w2c 13
server app 30
server dns 53
# The resolvers of the dns-* scenarios (dnsmasq): .54 answers lab.test itself (NXDOMAIN for
# unknown names), .55 validates DNSSEC against an upstream that cannot prove anything (SERVFAIL),
# .56 has no upstream at all (REFUSED), .57 is not there (its port 53 dropped).
for a in 54 55 56 57; do addr dns eth0 "203.0.113.$a/24"; done
nsx dns iptables -A INPUT -d 203.0.113.57 -p udp --dport 53 -j DROP
nsx dns iptables -A INPUT -d 203.0.113.57 -p tcp --dport 53 -j DROP

# resolv.conf LINE...: the client's resolver configuration (glibc, as applications use it)
resolv() {
  mkdir -p "/etc/netns/$P-cl"
  printf '%s\n' "$@" >"/etc/netns/$P-cl/resolv.conf"
}

# slow (203.0.113.40) hangs off the bridge through dl, a bridge that holds every frame from slow
# towards the bridge for 600 ms (lab.py delay-bridge): a slow path on the server's side.
veth slow eth0 dl x0
veth dl x1 r2 vslow
ip -n "$P-r2" link set vslow master br0
addr slow eth0 203.0.113.40/24
ip -n "$P-slow" route add default via 203.0.113.1
for i in x0 x1; do
  nsx dl sysctl -qw "net.ipv6.conf.$i.disable_ipv6=1"
  ip -n "$P-dl" link set "$i" promisc on
done

# The client gives up a connect after 3 SYNs (0 s, 1 s, 3 s; like Windows' 3 tries).
nsx cl sysctl -qw net.ipv4.tcp_syn_retries=2
# Linux >= 6.5 retries the first SYNs at linear 1 s intervals; keep the classic doubling backoff.
nsx cl sysctl -qw net.ipv4.tcp_syn_linear_timeouts=0 2>/dev/null || true
# The seed's SQL Server is Windows: initial TTL / hop limit 128.
nsx sql sysctl -qw net.ipv4.ip_default_ttl=128 net.ipv6.conf.all.hop_limit=128 \
  net.ipv6.conf.eth0.hop_limit=128
# web2c has no listener: scapy answers. Drop the kernel's own RSTs (TTL 64); scapy's use TTL 128.
nsx w2c iptables -A OUTPUT -p tcp --sport 80 -m ttl --ttl-eq 64 -j DROP

cat >"$WORK/zone" <<'EOF'
web2.lab.test A 203.0.113.11
web2.lab.test A 203.0.113.12
web2.lab.test A 203.0.113.13
www.lab.test A 203.0.113.11
www.lab.test A 203.0.113.12
app.lab.test A 203.0.113.30
app.lab.test AAAA 2001:db8:20::30
sql.lab.test A 203.0.113.20
sql.lab.test AAAA 2001:db8:20::20
EOF

# ------------------------------------------------------------------ servers
log "starting servers"
bg sql "$PY" "$HERE/lab.py" named-server msmdsrv 2725
bg w2a "$PY" "$HERE/lab.py" http-server 80
bg w2b "$PY" "$HERE/lab.py" http-server 80
bg app "$PY" "$HERE/lab.py" http-server 80 8443 8080 8081 8082 8083
bg app "$PY" "$HERE/lab.py" abort-server 9000
bg app "$PY" "$HERE/lab.py" slow-reader 9001 1.5
bg slow "$PY" "$HERE/lab.py" named-server slowweb 80
bg dl "$PY" "$HERE/lab.py" delay-bridge x0 x1 0.6
bg app "$PY" "$HERE/lab.py" sink 9002
bg app "$PY" "$HERE/lab.py" halfclose-abort 9003
bg slow "$PY" "$HERE/lab.py" crawl-reader 9004 200 100 0
bg dns "$PY" "$HERE/lab.py" dns-server 203.0.113.53 "$WORK/zone"
bg w2c "$PY" "$HERE/lab.py" zw-server eth0 203.0.113.13 80 2.5

# Names and TLS (dns-*, tls-*): dnsmasq resolvers and openssl s_server, when installed.
HAVE_DNSMASQ=0; HAVE_TLS=0
EXTRA_READY=
DNSMASQ=$(command -v dnsmasq || echo /usr/sbin/dnsmasq)
if [ -x "$DNSMASQ" ]; then
  HAVE_DNSMASQ=1
  dm() { bg dns "$DNSMASQ" --keep-in-foreground --conf-file=/dev/null --no-hosts --no-resolv \
    --bind-interfaces --pid-file= "$@"; }
  dm --listen-address=203.0.113.54 --local=/lab.test/ --host-record=app.lab.test,203.0.113.30 \
    --mx-host=mail.lab.test,mx.lab.test,10
  dm --listen-address=203.0.113.55 --server=203.0.113.54 --dnssec \
    --trust-anchor=.,20326,8,2,E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D
  dm --listen-address=203.0.113.56
else
  log "dnsmasq not found: the dns-* scenarios are skipped"
fi
if command -v openssl >/dev/null && command -v curl >/dev/null; then
  HAVE_TLS=1
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj /CN=app.lab.test \
    -addext subjectAltName=DNS:app.lab.test -keyout "$WORK/tls.key" -out "$WORK/tls.crt" 2>/dev/null
  # :4431 TLS 1.2 and 1.3 only (OpenSSL answers an older ClientHello with alert 70),
  # :4432 the same but a client certificate is required (mutual TLS),
  # :4433 resets an old client's ClientHello as Windows SChannel does (lab.py tls-reset-server),
  # :8000 plain HTTP (lab.py plain-http-server, nginx-like 400 to a TLS ClientHello).
  bg app openssl s_server -quiet -www -accept 4431 -cert "$WORK/tls.crt" -key "$WORK/tls.key" \
    -min_protocol TLSv1.2
  bg app openssl s_server -quiet -www -accept 4432 -cert "$WORK/tls.crt" -key "$WORK/tls.key" \
    -min_protocol TLSv1.2 -Verify 1
  bg app "$PY" "$HERE/lab.py" tls-reset-server 4433
  bg app "$PY" "$HERE/lab.py" plain-http-server 8000
  EXTRA_READY="tls-reset plain-http"
else
  log "openssl or curl not found: the tls-* scenarios are skipped"
fi

labwait msmdsrv http-80 http-80-8443-8080-8081-8082-8083 abort slow slowweb sink bridge halfclose-abort \
  crawl dns zw $EXTRA_READY

# openssl s_server and dnsmasq have no ready file: wait for their sockets.
i=0
while [ "$HAVE_TLS" = 1 ] && ! nsx app ss -Hltn | grep -q ':4432 '; do
  i=$((i + 1)); [ $i -le 100 ] || { log "openssl s_server did not start"; exit 1; }; sleep 0.1
done
i=0
while [ "$HAVE_DNSMASQ" = 1 ] && [ "$(nsx dns ss -Hlun | grep -c '203.0.113.5[456]:53 ')" -lt 3 ]; do
  i=$((i + 1)); [ $i -le 100 ] || { log "dnsmasq did not start"; exit 1; }; sleep 0.1
done

# Warm the ARP / neighbour caches so the captures start with the traffic that matters.
nsx cl "$PY" "$HERE/lab.py" client "get 203.0.113.30 80, get 203.0.113.20 2725, \
  get 203.0.113.11 80, get 203.0.113.12 80, get 2001:db8:20::30 80, get 2001:db8:20::20 2725, \
  resolve app.lab.test 203.0.113.53, get 203.0.113.40 80" >"$WORK/warmup.jsonl"
sleep 0.5

# ------------------------------------------------------------------ scenarios
capture_start() { # NODE FILE
  # shellcheck disable=SC2086 # CAP_OPTS: extra tcpdump options, word-split on purpose
  bg "$1" tcpdump -Z root -i eth0 -s 0 -B 8192 -U --immediate-mode ${CAP_OPTS:-} -w "$2" 2>"$2.log"
  i=0
  until grep -q "listening on" "$2.log" 2>/dev/null; do
    i=$((i + 1))
    [ $i -le 100 ] || { log "tcpdump did not start: $(cat "$2.log")"; exit 1; }
    sleep 0.1
  done
}
capture_stop() {
  sleep 0.5
  for pid in $BG_TCPDUMP; do kill -INT "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  BG_TCPDUMP=
}

want() { [ -z "$LAB_ONLY" ] && return 0; case " $LAB_ONLY " in *" $1 "*) return 0 ;; esac; return 1; }

# Waits until the client has no connection left but TIME-WAIT ones and app no half-open one,
# so nothing of the last scenario (a late RST, a repeated SYN-ACK) lands in the next capture.
settle() {
  i=0
  while [ -n "$(nsx cl ss -Htan state all exclude time-wait exclude listen 2>/dev/null)" ] ||
    [ -n "$(nsx app ss -Htan state syn-recv 2>/dev/null)" ]; do
    i=$((i + 1))
    if [ $i -gt 250 ]; then
      log "client connections still open:"; nsx cl ss -tan >&2; return 0
    fi
    sleep 0.1
  done
}

# scenario NAME ACTIONS [NODE for a server-side capture too]
scenario() {
  name=$1; actions=$2; side=${3:-}
  try=1
  while :; do
    settle
    log "scenario $name"
    BG_TCPDUMP=
    capture_start cl "$OUT/$name.pcap"; BG_TCPDUMP="${BG_PIDS##* }"
    if [ -n "$side" ]; then
      capture_start "$side" "$OUT/$name.server.pcap"; BG_TCPDUMP="$BG_TCPDUMP ${BG_PIDS##* }"
    fi
    nsx cl "$PY" "$HERE/lab.py" client "$actions" >"$OUT/$name.app.jsonl"
    capture_stop
    # A capture that lost packets is useless as evidence: run the scenario again.
    if cat "$OUT/$name.pcap.log" "$OUT/$name.server.pcap.log" 2>/dev/null |
      grep -q "[1-9][0-9]* packets dropped by kernel"; then
      [ $try -lt 3 ] || { log "$name: tcpdump keeps dropping packets"; exit 1; }
      log "$name: tcpdump dropped packets, again"
      try=$((try + 1))
      continue
    fi
    rm -f "$OUT/$name.pcap.log" "$OUT/$name.server.pcap.log"
    break
  done
}

listening() { # NODE NAME: the server's real listener table, as a support engineer would save it
  nsx "$1" ss -ltnp >"$OUT/$2.ss.txt"
  if command -v netstat >/dev/null; then nsx "$1" netstat -tlnp >"$OUT/$2.netstat.txt"; fi
}

SQL=203.0.113.20; APP=203.0.113.30; DNS=203.0.113.53
SQL6=2001:db8:20::20; APP6=2001:db8:20::30

if want refused-2383; then
  # The seed's second case: the client asks for 2383 (SSAS 2005), the server listens on 2725.
  scenario refused-2383 "get $APP 80, connect $SQL 2383 20531, sleep 0.5, \
    connect $SQL 2383 20531, sleep 0.5, connect $SQL 2383 20531, sleep 0.3, get $SQL 2725" sql
  listening sql refused-2383
fi

if want refused-windows-retry; then
  # The seed's refused case as a Windows client makes it: the same SYN (same port, same ISN)
  # resent 0.5 s after each RST, 3 times. The client is scapy emulating Windows (see lab.py);
  # the server and the routers are real.
  # The client looks like Windows throughout: its real sockets use TTL 128 too.
  nsx cl sysctl -qw net.ipv4.ip_default_ttl=128
  scenario refused-windows-retry "get $APP 80, win-connect $SQL 2383 20531, get $SQL 2725"
  nsx cl sysctl -qw net.ipv4.ip_default_ttl=64
  listening sql refused-windows-retry
fi

if want middlebox-reset; then
  # router1, one hop from the client, resets what the server would have accepted.
  nsx r1 iptables -A FORWARD -p tcp -d $APP --dport 8443 -j REJECT --reject-with tcp-reset
  scenario middlebox-reset "get $APP 80, get $APP 8443, sleep 0.5, get $APP 8443, get $APP 80" app
  nsx r1 iptables -F FORWARD
  listening app middlebox-reset
fi

if want refused-host-firewall; then
  # The service listens on 8443, but the server's own firewall rejects it with a reset: the RST
  # comes from the server itself (TTL 62, like its other packets), and its listener table shows
  # the port open. Refused by the host, not by a missing service.
  nsx app iptables -A INPUT -p tcp --dport 8443 -j REJECT --reject-with tcp-reset
  scenario refused-host-firewall "get $APP 80, connect $APP 8443, get $APP 80"
  nsx app iptables -F INPUT
  listening app refused-host-firewall
fi

if want syn-timeout; then
  # router2 silently drops the SYNs: connect() times out after 3 tries (ETIMEDOUT, 10060).
  nsx r2 iptables -A FORWARD -p tcp -d $APP --dport 8080 -j DROP
  scenario syn-timeout "get $APP 80, connect $APP 8080, get $APP 80"
  nsx r2 iptables -F FORWARD
  listening app syn-timeout
fi

if want icmp-unreachable; then
  # router2 answers with ICMP errors: host unreachable for .14, port unreachable for :5432,
  # administratively prohibited (firewalld's default) for :5433, ICMPv6 port unreachable for
  # [app]:5432.
  nsx r2 iptables -A FORWARD -d 203.0.113.14 -j REJECT --reject-with icmp-host-unreachable
  nsx r2 iptables -A FORWARD -p tcp -d $APP --dport 5432 -j REJECT --reject-with icmp-port-unreachable
  nsx r2 iptables -A FORWARD -p tcp -d $APP --dport 5433 -j REJECT --reject-with icmp-admin-prohibited
  nsx r2 ip6tables -A FORWARD -p tcp -d $APP6 --dport 5432 -j REJECT --reject-with icmp6-port-unreachable
  scenario icmp-unreachable "get $APP 80, connect 203.0.113.14 80, connect $APP 5432, \
    connect $APP 5433, connect $APP6 5432, get $APP 80"
  nsx r2 iptables -F FORWARD
  nsx r2 ip6tables -F FORWARD
fi

if want retrans-timeout; then
  # Established, then the client's request is lost again and again (router2 drops the data
  # segments): the client retransmits it with doubling RTO and gives up after 3 s
  # (TCP_USER_TIMEOUT) with ETIMEDOUT. The server, which never got the request, closes after
  # 10 s; the client's stack answers that FIN with a RST (the socket is gone).
  nsx r2 iptables -A FORWARD -p tcp -d $APP --dport 8081 -m length --length 61:65535 -j DROP
  scenario retrans-timeout "get $APP 80, get-timeout $APP 8081 3, sleep 7.5, get $APP 80"
  nsx r2 iptables -F FORWARD
fi

if want slow-connect; then
  # router2 drops every other SYN to app:8082 (the first of each connect): the connection works,
  # but only at the retried SYN, 1 s late ("sometimes the first request hangs").
  nsx r2 iptables -A FORWARD -p tcp --syn -d $APP --dport 8082 -m statistic --mode nth \
    --every 2 --packet 0 -j DROP
  scenario slow-connect "get $APP 80, get $APP 8082, get $APP 80"
  nsx r2 iptables -F FORWARD
fi

if want handshake-incomplete; then
  # router1 lets the client's SYNs through to app:8083 but drops everything else it sends there
  # (a stateful firewall that lost the connection's state, asymmetric routing): the client
  # thinks it is connected, the server never gets the ACK and retransmits its SYN-ACK
  # (tcp_synack_retries=3 here), the client's request times out (3 s user timeout) and its stack
  # answers the last SYN-ACK with a RST (that router1 drops too).
  nsx r1 iptables -A FORWARD -p tcp -d $APP --dport 8083 ! --syn -j DROP
  nsx app sysctl -qw net.ipv4.tcp_synack_retries=3
  scenario handshake-incomplete "get $APP 80, get-timeout $APP 8083 3, sleep 5, get $APP 80" app
  nsx r1 iptables -F FORWARD
fi

if want zero-window-synack; then
  # The seed's first case: web2c's SYN-ACK advertises window 0, it ignores the probes, resets.
  scenario zero-window-synack "get 203.0.113.11 80, post 203.0.113.13 80, get 203.0.113.12 80"
fi

if want intermittent-rr; then
  # The seed's first case as the user saw it: web2.lab.test rotates over three backends, one broken.
  acts="resolve-get web2.lab.test 80 $DNS"
  i=1; while [ $i -lt 12 ]; do acts="$acts, resolve-get web2.lab.test 80 $DNS"; i=$((i + 1)); done
  scenario intermittent-rr "$acts"
fi

if want reset-mid; then
  # Established, data flowed, then the server application aborts (SO_LINGER 0): RST.
  scenario reset-mid "get $APP 80, get $APP 9000, get $APP 80" app
fi

if want zero-window-recover; then
  # The receiver stops reading (tiny SO_RCVBUF), its window closes, then it reads again.
  scenario zero-window-recover "get $APP 80, bulk $APP 9001 30000, get $APP 80"
fi

if want refused-ipv6; then
  # The refused case over IPv6: hop limit 128 - 2 routers = 126.
  scenario refused-ipv6 "get $APP6 80, connect $SQL6 2383 20531, sleep 0.5, \
    connect $SQL6 2383 20531, sleep 0.5, connect $SQL6 2383 20531, sleep 0.3, get $SQL6 2725"
  listening sql refused-ipv6
fi

# ---- names: the client's own glibc resolver (getaddrinfo, curl) against dnsmasq resolvers
RESOLVE="--resolve app.lab.test:4431:$APP --resolve app.lab.test:4432:$APP --resolve app.lab.test:4433:$APP --resolve app.lab.test:8000:$APP"

if want dns-nxdomain && [ "$HAVE_DNSMASQ" = 1 ]; then
  # A search-suffix walk that ends in an answer (app.lab.test.corp.lab.test NXDOMAIN, then
  # app.lab.test; its AAAA is empty beside a good A): silent. nope.lab.test does not exist
  # (NXDOMAIN for the name and its suffixed form; curl (6) too); mail.lab.test has only an MX
  # record (NOERROR, no address: EAI_NODATA / 11004).
  resolv "nameserver 203.0.113.54" "search corp.lab.test" "options ndots:3"
  scenario dns-nxdomain "getaddrinfo app.lab.test, getaddrinfo nope.lab.test, \
    run curl -sS http://nope.lab.test/, getaddrinfo mail.lab.test"
fi

if want dns-servfail && [ "$HAVE_DNSMASQ" = 1 ]; then
  # The resolver validates DNSSEC and its upstream cannot prove anything: SERVFAIL
  # (EAI_AGAIN / 11002), which glibc asks again.
  resolv "nameserver 203.0.113.55"
  scenario dns-servfail "getaddrinfo app.lab.test"
fi

if want dns-refused && [ "$HAVE_DNSMASQ" = 1 ]; then
  # A DNS server that is not a resolver for this client (no upstream): REFUSED.
  resolv "nameserver 203.0.113.56"
  scenario dns-refused "getaddrinfo app.lab.test, run curl -sS http://app.lab.test/"
fi

if want dns-timeout; then
  # The client is configured with a resolver that never answers (its port 53 dropped): glibc
  # asks A and AAAA, again after 5 s, and gives up after 10 s (EAI_AGAIN).
  resolv "nameserver 203.0.113.57"
  scenario dns-timeout "getaddrinfo app.lab.test"
fi

# ---- TLS: openssl s_server and curl / openssl s_client on the client
if want tls-version && [ "$HAVE_TLS" = 1 ]; then
  # TLS 1.0 and 1.1 clients (openssl s_client, curl) against a TLS 1.2+ server: alert 70
  # protocol_version; against an SChannel-like server: a reset right after the ClientHello.
  # A TLS 1.3 connection to the same server works (close_notify at the end): silent.
  OLD="-cipher DEFAULT@SECLEVEL=0"
  scenario tls-version "run curl -sS -k $RESOLVE https://app.lab.test:4431/, \
    run openssl s_client -connect $APP:4431 -servername app.lab.test -tls1 $OLD, \
    run openssl s_client -connect $APP:4431 -servername app.lab.test -tls1_1 $OLD, \
    run curl -sS -k --tlsv1.0 --tls-max 1.1 --ciphers DEFAULT@SECLEVEL=0 $RESOLVE https://app.lab.test:4431/, \
    run openssl s_client -connect $APP:4433 -servername app.lab.test -tls1 $OLD"
fi

if want tls-client-cert && [ "$HAVE_TLS" = 1 ]; then
  # The server requires a client certificate, curl has none (TLS 1.2: the server's alert 40
  # handshake_failure is in clear).
  scenario tls-client-cert "run curl -sS -k --tls-max 1.2 $RESOLVE https://app.lab.test:4432/"
fi

if want tls-untrusted && [ "$HAVE_TLS" = 1 ]; then
  # The server's certificate is self-signed: curl (TLS 1.2) rejects it with alert 48 unknown_ca.
  scenario tls-untrusted "run curl -sS --tls-max 1.2 $RESOLVE https://app.lab.test:4431/"
fi

if want tls-plain-http && [ "$HAVE_TLS" = 1 ]; then
  # https:// to a plain-HTTP port: the ClientHello is answered "HTTP/1.1 400 Bad Request";
  # http:// to the TLS port: the plaintext request is answered by the TLS server.
  scenario tls-plain-http "get $APP 8000, run curl -sS $RESOLVE https://app.lab.test:8000/, \
    run curl -sS $RESOLVE http://app.lab.test:4431/"
fi

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

# ---- issue 20, connection setup (helper `fallback`): backlog-full, ipv6-fallback, ecn-syn

if want backlog-full; then
  # app:8097 listens with backlog 1 and its accept loop takes one connection every 2 s (an
  # overloaded application). Six requests arrive at once: the kernel answers all six SYNs, keeps
  # two completed connections in the accept queue (backlog + 1) and ignores the handshake ACKs
  # of the other four (tcp_abort_on_overflow=0, the default): those clients think they are
  # connected, their requests go unacknowledged, the server repeats its SYN-ACK (1 s, 3 s) and
  # each gets in when the application accepts one more. A seventh request while the queue is
  # still full: its SYNs are dropped (ListenOverflows) and it gets in at a retry or times out.
  # Meanwhile other connections to the same port are answered: not a dead host, not a firewall.
  bg app "$PY" "$HERE/lab.py" backlog-server 8097 1 2
  labwait backlog
  scenario backlog-full "get $APP 80, burst $APP 8097 6 12, get $APP 80" app
  nsx app netstat -s 2>/dev/null | grep -i -E 'listen|SYNs to LISTEN' >"$OUT/backlog-full.netstat-s.txt" || true
  nsx app ss -ltn sport = :8097 >"$OUT/backlog-full.ss.txt"
  # The same with net.ipv4.tcp_abort_on_overflow=1 on the server: a connection the full queue
  # cannot take is reset right after the client's handshake ACK (ECONNRESET on its first read).
  # Not regenerated by the check (LAB_CHECK=1): whether the queue is full at the moment a
  # handshake ACK arrives depends on the machine's load (a CI run saw no reset at all); the
  # committed capture is asserted end to end by `make test`.
  if [ "$LAB_CHECK" != 1 ]; then
    nsx app sysctl -qw net.ipv4.tcp_abort_on_overflow=1
    scenario backlog-abort "get $APP 80, burst $APP 8097 6 12, get $APP 80"
    nsx app sysctl -qw net.ipv4.tcp_abort_on_overflow=0
  fi
fi

if want ipv6-fallback && [ "$HAVE_DNSMASQ" = 1 ]; then
  # dual.lab.test has AAAA 2001:db8:20::30 and A 203.0.113.30 (dnsmasq at .58); router2 drops
  # every IPv6 packet to app:80 (a broken IPv6 path). A client without Happy Eyeballs (Python's
  # socket.create_connection: getaddrinfo order, IPv6 first, one address at a time, as .NET's
  # SocketsHttpHandler and Java do) waits for the kernel to give up on IPv6 (3 SYNs, 0/1/3 s,
  # ETIMEDOUT at 7 s here; 21 s on Windows, about 2 min with Linux defaults), then connects over
  # IPv4. The same with a 2 s per-address timeout; then an application whose own 2 s deadline
  # fires before it tries the A address; then curl, whose Happy Eyeballs starts IPv4 200 ms after
  # IPv6 (healthy: the user notices nothing).
  addr dns eth0 203.0.113.58/24
  dm --listen-address=203.0.113.58 --local=/lab.test/ \
    --host-record=dual.lab.test,203.0.113.30,2001:db8:20::30
  i=0
  while [ "$(nsx dns ss -Hlun | grep -c '203.0.113.58:53 ')" -lt 1 ]; do
    i=$((i + 1)); [ $i -le 100 ] || { log "dnsmasq .58 did not start"; exit 1; }; sleep 0.1
  done
  resolv "nameserver 203.0.113.58"
  nsx r2 ip6tables -A FORWARD -p tcp -d $APP6 --dport 80 -j DROP
  scenario ipv6-fallback "create-connection dual.lab.test 80, sleep 0.5, \
    create-connection dual.lab.test 80 2, sleep 0.5, connect-deadline dual.lab.test 80 2, sleep 0.5, \
    run curl -sS -o /dev/null http://dual.lab.test/"
  nsx r2 ip6tables -F FORWARD
fi

if want ecn-syn; then
  # The client asks for ECN (net.ipv4.tcp_ecn=1: SYN with ECE+CWR). router2 drops such SYNs to
  # app:8095 (an old firewall): Linux retries the SYN without ECN after 1 s (tcp_ecn_fallback) and
  # connects. router2 answers them with a RST for app:8096: a macOS client (scapy: Linux gives up
  # with ECONNREFUSED there instead) sends the same SYN without ECN 1 s later and connects; the
  # client kernel's own RSTs to 8096 are dropped (scapy owns that connection); then Linux itself
  # connects to 8096: its connect() fails with ECONNREFUSED on the RST (no retry without ECN).
  # The requests to app:80 negotiate ECN (SYN-ACK with ECE) and stay silent.
  bg app "$PY" "$HERE/lab.py" http-server 8095 8096
  labwait http-8095-8096
  nsx r2 iptables -A FORWARD -p tcp -d $APP --dport 8095 --syn -m ecn --ecn-tcp-ece --ecn-tcp-cwr -j DROP
  nsx r2 iptables -A FORWARD -p tcp -d $APP --dport 8096 --syn -m ecn --ecn-tcp-ece --ecn-tcp-cwr \
    -j REJECT --reject-with tcp-reset
  nsx cl iptables -A OUTPUT -p tcp --dport 8096 --tcp-flags RST RST -j DROP
  nsx cl sysctl -qw net.ipv4.tcp_ecn=1
  scenario ecn-syn "get $APP 80, get $APP 8095, ecn-rst-retry $APP 8096 40960, sleep 0.3, \
    connect $APP 8096 40970, sleep 0.3, get $APP 80"
  nsx cl sysctl -qw net.ipv4.tcp_ecn=2
  nsx cl iptables -F OUTPUT
  nsx r2 iptables -F FORWARD
fi

# ---- issue 20: Path-MTU black hole, firewall idle timeout (lab.py upload-server, pool-server)
if want pmtu-blackhole || want pmtu-event; then
  bg app "$PY" "$HERE/lab.py" upload-server 9110
  # pmtu-event talks to other addresses of app, so the path MTU the client learns there (its
  # kernel keeps it for 10 min) cannot help the black-hole scenario.
  addr app eth0 203.0.113.31/24; addr6 app eth0 2001:db8:20::31/64
  labwait upload
  # Router2's link to the server network is 1280 bytes (a tunnel, a VPN, PPPoE do that); the
  # client's and the server's own links are 1500, so both announce MSS 1460.
  ip -n "$P-r2" link set br0 mtu 1280
  # One segment per packet on the client (no GSO super-segments in its capture: the sizes seen
  # are the sizes on the wire, as a tap or a host without offloads would show them).
  GSO_SEGS=$(ip -n "$P-cl" -d link show eth0 | sed -n 's/.*gso_max_segs \([0-9]*\).*/\1/p')
  ip -n "$P-cl" link set dev eth0 gso_max_segs 1
fi
if want pmtu-blackhole; then
  # A firewall drops the ICMP "fragmentation needed" / ICMPv6 "packet too big" router2 sends
  # back: the handshake and the small request head pass, the full-size segments of the upload
  # are dropped at router2 again and again, and the client never learns why. No Linux black-hole
  # detection (net.ipv4.tcp_mtu_probing=0, the default): the upload hangs until the
  # application's 4 s TCP_USER_TIMEOUT (Windows: about 21 s of retransmissions) -> ETIMEDOUT.
  nsx r2 iptables -A OUTPUT -p icmp --icmp-type fragmentation-needed -j DROP
  nsx r2 ip6tables -A OUTPUT -p icmpv6 --icmpv6-type packet-too-big -j DROP
  scenario pmtu-blackhole "get $APP 80, upload $APP 9110 20000 4, upload $APP6 9110 20000 4, \
    get $APP 80"
  nsx r2 iptables -F OUTPUT
  nsx r2 ip6tables -F OUTPUT
fi
if want pmtu-event; then
  # The healthy counterpart: router2's ICMP reaches the client, which lowers its segments to the
  # path MTU at once (1280 - 20 - 20 - 12 option bytes = 1228 payload bytes over IPv4, 1208 over
  # IPv6) and the upload
  # completes: a PMTU event, not a failure.
  scenario pmtu-event "upload 203.0.113.31 9110 8000 4, upload 2001:db8:20::31 9110 8000 4"
fi
if want pmtu-blackhole || want pmtu-event; then
  ip -n "$P-r2" link set br0 mtu 1500
  ip -n "$P-cl" link set dev eth0 gso_max_segs "${GSO_SEGS:-65535}"
  ip -n "$P-cl" route flush cache
  ip -n "$P-cl" -6 route flush cache
fi

if want pmtu-blackhole-tls && [ "$HAVE_TLS" = 1 ]; then
  # The common case the other way round: the server's answer is what vanishes. router1's link
  # to the client is 1280 bytes and its ICMP "fragmentation needed" to the server is dropped:
  # curl's ClientHello passes, the server's first full-size segment of its handshake flight
  # (ServerHello, certificate) is dropped again and again, only its small tail reaches the
  # client, and curl gives up after its 10 s --max-time (exit 28). Captured on both sides: the
  # server's capture shows the retransmissions. 10 s, not less: a quiet machine retransmits at
  # 0.2, 0.4, 0.8, 1.6, 3.2 s, but a loaded CI machine once waited 3.7 s after the first one,
  # and the rule (and check.sh) want at least 2.
  ip -n "$P-r1" link set eth0 mtu 1280
  nsx r1 iptables -A OUTPUT -p icmp --icmp-type fragmentation-needed -j DROP
  GSO_APP=$(ip -n "$P-app" -d link show eth0 | sed -n 's/.*gso_max_segs \([0-9]*\).*/\1/p')
  ip -n "$P-app" link set dev eth0 gso_max_segs 1
  scenario pmtu-blackhole-tls "get $APP 80, run curl -sS -k --max-time 10 $RESOLVE \
    https://app.lab.test:4431/, get $APP 80" app
  # The server still retransmits its flight to the client that gave up (its socket lives on after
  # curl's FIN, with the kernel's back-off for minutes): end it now, before the link is back to
  # 1500 bytes, or its late retransmissions reach the client and the client's RSTs show up in the
  # next scenario's capture (a CI run saw them in keepalive-race.pcap).
  nsx app ss -K dst 198.51.100.10 sport = :4431 >/dev/null 2>&1 || true
  i=0
  while [ -n "$(nsx app ss -Htn state all exclude listening exclude time-wait sport = :4431 2>/dev/null)" ]; do
    i=$((i + 1)); [ $i -le 50 ] || { log "pmtu-blackhole-tls: the server's connection lingers"; break; }
    sleep 0.1
  done
  nsx r1 iptables -F OUTPUT
  ip -n "$P-r1" link set eth0 mtu 1500
  ip -n "$P-app" link set dev eth0 gso_max_segs "${GSO_APP:-65535}"
  ip -n "$P-app" route flush cache
fi

if want idle-timeout || want idle-timeout-reset; then
  bg app "$PY" "$HERE/lab.py" pool-server 9111
  labwait pool
  # router1 becomes a stateful firewall: connection tracking with the established-state timeout
  # shortened to 3 s (Linux's default is 5 days, enterprise firewalls 30-60 min, Azure's load
  # balancer 4 min, AWS NLB 350 s) and no mid-stream pick-up (nf_conntrack_tcp_loose=0), so a
  # packet of a connection whose state expired is INVALID.
  nsx r1 iptables -A FORWARD -p tcp -m conntrack --ctstate INVALID -j DROP
  nsx r1 sysctl -qw net.netfilter.nf_conntrack_tcp_timeout_established=3 \
    net.netfilter.nf_conntrack_tcp_loose=0
fi
if want idle-timeout; then
  # A pooled connection: a request, 1 s idle, a request (fine); another connection: a request,
  # 5 s idle, a request that the firewall drops silently; the client retransmits it until its
  # 4 s TCP_USER_TIMEOUT -> ETIMEDOUT.
  scenario idle-timeout "pool-get $APP 9111 4 1, pool-get $APP 9111 4 5"
fi
if want idle-timeout-reset; then
  # The same firewall answers the late request with a RST in the server's name (REJECT
  # --reject-with tcp-reset; TTL 64 one hop away, where the server's packets arrive with 62):
  # ECONNRESET at once.
  nsx r1 iptables -R FORWARD 1 -p tcp -m conntrack --ctstate INVALID -j REJECT --reject-with tcp-reset
  scenario idle-timeout-reset "pool-get $APP 9111 4 1, pool-get $APP 9111 4 5"
fi
if want idle-timeout || want idle-timeout-reset; then
  nsx r1 iptables -F FORWARD
  nsx r1 sysctl -qw net.netfilter.nf_conntrack_tcp_timeout_established=432000 \
    net.netfilter.nf_conntrack_tcp_loose=1
fi

# ---- issue 20: keep-alive race, TIME_WAIT reuse, port exhaustion (helper `reuse`)

if want keepalive-race; then
  # HTTP keep-alive race: app:8090 closes a keep-alive connection after 1 s without a request
  # (nginx's keepalive_timeout is 75 s, Apache's KeepAliveTimeout 5 s, IIS 120 s). The client's
  # pool reuses the connection after 0.3 s (fine), then after 1.3 s: its request goes out after
  # the server's FIN, the server's stack answers it with a RST, and the application reads EOF
  # where it expected an answer.
  bg app "$PY" "$HERE/lab.py" keepalive-server 1 8090
  labwait keepalive
  scenario keepalive-race "get $APP 80, keepalive-race $APP 8090 0.3, keepalive-race $APP 8090 1.3, \
    get $APP 80" app
fi

if want timewait-reuse; then
  # TIME_WAIT collision: the client binds a fixed source port (40500), uploads 4 MB to app:8091,
  # which answers and closes first (it holds TIME_WAIT, 60 s on Linux, 120 s on Windows), then
  # connects again from the same port at once. Its new ISN (a clock that advances about 15.6
  # million a second for a 4-tuple) is below what the server's TIME_WAIT expects next (4 MB
  # further on), and without timestamps (tcp_timestamps=0 on the client, as Windows clients
  # by default) the server cannot tell the SYN is new: it answers with a bare ACK (a challenge
  # ACK, RFC 5961 style) for the old connection; the client's stack resets it and retries the
  # SYN 1 s later, which the server accepts (the RST ended the TIME_WAIT). The upload is
  # captured with a snap length of 128 bytes (headers only).
  bg app "$PY" "$HERE/lab.py" post-server 8091
  labwait post
  nsx cl sysctl -qw net.ipv4.tcp_timestamps=0
  CAP_OPTS="-s 128" scenario timewait-reuse "get $APP 80, post-reuse $APP 8091 40500 4000000, \
    get $APP 80" app
  nsx cl sysctl -qw net.ipv4.tcp_timestamps=1
fi

if want port-exhaustion; then
  # Ephemeral port exhaustion (signs): the client's port range is narrowed to 32 ports (the
  # real default is 28232 on Linux, 16384 on Windows; Linux' connect() takes every other port
  # first, so 16 of them) and it opens 60 short connections to app:8092, one per request, as
  # fast as it can. The server closes first (HTTP/1.0), so its side holds each 4-tuple in
  # TIME_WAIT while the client cycles through its range and reuses the same ports within
  # milliseconds. Real ranges take 135-470 connections a second to get there. Headers only
  # (snap length 96): the capture stays small.
  bg app "$PY" "$HERE/lab.py" http-server 8092
  labwait http-8092
  nsx cl sysctl -qw net.ipv4.ip_local_port_range="40000 40031"
  CAP_OPTS="-s 96" scenario port-exhaustion "get $APP 80, serial-burst $APP 8092 60, get $APP 80"
  nsx cl sysctl -qw net.ipv4.ip_local_port_range="32768 60999"
fi

chmod 644 "$OUT"/*.pcap "$OUT"/*.jsonl "$OUT"/*.txt 2>/dev/null || true

# ------------------------------------------------------------------ checks
if [ "$LAB_CHECK" = 1 ]; then
  if ! sh "$HERE/check.sh" "$OUT"; then
    # Keep the evidence of a failed check (the work directory is removed on exit).
    keep=$(mktemp -d /tmp/tcpwhy-lab-failed.XXXXXX)
    cp -r "$OUT"/. "$keep"/
    log "check failed; the captures are kept in $keep"
    exit 1
  fi
else
  log "captures written to $OUT"
fi
