# Two commands: `make demo` serves the sample site, `make test` runs the tests.
# Each creates .venv and installs what it needs on first use. `make test-lowest`
# runs the tests again in .venv-lowest, with the lowest versions pyproject.toml allows.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
LOWEST_VENV := .venv-lowest
LOWEST_INSTALLED := $(LOWEST_VENV)/.installed
PROVIDER_DIR := tests/e2e/oidc_provider
PROVIDER_MODULES := $(PROVIDER_DIR)/node_modules/.package-lock.json
HOST ?= 127.0.0.1
PORT ?= 5000
PYTEST_FLAGS ?=

.PHONY: demo test test-lowest bench load clean

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

# uv resolves every direct dependency to the lowest version its bound allows.
$(LOWEST_INSTALLED): pyproject.toml $(INSTALLED)
	$(PY) -m pip install --quiet uv
	rm -rf $(LOWEST_VENV)
	$(VENV)/bin/uv venv --quiet --seed --python $(PYTHON) $(LOWEST_VENV)
	$(VENV)/bin/uv pip install --quiet --python $(LOWEST_VENV)/bin/python --resolution lowest-direct -e '.[dev]'
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

test-lowest: $(LOWEST_INSTALLED) $(PROVIDER_MODULES)
	$(LOWEST_VENV)/bin/python -m pytest $(PYTEST_FLAGS)

bench: $(INSTALLED)
	$(PY) -m pip install --quiet -e '.[bench]'
	$(PY) benchmarks/bearer.py
	$(PY) benchmarks/session.py

load: $(INSTALLED)
	$(PY) -m pip install --quiet -e '.[bench]'
	$(PY) benchmarks/load.py

clean:
	rm -rf $(VENV) $(LOWEST_VENV) $(PROVIDER_DIR)/node_modules test-artifacts .pytest_cache
