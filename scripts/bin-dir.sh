#!/bin/sh
# Prints the directory of the tcpwhy binaries as an absolute path: TCPWHY_BIN_DIR (absolute, or
# relative to the directory this runs from), else PROFILE's build in cargo's target directory
# (scripts/target-dir.sh; CARGO_TARGET_DIR respected). Used by demo.sh, test-runbooks.sh and
# docs/runbooks/lib.sh.
#
#   B=$(sh scripts/bin-dir.sh [PROFILE])      PROFILE: debug (default), release, dist
set -eu
case ${TCPWHY_BIN_DIR:-} in
  /*) printf '%s\n' "$TCPWHY_BIN_DIR" ;;
  ?*) printf '%s\n' "$PWD/$TCPWHY_BIN_DIR" ;;
  *) printf '%s/%s\n' "$(sh "$(dirname "$0")/target-dir.sh")" "${1:-debug}" ;;
esac
