"""The lab's packets that no real socket sends (lab.py): a delaying bridge on raw sockets, and
through scapy a zero-window SYN-ACK server, an on-path RST injector, a SYN and SYN-ACK delayer, a
SYN flood, and the wire behaviour of Windows' and macOS' connect() where Linux's differs.
"""

import socket
import struct
import threading
import time

from labserve import forever, ready


def scapy(*names):
    """These names of scapy.all, scapy quiet (imported on first use: the socket servers and
    clients run without scapy)."""
    import scapy.all

    scapy.all.conf.verb = 0
    return [getattr(scapy.all, n) for n in names]


def sniff_forever(name, handle, **kw):
    """Runs HANDLE on every packet an AsyncSniffer(**kw) sees; NAME.ready once it is listening."""
    (sniffer,) = scapy("AsyncSniffer")
    sn = sniffer(prn=handle, store=False, started_callback=lambda: ready(name), **kw)
    sn.start()
    forever()


def _csum(data):
    if len(data) % 2:
        data += b"\0"
    t = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while t >> 16:
        t = (t & 0xFFFF) + (t >> 16)
    return ~t & 0xFFFF


def fix_tcp_checksum(frame):
    """veth leaves TCP checksums to the receiver (offload): a frame read from one interface and
    written to another must carry a real one, or the receiving stack drops it."""
    if len(frame) < 34 or frame[12:14] != b"\x08\x00" or frame[23] != 6:
        return frame
    ihl = (frame[14] & 15) * 4
    total = struct.unpack("!H", frame[16:18])[0]
    seg = bytearray(frame[14 + ihl : 14 + total])
    if len(seg) < 20:
        return frame
    seg[16:18] = b"\0\0"
    pseudo = frame[26:34] + struct.pack("!BBH", 0, 6, len(seg))
    seg[16:18] = struct.pack("!H", _csum(pseudo + bytes(seg)))
    return frame[: 14 + ihl] + bytes(seg) + frame[14 + total :]


def cmd_delay_bridge(if_a, if_b, delay):
    import heapq
    import select

    delay = float(delay)
    ETH_P_ALL = 3
    PACKET_OUTGOING = 4
    socks = {}
    for name in (if_a, if_b):
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        s.bind((name, 0))
        socks[name] = s
    out = {if_a: socks[if_b], if_b: socks[if_a]}
    pending = []  # (due, seq, frame, socket)
    seq = 0
    ready("bridge")
    while True:
        now = time.time()
        while pending and pending[0][0] <= now:
            _, _, frame, dst = heapq.heappop(pending)
            try:
                dst.send(frame)
            except OSError:
                pass
        timeout = max(0.0, pending[0][0] - now) if pending else 1.0
        r, _, _ = select.select(list(socks.values()), [], [], timeout)
        for s in r:
            frame, addr = s.recvfrom(65535)
            if addr[2] == PACKET_OUTGOING:
                continue  # our own copy of a frame we sent
            d = delay if addr[0] == if_a else 0.0
            seq += 1
            frame = fix_tcp_checksum(frame)
            heapq.heappush(pending, (time.time() + d, seq, frame, out[addr[0]]))


def cmd_zw_server(iface, addr, port, delay):
    import random

    IP, TCP, send = scapy("IP", "TCP", "send")
    port = int(port)
    delay = float(delay)
    rnd = random.Random(2383)
    conns = {}
    lock = threading.Lock()

    def rst(key, isn):
        src, sport = key
        # Like the seed's frame 8: RST without ACK, window 0, seq = ISN + 1.
        send(IP(src=addr, dst=src, ttl=128) / TCP(sport=port, dport=sport, flags="R", seq=isn + 1,
                                                  window=0))
        with lock:
            conns.pop(key, None)

    def handle(p):
        if IP not in p or TCP not in p:
            return
        ip, t = p[IP], p[TCP]
        if ip.dst != addr or t.dport != port or (int(t.flags) & 0x17) != 0x02:
            return
        key = (ip.src, t.sport)
        with lock:
            isn = conns.get(key)
            fresh = isn is None
            if fresh:
                isn = rnd.randrange(1 << 32)
                conns[key] = isn
        # SYN-ACK advertising a zero window (TTL 128: the seed's WEB2 is an IIS server).
        send(IP(src=addr, dst=ip.src, ttl=128) / TCP(sport=port, dport=t.sport, flags="SA",
                                                     seq=isn, ack=t.seq + 1, window=0,
                                                     options=[("MSS", 1460)]))
        if fresh:
            threading.Timer(delay, rst, args=(key, isn)).start()

    flt = "tcp and dst host %s and dst port %d" % (addr, port)
    sniff_forever("zw", handle, iface=iface, filter=flt)


