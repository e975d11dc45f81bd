#!/bin/sh
# Runs names-and-tls.md's snippets on the bundled lab captures.
# shellcheck source=docs/runbooks/lib.sh
. "$(dirname "$0")/lib.sh"
RB=names-and-tls.md

with dns-nxdomain
run $RB 1
has "dns_failure: nope.lab.test does not exist" "203.0.113.54 answered NXDOMAIN" \
  "nope.lab.test.corp.lab.test failed too" "Windows 11001 WSAHOST_NOT_FOUND, POSIX EAI_NONAME" \
  "mail.lab.test exists but has no address" "Windows 11004 WSANO_DATA, POSIX EAI_NODATA" \
  "2 findings (2 errors)"
lacks "app.lab.test could not" "app.lab.test does not"
run $RB 2
has "5 198.51.100.10 → 203.0.113.54 query  A app.lab.test" \
  "7 203.0.113.54 → 198.51.100.10 answer A app.lab.test rcode 0 203.0.113.30" \
  "3 203.0.113.54 → 198.51.100.10 answer A app.lab.test.corp.lab.test rcode 3"
run $RB 3
has "dns_failure nope.lab.test: System.Net.Sockets.SocketException (11001): No such host is known." \
  "dns_failure mail.lab.test: System.Net.Sockets.SocketException (11004)"

with dns-timeout
run $RB 1
has "the resolver 203.0.113.57 never answered 4 queries (A, AAAA)" "over 5.0 s" \
  "it answered nothing at all" "Windows 11002 WSATRY_AGAIN, POSIX EAI_AGAIN"

with dns-servfail
run $RB 1
has "answered SERVFAIL" "Windows 11002"

with dns-refused
run $RB 1
has "answered REFUSED" "Windows 11003 WSANO_RECOVERY"

with tls-version
run $RB 1
# Three refusals of old clients by the TLS 1.2+ server are one group (first and worst shown).
has "tls_handshake_failed ×3" "fatal alert 70 protocol_version in answer to the ClientHello" \
  "at most TLS 1.0" "SchUseStrongCrypto" "203.0.113.30:4433 failed: the server reset the connection" \
  "Windows 10054 WSAECONNRESET" "4 findings (4 errors)"
with tls-plain-http
run $RB 1
has "protocol_mismatch" "HTTP/1.1 400 Bad Request" "the port speaks HTTP, not TLS"

with healthy
run $RB 1
has "no findings"
done_ok
