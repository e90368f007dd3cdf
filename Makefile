# Two commands set up everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SCALE  ?= S

export CDW_DATA_DIR ?= $(CURDIR)/data
export DAGSTER_HOME ?= $(CURDIR)/data/dagster_home
export CDW_REPORTING_CURRENCY ?= EUR
# dagster-dbt looks for `dbt` on PATH during `dagster dev`.
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: install chromium demo test lint ui bench docs clean

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,spark]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/cdw demo

# tests/test_report.py renders the executive report in Debian's headless Chromium (we run as root).
chromium:
	@test -x /usr/bin/chromium || { \
	  apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; }

test: $(STAMP) chromium
	$(BIN)/ruff check orchestration sources tests benchmarks
	# Two pytest workers on the two cores, a whole file each (its module fixtures built once), the
	# longest files first: tests/conftest.py orders them, and xdist keeps that order with
	# --no-loadscope-reorder. The dbt manifest is parsed first so that the workers never both
	# parse it.
	$(BIN)/python -c "import orchestration.warehouse_assets"
	$(BIN)/pytest -n 2 --dist loadfile --no-loadscope-reorder --durations=15

lint: $(STAMP)
	$(BIN)/ruff check orchestration sources tests benchmarks
	$(BIN)/ruff format --check orchestration sources tests benchmarks

ui: $(STAMP)
	$(BIN)/cdw ui

# `make bench` runs S then M; `make bench SCALE=L` one scale (benchmarks/README.md).
# Only the benchmarks install the `bench` extra (Splink, the identity baseline).
BENCH_STAMP := $(VENV)/.bench-installed
$(BENCH_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -e '.[dev,spark,bench]'
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(BIN)/python -m benchmarks.run $(if $(filter file,$(origin SCALE)),--scale S --scale M,--scale $(SCALE))

# dbt docs, offline: one static_index.html with manifest and catalog inlined (docs/bi.md).
# The catalog comes from the warehouse when a load built it; else the YAML documentation alone,
# with a throwaway database for dbt to connect to (no empty warehouse left in data/).
DOCS := $(BIN)/dbt docs generate --static --target-path docs/site --quiet
docs: $(STAMP)
ifneq ($(wildcard $(CDW_DATA_DIR)/warehouse.duckdb),)
	$(DOCS)
else
	tmp=$$(mktemp -d); CDW_DATA_DIR=$$tmp $(DOCS) --empty-catalog; rc=$$?; rm -rf $$tmp; exit $$rc
endif
	@echo "dbt docs: docs/site/static_index.html"

clean:
	rm -rf data target logs
