#!/bin/sh
# Prints cargo's target directory as an absolute path: where `cargo build` puts the binaries,
# honouring CARGO_TARGET_DIR and build.target-dir in a cargo config (asked from cargo itself),
# else target/ in the repository. Used by the Makefile, scripts/*.sh and docs/runbooks/lib.sh.
#
#   T=$(sh scripts/target-dir.sh)       then $T/release/pcap2jsonl, $T/debug/…, $T/dist/…
set -eu
cd "$(dirname "$0")/.."
dir=$(${CARGO:-cargo} metadata --format-version 1 --no-deps 2>/dev/null |
  sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p') || dir=
[ -n "$dir" ] || dir=${CARGO_TARGET_DIR:-target}
case $dir in
  /*) ;;
  *) dir=$PWD/$dir ;;
esac
printf '%s\n' "$dir"
