# Two commands: `make demo` serves the sample site, `make test` runs the tests.
# Each creates .venv and installs what it needs on first use.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
PROVIDER_DIR := tests/e2e/oidc_provider
PROVIDER_MODULES := $(PROVIDER_DIR)/node_modules/.package-lock.json
HOST ?= 127.0.0.1
PORT ?= 5000
PYTEST_FLAGS ?=

.PHONY: demo test bench clean

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

$(PROVIDER_MODULES): $(PROVIDER_DIR)/package-lock.json
	@if command -v npm >/dev/null; then \
		cd $(PROVIDER_DIR) && npm ci --no-audit --no-fund --loglevel=error; \
	else \
		echo "npm not found: the end-to-end tests against oidc-provider will be skipped"; \
	fi

demo: $(INSTALLED)
	FLASK_RUN_PORT=$(PORT) $(VENV)/bin/flask --app sample_app run --host $(HOST) --port $(PORT)

test: $(INSTALLED) $(PROVIDER_MODULES)
	$(PY) -m pytest $(PYTEST_FLAGS)

bench: $(INSTALLED)
	$(PY) -m pip install --quiet -e '.[bench]'
	$(PY) benchmarks/bearer.py

clean:
	rm -rf $(VENV) $(PROVIDER_DIR)/node_modules test-artifacts .pytest_cache
