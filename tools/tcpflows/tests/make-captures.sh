#!/bin/sh
# Makes tools/tcpflows/tests/captures/*.pcap with real Linux stacks in two network namespaces
# (root needed): the tracker cases the lab's captures (tests/captures) do not have.
#
#   sudo sh tools/tcpflows/tests/make-captures.sh [OUTDIR]
#
#   client 10.77.0.1 (namespace tfc-<pid>) ---- veth ---- server 10.77.0.2 (tfs-<pid>)
#
# extra.pcap, captured with tcpdump on the client's interface:
#   1. SYN retries with tcp_syn_linear_timeouts=4 (Linux >= 6.5), tcp_syn_retries=3, to a port the
#      server drops: 4 SYNs one second apart -> S0, attempts.intervals [1, 1, 1].
#   2. half close: the client sends a request and shuts down its side; the server answers and
#      keeps its side open until after the capture ends -> S2.
#   3. client abort: request, answer, then the client closes with SO_LINGER 0 -> RST -> RSTO.
# midstream.pcap: a connection opened before tcpdump starts, then data and FINs -> midstream,
#   no SYN seen, state SF (Zeek: both closed), history without S/h.
set -eu
OUT=${1:-$(dirname "$0")/captures}
mkdir -p "$OUT"
C=tfc-$$
S=tfs-$$
cleanup() {
    [ -n "${TD:-}" ] && kill "$TD" 2>/dev/null || true
    [ -n "${SRV:-}" ] && kill "$SRV" 2>/dev/null || true
    ip netns del "$C" 2>/dev/null || true
    ip netns del "$S" 2>/dev/null || true
    rm -f "/tmp/tfsrv-$$.py"
}
trap cleanup EXIT INT TERM
ip netns add "$C"
ip netns add "$S"
ip link add tfc0 netns "$C" type veth peer name tfs0 netns "$S"
ip -n "$C" addr add 10.77.0.1/24 dev tfc0
ip -n "$S" addr add 10.77.0.2/24 dev tfs0
for n in "$C" "$S"; do
    ip -n "$n" link set lo up
    ip netns exec "$n" sysctl -qw net.ipv4.tcp_timestamps=1
done
ip -n "$C" link set tfc0 up
ip -n "$S" link set tfs0 up
# offloads off so the capture shows wire-sized segments
ip netns exec "$C" ethtool -K tfc0 tso off gso off gro off >/dev/null 2>&1 || true
ip netns exec "$S" ethtool -K tfs0 tso off gso off gro off >/dev/null 2>&1 || true
ip netns exec "$C" sysctl -qw net.ipv4.tcp_syn_retries=3
ip netns exec "$C" sysctl -qw net.ipv4.tcp_syn_linear_timeouts=4 2>/dev/null || true
ip netns exec "$S" iptables -A INPUT -p tcp --dport 9999 -j DROP

cat >"/tmp/tfsrv-$$.py" <<'PY'
import socket, threading, time
def serve(port, fn):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("10.77.0.2", port)); s.listen(8)
    def loop():
        while True:
            c, _ = s.accept()
            threading.Thread(target=fn, args=(c,), daemon=True).start()
    threading.Thread(target=loop, daemon=True).start()
def half(c):            # answers after the client's FIN, never closes its side
    data = b""
    while True:
        d = c.recv(4096)
        if not d: break
        data += d
    c.sendall(b"answer after your FIN " + str(len(data)).encode() + b"\n")
    time.sleep(60)
def echo(c):            # echo until EOF, then close
    while True:
        d = c.recv(4096)
        if not d: break
        c.sendall(d)
    c.close()
serve(7001, half); serve(7002, echo); serve(7003, echo)
time.sleep(120)
PY
ip netns exec "$S" python3 "/tmp/tfsrv-$$.py" &
SRV=$!
sleep 1

client() { ip netns exec "$C" python3 -c "$1"; }

# --- extra.pcap ---
ip netns exec "$C" tcpdump -i tfc0 -s 0 -U -w "$OUT/extra.pcap" tcp 2>/dev/null &
TD=$!
sleep 1
client '
import socket
s = socket.socket(); s.settimeout(30)
try: s.connect(("10.77.0.2", 9999))
except OSError as e: print("syn-retries:", e)
' || true
client '
import socket, time
s = socket.create_connection(("10.77.0.2", 7001)); s.sendall(b"request\n"); s.shutdown(socket.SHUT_WR)
print("half-close:", s.recv(100)); time.sleep(0.5)
' 
client '
import socket, struct, time
s = socket.create_connection(("10.77.0.2", 7003)); s.sendall(b"hello\n"); s.recv(100)
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)); s.close()
print("abort: done"); time.sleep(0.3)
'
sleep 1
kill "$TD"; wait "$TD" 2>/dev/null || true
TD=

# --- midstream.pcap: the connection exists before the capture starts ---
ip netns exec "$C" python3 -c '
import socket, subprocess, sys, time
s = socket.create_connection(("10.77.0.2", 7002)); s.sendall(b"before the capture\n"); s.recv(100)
td = subprocess.Popen(["tcpdump", "-i", "tfc0", "-s", "0", "-U", "-w", sys.argv[1], "tcp"],
                      stderr=subprocess.DEVNULL)
time.sleep(1.5)
s.sendall(b"seen by the capture\n"); s.recv(100)
s.shutdown(socket.SHUT_WR); s.recv(100); s.close()
time.sleep(1)
td.terminate(); td.wait()
print("midstream: done")
' "$OUT/midstream.pcap"
echo "wrote $OUT/extra.pcap $OUT/midstream.pcap"
