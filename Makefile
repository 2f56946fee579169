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

# The hub on http://127.0.0.1:5000 with the demo provider: `hub serve --demo` also starts the
# Demo server (hub-demo plugin) on 127.0.0.1:5001 and fills in its published demo client.
run: $(VENV)/.installed
	$(BIN)/hub init
	$(BIN)/hub serve --demo

lint: $(VENV)/.test-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.test-installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The hub under gunicorn against a local upstream: proxy, download, paging; then the proxy against
# a bare Flask passthrough with wrk, several runs (needs Debian's wrk and nginx-light). Both write
# docs/benchmarks.md.
bench: $(VENV)/.installed
	$(BIN)/python bench/run.py
	$(BIN)/python bench/passthrough.py

# The end-to-end OAuth tests' authorization server (npm oidc-provider, tests/e2e_oauth/).
.PHONY: e2e-deps
e2e-deps:
	@if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then \
		echo "node/npm not found: the end-to-end OAuth tests (tests/test_e2e_oauth.py) will skip"; \
	elif [ tests/e2e_oauth/node_modules/.package-lock.json -nt tests/e2e_oauth/package-lock.json ]; then \
		echo "tests/e2e_oauth/node_modules is up to date"; \
	else \
		npm ci --no-audit --no-fund --prefix tests/e2e_oauth \
			|| echo "npm ci failed: the end-to-end OAuth tests will skip"; \
	fi

test: lint e2e-deps
	$(BIN)/pytest

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build *.egg-info
