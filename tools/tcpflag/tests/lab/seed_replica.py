#!/usr/bin/python3
"""Writes ../data/seed-replica.pcap: the seed write-up's two cases as the frames it shows, from a
Windows client (TTL 128, 1-byte zero-window probes, a refused connect retried with the same ISN),
which no stack in the lab can produce. Hand-built with scapy, only where the write-up is explicit.

Case 1 (intermittent, zero window): WEB1 10.0.0.1 resolves web2.corp.example (10 addresses, round
robin); connections to 192.168.0.2 .. .4 work (SYN-ACK Win=8760, POST, 100 Continue, FIN); two
connections land on 192.168.0.1, whose SYN-ACK says Win=0: the client sends 1-byte probes (seq
ISN+1, three times) and gets a RST: the first from 4.79.185.20 (a NAT address, as in the
write-up's frame 8), the second with 192.168.0.1's own address.
Case 2 (refused): 10.0.0.1:20531 → 172.16.0.1:2383, three identical SYNs (Seq=655839663,
Win=16384) each answered by RST/ACK (Seq=0, Ack=655839664, Win=0, TTL 126, IP ID 14341), about
0.5 s apart; then a working connection to 172.16.0.1:2725 (Analysis Services 2000) whose packets
also arrive with TTL 126, so ttlhops can tell the RSTs came from the server itself.
"""
import os
import sys

from scapy.all import DNS, DNSQR, DNSRR, IP, TCP, UDP, Ether, Raw, wrpcap

CLIENT = "10.0.0.1"
T0 = 1278472579.0
pkts = []
t = T0


def emit(p, dt=0.001):
    global t
    t += dt
    p.time = t
    pkts.append(p)


def eth(src_is_client):
    a, b = "00:15:5d:00:00:01", "00:1f:f3:3c:e1:13"
    return Ether(src=a, dst=b) if src_is_client else Ether(src=b, dst=a)


def c2s(dst, sport, dport, flags, seq, ack=0, win=16616, data=b"", ipid=[100]):
    ipid[0] += 1
    p = eth(True) / IP(src=CLIENT, dst=dst, ttl=128, id=ipid[0]) / TCP(
        sport=sport, dport=dport, flags=flags, seq=seq, ack=ack, window=win)
    return p / Raw(data) if data else p


def s2c(src, sport, dport, flags, seq, ack, win, ttl=126, data=b"", ipid=None):
    ip = IP(src=src, dst=CLIENT, ttl=ttl)
    if ipid is not None:
        ip.id = ipid
    p = eth(False) / ip / TCP(sport=sport, dport=dport, flags=flags, seq=seq, ack=ack, window=win)
    return p / Raw(data) if data else p


WEB2 = ["192.168.0.%d" % i for i in range(1, 11)]


def dns(qid, sport, rotation):
    q = eth(True) / IP(src=CLIENT, dst="10.0.0.53", ttl=128) / UDP(sport=sport, dport=53) / DNS(
        id=qid, rd=1, qd=DNSQR(qname="web2.corp.example"))
    an = None
    for a in rotation:
        rr = DNSRR(rrname="web2.corp.example", type="A", ttl=60, rdata=a)
        an = rr if an is None else an / rr
    r = eth(False) / IP(src="10.0.0.53", dst=CLIENT, ttl=127) / UDP(sport=53, dport=sport) / DNS(
        id=qid, qr=1, aa=1, rd=1, ra=1, qd=DNSQR(qname="web2.corp.example"), an=an)
    emit(q, 0.5)
    emit(r, 0.002)


def post_ok(dst, sport, isn, sisn):
    emit(c2s(dst, sport, 80, "S", isn, win=16384), 0.01)
    emit(s2c(dst, 80, sport, "SA", sisn, isn + 1, 8760), 0.02)
    emit(c2s(dst, sport, 80, "A", isn + 1, sisn + 1, 16560))
    body = b"POST /WebSrv/QueryWebSrv.asmx HTTP/1.1\r\nHost: web2\r\nExpect: 100-continue\r\n\r\n"
    emit(c2s(dst, sport, 80, "PA", isn + 1, sisn + 1, 16560, body))
    cont = b"HTTP/1.1 100 Continue\r\n\r\n"
    emit(s2c(dst, 80, sport, "PA", sisn + 1, isn + 1 + len(body), 8760, data=cont), 0.02)
    c = isn + 1 + len(body)
    s = sisn + 1 + len(cont)
    emit(c2s(dst, sport, 80, "FA", c, s, 16560), 0.01)
    emit(s2c(dst, 80, sport, "FA", s, c + 1, 8760), 0.02)
    emit(c2s(dst, sport, 80, "A", c + 1, s + 1, 16560))


def zero_window(dst, sport, isn, sisn, rst_from):
    emit(c2s(dst, sport, 80, "S", isn, win=16384), 0.01)
    emit(s2c(dst, 80, sport, "SA", sisn, isn + 1, 0), 0.02)
    emit(c2s(dst, sport, 80, "A", isn + 1, sisn + 1, 16616))
    for dt in (0.3, 0.6, 1.2):
        emit(c2s(dst, sport, 80, "A", isn + 1, sisn + 1, 16616, b"P"), dt)
    emit(s2c(rst_from, 80, sport, "R", sisn + 1, 0, 0, ttl=120 if rst_from != dst else 126), 0.3)


# Case 1: round robin; the client uses the first address of each answer.
port = 4961
for i, first in enumerate([1, 0, 2, 0, 3]):   # index into WEB2 of the first answer
    rot = WEB2[first:] + WEB2[:first]
    dns(0x1000 + i, 53000 + i, rot)
    port += 2
    if rot[0] == "192.168.0.1":
        # The write-up's frame 8: the first RST came from 4.79.185.20; the second one carries
        # the server's own address.
        rst_from = "4.79.185.20" if i == 1 else rot[0]
        zero_window(rot[0], port, 3411621893 + i * 1000, 1096790416 + i * 1000, rst_from)
    else:
        post_ok(rot[0], port, 843591585 + i * 1000, 1446804074 + i * 1000)

# Case 2: three identical SYNs, each refused; then the real service on 2725.
t += 5
for k in range(3):
    emit(c2s("172.16.0.1", 20531, 2383, "S", 655839663, win=16384), 0.5 if k else 0.01)
    emit(s2c("172.16.0.1", 2383, 20531, "RA", 0, 655839664, 0, ipid=14341), 0.0004)
emit(c2s("172.16.0.1", 20532, 2725, "S", 700000000, win=16384), 0.2)
emit(s2c("172.16.0.1", 2725, 20532, "SA", 900000000, 700000001, 16384, ipid=14342), 0.001)
emit(c2s("172.16.0.1", 20532, 2725, "A", 700000001, 900000001, 16616))
emit(c2s("172.16.0.1", 20532, 2725, "FA", 700000001, 900000001, 16616))
emit(s2c("172.16.0.1", 2725, 20532, "FA", 900000001, 700000002, 16384, ipid=14343), 0.001)
emit(c2s("172.16.0.1", 20532, 2725, "A", 700000002, 900000002, 16616))

out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "../data/seed-replica.pcap")
wrpcap(out, pkts)
print(out, len(pkts), "frames")
