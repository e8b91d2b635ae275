# Two commands for a fresh machine: `make run` (the local stack) and `make test` (the suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEB_PACKAGES := mosquitto mosquitto-clients rsync
# The status page's browser test drives Debian's chromium: `make test` installs it too.
test screenshots: BROWSER := chromium
# The test of a syncer on another host makes network namespaces with iproute2's `ip`.
test: NETNS := iproute2
# bench-growth reads each process's peak memory from GNU time (/usr/bin/time).
bench-growth: GNU_TIME := time

.PHONY: test run lint bench bench-growth soak screenshots system-packages clean ha-check

test: $(VENV)/.installed system-packages
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest

run: $(VENV)/.installed system-packages
	$(BIN)/python -m tools.stack

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The whole stack against a bare rsync, each floor measured in the same run (docs/performance.md).
bench: $(VENV)/.installed system-packages
	$(BIN)/python -m tests.benchmarks.bench_stack --runs 3

# What catch-up, the audit and the job store cost as the library grows, each beside its floor
# (docs/performance.md); QUICK=1 for the smaller sizes only. Needs GNU time (/usr/bin/time).
bench-growth: $(VENV)/.installed system-packages
	$(BIN)/python -m tests.benchmarks.bench_growth $(if $(QUICK),--quick)

# A compressed day of a real home for MINUTES (default 10) against the real stack, with
# restarts, kills and a full disk; fails unless nothing is lost, wrong or stuck (docs/performance.md).
MINUTES ?= 10
soak: $(VENV)/.installed system-packages
	$(BIN)/python -m tests.soak.run --minutes $(MINUTES)

# The real Home Assistant core (the newest release for this Python, in build/ha-venv) and
# Debian's Prometheus against the real stack; installs a lot, so not in `make test`
# (docs/home-tools.md). Fails with one line per problem.
ha-check: $(VENV)/.installed system-packages
	$(BIN)/python -m tests.homecheck

# The status page's screenshot in docs/images, taken by its browser test.
screenshots: $(VENV)/.installed system-packages
	ARRSYNC_SCREENSHOTS=docs/images $(BIN)/pytest -q tests/bridge/test_status_page.py

# The exact versions from constraints.txt (pyproject.toml has the ranges); a change to either
# file rebuilds the venv.
$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]' -c constraints.txt
	touch $@

# mosquitto, mosquitto_pub/mosquitto_sub and rsync come from Debian packages, and so does
# chromium for the tests: Playwright drives it headless and never downloads a browser.
system-packages:
	@missing=""; \
	command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || missing="$$missing mosquitto"; \
	command -v mosquitto_pub >/dev/null 2>&1 || missing="$$missing mosquitto-clients"; \
	command -v rsync >/dev/null 2>&1 || missing="$$missing rsync"; \
	[ -z "$(NETNS)" ] || command -v ip >/dev/null 2>&1 || [ -x /usr/sbin/ip ] || missing="$$missing iproute2"; \
	[ -z "$(GNU_TIME)" ] || [ -x /usr/bin/time ] || missing="$$missing time"; \
	[ -z "$(BROWSER)" ] || [ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "installing Debian packages:$$missing"; \
			DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
		else \
			echo "arrsync needs the Debian packages:$$missing"; \
			echo "install them with: sudo apt-get install$$missing"; \
			exit 1; \
		fi; \
	fi

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis data .run