def cmd_rst_injector(iface, port_miss, port_exact, port_syn):
    IP, TCP, send = scapy("IP", "TCP", "send")
    ports = {int(port_miss): "miss", int(port_exact): "exact", int(port_syn): "syn"}
    done = set()

    def handle(p):
        if IP not in p or TCP not in p:
            return
        ip, t = p[IP], p[TCP]
        kind = ports.get(t.dport)
        if kind is None or (ip.src, t.sport) in done:
            return
        if kind == "syn":
            if (int(t.flags) & 0x12) != 0x02:
                return
            done.add((ip.src, t.sport))
            # A forged refusal: RST/ACK acknowledging the SYN, before the real SYN-ACK.
            send(IP(src=ip.dst, dst=ip.src, ttl=64, id=ip.id) /
                 TCP(sport=t.dport, dport=t.sport, flags="RA", seq=0, ack=t.seq + 1, window=0))
            return
        if len(t.payload) == 0:
            return
        done.add((ip.src, t.sport))
        # The client expects the server's next byte at t.ack (RCV.NXT): exact is accepted
        # (RFC 5961), 2^30 further is outside any window and ignored. TTL 64: the router's own
        # stack, one hop from the client (the server's packets arrive with 62). IP ID: the
        # request's, copied (a lazy injector's tell).
        seq = t.ack if kind == "exact" else (t.ack + (1 << 30)) & 0xFFFFFFFF
        send(IP(src=ip.dst, dst=ip.src, ttl=64, id=ip.id) /
             TCP(sport=t.dport, dport=t.sport, flags="RA", seq=seq, ack=t.seq + len(t.payload),
                 window=0))

    flt = "tcp and (dst port %s or dst port %s or dst port %s)" % (port_miss, port_exact, port_syn)
    sniff_forever("injector", handle, iface=iface, filter=flt)


def cmd_syn_delay(iface, port, delay):
    """Runs on a router whose iptables drops the SYNs to PORT: forwards each one DELAY s late (a
    slow path for the SYN only, so an injector near the client answers first)."""
    _handshake_delay("syn-delay", iface, port, delay, 0x02, "dst", None)


def cmd_synack_delay(iface, port, delay, which):
    """Runs on a router whose iptables drops the SYN-ACKs from PORT: forwards those numbered
    WHICH (a comma list, counting from 1) DELAY s late, the others at once."""
    late = {int(n) for n in which.split(",")}
    _handshake_delay("synack-delay", iface, port, delay, 0x12, "src", late)


def _handshake_delay(name, iface, port, delay, flags, side, which):
    """Forwards the packets on IFACE with SYN/ACK flags FLAGS and PORT as their SIDE ("src" or
    "dst") port: DELAY s late, or only those numbered in the set WHICH (the others at once)."""
    IP, TCP, send = scapy("IP", "TCP", "send")
    port, delay = int(port), float(delay)
    seen = [0]

    def later(pkt, wait):
        time.sleep(wait)
        send(pkt)

    def handle(p):
        if IP not in p or TCP not in p:
            return
        t = p[TCP]
        if (t.sport if side == "src" else t.dport) != port or (int(t.flags) & 0x12) != flags:
            return
        q = p[IP].copy()
        q.ttl -= 1
        del q.chksum
        del q[TCP].chksum  # veth hands the sniffer partial checksums: recompute both
        seen[0] += 1
        wait = delay if which is None or seen[0] in which else 0
        threading.Thread(target=later, args=(q, wait), daemon=True).start()

    sniff_forever(name, handle, iface=iface, filter="tcp and %s port %d" % (side, port))


def syn_flood(host, port, count):
    """A SYN flood, bounded: COUNT SYNs from spoofed documentation addresses, random ports."""
    import random

    IP, TCP, send = scapy("IP", "TCP", "send")
    rnd = random.Random(6)
    pkts = []
    for i in range(count):
        src = ("192.0.2.%d" % rnd.randrange(1, 255)) if i % 2 else \
            ("198.51.100.%d" % rnd.randrange(128, 255))
        pkts.append(IP(src=src, dst=host, ttl=rnd.choice((54, 57, 61, 118))) /
                    TCP(sport=rnd.randrange(1024, 65535), dport=port, flags="S",
                        seq=rnd.randrange(1 << 32), window=1024, options=[("MSS", 1460)]))
    t0 = time.time()
    send(pkts, inter=0.002)
    return round(time.time() - t0, 3)


