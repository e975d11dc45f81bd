"""The lab's servers on real Linux sockets (lab.py's server subcommands), and its DNS server.

Every server listens on IPv4 and IPv6 (`listeners`), runs a handler per connection in a thread
(`serve`) and tells run.sh it is up by writing $LAB_READY_DIR/NAME.ready (`ready`).
"""

import functools
import os
import socket
import struct
import threading
import time

READY_DIR = os.environ.get("LAB_READY_DIR", "/tmp")


def ready(name):
    """Tells run.sh that a server is listening."""
    with open(os.path.join(READY_DIR, name + ".ready"), "w") as f:
        f.write(str(os.getpid()))


def forever():
    threading.Event().wait()


def set_proc_name(name):
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        libc.prctl(15, name.encode()[:15], 0, 0, 0)  # PR_SET_NAME
    except Exception:
        pass


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


def run_servers(name, ports, handler, rcvbuf=None, mss=None):
    """`handler` on every port of PORTS (IPv4 and IPv6), then NAME.ready; never returns."""
    for p in ports:
        socks = listeners(int(p), rcvbuf=rcvbuf)
        if mss:
            for ls in socks:
                ls.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, mss)
        serve(socks, handler)
    ready(name)
    forever()


def connection(timeout=None):
    """A connection handler's frame: the socket's timeout, an OSError ends the handler quietly,
    and the socket is closed whatever happened."""

    def wrap(f):
        @functools.wraps(f)
        def run(c):
            try:
                if timeout is not None:
                    c.settimeout(timeout)
                f(c)
            except OSError:
                pass
            finally:
                c.close()

        return run

    return wrap


def abort(c):
    """SO_LINGER 0: close() becomes an abortive RST (an application that dies, SChannel)."""
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def drain(c):
    """Reads to the peer's FIN, so the server never resets a half-read socket."""
    while c.recv(65536):
        pass


def answer_and_close(c, response):
    """Sends RESPONSE, closes the sending side (FIN) and waits for the client's FIN."""
    c.sendall(response)
    c.shutdown(socket.SHUT_WR)
    drain(c)


def response(body, version=b"1.0", head=b""):
    return (b"HTTP/" + version + b" 200 OK\r\n" + head + b"Content-Length: "
            + str(len(body)).encode() + b"\r\n\r\n" + body)


HELLO = b"hello from tcpwhy lab\n"
OK3 = b"HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nOK\n"
PARTIAL = b"HTTP/1.0 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"x" * 1000


def read_request(c, limit=1 << 20):
    data = b""
    while b"\r\n\r\n" not in data and len(data) < limit:
        chunk = c.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def content_length(head):
    n = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            n = int(line.split(b":")[1])
    return n


def read_http(c, first=b""):
    """One HTTP message with a Content-Length body (or none): (head, body); (b"", b"") at EOF."""
    data = first
    while b"\r\n\r\n" not in data:
        chunk = c.recv(65536)
        if not chunk:
            return b"", b""
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    n = content_length(head)
    while len(body) < n:
        chunk = c.recv(65536)
        if not chunk:
            break
        body += chunk
    return head, body


# ---------------------------------------------------------------- HTTP servers


@connection(10)
def http_handler(c):
    read_http(c)  # the request, and a POST's announced body
    answer_and_close(c, response(HELLO, head=b"Content-Type: text/plain\r\n"))


def cmd_http_server(ports):
    run_servers("http-" + "-".join(ports), ports, http_handler)


def cmd_slow_http(delay, ports):
    delay = float(delay)

    def handler(c):
        time.sleep(delay)  # the application thinks before it answers
        http_handler(c)

    run_servers("slow-http", ports, handler)


def cmd_named_server(name, port):
    set_proc_name(name)
    run_servers(name, [port], http_handler)


@connection(10)
def abort_handler(c):
    read_request(c)
    c.sendall(PARTIAL)
    time.sleep(0.3)
    # The application dies mid-answer: SO_LINGER 0 turns close() into an abortive RST.
    abort(c)


