# Two commands do all the set-up on a fresh machine:
#   make start   install (pinned, from uv.lock and package-lock.json) and start the web app
#   make test    install and run the whole test suite (what CI runs)

UV_VERSION := 0.13.8
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin

.PHONY: start test quick lint install system clean

$(UV):
	python3 -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --locked --quiet --compile-bytecode  # imports stay fast even with PYTHONDONTWRITEBYTECODE set
	touch $@

# Browser assets come from npm at build time (pinned by package-lock.json); none at run time.
VENDORED := src/pymastery/web/static/vendor/.vendored
$(VENDORED): frontend/package.json frontend/package-lock.json frontend/vendor.mjs frontend/editor.js
	cd frontend && npm ci --no-audit --no-fund --loglevel=error && npm run --silent vendor
	touch $@

install: $(VENV)/.synced $(VENDORED)

start: install
	$(BIN)/pymastery serve

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy src tests benchmarks

system:
	bash tools/system-packages.sh

test: lint system
	$(BIN)/pymastery validate
	$(BIN)/pytest
	$(BIN)/pytest tests/cohort --ds tests.cohort_settings  # cohort mode: its own settings, on PostgreSQL

quick: install
	$(BIN)/pytest -m "not content and not browser" -x -q

clean:
	rm -rf $(TOOLS) $(VENV) .mypy_cache .ruff_cache .pytest_cache
