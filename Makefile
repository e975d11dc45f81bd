# tcpwhy — see README.md. `make demo` and `make test` are the two commands a fresh machine needs.
CARGO ?= cargo
PREFIX ?= /usr/local
DESTDIR ?=
BINS := pcap2jsonl tcpflows ttlhops tcpflag portmap
# cargo's target directory (CARGO_TARGET_DIR and cargo configs respected), asked when used.
TARGET_DIR = $(shell sh scripts/target-dir.sh)
SKIP_LOG = $(TARGET_DIR)/debug/tcpwhy-skipped.txt

.PHONY: all build release dist demo test lint fmt bench lab install man completions clean

all: release

build:
	$(CARGO) build --workspace --all-targets

release:
	$(CARGO) build --release --workspace --bins

# The installed binaries: the release build without debug info, stripped ([profile.dist]).
dist:
	$(CARGO) build --profile dist $(foreach b,$(BINS),-p $(b)) --bins

# The main job on the captures bundled in the repo: the whole pipeline, conclusions in plain words.
demo: release
	@sh scripts/demo.sh

# Formatting, lints, every test (unit, CLI, differential vs tshark, pipeline, runbooks, the
# fuzz targets' seed corpora). What needs the external corpus, tshark or root and is missing is
# listed as SKIPPED at the end (a failure under TCPWHY_REQUIRE_CORPUS=1, as in CI).
test: lint
	$(CARGO) build --workspace --bins
	@rm -f "$(SKIP_LOG)"
	$(CARGO) test --workspace
	@sh scripts/test-runbooks.sh
	@if [ -s "$(SKIP_LOG)" ]; then \
	  echo "SKIPPED: $$(sort -u "$(SKIP_LOG)" | wc -l) checks could not run here (README.md, \"Tests, the optional corpus and CI\"):"; \
	  sort -u "$(SKIP_LOG)" | sed 's/^SKIPPED: /  /'; \
	fi

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	@sh scripts/msrv.sh

fmt:
	$(CARGO) fmt --all

# Speed beside tshark, tcpdump and cat on one large capture (FILE=… to use your own).
bench: release
	@sh scripts/bench.sh $(FILE)

# Rebuild the project's own captures with real stacks in network namespaces (root).
lab: release
	@sh tests/scenarios/run.sh

install: dist
	@sh scripts/install.sh "$(DESTDIR)$(PREFIX)"

# Man pages and bash/zsh/fish completions from the tools' clap definitions, into
# <target>/dist/man and <target>/dist/completions (each tool also writes its own:
# `<tool> --generate man|complete-bash|complete-zsh|complete-fish`).
man completions:
	$(CARGO) run -q -p xtask -- dist "$(TARGET_DIR)/dist"

clean:
	$(CARGO) clean
