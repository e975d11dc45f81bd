#!/usr/bin/env python3
"""Servers and clients of the tcpwhy lab (tests/scenarios/run.sh runs them in network namespaces).

Every server and client here is a real Linux socket, except `zw-server`, which answers SYNs with a
zero-window SYN-ACK through scapy (no real stack does that on purpose; the seed's WEB2 did), and
the `win-connect` client action, which puts a Windows client's connect() retries on the wire.

Subcommands (run inside a namespace with `ip netns exec`):
  http-server PORT...            HTTP/1.0 responder on every given port (IPv4 and IPv6)
  named-server NAME PORT         the same, with the process renamed (ss/netstat show NAME)
  slow-http DELAY PORT...        HTTP/1.0 responder that waits DELAY s before reading a request
  abort-server PORT              answers part of a response, then aborts (SO_LINGER 0 -> RST)
  slow-reader PORT DELAY         small SO_RCVBUF, sleeps DELAY s before reading (window closes)
  sink PORT                      reads everything, never answers (a hung or overloaded server)
  halfclose-abort PORT           reads the request to the client's FIN, sends part of an answer,
                                 then aborts (SO_LINGER 0 -> RST) while the client still reads
  crawl-reader PORT MSS CHUNK DELAY  tiny SO_RCVBUF and MSS, reads CHUNK bytes every DELAY s:
                                 the advertised window stays a few hundred bytes
  delay-bridge IF_A IF_B SECONDS  an Ethernet bridge between two interfaces that holds every
                                 frame from IF_A to IF_B for SECONDS (a slow path; the lab's
                                 kernel has no netem); IF_B to IF_A passes at once
  dns-server ADDR ZONEFILE       tiny authoritative DNS server; several A records for one name
                                 are rotated on every answer (BIND-style round robin)
  zw-server IFACE ADDR PORT DELAY  SYN -> SYN-ACK window 0, ignores everything, RST after DELAY s
  plain-http-server PORT         plain HTTP like nginx: a request that does not start with a
                                 method (a TLS ClientHello) gets `HTTP/1.1 400 Bad Request` at once
  tls-reset-server PORT          reads the ClientHello and resets the connection (SO_LINGER 0),
                                 as Windows SChannel does to a TLS 1.0/1.1 client when only
                                 TLS 1.2 is enabled
  rst-injector IFACE PORT_MISS PORT_EXACT PORT_SYN  an on-path injector (run on a router): when
                                 a client's request to PORT_MISS or PORT_EXACT passes, it forges a
                                 RST from the server back to the client, with the router's own TTL
                                 and the request's IP ID copied; out of the window for PORT_MISS
                                 (ignored: the connection carries on), exactly at RCV.NXT for
                                 PORT_EXACT (accepted: the client's connection dies, the server's
                                 does not); for a SYN to PORT_SYN, a RST/ACK refusing it
  syn-delay IFACE PORT DELAY     (on a router that drops the SYNs to PORT) forwards them DELAY s late
  backlog-server PORT BACKLOG DELAY  HTTP/1.0 responder (IPv4) with listen(BACKLOG) whose accept
                                 loop takes one connection every DELAY s (an overloaded or stuck
                                 application): the kernel's accept queue fills up
  upload-server PORT...          reads a request head and its Content-Length body, then answers
  pool-server PORT...            HTTP/1.1 keep-alive: answers every request on a connection and
                                 keeps it open until the client closes it (a pooled connection)
  keepalive-server IDLE PORT     HTTP/1.1 keep-alive responder that closes a connection (FIN)
                                 after IDLE s without a request (a server's keep-alive timeout)
  post-server PORT               reads a POST body (Content-Length), answers, and closes first
                                 (the server holds TIME_WAIT, as HTTP/1.0 servers do)
  client ACTION...               runs the actions in order; one JSON line per action on stdout
                                 saying what the application saw (errno names as Linux reports)

Client actions (separated by `,`):
  get HOST PORT [SPORT]          connect, send an HTTP GET, read the answer to EOF
  get-timeout HOST PORT SECONDS  the same with TCP_USER_TIMEOUT (unacknowledged data times out)
  connect HOST PORT [SPORT]      connect only (refused / timeout / unreachable cases), then close
  post HOST PORT                 connect, send a small POST, wait for the answer (zero window)
  bulk HOST PORT BYTES           connect, send BYTES, read the answer (slow reader)
  upload-slow HOST PORT SECONDS  send 1000 bytes every 0.1 s for SECONDS (TCP_USER_TIMEOUT 60 s)
  keepalive HOST PORT SECONDS    send a request, then wait SECONDS with TCP keep-alives every 1 s
  get-giveup HOST PORT SECONDS   send a GET, wait SECONDS for an answer, then give up with a
                                 RST (SO_LINGER 0), as an application with a read timeout
  get-halfclose HOST PORT        send a GET, shut down writing (FIN), read the answer to EOF
  win-connect HOST PORT SPORT    a Windows connect() on the wire (scapy): the same SYN resent
                                 0.5 s after each RST, 3 SYNs, then refused
  resolve-get NAME PORT DNS      resolve NAME (A) at DNS, then `get` the first address
  resolve NAME DNS [TYPE]        just resolve
  getaddrinfo NAME [inet|inet6]  resolve through glibc (the namespace's resolv.conf, its retries
                                 and search suffixes), as applications do; result EAI_* on failure
  run CMD ARG...                 run a real client (curl, openssl s_client); result "ok" or
                                 "exit N", with the last line of its error output
  nmap ARG...                    run nmap with these arguments (a scan)
  syn-flood HOST PORT COUNT      COUNT SYNs (scapy) to HOST:PORT, each from another spoofed
                                 address of 192.0.2.0/24 and 198.51.100.128/25 and another port
  burst HOST PORT N SECONDS       N concurrent `get`s (threads), each with a SECONDS socket timeout
  create-connection NAME PORT [SECONDS]  Python's socket.create_connection (getaddrinfo through
                                 glibc, then each address in order, SECONDS per address or the
                                 kernel's own SYN retries without), then a GET: what applications
                                 without Happy Eyeballs do (.NET SocketsHttpHandler, Java, Python)
  connect-deadline NAME PORT SECONDS  getaddrinfo, then the first address only, with an overall
                                 deadline of SECONDS (an application timeout that fires before any
                                 fallback to the next address)
  ecn-rst-retry HOST PORT SPORT  a macOS-style connect() (scapy): SYN with ECE+CWR; after a RST,
                                 the same SYN without ECN 1 s later; completes the handshake and
                                 sends a GET (the client's own kernel RSTs are dropped by run.sh)
  upload HOST PORT BYTES SECONDS  PUT with a Content-Length body of BYTES: the head first (a
                                 small segment), the body 0.3 s later (full-size segments), then
                                 read the answer; TCP_USER_TIMEOUT SECONDS
  pool-get HOST PORT SECONDS IDLE...  a pooled HTTP/1.1 connection: a GET, then after each IDLE
                                 seconds of silence another GET on the same connection;
                                 TCP_USER_TIMEOUT SECONDS
  keepalive-race HOST PORT WAIT  HTTP/1.1: one request on a pooled connection, WAIT s idle, then
                                 the next request on the same socket (the server closed it)
  post-reuse HOST PORT SPORT BYTES  POST BYTES from port SPORT, read the answer (the server closes
                                 first), then at once a GET from the same SPORT (4-tuple reuse)
  serial-burst HOST PORT COUNT   COUNT short GETs back to back (a client that opens a connection
                                 per request); says how many worked, the errors, the ports used
  sleep SECONDS
"""

