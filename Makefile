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

.PHONY: install demo test lint ui bench docs clean

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/cdw demo

test: $(STAMP)
	$(BIN)/ruff check orchestration sources tests benchmarks
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check orchestration sources tests benchmarks
	$(BIN)/ruff format --check orchestration sources tests benchmarks

ui: $(STAMP)
	$(BIN)/cdw ui

# `make bench` runs S then M; `make bench SCALE=L` one scale (benchmarks/README.md).
bench: $(STAMP)
	$(BIN)/python -m benchmarks.run $(if $(filter file,$(origin SCALE)),--scale S --scale M,--scale $(SCALE))

clean:
	rm -rf data target logs
