#!/bin/sh
# Real-stack captures for the tcpflag rules the lab (tests/scenarios) does not cover:
#   slow-connect.pcap          the first SYN dropped (iptables nth), connect succeeds on the retry
#   retrans-storm.pcap         the server's firewall drops the client's data after the handshake:
#                              the client retransmits, then its application gives up and resets
#   handshake-incomplete.pcap  the client's firewall drops SYN-ACKs; captured on the server side:
#                              SYN retries from the client, SYN-ACK retransmissions from the server
# Each has a healthy connection too. Two network namespaces joined by a veth pair, Linux sockets
# (python3), tcpdump. Run as root from anywhere: sh tools/tcpflag/tests/lab/make-captures.sh [OUTDIR]
set -eu
OUT=$(cd "$(dirname "$0")/../data" && pwd)
[ $# -ge 1 ] && OUT=$1 && mkdir -p "$OUT"
C=tfcli$$
S=tfsrv$$
cleanup() {
    for p in $(cat /tmp/$C.pids 2>/dev/null); do kill "$p" 2>/dev/null || true; done
    rm -f /tmp/$C.pids
    ip netns del $C 2>/dev/null || true
    ip netns del $S 2>/dev/null || true
}
trap cleanup EXIT INT TERM
ip netns add $C
ip netns add $S
ip link add tfc0 netns $C type veth peer name tfs0 netns $S
ip -n $C addr add 10.77.0.1/24 dev tfc0
ip -n $S addr add 10.77.0.2/24 dev tfs0
ip -n $C link set tfc0 up
ip -n $S link set tfs0 up
ip -n $C link set lo up
ip -n $S link set lo up
for ns in $C $S; do
    ip netns exec $ns sysctl -qw net.ipv4.tcp_syn_retries=3
    ip netns exec $ns ethtool -K $(ip -n $ns -o link show type veth | awk -F': ' '{print $2}' | cut -d@ -f1) tx off rx off tso off gso off gro off >/dev/null 2>&1 || true
done

# An HTTP-ish server on 80, 81, 82: reads a request, answers 100 bytes, closes.
ip netns exec $S python3 - <<'PY' &
import socket, threading
def serve(port):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("10.77.0.2", port)); s.listen(16)
    while True:
        c, _ = s.accept()
        try:
            c.settimeout(10)
            c.recv(4096)
            c.sendall(b"HTTP/1.0 200 OK\r\n\r\n" + b"x" * 81)
        except OSError:
            pass
        c.close()
for p in (80, 81, 82):
    threading.Thread(target=serve, args=(p,), daemon=True).start()
threading.Event().wait()
PY
echo $! >> /tmp/$C.pids
sleep 0.5

client() { # port timeout [linger0]
    ip netns exec $C python3 - "$@" <<'PY' || true
import socket, struct, sys, time
port, timeout = int(sys.argv[1]), float(sys.argv[2])
s = socket.socket()
s.settimeout(timeout)
try:
    s.connect(("10.77.0.2", port))
    s.sendall(b"GET / HTTP/1.0\r\n\r\n" + b"h" * 400)
    s.recv(4096)
except OSError as e:
    print("client:", port, e, file=sys.stderr)
if len(sys.argv) > 3:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()
PY
}

capture() { # ns file
    ip netns exec "$1" tcpdump -U -s 0 -i "$3" -w "$2" tcp >/dev/null 2>&1 &
    echo $! >> /tmp/$C.pids
    echo $! > /tmp/$C.tcpdump
    sleep 0.5
}
stop_capture() {
    sleep 0.5
    kill "$(cat /tmp/$C.tcpdump)"
    sleep 0.3
}

# 1. slow-connect: only the very first SYN to :80 is dropped.
ip netns exec $S iptables -A INPUT -p tcp --dport 80 --syn -m statistic --mode nth --every 100000 --packet 0 -j DROP
capture $C "$OUT/slow-connect.pcap" tfc0
client 80 10
client 80 10
stop_capture
ip netns exec $S iptables -F INPUT

# 2. retrans-storm: data segments to :81 are dropped; the client gives up after 5 s with a RST.
ip netns exec $S iptables -A INPUT -p tcp --dport 81 -m length --length 200:65535 -j DROP
capture $C "$OUT/retrans-storm.pcap" tfc0
client 80 10
client 81 5 linger0
stop_capture
ip netns exec $S iptables -F INPUT

# 3. handshake-incomplete: the client drops SYN-ACKs from :82; captured on the server.
ip netns exec $C iptables -A INPUT -p tcp --sport 82 --tcp-flags SYN,ACK SYN,ACK -j DROP
capture $S "$OUT/handshake-incomplete.pcap" tfs0
client 80 10
client 82 4
sleep 4
stop_capture
ip netns exec $C iptables -F INPUT
ls -l "$OUT"/slow-connect.pcap "$OUT"/retrans-storm.pcap "$OUT"/handshake-incomplete.pcap