import json
import os
import socket
import struct
import sys
import threading
import time

READY_DIR = os.environ.get("LAB_READY_DIR", "/tmp")


def ready(name):
    """Tells run.sh that a server is listening."""
    with open(os.path.join(READY_DIR, name + ".ready"), "w") as f:
        f.write(str(os.getpid()))


def set_proc_name(name):
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        libc.prctl(15, name.encode()[:15], 0, 0, 0)  # PR_SET_NAME
    except Exception:
        pass


# ---------------------------------------------------------------- servers


def listeners(port, rcvbuf=None):
    socks = []
    for fam, addr in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if fam == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        if rcvbuf:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        try:
            s.bind((addr, port))
        except OSError:
            if fam == socket.AF_INET6:
                continue  # IPv6 disabled in this namespace
            raise
        s.listen(64)
        socks.append(s)
    return socks


def serve(socks, handler):
    def loop(ls):
        while True:
            c, _ = ls.accept()
            threading.Thread(target=handler, args=(c,), daemon=True).start()

    for ls in socks:
        threading.Thread(target=loop, args=(ls,), daemon=True).start()


def read_request(c, limit=1 << 20):
    data = b""
    while b"\r\n\r\n" not in data and len(data) < limit:
        chunk = c.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def http_handler(c):
    try:
        c.settimeout(10)
        req = read_request(c)
        body = b"hello from tcpwhy lab\n"
        if req.startswith(b"POST"):
            # Read the announced body too.
            head, _, rest = req.partition(b"\r\n\r\n")
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    n = int(line.split(b":")[1])
                    while len(rest) < n:
                        chunk = c.recv(65536)
                        if not chunk:
                            break
                        rest += chunk
        c.sendall(
            b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: "
            + str(len(body)).encode()
            + b"\r\n\r\n"
            + body
        )
        c.shutdown(socket.SHUT_WR)
        # Wait for the client's FIN so the server never resets a half-read socket.
        while c.recv(65536):
            pass
    except OSError:
        pass
    finally:
        c.close()


def cmd_http_server(ports):
    for p in ports:
        serve(listeners(int(p)), http_handler)
    ready("http-" + "-".join(ports))
    threading.Event().wait()


