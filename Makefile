# Recovery — the two commands a newcomer needs are `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
HASH := $(shell cat pyproject.toml | sha1sum | cut -c1-12)
STAMP := $(VENV)/.installed-$(HASH)
# PostgreSQL and Redis on this machine are used by the tests when they answer.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/recovery
TEST_BROKER_URL ?= redis://127.0.0.1:6379/0
TEST_RESULT_BACKEND ?= redis://127.0.0.1:6379/1

.PHONY: run test install lint format migrate seed worker beat web check clean bench

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --upgrade pip
	@$(PY) -m pip install --quiet -e '.[test]'
	@rm -f $(VENV)/.installed-* && touch $@

run: install
	@export DEBUG=$${DEBUG:-true}; set -e; \
	$(PY) manage.py migrate --noinput; \
	$(PY) manage.py seed_demo; \
	trap 'kill 0' EXIT INT TERM; \
	$(VENV)/bin/celery -A recovery worker -B --loglevel=warning --concurrency=2 & \
	echo ""; \
	echo "  Recovery is starting at http://127.0.0.1:$(PORT)/"; \
	echo "  Demo logins (password: $${DEMO_PASSWORD:-recovery-demo}):"; \
	echo "    specialist, specialist2, supervisor, supervisor2, attorney, attorney2, auditor, admin"; \
	echo "  Web, Celery worker and beat run until Ctrl-C."; \
	echo ""; \
	$(PY) manage.py runserver 127.0.0.1:$(PORT)

test: install
	@bash .ci/system-deps
	@set -e; \
	if $(PY) -c "import socket; socket.create_connection(('127.0.0.1', 5432), 2)" 2>/dev/null; then \
	  export DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)}; fi; \
	if $(PY) -c "import socket; socket.create_connection(('127.0.0.1', 6379), 2)" 2>/dev/null; then \
	  export CELERY_BROKER_URL=$${CELERY_BROKER_URL:-$(TEST_BROKER_URL)}; \
	  export CELERY_RESULT_BACKEND=$${CELERY_RESULT_BACKEND:-$(TEST_RESULT_BACKEND)}; fi; \
	echo "database: $${DATABASE_URL:-sqlite}  broker: $${CELERY_BROKER_URL:-filesystem}"; \
	$(VENV)/bin/ruff check .; \
	$(VENV)/bin/ruff format --check .; \
	env -u DATABASE_URL DEBUG=true $(PY) manage.py makemigrations --check --dry-run > /dev/null; \
	$(VENV)/bin/pytest --create-db $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

migrate: install
	DEBUG=$${DEBUG:-true} $(PY) manage.py migrate

seed: install
	DEBUG=$${DEBUG:-true} $(PY) manage.py seed_demo

worker: install
	DEBUG=$${DEBUG:-true} $(VENV)/bin/celery -A recovery worker --loglevel=info

beat: install
	DEBUG=$${DEBUG:-true} $(VENV)/bin/celery -A recovery beat --loglevel=info

# DESIGN §7 benchmarks against a scale database (recovery_scale20k for SCALE=20000), seeded with
# seed_scale when empty and reused otherwise; the table goes to var/bench/results.md.
SCALE ?= 20000
bench: install
	@bash .ci/system-deps
	@command -v wrk >/dev/null 2>&1 || { echo "installing wrk"; apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk >/dev/null; }
	$(PY) bench/run_all.py --scale $(SCALE)

clean:
	rm -rf $(VENV) var
