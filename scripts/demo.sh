#!/bin/sh
# make demo: the pipeline on the captures bundled in tests/captures/ (filled in by the lab issue).
set -eu
cd "$(dirname "$0")/.."
B=target/release
for cap in tests/captures/*.pcap; do
  [ -f "$cap" ] || continue
  echo "== $cap"
  $B/pcap2jsonl "$cap" | head -3
done
