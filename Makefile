# Integration Hub — `make run` serves the hub, `make test` runs every check.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PLUGIN_DIRS := $(patsubst %/setup.cfg,%,$(wildcard plugins/*/setup.cfg))
EDITABLE := -e . $(foreach dir,$(PLUGIN_DIRS),-e $(dir))
PIP := $(BIN)/python -m pip --disable-pip-version-check

.PHONY: run install test lint format bench clean

$(VENV)/.installed: setup.cfg pyproject.toml $(wildcard plugins/*/setup.cfg)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip setuptools wheel
	$(PIP) install --quiet $(EDITABLE)
	touch $@

$(VENV)/.test-installed: $(VENV)/.installed
	$(PIP) install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

run: $(VENV)/.installed
	$(BIN)/hub init
	$(BIN)/hub serve --demo

lint: $(VENV)/.test-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.test-installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: lint
	$(BIN)/pytest

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build *.egg-info