# ---------------------------------------------------------------- clients as other stacks


def ecn_rst_retry(host, port, sport):
    """What macOS (and Windows with ECN on) puts on the wire when its ECN-setup SYN (ECE+CWR) is
    answered by a RST: the same connection tried again with a plain SYN (same port, same ISN)
    about 1 s later. Linux never does this (its connect() fails with ECONNREFUSED; it falls back
    to a plain SYN only after a *lost* ECN SYN), hence scapy; the router and server are real."""
    IP, TCP, AsyncSniffer, Raw, send, sr1 = scapy("IP", "TCP", "AsyncSniffer", "Raw", "send", "sr1")
    isn = 0x2E0C0001
    opts = [("MSS", 1460), ("NOP", None), ("WScale", 6), ("NOP", None), ("NOP", None),
            ("Timestamp", (1000, 0)), ("SAckOK", b""), ("EOL", None)]
    syn = IP(dst=host, ttl=64) / TCP(sport=sport, dport=port, flags="SEC", seq=isn,
                                     window=65535, options=opts)
    r = sr1(syn, timeout=3)
    if r is None or TCP not in r or not int(r[TCP].flags) & 0x04:
        return "no RST to the ECN SYN"
    time.sleep(1.0)
    syn[TCP].flags = "S"
    r = sr1(syn, timeout=3)
    if r is None or TCP not in r or (int(r[TCP].flags) & 0x12) != 0x12:
        return "no SYN-ACK to the plain SYN"
    ack = r[TCP].seq + 1
    tsv = dict(r[TCP].options).get("Timestamp", (0, 0))[0]
    opts2 = [("NOP", None), ("NOP", None), ("Timestamp", (1100, tsv))]
    send(IP(dst=host, ttl=64) / TCP(sport=sport, dport=port, flags="A", seq=isn + 1, ack=ack,
                                    window=2048, options=opts2))
    req = ("GET / HTTP/1.0\r\nHost: %s\r\n\r\n" % host).encode()
    sn = AsyncSniffer(filter="tcp and src host %s and src port %d" % (host, port), timeout=1.5)
    sn.start()
    time.sleep(0.1)
    send(IP(dst=host, ttl=64) / TCP(sport=sport, dport=port, flags="PA", seq=isn + 1, ack=ack,
                                    window=2048, options=opts2) / Raw(req))
    sn.join()
    got = [p for p in (sn.results or []) if TCP in p]
    end = ack
    for p in got:
        e = (p[TCP].seq + len(p[TCP].payload) + (1 if int(p[TCP].flags) & 0x01 else 0)) & 0xFFFFFFFF
        if ((e - end) & 0xFFFFFFFF) < 0x80000000:
            end = e
    # The answer and the server's FIN acknowledged, our own FIN: an orderly close.
    send(IP(dst=host, ttl=64) / TCP(sport=sport, dport=port, flags="FA", seq=isn + 1 + len(req),
                                    ack=end, window=2048, options=opts2))
    return "ok (connected at the plain SYN, %d bytes)" % sum(len(p[TCP].payload) for p in got)


def win_connect(host, port, sport, tries=3):
    """What Windows' connect() puts on the wire when a SYN is answered by RST/ACK: the same SYN
    (same source port, same ISN, TTL 128, Windows' options) again 0.5 s later, 3 SYNs in all,
    then WSAECONNREFUSED. No Linux socket does that, hence scapy; the server is a real stack.
    The client kernel ignores the RSTs (no socket), so nothing else is sent."""
    IP, TCP, sr1 = scapy("IP", "TCP", "sr1")
    isn = 655839663  # the seed's
    syn = IP(dst=host, ttl=128, id=14341) / TCP(
        sport=sport, dport=port, flags="S", seq=isn, window=64240,
        options=[("MSS", 1460), ("NOP", None), ("WScale", 8), ("NOP", None), ("NOP", None),
                 ("SAckOK", b"")])
    result = "ETIMEDOUT"
    for i in range(tries):
        syn[IP].id = 14341 + i
        r = sr1(syn, timeout=3)
        if r is not None and TCP in r and int(r[TCP].flags) & 0x04:
            result = "ECONNREFUSED"
            if i + 1 < tries:
                time.sleep(0.5)
        elif r is not None and TCP in r and (int(r[TCP].flags) & 0x12) == 0x12:
            return "ok (SYN-ACK)"
    return result
