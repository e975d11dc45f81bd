#!/bin/sh
# make install [PREFIX=/usr/local] [DESTDIR=...]: the five tools, their man pages and their
# bash/zsh/fish completions (each tool writes its own: `<tool> --generate man|complete-bash|…`).
#
#   sh scripts/install.sh DEST        DEST = $(DESTDIR)$(PREFIX), e.g. /usr/local or /tmp/pkg/usr
#   TCPWHY_BIN_DIR=DIR sh scripts/install.sh DEST    install the binaries of another build
#
# The binaries come from TCPWHY_BIN_DIR (absolute, or relative to the directory this is run
# from), else from the `dist` profile of cargo's target directory (CARGO_TARGET_DIR respected):
# `make install` builds it (`cargo build --profile dist`: the release build, stripped, without
# debug info).
#
# Layout under DEST (what distributions and Homebrew use):
#   bin/<tool>
#   share/man/man1/<tool>.1
#   share/bash-completion/completions/<tool>
#   share/zsh/site-functions/_<tool>
#   share/fish/vendor_completions.d/<tool>.fish
#   share/doc/tcpwhy/            README, docs/*.md (tutorial, rules, schema, each tool), runbooks
set -eu
HERE=$PWD
abs() { case $1 in /*) printf '%s\n' "$1" ;; *) printf '%s\n' "$HERE/$1" ;; esac; }
DEST=${1:?usage: install.sh DEST (e.g. /usr/local)}
DEST=$(abs "$DEST")
if [ -n "${TCPWHY_BIN_DIR:-}" ]; then BIN=$(abs "$TCPWHY_BIN_DIR"); else BIN=; fi
cd "$(dirname "$0")/.."
[ -n "$BIN" ] || BIN=$(sh scripts/target-dir.sh)/dist
TOOLS="pcap2jsonl tcpflows ttlhops tcpflag portmap"

for t in $TOOLS; do
  [ -x "$BIN/$t" ] || { echo "install: $BIN/$t not built (make install builds it)" >&2; exit 2; }
done

GEN=$(mktemp -d)
trap 'rm -rf "$GEN"' EXIT
for t in $TOOLS; do
  for k in man complete-bash complete-zsh complete-fish; do
    "$BIN/$t" --generate "$k" >"$GEN/$t.$k"
  done
  install -D -m 755 "$BIN/$t" "$DEST/bin/$t"
  install -D -m 644 "$GEN/$t.man" "$DEST/share/man/man1/$t.1"
  install -D -m 644 "$GEN/$t.complete-bash" "$DEST/share/bash-completion/completions/$t"
  install -D -m 644 "$GEN/$t.complete-zsh" "$DEST/share/zsh/site-functions/_$t"
  install -D -m 644 "$GEN/$t.complete-fish" "$DEST/share/fish/vendor_completions.d/$t.fish"
done
DOC=$DEST/share/doc/tcpwhy
install -D -m 644 README.md "$DOC/README.md"
for d in docs/*.md; do install -D -m 644 "$d" "$DOC/$(basename "$d")"; done
for r in docs/runbooks/*.md; do install -D -m 644 "$r" "$DOC/runbooks/$(basename "$r")"; done
echo "installed $TOOLS into $DEST (bin/, share/man/man1/, bash, zsh and fish completions, share/doc/tcpwhy/)"
