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
# The scenarios themselves are lab-classic.sh, lab-names-tls.sh, lab-real-tcp.sh and
# lab-enterprise.sh (sourced below, in that order); servers and clients are lab.py;
# check.sh checks the result.
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

# The scenarios, in this order (each file says what it covers).
. "$HERE/lab-classic.sh"
. "$HERE/lab-names-tls.sh"
. "$HERE/lab-real-tcp.sh"
. "$HERE/lab-enterprise.sh"

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
