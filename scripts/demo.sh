#!/bin/sh
# make demo: the diagnosis pipeline on the captures bundled in tests/captures/ (made with real
# Linux stacks by the lab, tests/scenarios/run.sh), conclusions in plain words. No root needed.
# The tools: TCPWHY_BIN_DIR (absolute, or relative to where this runs from), else the release
# build in cargo's target directory (CARGO_TARGET_DIR respected).
set -eu
B=$(sh "$(dirname "$0")/bin-dir.sh" release)
cd "$(dirname "$0")/.."
C=tests/captures
export PATH="$B:$PATH"
for t in pcap2jsonl tcpflows ttlhops tcpflag portmap; do
  command -v "$t" >/dev/null || { echo "demo: $B/$t not built (make release)" >&2; exit 2; }
done

if [ -t 1 ]; then BOLD=$(printf '\033[1m'); OFF=$(printf '\033[0m'); else BOLD=; OFF=; fi
say() { printf '\n%s%s%s\n' "$BOLD" "$*" "$OFF"; }
cmd() { printf '$ %s\n' "$*"; }
# The hint portmap adds to each finding (jq when installed, else a plain text cut).
hints() {
  if command -v jq >/dev/null; then
    jq -r 'select(.type == "finding" and .portmap.hint != null) | "portmap: " + .portmap.hint'
  else
    sed -n 's/.*"hint":"\([^"]*\)".*/portmap: \1/p'
  fi
}

say "1. The seed's second case: \"No connection could be made because the target machine actively refused it\" (10061)"
echo "The client (198.51.100.10) connects to the SQL server 203.0.113.20, port 2383, two routers away."
cmd "pcap2jsonl $C/refused-2383.pcap | tcpflows | ttlhops | tcpflag --format text"
pcap2jsonl $C/refused-2383.pcap | tcpflows | ttlhops | tcpflag --format text
echo
echo "Who listens there? The server's own 'ss -ltnp' output, saved beside the capture:"
cmd "pcap2jsonl $C/refused-2383.pcap | tcpflows | ttlhops | tcpflag | portmap --host 203.0.113.20 --listeners $C/refused-2383.ss.txt"
pcap2jsonl $C/refused-2383.pcap | tcpflows | ttlhops | tcpflag |
  portmap --host 203.0.113.20 --listeners $C/refused-2383.ss.txt | hints

say "2. The seed's first case: web2 fails now and then (DNS round robin, one backend's SYN-ACK has window 0)"
echo "The client resolves web2.lab.test 12 times and connects to the first address each time."
cmd "pcap2jsonl $C/intermittent-rr.pcap | tcpflows | ttlhops | tcpflag --format text"
echo "(the 4 zero_window_at_handshake findings are one paragraph; the ladder draws the first failure:"
echo " the SYN-ACK with window 0, the client's probes, the server's RST)"
pcap2jsonl $C/intermittent-rr.pcap | tcpflows | ttlhops | tcpflag --format text

say "3. The other lab scenarios, one line per finding"
for s in refused-windows-retry refused-host-firewall middlebox-reset syn-timeout slow-connect icmp-unreachable retrans-timeout \
  handshake-incomplete reset-mid zero-window-recover refused-ipv6 dying window-crawl slow-path \
  client-gave-up reset-after-close injected-reset one-sided-out port-scan syn-flood healthy; do
  printf '%-22s ' "$s:"
  out=$(pcap2jsonl "$C/$s.pcap" | tcpflows | ttlhops | tcpflag --format text)
  lines=$(printf '%s\n' "$out" | grep -E '^  (ERROR|WARNING|INFO) ' | sed 's/^  //' || true)
  if [ -n "$lines" ]; then
    printf '%s\n' "$lines" | sed '2,$s/^/                       /'
  else
    printf '%s\n' "$out" | tail -n 1
  fi
done

say "4. Before and after the TCP connection: names that do not resolve, TLS handshakes that are refused"
echo "The client's own resolver (glibc) against dnsmasq; curl and openssl s_client against openssl s_server."
for s in dns-nxdomain dns-servfail dns-refused dns-timeout tls-version tls-client-cert tls-untrusted tls-plain-http; do
  printf '%-22s ' "$s:"
  out=$(pcap2jsonl "$C/$s.pcap" | tcpflows | ttlhops | tcpflag --format text)
  lines=$(printf '%s\n' "$out" | grep -E '^(ERROR|WARNING|INFO) ' || true)
  if [ -n "$lines" ]; then
    printf '%s\n' "$lines" | sed '2,$s/^/                       /'
  else
    printf '%s\n' "$out" | tail -n 1
  fi
done
echo
echo "What the application saw, per platform (evidence.messages), for the TLS 1.0 client:"
Q='select(.evidence.alert.code == 70) | .evidence.messages | "  .NET 5+:        \(.dotnet)\n  .NET Framework: \(.dotnet_framework)\n  Java:           \(.java)\n  curl:           \(.curl)"'
cmd "pcap2jsonl $C/tls-version.pcap | tcpflows | ttlhops | tcpflag | jq -r '...' | head -4"
if command -v jq >/dev/null; then
  pcap2jsonl $C/tls-version.pcap | tcpflows | ttlhops | tcpflag | jq -r "$Q" | head -4
else
  echo "(jq is not installed: apt-get install jq)"
fi

say "5. Everything is JSON lines: jq can sit between any two stages"
echo "Who sent each RST, from its TTL:"
Q='select(.type == "flow" and .ttlhops.rst != null) | [.server_ip, .server_port, .ttlhops.rst.observed_ttl, .ttlhops.rst.hops, .ttlhops.rst.origin] | @tsv'
cmd "pcap2jsonl $C/middlebox-reset.pcap | tcpflows | ttlhops | jq -r '$Q'"
if command -v jq >/dev/null; then
  printf 'server\tport\tttl\thops\torigin\n'
  pcap2jsonl $C/middlebox-reset.pcap | tcpflows | ttlhops | jq -r "$Q"
else
  echo "(jq is not installed: apt-get install jq)"
fi

say "More: docs/tutorial.md walks through both seed cases; docs/runbooks/ has copy-paste recipes."