def cmd_abort_server(port):
    run_servers("abort", [port], abort_handler)


@connection(10)
def plain_http_handler(c):
    first = c.recv(65536)
    if first[:1].isupper():
        # A real request: answer it like http-server.
        while b"\r\n\r\n" not in first:
            chunk = c.recv(65536)
            if not chunk:
                break
            first += chunk
        answer_and_close(c, response(HELLO))
    else:
        # Not HTTP (a TLS ClientHello starts with 0x16): rejected at the first byte, like
        # nginx's "400 Bad Request" to a TLS client on its plain port.
        msg = b"<html><head><title>400 Bad Request</title></head></html>\r\n"
        answer_and_close(c, b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/html\r\n"
                         b"Content-Length: " + str(len(msg)).encode()
                         + b"\r\nConnection: close\r\n\r\n" + msg)


def cmd_plain_http_server(port):
    run_servers("plain-http", [port], plain_http_handler)


@connection(10)
def tls_reset_handler(c):
    c.recv(65536)  # the ClientHello
    abort(c)


def cmd_tls_reset_server(port):
    run_servers("tls-reset", [port], tls_reset_handler)


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

    @connection(30)
    def handler(c):
        time.sleep(delay)  # the application is busy: the receive buffer fills, window 0
        total = 0
        while True:
            chunk = c.recv(65536)
            if not chunk:
                break
            total += len(chunk)
            if total >= 1 << 30:
                break
        answer_and_close(c, OK3)

    run_servers("slow", [port], handler, rcvbuf=2048)


@connection(30)
def stored_handler(c):
    _, body = read_http(c)
    answer_and_close(c, response(b"stored %d bytes\n" % len(body)))


def cmd_upload_server(ports):
    run_servers("upload", ports, stored_handler)


@connection(120)
def pool_handler(c):
    while True:
        head, _ = read_http(c)
        if not head:
            break
        c.sendall(response(b"hello again from tcpwhy lab\n", version=b"1.1"))


def cmd_pool_server(ports):
    run_servers("pool", ports, pool_handler)


@connection()
def sink_handler(c):
    drain(c)


def cmd_sink(port):
    run_servers("sink", [port], sink_handler)


@connection(10)
def halfclose_abort_handler(c):
    drain(c)  # the request, up to the client's FIN
    c.sendall(PARTIAL)
    time.sleep(0.3)
    abort(c)


def cmd_halfclose_abort(port):
    run_servers("halfclose-abort", [port], halfclose_abort_handler)


def keepalive_handler(idle):
    @connection()
    def handler(c):
        while True:
            c.settimeout(idle)
            try:
                req = read_request(c)
            except socket.timeout:
                return  # the keep-alive timeout: close (FIN), as nginx/Apache/IIS do
            if not req:
                return
            c.sendall(response(HELLO, version=b"1.1", head=b"Content-Type: text/plain\r\n"
                               b"Keep-Alive: timeout=" + str(int(idle)).encode() + b"\r\n"))

    return handler


def cmd_keepalive_server(idle, port):
    run_servers("keepalive", [port], keepalive_handler(float(idle)))


@connection(10)
def upload_handler(c):
    req = read_request(c)
    head, _, rest = req.partition(b"\r\n\r\n")
    n = content_length(head)
    got = len(rest)
    while got < n:
        chunk = c.recv(1 << 20)
        if not chunk:
            break
        got += len(chunk)
    # The server closes first (HTTP/1.0): it is the side left in TIME_WAIT.
    answer_and_close(c, b"HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nok\n")


def cmd_post_server(port):
    run_servers("post", [port], upload_handler)


def cmd_crawl_reader(port, mss, chunk, delay):
    mss, chunk, delay = int(mss), int(chunk), float(delay)

    @connection(30)
    def handler(c):
        while True:
            data = c.recv(chunk)
            if not data:
                break
            time.sleep(delay)  # an overloaded receiver: it takes little at a time
        answer_and_close(c, OK3)

    run_servers("crawl", [port], handler, rcvbuf=1024, mss=mss)


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
