#!/bin/sh
# Builds the real-stack captures ttlhops is tested on (tools/ttlhops/tests/captures/*.pcap).
#
#   client ---- r1 ---- r2 ---- server          (network namespaces, Linux routers)
#   10.61.1.2   .1  .12.1  .12.2  .2.1  10.61.2.2
#   fd61:1::2   fd61:1::1 … fd61:12::1/2 … fd61:2::1  fd61:2::2
#
# Every packet really crosses two forwarding routers, so the TTL / hop limit goes down by one per
# router. The server's default TTL and hop limit are 128 (as Windows) unless a scenario says
# otherwise. Captured on the client's interface with tcpdump. Needs root, iproute2, iptables,
# ip6tables, tcpdump, python3. Sends traffic only inside the namespaces it creates, and removes
# them on exit (also on failure).
#
# Usage: sh make-captures.sh [OUTDIR]      (default: the captures/ directory beside this script)
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:-$HERE/captures}
mkdir -p "$OUT"
P=tth$$
C=$P-c R1=$P-r1 R2=$P-r2 S=$P-s
WORK=$(mktemp -d)
SERVER_PID=

cleanup() {
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true
    for n in $C $R1 $R2 $S; do ip netns del "$n" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

x() { ns=$1; shift; ip netns exec "$ns" "$@"; }

cat >"$WORK/server.py" <<'PY'
# A TCP server on [::]:2725 (IPv4 and IPv6). "ABORT" -> close with a RST (SO_LINGER 0);
# anything else -> "OK\n" and a normal close.
import socket, struct, threading
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("::", 2725)); s.listen(16)
def serve(c):
    try:
        d = c.recv(1024)
        if d.startswith(b"ABORT"):
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        else:
            c.sendall(b"OK\n")
    except OSError:
        pass
    c.close()
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY

cat >"$WORK/client.py" <<'PY'
# client.py HOST PORT [DATA]: connect, send DATA, read the answer; prints what happened.
import socket, sys, time
host, port = sys.argv[1], int(sys.argv[2])
data = sys.argv[3].encode() if len(sys.argv) > 3 else b"HELLO\n"
try:
    c = socket.create_connection((host, port), timeout=3)
    c.sendall(data)
    try:
        print(host, port, "answer", c.recv(100))
    except OSError as e:
        print(host, port, "recv", e)
    c.close()
except OSError as e:
    print(host, port, "connect", e)
time.sleep(0.3)
PY

setup() {
    for n in $C $R1 $R2 $S; do
        ip netns add "$n"
        x "$n" ip link set lo up
        x "$n" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
    done
    ip link add c0 netns "$C" type veth peer name r1c netns "$R1"
    ip link add r1r2 netns "$R1" type veth peer name r2r1 netns "$R2"
    ip link add r2s netns "$R2" type veth peer name s0 netns "$S"
    # namespace, device, then the address's tail in 10.61.0.0/16 and fd61::/16
    for a in "$C c0 1.2 1::2" "$R1 r1c 1.1 1::1" "$R1 r1r2 12.1 12::1" \
        "$R2 r2r1 12.2 12::2" "$R2 r2s 2.1 2::1" "$S s0 2.2 2::2"; do
        set -- $a
        x "$1" ip addr add "10.61.$3/24" dev "$2"
        x "$1" ip -6 addr add "fd61:$4/64" dev "$2" nodad
        x "$1" ip link set "$2" up
    done
    for r in $R1 $R2; do
        x "$r" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
    done
    x "$C" ip route add default via 10.61.1.1
    x "$C" ip -6 route add default via fd61:1::1
    x "$R1" ip route add 10.61.2.0/24 via 10.61.12.2
    x "$R1" ip -6 route add fd61:2::/64 via fd61:12::2
    x "$R2" ip route add 10.61.1.0/24 via 10.61.12.1
    x "$R2" ip -6 route add fd61:1::/64 via fd61:12::1
    x "$S" ip route add default via 10.61.2.1
    x "$S" ip -6 route add default via fd61:2::1
    # The server answers as Windows would: TTL and hop limit 128.
    x "$S" sysctl -qw net.ipv4.ip_default_ttl=128 net.ipv6.conf.all.hop_limit=128 \
        net.ipv6.conf.default.hop_limit=128 net.ipv6.conf.s0.hop_limit=128
    ip netns exec "$S" python3 "$WORK/server.py" &
    SERVER_PID=$!
    sleep 0.5
}

