# Overwatch: `make run` starts it, `make test` runs the whole test suite.
# Both install missing system packages first (apt-get, as root or with sudo).

CARGO ?= cargo

.PHONY: run test deps build lint

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
# a tray watcher): see scripts/session.sh.
test: lint
	scripts/session.sh $(CARGO) test --all-targets
