# tcpwhy — see README.md. `make demo` and `make test` are the two commands a fresh machine needs.
CARGO ?= cargo
PREFIX ?= /usr/local
DESTDIR ?=
BINS := pcap2jsonl tcpflows ttlhops tcpflag portmap

.PHONY: all build release demo test lint fmt bench lab install man completions clean

all: release

build:
	$(CARGO) build --workspace --all-targets

release:
	$(CARGO) build --release --workspace --bins

# The main job on the captures bundled in the repo: the whole pipeline, conclusions in plain words.
demo: release
	@sh scripts/demo.sh

# Formatting, lints, every test (unit, CLI, differential vs tshark, pipeline, runbooks).
test: lint
	$(CARGO) build --workspace --bins
	$(CARGO) test --workspace
	@sh scripts/test-runbooks.sh

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

# Speed beside tshark, tcpdump and cat on one large capture (FILE=… to use your own).
bench: release
	@sh scripts/bench.sh $(FILE)

# Rebuild the project's own captures with real stacks in network namespaces (root).
lab: release
	@sh tests/scenarios/run.sh

install: release
	@sh scripts/install.sh "$(DESTDIR)$(PREFIX)"

# Man pages and bash/zsh/fish completions from the tools' clap definitions, into target/dist/.
man completions:
	$(CARGO) run -q -p xtask -- dist target/dist

clean:
	$(CARGO) clean
