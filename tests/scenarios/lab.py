#!/usr/bin/env python3
"""Servers and clients of the tcpwhy lab (tests/scenarios/run.sh runs them in network namespaces).

The code: labserve.py (servers on real sockets, the DNS server), labwire.py (what no real socket
sends: scapy and raw sockets), labclient.py (the client's actions). Every server and client here
is a real Linux socket, except `zw-server`, which answers SYNs with a
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
  synack-delay IFACE PORT DELAY N,M...  (on a router that drops the SYN-ACKs from PORT) forwards
                                 the Nth, Mth … of them DELAY s late, the others at once
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
  burst HOST PORT N SECONDS [MORE AFTER]  N concurrent `get`s (threads), each with a SECONDS
                                 socket timeout; then MORE more of them AFTER seconds later
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


import sys

sys.dont_write_bytecode = True  # run as root inside the checkout: no __pycache__ left behind

import labclient  # noqa: E402
import labserve  # noqa: E402
import labwire  # noqa: E402

# subcommand -> (function, whether it takes the argument list as one list)
COMMANDS = {
    "http-server": (labserve.cmd_http_server, True),
    "named-server": (labserve.cmd_named_server, False),
    "abort-server": (labserve.cmd_abort_server, False),
    "slow-reader": (labserve.cmd_slow_reader, False),
    "sink": (labserve.cmd_sink, False),
    "halfclose-abort": (labserve.cmd_halfclose_abort, False),
    "crawl-reader": (labserve.cmd_crawl_reader, False),
    "delay-bridge": (labwire.cmd_delay_bridge, False),
    "dns-server": (labserve.cmd_dns_server, False),
    "zw-server": (labwire.cmd_zw_server, False),
    "plain-http-server": (labserve.cmd_plain_http_server, False),
    "tls-reset-server": (labserve.cmd_tls_reset_server, False),
    "slow-http": (lambda a: labserve.cmd_slow_http(a[0], a[1:]), True),
    "syn-delay": (labwire.cmd_syn_delay, False),
    "synack-delay": (labwire.cmd_synack_delay, False),
    "rst-injector": (labwire.cmd_rst_injector, False),
    "backlog-server": (labserve.cmd_backlog_server, False),
    "upload-server": (labserve.cmd_upload_server, True),
    "pool-server": (labserve.cmd_pool_server, True),
    "keepalive-server": (labserve.cmd_keepalive_server, False),
    "post-server": (labserve.cmd_post_server, False),
    "client": (labclient.cmd_client, True),
}


def main():
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(__doc__)
    f, as_list = COMMANDS[sys.argv[1]]
    args = sys.argv[2:]
    if as_list:
        f(args)
    else:
        f(*args)


if __name__ == "__main__":
    main()
