# The hub's everyday commands. `make demo` and `make test` work on a fresh machine
# with Python 3.11+ and nothing else running (the database is an embedded PostgreSQL).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=
# hardening: outside debug the hub needs DJANGO_SECRET_KEY; these development commands use the development key.
export HUB_DEV_SECRET_KEY ?= true

.PHONY: demo test lint install serve migrate format bench clean-db stop-db messages bench-ingest bench-read

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

migrate: install
	$(BIN)/python manage.py migrate --no-input

demo: install
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py load_demo
	$(BIN)/python manage.py collectstatic --no-input --verbosity 0
	HUB_DEMO_SIMULATORS=1 $(BIN)/python manage.py serve --host $(HOST) --port $(PORT)

serve: install
	$(BIN)/python manage.py serve --host $(HOST) --port $(PORT)

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python manage.py check
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/lint-imports  # access: the import-linter contracts in pyproject.toml

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

messages: install
	$(BIN)/python manage.py makemessages -l zh_Hans --ignore '.venv/*' --ignore 'var/*' --ignore 'tests/*' --ignore 'bench/*'
	$(BIN)/python manage.py compilemessages --ignore '.venv/*'

stop-db:
	@if [ -f var/pgdata/postmaster.pid ]; then kill -INT "$$(head -n1 var/pgdata/postmaster.pid)" 2>/dev/null || true; fi

clean-db: stop-db
	rm -rf var/pgdata

# FHIR gateway benchmarks (need DATABASE_URL; they create <db>_fhir_bench there). Results: docs/benchmarks.md.
bench-ingest: install
	$(BIN)/python bench/fhir_ingest.py $(BENCH_ARGS)

bench-read: install
	$(BIN)/python bench/fhir_read.py $(BENCH_ARGS)