def cmd_slow_http(delay, ports):
    delay = float(delay)

    def handler(c):
        time.sleep(delay)  # the application thinks before it answers
        http_handler(c)

    for p in ports:
        serve(listeners(int(p)), handler)
    ready("slow-http")
    threading.Event().wait()


def cmd_named_server(name, port):
    set_proc_name(name)
    serve(listeners(int(port)), http_handler)
    ready(name)
    threading.Event().wait()


def abort_handler(c):
    try:
        c.settimeout(10)
        read_request(c)
        c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"x" * 1000)
        time.sleep(0.3)
        # The application dies mid-answer: SO_LINGER 0 turns close() into an abortive RST.
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    finally:
        c.close()


def cmd_abort_server(port):
    serve(listeners(int(port)), abort_handler)
    ready("abort")
    threading.Event().wait()


def plain_http_handler(c):
    try:
        c.settimeout(10)
        first = c.recv(65536)
        if first[:1].isupper():
            # A real request: answer it like http-server.
            while b"\r\n\r\n" not in first:
                chunk = c.recv(65536)
                if not chunk:
                    break
                first += chunk
            body = b"hello from tcpwhy lab\n"
        else:
            # Not HTTP (a TLS ClientHello starts with 0x16): rejected at the first byte, like
            # nginx's "400 Bad Request" to a TLS client on its plain port.
            body = None
        if body is None:
            msg = b"<html><head><title>400 Bad Request</title></head></html>\r\n"
            c.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/html\r\n"
                      b"Content-Length: " + str(len(msg)).encode() + b"\r\nConnection: close\r\n\r\n"
                      + msg)
        else:
            c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: " + str(len(body)).encode()
                      + b"\r\n\r\n" + body)
        c.shutdown(socket.SHUT_WR)
        while c.recv(65536):
            pass
    except OSError:
        pass
    finally:
        c.close()


def cmd_plain_http_server(port):
    serve(listeners(int(port)), plain_http_handler)
    ready("plain-http")
    threading.Event().wait()


def tls_reset_handler(c):
    try:
        c.settimeout(10)
        c.recv(65536)  # the ClientHello
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    finally:
        c.close()


def cmd_tls_reset_server(port):
    serve(listeners(int(port)), tls_reset_handler)
    ready("tls-reset")
    threading.Event().wait()


def cmd_backlog_server(port, backlog, delay):
    """listen(BACKLOG) and an accept loop that takes one connection every DELAY s: the kernel
    keeps BACKLOG + 1 completed connections waiting; beyond that it drops new SYNs and ignores
    the handshake ACKs of connections it already answered (tcp_abort_on_overflow=0)."""
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", int(port)))
    ls.listen(int(backlog))
    ready("backlog")
    while True:
        time.sleep(float(delay))
        c, _ = ls.accept()
        threading.Thread(target=http_handler, args=(c,), daemon=True).start()


def cmd_slow_reader(port, delay):
    delay = float(delay)

    def handler(c):
        try:
            c.settimeout(30)
            time.sleep(delay)  # the application is busy: the receive buffer fills, window 0
            total = 0
            while True:
                chunk = c.recv(65536)
                if not chunk:
                    break
                total += len(chunk)
                if total >= 1 << 30:
                    break
            c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nOK\n")
            c.shutdown(socket.SHUT_WR)
            while c.recv(65536):
                pass
        except OSError:
            pass
        finally:
            c.close()

    serve(listeners(int(port), rcvbuf=2048), handler)
    ready("slow")
    threading.Event().wait()


def read_http(c, first=b""):
    """One HTTP message with a Content-Length body (or none): (head, body); (b"", b"") at EOF."""
    data = first
    while b"\r\n\r\n" not in data:
        chunk = c.recv(65536)
        if not chunk:
            return b"", b""
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    n = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            n = int(line.split(b":")[1])
    while len(body) < n:
        chunk = c.recv(65536)
        if not chunk:
            break
        body += chunk
    return head, body


def cmd_upload_server(ports):
    def handler(c):
        try:
            c.settimeout(30)
            _, body = read_http(c)
            msg = b"stored %d bytes\n" % len(body)
            c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n" % len(msg) + msg)
            c.shutdown(socket.SHUT_WR)
            while c.recv(65536):
                pass
        except OSError:
            pass
        finally:
            c.close()

    for p in ports:
        serve(listeners(int(p)), handler)
    ready("upload")
    threading.Event().wait()


def cmd_pool_server(ports):
    def handler(c):
        try:
            c.settimeout(120)
            while True:
                head, _ = read_http(c)
                if not head:
                    break
                msg = b"hello again from tcpwhy lab\n"
                c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(msg) + msg)
        except OSError:
            pass
        finally:
            c.close()

    for p in ports:
        serve(listeners(int(p)), handler)
    ready("pool")
    threading.Event().wait()


def cmd_sink(port):
    def handler(c):
        try:
            while c.recv(65536):
                pass
        except OSError:
            pass
        finally:
            c.close()

    serve(listeners(int(port)), handler)
    ready("sink")
    threading.Event().wait()


