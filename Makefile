# Overwatch: `make run` starts it, `make test` runs the whole test suite.
# Both install missing system packages first (apt-get, as root or with sudo).

CARGO ?= cargo
TARGET_DIR ?= $(or $(CARGO_TARGET_DIR),target)

.PHONY: run test deps build lint bench

deps:
	@scripts/deps.sh

build: deps
	$(CARGO) build

run: build
	$(CARGO) run --quiet --

lint: deps
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings

# Every test runs inside a private session (Xvfb, D-Bus, gnome-keyring, dunst,
# a tray watcher): see scripts/session.sh. The tray's end-to-end test drives
# the release binary from outside over D-Bus and prints "N passed, N failed";
# the dashboard's drives its page in headless Chromium (and writes its screenshots).
# Outside this session (plain `cargo test`) the tests that need it skip.
test: lint
	scripts/session.sh $(CARGO) test --all-targets
	$(CARGO) build --release
	scripts/session.sh tests/e2e/tray.sh $(TARGET_DIR)/release/overwatch
	scripts/session.sh /usr/bin/python3 tests/e2e/dashboard.py $(TARGET_DIR)/release/overwatch $(TARGET_DIR)
	scripts/session.sh tests/e2e/screenshot.sh $(TARGET_DIR)/release/overwatch $(TARGET_DIR)/tray-menu.png

# Every benchmark, printed as the markdown tables of BENCHMARKS.md (about 15 minutes;
# `scripts/bench.sh --quick` is a 3-minute smoke run). Figures are printed, never asserted.
bench: deps
	scripts/bench.sh
