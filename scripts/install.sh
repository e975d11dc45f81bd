#!/bin/sh
# make install [PREFIX=/usr/local] [DESTDIR=...]: the five tools, their man pages and their
# bash/zsh/fish completions (generated from the tools' clap definitions by the xtask crate).
#
#   sh scripts/install.sh DEST        DEST = $(DESTDIR)$(PREFIX), e.g. /usr/local or /tmp/pkg/usr
#   TCPWHY_BIN_DIR=target/debug sh scripts/install.sh DEST   install from another build
#
# Layout under DEST (what distributions and Homebrew use):
#   bin/<tool>
#   share/man/man1/<tool>.1
#   share/bash-completion/completions/<tool>
#   share/zsh/site-functions/_<tool>
#   share/fish/vendor_completions.d/<tool>.fish
#   share/doc/tcpwhy/            README, docs/*.md (tutorial, rules, schema, each tool), runbooks
set -eu
cd "$(dirname "$0")/.."
DEST=${1:?usage: install.sh DEST (e.g. /usr/local)}
BIN=${TCPWHY_BIN_DIR:-target/release}
TOOLS="pcap2jsonl tcpflows ttlhops tcpflag portmap"

for t in $TOOLS xtask; do
  [ -x "$BIN/$t" ] || { echo "install: $BIN/$t not built (make release)" >&2; exit 2; }
done

GEN=$(mktemp -d)
trap 'rm -rf "$GEN"' EXIT
"$BIN/xtask" dist "$GEN" >/dev/null

for t in $TOOLS; do
  install -D -m 755 "$BIN/$t" "$DEST/bin/$t"
  install -D -m 644 "$GEN/man/man1/$t.1" "$DEST/share/man/man1/$t.1"
  install -D -m 644 "$GEN/completions/bash/$t.bash" "$DEST/share/bash-completion/completions/$t"
  install -D -m 644 "$GEN/completions/zsh/_$t" "$DEST/share/zsh/site-functions/_$t"
  install -D -m 644 "$GEN/completions/fish/$t.fish" "$DEST/share/fish/vendor_completions.d/$t.fish"
done
DOC=$DEST/share/doc/tcpwhy
install -D -m 644 README.md "$DOC/README.md"
for d in docs/*.md; do install -D -m 644 "$d" "$DOC/$(basename "$d")"; done
for r in docs/runbooks/*.md; do install -D -m 644 "$r" "$DOC/runbooks/$(basename "$r")"; done
echo "installed $TOOLS into $DEST (bin/, share/man/man1/, bash, zsh and fish completions, share/doc/tcpwhy/)"
