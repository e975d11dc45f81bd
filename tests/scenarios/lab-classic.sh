# Sourced by run.sh, in its order, after the topology and the servers are up: its helpers
# (scenario, want, labwait, nsx, bg, listening …) and variables are this file's.
# The classic failures: refused connections (the seed's case, a Windows client's retries, a firewall and a
# forged refusal), SYN and data timeouts, ICMP errors, slow and incomplete handshakes, zero windows, round
# robin to a broken backend, IPv6.

if want refused-2383; then
  # The seed's second case: the client asks for 2383 (SSAS 2005), the server listens on 2725.
  scenario refused-2383 "get $APP 80, connect $SQL 2383 20531, sleep 0.5, \
    connect $SQL 2383 20531, sleep 0.5, connect $SQL 2383 20531, sleep 0.3, get $SQL 2725" sql
  listening sql refused-2383
fi

if want refused-windows-retry; then
  # The seed's refused case as a Windows client makes it: the same SYN (same port, same ISN)
  # resent 0.5 s after each RST, 3 times. The client is scapy emulating Windows (see lab.py);
  # the server and the routers are real.
  # The client looks like Windows throughout: its real sockets use TTL 128 too.
  nsx cl sysctl -qw net.ipv4.ip_default_ttl=128
  scenario refused-windows-retry "get $APP 80, win-connect $SQL 2383 20531, get $SQL 2725"
  nsx cl sysctl -qw net.ipv4.ip_default_ttl=64
  listening sql refused-windows-retry
fi

if want middlebox-reset; then
  # router1, one hop from the client, resets what the server would have accepted.
  nsx r1 iptables -A FORWARD -p tcp -d $APP --dport 8443 -j REJECT --reject-with tcp-reset
  scenario middlebox-reset "get $APP 80, get $APP 8443, sleep 0.5, get $APP 8443, get $APP 80" app
  nsx r1 iptables -F FORWARD
  listening app middlebox-reset
fi

if want refused-host-firewall; then
  # The service listens on 8443, but the server's own firewall rejects it with a reset: the RST
  # comes from the server itself (TTL 62, like its other packets), and its listener table shows
  # the port open. Refused by the host, not by a missing service.
  nsx app iptables -A INPUT -p tcp --dport 8443 -j REJECT --reject-with tcp-reset
  scenario refused-host-firewall "get $APP 80, connect $APP 8443, get $APP 80"
  nsx app iptables -F INPUT
  listening app refused-host-firewall
fi

if want syn-timeout; then
  # router2 silently drops the SYNs: connect() times out after 3 tries (ETIMEDOUT, 10060).
  nsx r2 iptables -A FORWARD -p tcp -d $APP --dport 8080 -j DROP
  scenario syn-timeout "get $APP 80, connect $APP 8080, get $APP 80"
  nsx r2 iptables -F FORWARD
  listening app syn-timeout
fi

if want icmp-unreachable; then
  # router2 answers with ICMP errors: host unreachable for .14, port unreachable for :5432,
  # administratively prohibited (firewalld's default) for :5433, ICMPv6 port unreachable for
  # [app]:5432.
  nsx r2 iptables -A FORWARD -d 203.0.113.14 -j REJECT --reject-with icmp-host-unreachable
  nsx r2 iptables -A FORWARD -p tcp -d $APP --dport 5432 -j REJECT --reject-with icmp-port-unreachable
  nsx r2 iptables -A FORWARD -p tcp -d $APP --dport 5433 -j REJECT --reject-with icmp-admin-prohibited
  nsx r2 ip6tables -A FORWARD -p tcp -d $APP6 --dport 5432 -j REJECT --reject-with icmp6-port-unreachable
  scenario icmp-unreachable "get $APP 80, connect 203.0.113.14 80, connect $APP 5432, \
    connect $APP 5433, connect $APP6 5432, get $APP 80"
  nsx r2 iptables -F FORWARD
  nsx r2 ip6tables -F FORWARD
fi

if want retrans-timeout; then
  # Established, then the client's request is lost again and again (router2 drops the data
  # segments): the client retransmits it with doubling RTO and gives up after 3 s
  # (TCP_USER_TIMEOUT) with ETIMEDOUT. The server, which never got the request, closes after
  # 10 s; the client's stack answers that FIN with a RST (the socket is gone).
  nsx r2 iptables -A FORWARD -p tcp -d $APP --dport 8081 -m length --length 61:65535 -j DROP
  scenario retrans-timeout "get $APP 80, get-timeout $APP 8081 3, sleep 7.5, get $APP 80"
  nsx r2 iptables -F FORWARD
fi

if want slow-connect; then
  # router2 drops every other SYN to app:8082 (the first of each connect): the connection works,
  # but only at the retried SYN, 1 s late ("sometimes the first request hangs").
  nsx r2 iptables -A FORWARD -p tcp --syn -d $APP --dport 8082 -m statistic --mode nth \
    --every 2 --packet 0 -j DROP
  scenario slow-connect "get $APP 80, get $APP 8082, get $APP 80"
  nsx r2 iptables -F FORWARD
fi

if want handshake-incomplete; then
  # router1 lets the client's SYNs through to app:8083 but drops everything else it sends there
  # (a stateful firewall that lost the connection's state, asymmetric routing): the client
  # thinks it is connected, the server never gets the ACK and retransmits its SYN-ACK
  # (tcp_synack_retries=3 here), the client's request times out (3 s user timeout) and its stack
  # answers the last SYN-ACK with a RST (that router1 drops too).
  nsx r1 iptables -A FORWARD -p tcp -d $APP --dport 8083 ! --syn -j DROP
  nsx app sysctl -qw net.ipv4.tcp_synack_retries=3
  scenario handshake-incomplete "get $APP 80, get-timeout $APP 8083 3, sleep 5, get $APP 80" app
  nsx r1 iptables -F FORWARD
fi

if want zero-window-synack; then
  # The seed's first case: web2c's SYN-ACK advertises window 0, it ignores the probes, resets.
  scenario zero-window-synack "get 203.0.113.11 80, post 203.0.113.13 80, get 203.0.113.12 80"
fi

if want intermittent-rr; then
  # The seed's first case as the user saw it: web2.lab.test rotates over three backends, one broken.
  acts="resolve-get web2.lab.test 80 $DNS"
  i=1; while [ $i -lt 12 ]; do acts="$acts, resolve-get web2.lab.test 80 $DNS"; i=$((i + 1)); done
  scenario intermittent-rr "$acts"
fi

if want reset-mid; then
  # Established, data flowed, then the server application aborts (SO_LINGER 0): RST.
  scenario reset-mid "get $APP 80, get $APP 9000, get $APP 80" app
fi

if want zero-window-recover; then
  # The receiver stops reading (tiny SO_RCVBUF), its window closes, then it reads again.
  scenario zero-window-recover "get $APP 80, bulk $APP 9001 30000, get $APP 80"
fi

if want refused-ipv6; then
  # The refused case over IPv6: hop limit 128 - 2 routers = 126.
  scenario refused-ipv6 "get $APP6 80, connect $SQL6 2383 20531, sleep 0.5, \
    connect $SQL6 2383 20531, sleep 0.5, connect $SQL6 2383 20531, sleep 0.3, get $SQL6 2725"
  listening sql refused-ipv6
fi