def cmd_halfclose_abort(port):
    def handler(c):
        try:
            c.settimeout(10)
            while c.recv(65536):  # the request, up to the client's FIN
                pass
            c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"x" * 1000)
            time.sleep(0.3)
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        finally:
            c.close()

    serve(listeners(int(port)), handler)
    ready("halfclose-abort")
    threading.Event().wait()


def keepalive_handler(idle):
    def handler(c):
        try:
            while True:
                c.settimeout(idle)
                try:
                    req = read_request(c)
                except socket.timeout:
                    return  # the keep-alive timeout: close (FIN), as nginx/Apache/IIS do
                if not req:
                    return
                body = b"hello from tcpwhy lab\n"
                c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nKeep-Alive: timeout="
                          + str(int(idle)).encode() + b"\r\nContent-Length: "
                          + str(len(body)).encode() + b"\r\n\r\n" + body)
        except OSError:
            pass
        finally:
            c.close()

    return handler


def cmd_keepalive_server(idle, port):
    serve(listeners(int(port)), keepalive_handler(float(idle)))
    ready("keepalive")
    threading.Event().wait()


def upload_handler(c):
    try:
        c.settimeout(10)
        req = read_request(c)
        head, _, rest = req.partition(b"\r\n\r\n")
        n = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                n = int(line.split(b":")[1])
        got = len(rest)
        while got < n:
            chunk = c.recv(1 << 20)
            if not chunk:
                break
            got += len(chunk)
        c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nok\n")
        # The server closes first (HTTP/1.0): it is the side left in TIME_WAIT.
        c.shutdown(socket.SHUT_WR)
        while c.recv(65536):
            pass
    except OSError:
        pass
    finally:
        c.close()


def cmd_post_server(port):
    serve(listeners(int(port)), upload_handler)
    ready("post")
    threading.Event().wait()


def cmd_crawl_reader(port, mss, chunk, delay):
    mss, chunk, delay = int(mss), int(chunk), float(delay)

    def handler(c):
        try:
            c.settimeout(30)
            total = 0
            while True:
                data = c.recv(chunk)
                if not data:
                    break
                total += len(data)
                time.sleep(delay)  # an overloaded receiver: it takes little at a time
            c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nOK\n")
            c.shutdown(socket.SHUT_WR)
            while c.recv(65536):
                pass
        except OSError:
            pass
        finally:
            c.close()

    socks = listeners(int(port), rcvbuf=1024)
    for ls in socks:
        ls.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, mss)
    serve(socks, handler)
    ready("crawl")
    threading.Event().wait()


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


# ---------------------------------------------------------------- DNS


def dns_name(buf, off):
    labels = []
    jumps = 0
    end = None
    while True:
        n = buf[off]
        if n & 0xC0 == 0xC0:
            if end is None:
                end = off + 2
            off = ((n & 0x3F) << 8) | buf[off + 1]
            jumps += 1
            if jumps > 16:
                raise ValueError("pointer loop")
            continue
        off += 1
        if n == 0:
            break
        labels.append(buf[off : off + n].decode("ascii", "replace"))
        off += n
    return ".".join(labels).lower(), (end if end is not None else off)


def cmd_dns_server(addr, zonefile):
    # zone file lines: NAME TYPE VALUE   (A or AAAA); several lines for one name = round robin
    zone = {}
    with open(zonefile) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3 and not line.startswith("#"):
                zone.setdefault((parts[0].lower().rstrip("."), parts[1].upper()), []).append(
                    parts[2]
                )
    turn = {}
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.bind((addr, 53))
    ready("dns")
    while True:
        q, peer = s.recvfrom(4096)
        try:
            qid, flags, qd = struct.unpack("!HHH", q[:6])
            name, off = dns_name(q, 12)
            qtype, qclass = struct.unpack("!HH", q[off : off + 4])
        except (ValueError, IndexError, struct.error):
            continue
        question = q[12 : off + 4]
        tname = {1: "A", 28: "AAAA"}.get(qtype, str(qtype))
        known = any(k[0] == name for k in zone)
        values = list(zone.get((name, tname), []))
        if values:
            k = (name, tname)
            i = turn.get(k, 0)
            turn[k] = i + 1
            values = values[i % len(values) :] + values[: i % len(values)]
        answers = b""
        for v in values:
            rdata = socket.inet_pton(socket.AF_INET if tname == "A" else socket.AF_INET6, v)
            answers += struct.pack("!HHHIH", 0xC00C, qtype, 1, 5, len(rdata)) + rdata
        rcode = 0 if known else 3
        rflags = 0x8400 | (flags & 0x0100) | 0x0080 | rcode  # QR AA RD(copied) RA
        resp = struct.pack("!HHHHHH", qid, rflags, 1, len(values), 0, 0) + question + answers
        s.sendto(resp, peer)


# ---------------------------------------------------------------- zero-window server (scapy)


