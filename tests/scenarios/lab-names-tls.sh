# Sourced by run.sh, in its order, after the topology and the servers are up: its helpers
# (scenario, want, labwait, nsx, bg, listening …) and variables are this file's.
# Names and TLS: the client's own resolver against dnsmasq resolvers that fail each way, and TLS
# handshakes refused by openssl s_server, an SChannel-like reset and a plain-HTTP port.

# ---- names: the client's own glibc resolver (getaddrinfo, curl) against dnsmasq resolvers
RESOLVE="--resolve app.lab.test:4431:$APP --resolve app.lab.test:4432:$APP --resolve app.lab.test:4433:$APP --resolve app.lab.test:8000:$APP"

if want dns-nxdomain && [ "$HAVE_DNSMASQ" = 1 ]; then
  # A search-suffix walk that ends in an answer (app.lab.test.corp.lab.test NXDOMAIN, then
  # app.lab.test; its AAAA is empty beside a good A): silent. nope.lab.test does not exist
  # (NXDOMAIN for the name and its suffixed form; curl (6) too); mail.lab.test has only an MX
  # record (NOERROR, no address: EAI_NODATA / 11004).
  resolv "nameserver 203.0.113.54" "search corp.lab.test" "options ndots:3"
  scenario dns-nxdomain "getaddrinfo app.lab.test, getaddrinfo nope.lab.test, \
    run curl -sS http://nope.lab.test/, getaddrinfo mail.lab.test"
fi

if want dns-servfail && [ "$HAVE_DNSMASQ" = 1 ]; then
  # The resolver validates DNSSEC and its upstream cannot prove anything: SERVFAIL
  # (EAI_AGAIN / 11002), which glibc asks again.
  resolv "nameserver 203.0.113.55"
  scenario dns-servfail "getaddrinfo app.lab.test"
fi

if want dns-refused && [ "$HAVE_DNSMASQ" = 1 ]; then
  # A DNS server that is not a resolver for this client (no upstream): REFUSED.
  resolv "nameserver 203.0.113.56"
  scenario dns-refused "getaddrinfo app.lab.test, run curl -sS http://app.lab.test/"
fi

if want dns-timeout; then
  # The client is configured with a resolver that never answers (its port 53 dropped): glibc
  # asks A and AAAA, again after 5 s, and gives up after 10 s (EAI_AGAIN).
  resolv "nameserver 203.0.113.57"
  scenario dns-timeout "getaddrinfo app.lab.test"
fi

# ---- TLS: openssl s_server and curl / openssl s_client on the client
if want tls-version && [ "$HAVE_TLS" = 1 ]; then
  # TLS 1.0 and 1.1 clients (openssl s_client, curl) against a TLS 1.2+ server: alert 70
  # protocol_version; against an SChannel-like server: a reset right after the ClientHello.
  # A TLS 1.3 connection to the same server works (close_notify at the end): silent.
  OLD="-cipher DEFAULT@SECLEVEL=0"
  scenario tls-version "run curl -sS -k $RESOLVE https://app.lab.test:4431/, \
    run openssl s_client -connect $APP:4431 -servername app.lab.test -tls1 $OLD, \
    run openssl s_client -connect $APP:4431 -servername app.lab.test -tls1_1 $OLD, \
    run curl -sS -k --tlsv1.0 --tls-max 1.1 --ciphers DEFAULT@SECLEVEL=0 $RESOLVE https://app.lab.test:4431/, \
    run openssl s_client -connect $APP:4433 -servername app.lab.test -tls1 $OLD"
fi

if want tls-client-cert && [ "$HAVE_TLS" = 1 ]; then
  # The server requires a client certificate, curl has none (TLS 1.2: the server's alert 40
  # handshake_failure is in clear).
  scenario tls-client-cert "run curl -sS -k --tls-max 1.2 $RESOLVE https://app.lab.test:4432/"
fi

if want tls-untrusted && [ "$HAVE_TLS" = 1 ]; then
  # The server's certificate is self-signed: curl (TLS 1.2) rejects it with alert 48 unknown_ca.
  scenario tls-untrusted "run curl -sS --tls-max 1.2 $RESOLVE https://app.lab.test:4431/"
fi

if want tls-plain-http && [ "$HAVE_TLS" = 1 ]; then
  # https:// to a plain-HTTP port: the ClientHello is answered "HTTP/1.1 400 Bad Request";
  # http:// to the TLS port: the plaintext request is answered by the TLS server.
  scenario tls-plain-http "get $APP 8000, run curl -sS $RESOLVE https://app.lab.test:8000/, \
    run curl -sS $RESOLVE http://app.lab.test:4431/"
fi
