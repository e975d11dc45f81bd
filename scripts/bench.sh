#!/bin/sh
# Speed of pcap2jsonl beside the I/O ceiling (cat), the Rust floor (../shared/bench/rust-floor),
# tcpdump and tshark on one capture: wall time, packets/s, MB/s, peak RSS, in one table.
#
#   sh scripts/bench.sh [FILE]        (make bench [FILE=...])
#
# Without FILE: a 2,000,000-packet capture made once by ../shared/bench/gen_pcap.py (seed 1),
# cached in bench-data/ (gitignored), plus a 100,000-packet one to show that pcap2jsonl's RSS does
# not grow with the input. Fast commands: best of $RUNS runs (default 3); tcpdump and tshark: one.
# Needs GNU time (/usr/bin/time, Debian package `time`) for peak RSS; without it RSS shows "-".
set -eu
cd "$(dirname "$0")/.."

SHARED=${SHARED:-${TCPWHY_CORPUS:-../shared}}
T=$(sh scripts/target-dir.sh)
RUNS=${RUNS:-3}
FILE=${1:-}
SMALL=

if [ -z "$FILE" ]; then
    mkdir -p bench-data
    for spec in "2000000 bench-2m" "100000 bench-100k"; do
        set -- $spec
        if [ ! -s "bench-data/$2.pcap" ]; then
            echo "generating bench-data/$2.pcap ($1 packets, once)..." >&2
            python3 "$SHARED/bench/gen_pcap.py" -n "$1" --seed 1 -o "bench-data/$2.pcap.tmp" -q
            mv "bench-data/$2.pcap.tmp" "bench-data/$2.pcap"
        fi
    done
    FILE=bench-data/bench-2m.pcap
    SMALL=bench-data/bench-100k.pcap
fi
[ -r "$FILE" ] || { echo "bench.sh: $FILE: cannot read" >&2; exit 2; }

P2J=$T/release/pcap2jsonl
if [ ! -x "$P2J" ]; then
    cargo build --release -p pcap2jsonl >&2
fi
FLOOR=$T/rust-floor/release/rust-floor
if [ ! -x "$FLOOR" ]; then
    echo "building the rust floor (once)..." >&2
    cargo build --release --quiet --manifest-path "$SHARED/bench/rust-floor/Cargo.toml" \
        --target-dir "$T/rust-floor" >&2
fi

GNU_TIME=
if [ -x /usr/bin/time ] && /usr/bin/time -f %e true >/dev/null 2>&1; then
    GNU_TIME=/usr/bin/time
fi
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT INT TERM

# measure CMD: runs `sh -c CMD` once; sets WALL (s) and RSS (KiB, or "-").
measure() {
    if [ -n "$GNU_TIME" ]; then
        "$GNU_TIME" -f '%e %M' -o "$TMP/t" sh -c "$1" >/dev/null 2>"$TMP/err" || {
            echo "bench.sh: failed: $1" >&2; cat "$TMP/err" >&2; }
        read -r WALL RSS <"$TMP/t"
    else
        start=$(date +%s.%N)
        sh -c "$1" >/dev/null 2>"$TMP/err" || { echo "bench.sh: failed: $1" >&2; cat "$TMP/err" >&2; }
        end=$(date +%s.%N)
        WALL=$(echo "$start $end" | awk '{printf "%.2f", $2 - $1}')
        RSS=-
    fi
}

# best RUNS CMD: the fastest of RUNS runs (its RSS too).
best() {
    n=$1
    BEST_WALL=
    BEST_RSS=
    while [ "$n" -gt 0 ]; do
        measure "$2"
        if [ -z "$BEST_WALL" ] || awk "BEGIN{exit !($WALL < $BEST_WALL)}"; then
            BEST_WALL=$WALL
            BEST_RSS=$RSS
        fi
        n=$((n - 1))
    done
}

BYTES=$(wc -c <"$FILE" | tr -d ' ')
echo "counting packets..." >&2
PACKETS=$("$P2J" "$FILE" | wc -l | tr -d ' ')
MB=$(awk "BEGIN{printf \"%.0f\", $BYTES / 1e6}")

ROWS=$TMP/rows
: >"$ROWS"
row() { # name runs command
    echo "  $1 ..." >&2
    best "$2" "$3"
    printf '%s\t%s\t%s\n' "$1" "$BEST_WALL" "$BEST_RSS" >>"$ROWS"
    eval "W_$4=\$BEST_WALL R_$4=\$BEST_RSS"
}