def cmd_zw_server(iface, addr, port, delay):
    import random

    from scapy.all import IP, TCP, AsyncSniffer, conf, send

    conf.verb = 0
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

    sn = AsyncSniffer(iface=iface, filter="tcp and dst host %s and dst port %d" % (addr, port),
                      prn=handle, store=False, started_callback=lambda: ready("zw"))
    sn.start()
    threading.Event().wait()


def cmd_rst_injector(iface, port_miss, port_exact, port_syn):
    from scapy.all import IP, TCP, AsyncSniffer, conf, send

    conf.verb = 0
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
    sn = AsyncSniffer(iface=iface, filter=flt, prn=handle, store=False,
                      started_callback=lambda: ready("injector"))
    sn.start()
    threading.Event().wait()


def cmd_syn_delay(iface, port, delay):
    """Runs on a router whose iptables drops the SYNs to PORT: forwards each one DELAY s late (a
    slow path for the SYN only, so an injector near the client answers first)."""
    from scapy.all import IP, TCP, AsyncSniffer, conf, send

    conf.verb = 0
    port, delay = int(port), float(delay)

    def late(pkt):
        time.sleep(delay)
        send(pkt)

    def handle(p):
        if IP not in p or TCP not in p:
            return
        t = p[TCP]
        if t.dport != port or (int(t.flags) & 0x12) != 0x02:
            return
        q = p[IP].copy()
        q.ttl -= 1
        del q.chksum
        del q[TCP].chksum  # veth hands the sniffer partial checksums: recompute both
        threading.Thread(target=late, args=(q,), daemon=True).start()

    sn = AsyncSniffer(iface=iface, filter="tcp and dst port %d" % port, prn=handle, store=False,
                      started_callback=lambda: ready("syn-delay"))
    sn.start()
    threading.Event().wait()


def syn_flood(host, port, count):
    """A SYN flood, bounded: COUNT SYNs from spoofed documentation addresses, random ports."""
    import random

    from scapy.all import IP, TCP, conf, send

    conf.verb = 0
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


# ---------------------------------------------------------------- client


class Eof(OSError):
    """The peer closed the connection where the application expected an answer."""


def errname(e):
    import errno

    if isinstance(e, Eof):
        return "EOF"

    if getattr(e, "errno", None):
        return errno.errorcode.get(e.errno, str(e.errno))
    if isinstance(e, socket.timeout):
        return "timeout (application)"
    return type(e).__name__


