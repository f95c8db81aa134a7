# Every target bootstraps the virtualenv itself: a fresh machine needs only python3 and make.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
# Re-synced only when the lock changes.
SYNCED := $(VENV)/.synced

export PYTHONPATH := $(CURDIR):$(CURDIR)/data
# Without bytecode caches every process recompiles dagster, dbt and polars from source (~5 s each).
unexport PYTHONDONTWRITEBYTECODE
export DAGSTER_HOME := $(CURDIR)/.dagster_home
export BLINA_WAREHOUSE_DIR ?= $(CURDIR)/warehouse

.PHONY: help run report test test-all lint ui sql docs demo-data bench bench-scale bench-generator check-delivery

# make bench-scale N=1000000 BAD=0.01: patients and the fraction of bad delivered rows
N ?= 100000
BAD ?= 0

help:
	@echo "make run        land the demo extracts and build the whole warehouse (warehouse/warehouse.duckdb)"
	@echo "make report     make run, then print the paths of the study reports (warehouse/report/<study>.html)"
	@echo "make test       the fast tests, for every commit (under 2 minutes)"
	@echo "make test-all   lint, then every test: slow (warehouse builds) and end-to-end (webserver); what CI runs"
	@echo "make lint       ruff on the Python (pyproject.toml), sqlfluff on the dbt models and macros (.sqlfluff)"
	@echo "make ui         Dagster webserver and daemon on http://127.0.0.1:3000"
	@echo "make sql        read-only SQL prompt on warehouse/analytics.duckdb (or the warehouse until it exists)"
	@echo "make check-delivery CENTER=<id> [DIR=<folder>]  dry run of one center's files; touches no warehouse"
	@echo "make docs       dbt docs on http://127.0.0.1:8080"
	@echo "make demo-data  regenerate the demo extracts in data/landing/"
	@echo "make bench      time 'make run' on the demo"
	@echo "make bench-scale [N=100000] [BAD=0.01]  the whole warehouse on N generated patients vs the DuckDB floor"
	@echo "make bench-generator  time the scale generator on 1,000,000 patients"

$(PY):
	python3 -m venv $(VENV)

$(SYNCED): requirements.lock | $(PY)
	$(PY) -m pip install --quiet uv==0.13.8
	$(VENV)/bin/uv pip sync --quiet --compile-bytecode --python $(PY) requirements.lock
	touch $@

$(DAGSTER_HOME)/dagster.yaml: orchestration/dagster.yaml
	mkdir -p $(DAGSTER_HOME)
	cp $< $@

# The run is kept in $(DAGSTER_HOME)'s history: `make ui` shows its materializations and checks.
run: $(SYNCED) $(DAGSTER_HOME)/dagster.yaml
	$(PY) -m orchestration.run

# The study reports: the run brings the warehouse up to date (unchanged steps skip) and writes them; opens nothing.
report: $(SYNCED)
	$(PY) -m orchestration.report

# The fast tier, for every commit; test-all is every tier (CI: .ci/run). Tiers: tests/conftest.py.
test: $(SYNCED)
	$(PY) -m pytest -m "not slow and not e2e"

test-all: lint
	$(PY) -m pytest --no-skips

# Rules and why: [tool.ruff] in pyproject.toml, .sqlfluff (and dbt_project/macros/.sqlfluff).
lint: $(SYNCED)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/sqlfluff lint dbt_project/models dbt_project/macros

ui: $(SYNCED) $(DAGSTER_HOME)/dagster.yaml
	$(VENV)/bin/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

sql: $(SYNCED)
	$(PY) -m orchestration.sql_prompt

check-delivery: $(SYNCED)
	@test -n "$(CENTER)" || { echo "usage: make check-delivery CENTER=<center_id> [DIR=<folder>]"; exit 2; }
	$(PY) -m orchestration.check_delivery $(CENTER) $(if $(DIR),--dir $(DIR))

docs: $(SYNCED)
	cd dbt_project && $(CURDIR)/$(VENV)/bin/dbt docs generate --quiet \
		&& $(CURDIR)/$(VENV)/bin/dbt docs serve --host 127.0.0.1 --port 8080 --no-browser

demo-data: $(SYNCED)
	$(PY) -m demo_cohort --out data/landing
	$(PY) -m orchestration.pseudonym_key

bench: $(SYNCED)
	$(PY) tests/benchmarks/bench_run.py

bench-scale: $(SYNCED)
	$(PY) tests/benchmarks/bench_scale.py --patients $(N) --bad-rows $(BAD)

bench-generator: $(SYNCED)
	$(PY) tests/benchmarks/bench_generator.py
