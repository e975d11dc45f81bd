"""The lab's client (lab.py `client ACTION, ...`): real Linux sockets and glibc's resolver, as
applications use them, one JSON line per action saying what the application saw (errno names as
Linux reports them).
"""

import json
import os
import socket
import struct
import threading
import time

from labserve import dns_name, read_http
from labwire import ecn_rst_retry, syn_flood, win_connect


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


def connect(rec, host, port, sport=None):
    """open_conn, with the server and the client's port in the action's record."""
    rec["server"] = host
    s = open_conn(host, port, sport)
    rec["client_port"] = s.getsockname()[1]
    return s


def get_request(host):
    return ("GET / HTTP/1.0\r\nHost: %s\r\n\r\n" % host).encode()


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


# client actions that put another stack's connect() on the wire: who, how
WIRE_CLIENTS = {
    "win-connect": ("scapy, emulating a Windows connect()", win_connect),
    "ecn-rst-retry": ("scapy, emulating a macOS connect() with ECN", ecn_rst_retry),
}


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
        if a in WIRE_CLIENTS:
            who, f = WIRE_CLIENTS[a]
            rec["server"] = words[1]
            rec["client"] = who
            rec["client_port"] = int(words[3])
            rec["result"] = f(words[1], int(words[2]), int(words[3]))
        elif a == "nmap":
            import subprocess

            r = subprocess.run(["nmap"] + words[1:], capture_output=True, text=True)
            rec["result"] = "ok" if r.returncode == 0 else "exit %d" % r.returncode
            rec["open"] = [ln.split()[0] for ln in r.stdout.splitlines() if " open " in ln]
        elif a == "syn-flood":
            rec["server"] = words[1]
            rec["syns"] = int(words[3])
            rec["send_seconds"] = syn_flood(words[1], int(words[2]), int(words[3]))
            rec["result"] = "ok"
        elif a == "getaddrinfo":
            fam = {"inet": socket.AF_INET, "inet6": socket.AF_INET6}.get(
                words[2] if len(words) > 2 else "", socket.AF_UNSPEC)
            try:
                infos = socket.getaddrinfo(words[1], 80, fam, socket.SOCK_STREAM)
                rec["addresses"] = sorted({i[4][0] for i in infos})
            except socket.gaierror as e:
                rec["result"] = EAI.get(e.errno, str(e.errno))
                rec["message"] = e.strerror
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
        elif a == "burst":
            rec["server"] = words[1]
            more, after = (int(words[5]), float(words[6])) if len(words) > 6 else (0, 0.0)
            rec["connections"] = burst(words[1], int(words[2]), int(words[3]), float(words[4]),
                                       more, after)
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
            s.sendall(get_request(words[1]))
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
            s.sendall(get_request(words[1]))
            rec["bytes"] = read_all(s)
        elif a == "upload-slow":
            s = connect(rec, words[1], words[2])
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, 60000)
            end = time.time() + float(words[3])
            s.sendall(b"PUT /upload HTTP/1.0\r\n\r\n")
            while time.time() < end:
                s.sendall(b"u" * 1000)
                time.sleep(0.1)
        elif a == "keepalive":
            s = connect(rec, words[1], words[2])
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
            s = connect(rec, words[1], words[2])
            s.sendall(get_request(words[1]))
            s.settimeout(float(words[3]))
            try:
                rec["bytes"] = read_all(s)
            except socket.timeout:
                # The application's read timeout: it aborts the connection (RST).
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                raise
        elif a == "get-halfclose":
            s = connect(rec, words[1], words[2])
            s.sendall(get_request(words[1]))
            s.shutdown(socket.SHUT_WR)
            rec["bytes"] = read_all(s)
        elif a == "upload":
            s = connect(rec, words[1], words[2])
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, int(float(words[4]) * 1000))
            n = int(words[3])
            s.sendall(b"PUT /upload HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n\r\n"
                      % (words[1].encode(), n))
            time.sleep(0.3)  # the head is acknowledged before the body goes
            s.sendall(b"u" * n)
            head, body = read_http(s)
            rec["bytes"] = len(head) + len(body)
        elif a == "pool-get":
            s = connect(rec, words[1], words[2])
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
            s = connect(rec, words[1], words[2])
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
            s.sendall(get_request(words[1]))
            rec["bytes2"] = read_all(s)
        elif a == "serial-burst":
            rec["server"] = words[1]
            ok, errs, ports = 0, {}, set()
            for _ in range(int(words[3])):
                c = None
                try:
                    c = open_conn(words[1], words[2])
                    ports.add(c.getsockname()[1])
                    c.sendall(get_request(words[1]))
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
            sport = words[3] if a in ("get", "connect", "post") and len(words) > 3 else None
            s = connect(rec, words[1], words[2], sport)
            if a == "get-timeout":
                # Give up on unacknowledged data after this many seconds (TCP_USER_TIMEOUT, as
                # applications and Windows' retransmission limit do): ETIMEDOUT, at a fixed time.
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT,
                             int(float(words[3]) * 1000))
                a = "get"
            if a == "get":
                s.sendall(get_request(words[1]))
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
        rec.setdefault("result", "ok")
    except OSError as e:
        rec["result"] = errname(e)
    finally:
        if s is not None:
            s.close()
    rec["seconds"] = round(time.time() - t0, 3)
    return rec


def burst(host, port, n, timeout, more=0, after=0.0):
    """N `get`s at once (an application's connection pool filling up at a burst of requests),
    then MORE of them AFTER s later (requests that come while the first N still wait); the
    connections in the order they started."""
    res = [None] * (n + more)

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
            s.sendall(get_request(host))
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

    ts = [threading.Thread(target=one, args=(i,)) for i in range(n + more)]
    for i, t in enumerate(ts):
        if i == n:
            time.sleep(after)
        t.start()
    for t in ts:
        t.join()
    return res


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