Q=$(printf "'%s'" "$FILE")
echo "timing on $FILE ($PACKETS packets, $MB MB):" >&2
row "cat > /dev/null" "$RUNS" "cat $Q" cat
row "rust-floor" "$RUNS" "$FLOOR $Q" floor
row "pcap2jsonl" "$RUNS" "$P2J $Q" p2j
# The same capture as a Microsoft Network Monitor 2.x file (editcap; cached beside bench data):
# read in place, and from stdin (spooled to a temporary file: the frame table is at the end).
if command -v editcap >/dev/null 2>&1; then
    NM="$TMP/bench.netmon2.cap"
    case "$FILE" in bench-data/*) NM="${FILE%.*}.netmon2.cap" ;; esac
    if [ -s "$NM" ] || TZ=UTC editcap -F netmon2 "$FILE" "$NM" 2>/dev/null; then
        NQ=$(printf "'%s'" "$NM")
        row "pcap2jsonl NetMon .cap" "$RUNS" "$P2J $NQ" p2jnm
        row "pcap2jsonl - < NetMon .cap" "$RUNS" "$P2J - < $NQ" p2jnmin
    fi
fi
if [ -x "$T/release/tcpflows" ] && echo "" | "$T/release/tcpflows" >/dev/null 2>&1; then
    row "pcap2jsonl \\| cat" "$RUNS" "$P2J $Q | cat" pipe
    row "pcap2jsonl \\| tcpflows" "$RUNS" "$P2J $Q | $T/release/tcpflows" flows
    if [ -x "$T/release/ttlhops" ] && [ -x "$T/release/tcpflag" ]; then
        # The whole diagnosis (JSON findings; text adds the report at the end only).
        row "... \\| ttlhops \\| tcpflag" "$RUNS" \
            "$P2J $Q | $T/release/tcpflows | $T/release/ttlhops | $T/release/tcpflag" diag
    fi
fi
if command -v tcpdump >/dev/null 2>&1; then
    row "tcpdump -nn -r" 1 "tcpdump -nn -r $Q" tcpdump
fi
if command -v tshark >/dev/null 2>&1; then
    F="-e frame.number -e frame.time_epoch -e frame.len -e ip.src -e ip.dst -e ip.ttl"
    F="$F -e tcp.srcport -e tcp.dstport -e tcp.seq_raw -e tcp.ack_raw -e tcp.flags -e tcp.window_size_value"
    row "tshark -T fields (12 fields)" 1 "tshark -n -r $Q -T fields $F" tshark
fi

echo
echo "$FILE: $PACKETS packets, $MB MB"
echo
awk -F'\t' -v pk="$PACKETS" -v by="$BYTES" '
BEGIN {
    printf "| %-30s | %8s | %12s | %8s | %10s |\n", "command", "wall s", "packets/s", "MB/s", "peak RSS"
    printf "|%s|%s|%s|%s|%s|\n", "--------------------------------", "---------:", "-------------:", "---------:", "-----------:"
}
{
    w = $2 + 0; if (w < 0.01) w = 0.01
    rss = ($3 == "-") ? "-" : sprintf("%.1f MB", $3 / 1024)
    printf "| %-30s | %8.3f | %12s | %8.0f | %10s |\n", $1, $2, sprintf("%.0f", pk / w), by / w / 1e6, rss
}' "$ROWS"
echo

ratio() { awk "BEGIN{a=$1; b=$2; if (b < 0.01) b = 0.01; printf \"%.2f\", a / b}"; }
echo "pcap2jsonl / rust-floor wall time: $(ratio "$W_p2j" "$W_floor")x (target <= 1.25)"
if [ -n "${W_flows:-}" ]; then echo "pcap2jsonl | tcpflows wall time:  $(ratio "$W_flows" "$W_p2j")x pcap2jsonl alone (target <= 1.5), $(ratio "$W_flows" "$W_pipe")x pcap2jsonl | cat (the pipe itself)"; fi
if [ -n "${W_diag:-}" ]; then
    echo "whole pipeline wall time:          $(ratio "$W_diag" "$W_pipe")x pcap2jsonl | cat (the largest stage's peak RSS is in the table)"
fi
if [ -n "${W_p2jnm:-}" ]; then
    echo "NetMon .cap / pcap wall time:      $(ratio "$W_p2jnm" "$W_p2j")x (file), $(ratio "$W_p2jnmin" "$W_p2j")x (stdin)"
fi
if [ -n "${W_tshark:-}" ]; then
    echo "pcap2jsonl vs tshark packets/s:    $(ratio "$W_tshark" "$W_p2j")x faster (target >= 10)"
fi
if [ -n "$SMALL" ]; then
    best 1 "$P2J '$SMALL'"
    if [ "$BEST_RSS" != "-" ]; then
        echo "pcap2jsonl peak RSS: $(awk "BEGIN{printf \"%.1f\", $BEST_RSS/1024}") MB at 100,000 packets, $(awk "BEGIN{printf \"%.1f\", $R_p2j/1024}") MB at $PACKETS packets"
    fi
fi