# capture NAME CLIENT-STEPS...: each step is "HOST PORT [DATA]".
capture() {
    name=$1; shift
    ip netns exec "$C" tcpdump -q -U --immediate-mode -n -s 256 -i c0 -w "$OUT/$name" 'tcp or icmp or icmp6[0] < 128' \
        2>/dev/null &
    td=$!
    sleep 1
    for step in "$@"; do
        # shellcheck disable=SC2086
        x "$C" python3 "$WORK/client.py" $step
    done
    sleep 1
    kill -INT "$td"; wait "$td" 2>/dev/null || true
    echo "== $name: $(tcpdump -n -r "$OUT/$name" 2>/dev/null | wc -l) packets"
}

setup
S4=10.61.2.2 S6=fd61:2::2

# 1. Refused by the server itself (port 2383 closed), then a successful connection to 2725
#    that shows the server's distance; and one it aborts with its own RST.
capture refused-then-ok.pcap "$S4 2383" "$S4 2725" "$S4 2725 ABORT"

# 2. Only the refused connection: nothing else shows the server's distance.
capture refused-alone.pcap "$S4 2383"

# 3. r1 (one hop from the client) forges RSTs: REJECT --reject-with tcp-reset for port 2383,
#    and for any segment carrying "KILL" on an established connection to 2725.
x "$R1" iptables -A FORWARD -p tcp --dport 2383 -j REJECT --reject-with tcp-reset
x "$R1" iptables -A FORWARD -p tcp --dport 2725 -m string --string KILL --algo bm \
    -j REJECT --reject-with tcp-reset
capture middlebox-r1.pcap "$S4 2725" "$S4 2383" "$S4 2725 KILL"
x "$R1" iptables -F FORWARD

# 4. r2 sends an ICMP administratively-prohibited for port 2383 (and a port unreachable for
#    2384).
x "$R2" iptables -A FORWARD -p tcp --dport 2383 -j REJECT --reject-with icmp-admin-prohibited
x "$R2" iptables -A FORWARD -p tcp --dport 2384 -j REJECT --reject-with icmp-port-unreachable
capture icmp-r2.pcap "$S4 2383" "$S4 2384" "$S4 2725"
x "$R2" iptables -F FORWARD

# 5. Linux-like server (TTL 64): r2 forges the RST for 2383. Same initial TTL as the server,
#    one router fewer.
x "$S" sysctl -qw net.ipv4.ip_default_ttl=64
x "$R2" iptables -A FORWARD -p tcp --dport 2383 -j REJECT --reject-with tcp-reset
capture middlebox-r2-linux.pcap "$S4 2383" "$S4 2725"
x "$R2" iptables -F FORWARD
x "$S" sysctl -qw net.ipv4.ip_default_ttl=128

# 6. Conflicting evidence: the server's own RSTs leave with TTL 100 (a TTL-rewriting rule on
#    the server), its other packets with 128: the RST matches neither the server's distance
#    nor anything between.
x "$S" iptables -t mangle -A OUTPUT -p tcp --tcp-flags RST RST -j TTL --ttl-set 100
capture conflict.pcap "$S4 2725" "$S4 2383"
x "$S" iptables -t mangle -F OUTPUT

# 7. IPv6: refused by the server (hop limit 128), forged by r1 for 2384, ICMPv6
#    administratively prohibited from r2 for 2385, and a success.
x "$R1" ip6tables -A FORWARD -p tcp --dport 2384 -j REJECT --reject-with tcp-reset
x "$R2" ip6tables -A FORWARD -p tcp --dport 2385 -j REJECT --reject-with icmp6-adm-prohibited
capture ipv6.pcap "$S6 2383" "$S6 2384" "$S6 2385" "$S6 2725"
x "$R1" ip6tables -F FORWARD
x "$R2" ip6tables -F FORWARD

echo "captures in $OUT"
