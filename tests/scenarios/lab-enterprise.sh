# Sourced by run.sh, in its order, after the topology and the servers are up: its helpers
# (scenario, want, labwait, nsx, bg, listening …) and variables are this file's.
# The classic enterprise failures: a full listen backlog, a slow IPv6 fallback, ECN setup blocked,
# Path-MTU black holes, firewall idle timeouts, the keep-alive race, TIME_WAIT reuse, port exhaustion.

# ---- issue 20, connection setup (helper `fallback`): backlog-full, ipv6-fallback, ecn-syn

if want backlog-full; then
  # app:8097 listens with backlog 1 and its accept loop takes one connection every 2 s (an
  # overloaded application): the kernel keeps two completed connections waiting (backlog + 1).
  # A GET to app:8097 first: the loop takes it and sleeps, so it next accepts 1.9 s into the
  # burst. Two requests fill the queue; four more come 0.5 s later: the kernel drops their SYNs
  # (ListenOverflows) and their retries at 1 s. At 3 s the queue has one slot: the kernel answers
  # the four retried SYNs, queues the first handshake to complete and ignores the other three's
  # ACK (tcp_abort_on_overflow=0, the default): those clients think they are connected, their
  # requests are retransmitted unacknowledged until the application accepts them, one every 2 s.
  # Meanwhile the same port answers other connections: not a dead host, not a firewall. Every
  # request is served.
  # Certain, whatever the load: the client sends 3 SYNs (0, 1, 3 s; then ETIMEDOUT), so the four
  # must all get in at 3 s. Their SYN timers fire on two CPUs a few ms apart; the first
  # handshake fills the slot within 0.1 ms and the later SYNs would be dropped for good, so
  # router2 holds back the SYN-ACKs to these four SYNs (the 4th to 7th from 8097, after the GET's
  # and the first two requests') 0.3 s: all four are answered before an ACK comes back. The
  # 0.5 s gap keeps the four first SYNs behind the first two handshakes (whose SYN-ACKs router2
  # forwards at once, in a few ms), and their 1 s retries 0.4 s before the accept.
  bg app "$PY" "$HERE/lab.py" backlog-server 8097 1 2
  labwait backlog
  nsx r2 iptables -A FORWARD -p tcp -s $APP --sport 8097 --tcp-flags SYN,ACK SYN,ACK -j DROP
  bg r2 "$PY" "$HERE/lab.py" synack-delay br0 8097 0.3 4,5,6,7
  SD=${BG_PIDS##* } # (`ip` execs python: $! is the delayer itself, stopped after the scenario)
  labwait synack-delay
  scenario backlog-full "get $APP 80, get $APP 8097, burst $APP 8097 2 12 4 0.5, get $APP 80" app
  kill "$SD"
  wait "$SD" 2>/dev/null || true
  rm "$WORK/synack-delay.ready"
  nsx app netstat -s 2>/dev/null | grep -i -E 'listen|SYNs to LISTEN' >"$OUT/backlog-full.netstat-s.txt" || true
  nsx app ss -ltn sport = :8097 >"$OUT/backlog-full.ss.txt"
  # The same with net.ipv4.tcp_abort_on_overflow=1 on the server: a connection the full queue
  # cannot take is reset right after the client's handshake ACK (ECONNRESET on its first read).
  # Linux resets only a connection it answered with a request socket (the first SYNs; beyond
  # the listen backlog it answers with SYN cookies, whose ACK a full queue drops silently), so
  # router2 (same DROP rule) holds back the SYN-ACKs to the burst's first two SYNs 0.3 s (a slow
  # path for those clients; below tcpflag's slow_path threshold). A GET to app:8097 just before:
  # the accept loop takes it and sleeps 2 s, the other handshakes complete meanwhile and fill
  # the queue, and the two late ACKs find it full, whatever the machine's load.
  bg r2 "$PY" "$HERE/lab.py" synack-delay br0 8097 0.3 2,3
  SD=${BG_PIDS##* }
  labwait synack-delay
  nsx app sysctl -qw net.ipv4.tcp_abort_on_overflow=1
  scenario backlog-abort "get $APP 80, get $APP 8097, burst $APP 8097 6 12, get $APP 80"
  nsx app sysctl -qw net.ipv4.tcp_abort_on_overflow=0
  kill "$SD"
  wait "$SD" 2>/dev/null || true
  nsx r2 iptables -F FORWARD
fi

if want ipv6-fallback && [ "$HAVE_DNSMASQ" = 1 ]; then
  # dual.lab.test has AAAA 2001:db8:20::30 and A 203.0.113.30 (dnsmasq at .58); router2 drops
  # every IPv6 packet to app:80 (a broken IPv6 path). A client without Happy Eyeballs (Python's
  # socket.create_connection: getaddrinfo order, IPv6 first, one address at a time, as .NET's
  # SocketsHttpHandler and Java do) waits for the kernel to give up on IPv6 (3 SYNs, 0/1/3 s,
  # ETIMEDOUT at 7 s here; 21 s on Windows, about 2 min with Linux defaults), then connects over
  # IPv4. The same with a 2 s per-address timeout; then an application whose own 2 s deadline
  # fires before it tries the A address; then curl, whose Happy Eyeballs starts IPv4 200 ms after
  # IPv6 (healthy: the user notices nothing).
  addr dns eth0 203.0.113.58/24
  dm --listen-address=203.0.113.58 --local=/lab.test/ \
    --host-record=dual.lab.test,203.0.113.30,2001:db8:20::30
  i=0
  while [ "$(nsx dns ss -Hlun | grep -c '203.0.113.58:53 ')" -lt 1 ]; do
    i=$((i + 1)); [ $i -le 100 ] || { log "dnsmasq .58 did not start"; exit 1; }; sleep 0.1
  done
  resolv "nameserver 203.0.113.58"
  nsx r2 ip6tables -A FORWARD -p tcp -d $APP6 --dport 80 -j DROP
  scenario ipv6-fallback "create-connection dual.lab.test 80, sleep 0.5, \
    create-connection dual.lab.test 80 2, sleep 0.5, connect-deadline dual.lab.test 80 2, sleep 0.5, \
    run curl -sS -o /dev/null http://dual.lab.test/"
  nsx r2 ip6tables -F FORWARD
fi

if want ecn-syn; then
  # The client asks for ECN (net.ipv4.tcp_ecn=1: SYN with ECE+CWR). router2 drops such SYNs to
  # app:8095 (an old firewall): Linux retries the SYN without ECN after 1 s (tcp_ecn_fallback) and
  # connects. router2 answers them with a RST for app:8096: a macOS client (scapy: Linux gives up
  # with ECONNREFUSED there instead) sends the same SYN without ECN 1 s later and connects; the
  # client kernel's own RSTs to 8096 are dropped (scapy owns that connection); then Linux itself
  # connects to 8096: its connect() fails with ECONNREFUSED on the RST (no retry without ECN).
  # The requests to app:80 negotiate ECN (SYN-ACK with ECE) and stay silent.
  bg app "$PY" "$HERE/lab.py" http-server 8095 8096
  labwait http-8095-8096
  nsx r2 iptables -A FORWARD -p tcp -d $APP --dport 8095 --syn -m ecn --ecn-tcp-ece --ecn-tcp-cwr -j DROP
  nsx r2 iptables -A FORWARD -p tcp -d $APP --dport 8096 --syn -m ecn --ecn-tcp-ece --ecn-tcp-cwr \
    -j REJECT --reject-with tcp-reset
  nsx cl iptables -A OUTPUT -p tcp --dport 8096 --tcp-flags RST RST -j DROP
  nsx cl sysctl -qw net.ipv4.tcp_ecn=1
  scenario ecn-syn "get $APP 80, get $APP 8095, ecn-rst-retry $APP 8096 40960, sleep 0.3, \
    connect $APP 8096 40970, sleep 0.3, get $APP 80"
  nsx cl sysctl -qw net.ipv4.tcp_ecn=2
  nsx cl iptables -F OUTPUT
  nsx r2 iptables -F FORWARD
fi

# ---- issue 20: Path-MTU black hole, firewall idle timeout (lab.py upload-server, pool-server)
if want pmtu-blackhole || want pmtu-event; then
  bg app "$PY" "$HERE/lab.py" upload-server 9110
  # pmtu-event talks to other addresses of app, so the path MTU the client learns there (its
  # kernel keeps it for 10 min) cannot help the black-hole scenario.
  addr app eth0 203.0.113.31/24; addr6 app eth0 2001:db8:20::31/64
  labwait upload
  # Router2's link to the server network is 1280 bytes (a tunnel, a VPN, PPPoE do that); the
  # client's and the server's own links are 1500, so both announce MSS 1460.
  ip -n "$P-r2" link set br0 mtu 1280
  # One segment per packet on the client (no GSO super-segments in its capture: the sizes seen
  # are the sizes on the wire, as a tap or a host without offloads would show them).
  GSO_SEGS=$(ip -n "$P-cl" -d link show eth0 | sed -n 's/.*gso_max_segs \([0-9]*\).*/\1/p')
  ip -n "$P-cl" link set dev eth0 gso_max_segs 1
fi
if want pmtu-blackhole; then
  # A firewall drops the ICMP "fragmentation needed" / ICMPv6 "packet too big" router2 sends
  # back: the handshake and the small request head pass, the full-size segments of the upload
  # are dropped at router2 again and again, and the client never learns why. No Linux black-hole
  # detection (net.ipv4.tcp_mtu_probing=0, the default): the upload hangs until the
  # application's 4 s TCP_USER_TIMEOUT (Windows: about 21 s of retransmissions) -> ETIMEDOUT.
  nsx r2 iptables -A OUTPUT -p icmp --icmp-type fragmentation-needed -j DROP
  nsx r2 ip6tables -A OUTPUT -p icmpv6 --icmpv6-type packet-too-big -j DROP
  scenario pmtu-blackhole "get $APP 80, upload $APP 9110 20000 4, upload $APP6 9110 20000 4, \
    get $APP 80"
  nsx r2 iptables -F OUTPUT
  nsx r2 ip6tables -F OUTPUT
fi
if want pmtu-event; then
  # The healthy counterpart: router2's ICMP reaches the client, which lowers its segments to the
  # path MTU at once (1280 - 20 - 20 - 12 option bytes = 1228 payload bytes over IPv4, 1208 over
  # IPv6) and the upload
  # completes: a PMTU event, not a failure.
  scenario pmtu-event "upload 203.0.113.31 9110 8000 4, upload 2001:db8:20::31 9110 8000 4"
fi
if want pmtu-blackhole || want pmtu-event; then
  ip -n "$P-r2" link set br0 mtu 1500
  ip -n "$P-cl" link set dev eth0 gso_max_segs "${GSO_SEGS:-65535}"
  ip -n "$P-cl" route flush cache
  ip -n "$P-cl" -6 route flush cache
fi

if want pmtu-blackhole-tls && [ "$HAVE_TLS" = 1 ]; then
  # The common case the other way round: the server's answer is what vanishes. router1's link
  # to the client is 1280 bytes and its ICMP "fragmentation needed" to the server is dropped:
  # curl's ClientHello passes, the server's first full-size segment of its handshake flight
  # (ServerHello, certificate) is dropped again and again, only its small tail reaches the
  # client, and curl gives up after its 10 s --max-time (exit 28). Captured on both sides: the
  # server's capture shows the retransmissions. 10 s, not less: a quiet machine retransmits at
  # 0.2, 0.4, 0.8, 1.6, 3.2 s, but a loaded CI machine once waited 3.7 s after the first one,
  # and the rule (and check.sh) want at least 2.
  ip -n "$P-r1" link set eth0 mtu 1280
  nsx r1 iptables -A OUTPUT -p icmp --icmp-type fragmentation-needed -j DROP
  GSO_APP=$(ip -n "$P-app" -d link show eth0 | sed -n 's/.*gso_max_segs \([0-9]*\).*/\1/p')
  ip -n "$P-app" link set dev eth0 gso_max_segs 1
  scenario pmtu-blackhole-tls "get $APP 80, run curl -sS -k --max-time 10 $RESOLVE \
    https://app.lab.test:4431/, get $APP 80" app
  # The server still retransmits its flight to the client that gave up (its socket lives on after
  # curl's FIN, with the kernel's back-off for minutes): end it now, before the link is back to
  # 1500 bytes, or its late retransmissions reach the client and the client's RSTs show up in the
  # next scenario's capture (a CI run saw them in keepalive-race.pcap).
  nsx app ss -K dst 198.51.100.10 sport = :4431 >/dev/null 2>&1 || true
  i=0
  while [ -n "$(nsx app ss -Htn state all exclude listening exclude time-wait sport = :4431 2>/dev/null)" ]; do
    i=$((i + 1)); [ $i -le 50 ] || { log "pmtu-blackhole-tls: the server's connection lingers"; break; }
    sleep 0.1
  done
  nsx r1 iptables -F OUTPUT
  ip -n "$P-r1" link set eth0 mtu 1500
  ip -n "$P-app" link set dev eth0 gso_max_segs "${GSO_APP:-65535}"
  ip -n "$P-app" route flush cache
fi

if want idle-timeout || want idle-timeout-reset; then
  bg app "$PY" "$HERE/lab.py" pool-server 9111
  labwait pool
  # router1 becomes a stateful firewall: connection tracking with the established-state timeout
  # shortened to 3 s (Linux's default is 5 days, enterprise firewalls 30-60 min, Azure's load
  # balancer 4 min, AWS NLB 350 s) and no mid-stream pick-up (nf_conntrack_tcp_loose=0), so a
  # packet of a connection whose state expired is INVALID.
  nsx r1 iptables -A FORWARD -p tcp -m conntrack --ctstate INVALID -j DROP
  nsx r1 sysctl -qw net.netfilter.nf_conntrack_tcp_timeout_established=3 \
    net.netfilter.nf_conntrack_tcp_loose=0
fi
if want idle-timeout; then
  # A pooled connection: a request, 1 s idle, a request (fine); another connection: a request,
  # 5 s idle, a request that the firewall drops silently; the client retransmits it until its
  # 4 s TCP_USER_TIMEOUT -> ETIMEDOUT.
  scenario idle-timeout "pool-get $APP 9111 4 1, pool-get $APP 9111 4 5"
fi
if want idle-timeout-reset; then
  # The same firewall answers the late request with a RST in the server's name (REJECT
  # --reject-with tcp-reset; TTL 64 one hop away, where the server's packets arrive with 62):
  # ECONNRESET at once.
  nsx r1 iptables -R FORWARD 1 -p tcp -m conntrack --ctstate INVALID -j REJECT --reject-with tcp-reset
  scenario idle-timeout-reset "pool-get $APP 9111 4 1, pool-get $APP 9111 4 5"
fi
if want idle-timeout || want idle-timeout-reset; then
  nsx r1 iptables -F FORWARD
  nsx r1 sysctl -qw net.netfilter.nf_conntrack_tcp_timeout_established=432000 \
    net.netfilter.nf_conntrack_tcp_loose=1
fi

# ---- issue 20: keep-alive race, TIME_WAIT reuse, port exhaustion (helper `reuse`)

if want keepalive-race; then
  # HTTP keep-alive race: app:8090 closes a keep-alive connection after 1 s without a request
  # (nginx's keepalive_timeout is 75 s, Apache's KeepAliveTimeout 5 s, IIS 120 s). The client's
  # pool reuses the connection after 0.3 s (fine), then after 1.3 s: its request goes out after
  # the server's FIN, the server's stack answers it with a RST, and the application reads EOF
  # where it expected an answer.
  bg app "$PY" "$HERE/lab.py" keepalive-server 1 8090
  labwait keepalive
  scenario keepalive-race "get $APP 80, keepalive-race $APP 8090 0.3, keepalive-race $APP 8090 1.3, \
    get $APP 80" app
fi

if want timewait-reuse; then
  # TIME_WAIT collision: the client binds a fixed source port (40500), uploads 4 MB to app:8091,
  # which answers and closes first (it holds TIME_WAIT, 60 s on Linux, 120 s on Windows), then
  # connects again from the same port at once. Its new ISN (a clock that advances about 15.6
  # million a second for a 4-tuple) is below what the server's TIME_WAIT expects next (4 MB
  # further on), and without timestamps (tcp_timestamps=0 on the client, as Windows clients
  # by default) the server cannot tell the SYN is new: it answers with a bare ACK (a challenge
  # ACK, RFC 5961 style) for the old connection; the client's stack resets it and retries the
  # SYN 1 s later, which the server accepts (the RST ended the TIME_WAIT). The upload is
  # captured with a snap length of 128 bytes (headers only).
  bg app "$PY" "$HERE/lab.py" post-server 8091
  labwait post
  nsx cl sysctl -qw net.ipv4.tcp_timestamps=0
  CAP_OPTS="-s 128" scenario timewait-reuse "get $APP 80, post-reuse $APP 8091 40500 4000000, \
    get $APP 80" app
  nsx cl sysctl -qw net.ipv4.tcp_timestamps=1
fi

if want port-exhaustion; then
  # Ephemeral port exhaustion (signs): the client's port range is narrowed to 32 ports (the
  # real default is 28232 on Linux, 16384 on Windows; Linux' connect() takes every other port
  # first, so 16 of them) and it opens 60 short connections to app:8092, one per request, as
  # fast as it can. The server closes first (HTTP/1.0), so its side holds each 4-tuple in
  # TIME_WAIT while the client cycles through its range and reuses the same ports within
  # milliseconds. Real ranges take 135-470 connections a second to get there. Headers only
  # (snap length 96): the capture stays small.
  bg app "$PY" "$HERE/lab.py" http-server 8092
  labwait http-8092
  nsx cl sysctl -qw net.ipv4.ip_local_port_range="40000 40031"
  CAP_OPTS="-s 96" scenario port-exhaustion "get $APP 80, serial-burst $APP 8092 60, get $APP 80"
  nsx cl sysctl -qw net.ipv4.ip_local_port_range="32768 60999"
fi
