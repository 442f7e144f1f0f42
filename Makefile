# spotlersync: `make run` starts the demo, `make test` runs the whole suite.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PG_URL ?= postgres://postgres@127.0.0.1:5432/spotlersync
REDIS_TEST_URL ?= redis://127.0.0.1:6379/15

.PHONY: run test test-sqlite test-postgres lint format bench loadtest install install-test services chromium clean

$(VENV)/bin/python:
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(VENV)/bin/python
	$(VENV)/bin/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(VENV)/bin/python
	$(VENV)/bin/pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

# The demo runs with DEBUG on (its default is off, as in production): the development secret
# key, plain HTTP and static files from runserver. It pulls from the sandbox every 2 minutes (production defaults: 15 for updates, 60 for
# bounces), so what the demo's recipients do in "Spotler" shows up soon.
run: export DEBUG ?= True
run: export SYNC_PULL_UPDATES_MINUTES ?= 2
run: export SYNC_PULL_BOUNCES_MINUTES ?= 2
run: install
	$(PY) manage.py migrate --no-input
	$(PY) manage.py setup_schedules
	./scripts/run-demo

test: install-test services chromium
	$(MAKE) test-sqlite
	$(MAKE) test-postgres

# SQLite runs on two workers: each has a database file (and its clusters' ORM broker) of its
# own. PostgreSQL runs on one, as its clusters share one Redis broker.
test-sqlite:
	env -u DATABASE_URL -u REDIS_URL $(PY) -m pytest -n 2

test-postgres:
	DATABASE_URL=$(PG_URL) REDIS_URL=$(REDIS_TEST_URL) $(PY) -m pytest

# Benchmarks: all, or one with BENCH=name. Figures go to bench/results.json.
bench: install-test services
	$(PY) -m bench $(BENCH)

# Load and soak (issue 16): Locust on the ingest API and the dashboard for LOADTEST_SECONDS
# (default 600) while the sync pushes to a faulty sandbox; figures go to bench/results.json.
loadtest: install-test services
	$(PY) -m bench loadtest

lint: install-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install-test
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# PostgreSQL and Redis run on this machine; start whichever is down.
services:
	@pg_isready -q -h 127.0.0.1 -p 5432 || pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start
	@redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
	@for i in $$(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && exit 0; sleep 1; done; echo "PostgreSQL or Redis did not start" >&2; exit 1

# The browser tests drive Debian's Chromium; Playwright never downloads one.
chromium:
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

clean:
	rm -rf $(VENV) db.sqlite3* .test-db.sqlite3* staticfiles .pytest_cache