def family(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def open_conn(host, port, sport=None):
    s = socket.socket(family(host), socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if sport:
        s.bind(("::" if ":" in host else "0.0.0.0", int(sport)))
    s.settimeout(20)  # the kernel's own SYN retries (tcp_syn_retries) end a timeout first
    s.connect((host, int(port)))
    return s


def read_all(s):
    n = 0
    while True:
        chunk = s.recv(65536)
        if not chunk:
            return n
        n += len(chunk)


CURRENT = [None]


def stopped(signum, frame):
    """run.sh stops a client that is still waiting (the dying scenario): say so, then exit."""
    rec = CURRENT[0]
    if rec is not None:
        rec["result"] = "still waiting when stopped"
        print(json.dumps(rec), flush=True)
    os._exit(0)


def action(words):
    a = words[0]
    rec = {"action": " ".join(words)}
    CURRENT[0] = rec
    t0 = time.time()
    s = None
    try:
        if a == "sleep":
            time.sleep(float(words[1]))
            return None
        if a == "win-connect":
            rec["server"] = words[1]
            rec["client"] = "scapy, emulating a Windows connect()"
            rec["client_port"] = int(words[3])
            rec["result"] = win_connect(words[1], int(words[2]), int(words[3]))
            rec["seconds"] = round(time.time() - t0, 3)
            return rec
        if a == "nmap":
            import subprocess

            r = subprocess.run(["nmap"] + words[1:], capture_output=True, text=True)
            rec["result"] = "ok" if r.returncode == 0 else "exit %d" % r.returncode
            rec["open"] = [ln.split()[0] for ln in r.stdout.splitlines() if " open " in ln]
            rec["seconds"] = round(time.time() - t0, 3)
            return rec
        if a == "syn-flood":
            rec["server"] = words[1]
            rec["syns"] = int(words[3])
            rec["send_seconds"] = syn_flood(words[1], int(words[2]), int(words[3]))
            rec["result"] = "ok"
            rec["seconds"] = round(time.time() - t0, 3)
            return rec
        if a == "getaddrinfo":
            fam = {"inet": socket.AF_INET, "inet6": socket.AF_INET6}.get(
                words[2] if len(words) > 2 else "", socket.AF_UNSPEC)
            try:
                infos = socket.getaddrinfo(words[1], 80, fam, socket.SOCK_STREAM)
                rec["addresses"] = sorted({i[4][0] for i in infos})
            except socket.gaierror as e:
                rec["result"] = EAI.get(e.errno, str(e.errno))
                rec["message"] = e.strerror
                rec["seconds"] = round(time.time() - t0, 3)
                return rec
        elif a == "run":
            import subprocess

            try:
                p = subprocess.run(words[1:], stdin=subprocess.DEVNULL, capture_output=True,
                                   timeout=40)
                err = [l for l in p.stderr.decode(errors="replace").splitlines() if l.strip()]
                rec["result"] = "ok" if p.returncode == 0 else "exit %d" % p.returncode
                rec["stderr"] = err[-3:]
            except subprocess.TimeoutExpired:
                rec["result"] = "timeout (application)"
            rec["seconds"] = round(time.time() - t0, 3)
            return rec
        elif a == "burst":
            rec["server"] = words[1]
            rec["connections"] = burst(words[1], int(words[2]), int(words[3]), float(words[4]))
        elif a == "create-connection":
            rec["name"] = words[1]
            tmo = float(words[3]) if len(words) > 3 else None
            rec["addresses"] = [i[4][0] for i in socket.getaddrinfo(
                words[1], int(words[2]), socket.AF_UNSPEC, socket.SOCK_STREAM)]
            s = socket.create_connection((words[1], int(words[2])), timeout=tmo)
            rec["server"] = s.getpeername()[0]
            rec["client_port"] = s.getsockname()[1]
            rec["connect_seconds"] = round(time.time() - t0, 3)
            s.settimeout(10)
            s.sendall(("GET / HTTP/1.0\r\nHost: %s\r\n\r\n" % words[1]).encode())
            rec["bytes"] = read_all(s)
        elif a == "connect-deadline":
            rec["name"] = words[1]
            infos = socket.getaddrinfo(words[1], int(words[2]), socket.AF_UNSPEC,
                                       socket.SOCK_STREAM)
            rec["addresses"] = [i[4][0] for i in infos]
            fam, _, _, _, sa = infos[0]
            rec["server"] = sa[0]
            s = socket.socket(fam, socket.SOCK_STREAM)
            s.settimeout(float(words[3]))
            s.connect(sa)
        elif a == "ecn-rst-retry":
            rec["server"] = words[1]
            rec["client"] = "scapy, emulating a macOS connect() with ECN"
            rec["client_port"] = int(words[3])
            rec["result"] = ecn_rst_retry(words[1], int(words[2]), int(words[3]))
            rec["seconds"] = round(time.time() - t0, 3)
            return rec
        elif a == "resolve":
            rec["addresses"] = resolve(words[1], words[2], words[3] if len(words) > 3 else "A")
        elif a == "resolve-get":
            addrs = resolve(words[1], words[3])
            rec["addresses"] = addrs
            rec["server"] = addrs[0] if addrs else None
            if not addrs:
                raise OSError(0, "no address")
            s = open_conn(addrs[0], words[2])
            rec["client_port"] = s.getsockname()[1]
            s.sendall(("GET / HTTP/1.0\r\nHost: %s\r\n\r\n" % words[1]).encode())
            rec["bytes"] = read_all(s)
        elif a == "upload-slow":
            rec["server"] = words[1]
            s = open_conn(words[1], words[2])
            rec["client_port"] = s.getsockname()[1]
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, 60000)
            end = time.time() + float(words[3])
            s.sendall(b"PUT /upload HTTP/1.0\r\n\r\n")
            while time.time() < end:
                s.sendall(b"u" * 1000)
                time.sleep(0.1)
        elif a == "keepalive":
            rec["server"] = words[1]
            s = open_conn(words[1], words[2])
            rec["client_port"] = s.getsockname()[1]
            s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 1)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, 1)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, 30)
            s.sendall(b"SUBSCRIBE /events HTTP/1.0\r\n\r\n")
            s.settimeout(float(words[3]))
            try:
                s.recv(65536)
            except socket.timeout:
                pass
        elif a == "get-giveup":
            rec["server"] = words[1]
            s = open_conn(words[1], words[2])
            rec["client_port"] = s.getsockname()[1]
            s.sendall(("GET / HTTP/1.0\r\nHost: %s\r\n\r\n" % words[1]).encode())
            s.settimeout(float(words[3]))
            try:
                rec["bytes"] = read_all(s)
            except socket.timeout:
                # The application's read timeout: it aborts the connection (RST).
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                raise
        elif a == "get-halfclose":
            rec["server"] = words[1]
            s = open_conn(words[1], words[2])
            rec["client_port"] = s.getsockname()[1]
            s.sendall(("GET / HTTP/1.0\r\nHost: %s\r\n\r\n" % words[1]).encode())
            s.shutdown(socket.SHUT_WR)
            rec["bytes"] = read_all(s)
        elif a == "upload":
            rec["server"] = words[1]
            s = open_conn(words[1], words[2])
            rec["client_port"] = s.getsockname()[1]
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, int(float(words[4]) * 1000))
            n = int(words[3])
            s.sendall(b"PUT /upload HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n\r\n"
                      % (words[1].encode(), n))
            time.sleep(0.3)  # the head is acknowledged before the body goes
            s.sendall(b"u" * n)
            head, body = read_http(s)
            rec["bytes"] = len(head) + len(body)
        elif a == "pool-get":
            rec["server"] = words[1]
            s = open_conn(words[1], words[2])
            rec["client_port"] = s.getsockname()[1]
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, int(float(words[3]) * 1000))
            rec["requests_ok"] = 0
            rec["idle"] = []
            req = ("GET / HTTP/1.1\r\nHost: %s\r\n\r\n" % words[1]).encode()
            for idle in [None] + words[4:]:
                if idle is not None:
                    time.sleep(float(idle))
                    rec["idle"].append(float(idle))
                s.sendall(req)
                head, _ = read_http(s)
                if not head:
                    raise ConnectionResetError(104, "closed by the server")
                rec["requests_ok"] += 1
        elif a == "keepalive-race":
            rec["server"] = words[1]
            s = open_conn(words[1], words[2])
            rec["client_port"] = s.getsockname()[1]
            req = ("GET / HTTP/1.1\r\nHost: %s\r\nConnection: keep-alive\r\n\r\n"
                   % words[1]).encode()
            s.sendall(req)
            resp = b""
            while b"hello from tcpwhy lab\n" not in resp:
                chunk = s.recv(65536)
                if not chunk:
                    break
                resp += chunk
            rec["first"] = "ok" if resp.startswith(b"HTTP/1.1 200") else "no answer"
            # The pool keeps the connection; the next request comes after WAIT s on the same
            # socket, without looking whether the server closed it meanwhile.
            time.sleep(float(words[3]))
            s.sendall(req)
            if s.recv(65536) == b"":
                # What .NET reports as "The server closed the connection" / "A connection that
                # was expected to be kept alive was closed by the server", Python's http.client
                # as RemoteDisconnected, Go as "server closed idle connection".
                raise Eof("the server closed the connection without an answer")
        elif a == "post-reuse":
            rec["server"] = words[1]
            sport, n = int(words[3]), int(words[4])
            s = open_conn(words[1], words[2], sport)
            rec["client_port"] = sport
            s.sendall(("POST /upload HTTP/1.0\r\nHost: %s\r\nContent-Length: %d\r\n\r\n"
                       % (words[1], n)).encode())
            block = b"u" * 65536
            left = n
            while left > 0:
                left -= s.send(block[:min(left, len(block))])
            rec["bytes"] = read_all(s)
            s.close()
            # The same source port again at once (an application that binds a fixed port):
            # the server still holds the old connection in TIME_WAIT.
            t1 = time.time()
            s = open_conn(words[1], words[2], sport)
            rec["reconnect_seconds"] = round(time.time() - t1, 3)
            s.sendall(("GET / HTTP/1.0\r\nHost: %s\r\n\r\n" % words[1]).encode())
            rec["bytes2"] = read_all(s)
        elif a == "serial-burst":
            rec["server"] = words[1]
            ok, errs, ports = 0, {}, set()
            for _ in range(int(words[3])):
                c = None
                try:
                    c = open_conn(words[1], words[2])
                    ports.add(c.getsockname()[1])
                    c.sendall(("GET / HTTP/1.0\r\nHost: %s\r\n\r\n" % words[1]).encode())
                    read_all(c)
                    ok += 1
                except OSError as e:
                    errs[errname(e)] = errs.get(errname(e), 0) + 1
                finally:
                    if c is not None:
                        c.close()
            rec["ok"] = ok
            rec["errors"] = errs
            rec["ports"] = len(ports)
            rec["port_range"] = [min(ports), max(ports)] if ports else None
        elif a in ("get", "connect", "post", "bulk", "get-timeout"):
            rec["server"] = words[1]
            sport = words[3] if a in ("get", "connect", "post") and len(words) > 3 else None
            s = open_conn(words[1], words[2], sport)
            rec["client_port"] = s.getsockname()[1]
            if a == "get-timeout":
                # Give up on unacknowledged data after this many seconds (TCP_USER_TIMEOUT, as
                # applications and Windows' retransmission limit do): ETIMEDOUT, at a fixed time.
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT,
                             int(float(words[3]) * 1000))
                a = "get"
            if a == "get":
                s.sendall(("GET / HTTP/1.0\r\nHost: %s\r\n\r\n" % words[1]).encode())
                rec["bytes"] = read_all(s)
            elif a == "post":
                body = b"<soap:Envelope>QueryWebSrv</soap:Envelope>"
                s.sendall(b"POST /WebSrv/QueryWebSrv.asmx HTTP/1.1\r\nHost: web2\r\n"
                          b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
                rec["bytes"] = read_all(s)
            elif a == "bulk":
                n = int(words[3])
                s.sendall(b"PUT /upload HTTP/1.0\r\n\r\n" + b"u" * n)
                s.shutdown(socket.SHUT_WR)
                rec["bytes"] = read_all(s)
        else:
            raise SystemExit("unknown action " + a)
        rec["result"] = "ok"
    except OSError as e:
        rec["result"] = errname(e)
    finally:
        if s is not None:
            s.close()
    rec["seconds"] = round(time.time() - t0, 3)
    return rec


def burst(host, port, n, timeout):
    """N `get`s at once (an application's connection pool filling up at a burst of requests)."""
    res = [None] * n

    def one(i):
        t0 = time.time()
        r = {}
        s = None
        try:
            s = socket.socket(family(host), socket.SOCK_STREAM)
            s.settimeout(timeout)
            s.connect((host, port))
            r["client_port"] = s.getsockname()[1]
            r["connect_seconds"] = round(time.time() - t0, 3)
            s.sendall(("GET / HTTP/1.0\r\nHost: %s\r\n\r\n" % host).encode())
            r["bytes"] = read_all(s)
            r["result"] = "ok"
        except OSError as e:
            r["result"] = errname(e)
        finally:
            if s is not None:
                try:
                    r.setdefault("client_port", s.getsockname()[1])
                except OSError:
                    pass
                s.close()
        r["seconds"] = round(time.time() - t0, 3)
        res[i] = r

    ts = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return res


def ecn_rst_retry(host, port, sport):
    """What macOS (and Windows with ECN on) puts on the wire when its ECN-setup SYN (ECE+CWR) is
    answered by a RST: the same connection tried again with a plain SYN (same port, same ISN)
    about 1 s later. Linux never does this (its connect() fails with ECONNREFUSED; it falls back
    to a plain SYN only after a *lost* ECN SYN), hence scapy; the router and server are real."""
    from scapy.all import IP, TCP, AsyncSniffer, Raw, conf, send, sr1

    conf.verb = 0
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
    from scapy.all import IP, TCP, conf, sr1

    conf.verb = 0
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


EAI = {-2: "EAI_NONAME", -3: "EAI_AGAIN", -4: "EAI_FAIL", -5: "EAI_NODATA", -8: "EAI_SERVICE",
       -11: "EAI_SYSTEM"}

QID = [0x2383]
GAP = float(os.environ.get("LAB_GAP", "0.1"))


def resolve(name, server, qtype="A"):
    qt = {"A": 1, "AAAA": 28}[qtype]
    QID[0] = (QID[0] + 1) & 0xFFFF
    q = struct.pack("!HHHHHH", QID[0], 0x0100, 1, 0, 0, 0)
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\x00" + struct.pack("!HH", qt, 1)
    s = socket.socket(family(server), socket.SOCK_DGRAM)
    s.settimeout(2)
    try:
        s.sendto(q, (server, 53))
        r, _ = s.recvfrom(4096)
    finally:
        s.close()
    an = struct.unpack("!H", r[6:8])[0]
    _, off = dns_name(r, 12)
    off += 4
    out = []
    for _ in range(an):
        _, off = dns_name(r, off)
        typ, _, _, rdlen = struct.unpack("!HHIH", r[off : off + 10])
        off += 10
        rd = r[off : off + rdlen]
        off += rdlen
        if typ == 1:
            out.append(socket.inet_ntop(socket.AF_INET, rd))
        elif typ == 28:
            out.append(socket.inet_ntop(socket.AF_INET6, rd))
    return out


def cmd_client(args):
    import signal

    signal.signal(signal.SIGTERM, stopped)
    steps = " ".join(args).split(",")
    for step in steps:
        words = step.split()
        if not words:
            continue
        rec = action(words)
        time.sleep(GAP)  # an application does not fire its connections in the same millisecond
        if rec is not None:
            print(json.dumps(rec), flush=True)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "http-server":
        cmd_http_server(args)
    elif cmd == "named-server":
        cmd_named_server(*args)
    elif cmd == "abort-server":
        cmd_abort_server(*args)
    elif cmd == "slow-reader":
        cmd_slow_reader(*args)
    elif cmd == "sink":
        cmd_sink(*args)
    elif cmd == "halfclose-abort":
        cmd_halfclose_abort(*args)
    elif cmd == "crawl-reader":
        cmd_crawl_reader(*args)
    elif cmd == "delay-bridge":
        cmd_delay_bridge(*args)
    elif cmd == "dns-server":
        cmd_dns_server(*args)
    elif cmd == "zw-server":
        cmd_zw_server(*args)
    elif cmd == "plain-http-server":
        cmd_plain_http_server(*args)
    elif cmd == "tls-reset-server":
        cmd_tls_reset_server(*args)
    elif cmd == "slow-http":
        cmd_slow_http(args[0], args[1:])
    elif cmd == "syn-delay":
        cmd_syn_delay(*args)
    elif cmd == "rst-injector":
        cmd_rst_injector(*args)
    elif cmd == "backlog-server":
        cmd_backlog_server(*args)
    elif cmd == "upload-server":
        cmd_upload_server(args)
    elif cmd == "pool-server":
        cmd_pool_server(args)
    elif cmd == "keepalive-server":
        cmd_keepalive_server(*args)
    elif cmd == "post-server":
        cmd_post_server(*args)
    elif cmd == "client":
        cmd_client(args)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
