# The two commands of the README: `make run` (the app) and `make test` (the whole suite).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
APP_STAMP := $(VENV)/.app-installed
TEST_STAMP := $(VENV)/.test-installed
PACKAGE_STAMP := $(VENV)/.package-installed

.PHONY: run test lint unit bench screenshots system-deps package package-check clean

run: $(APP_STAMP)
	@scripts/install-system-deps.sh --runtime
	$(VENV)/bin/dockyard

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(APP_STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e .
	touch $@

$(TEST_STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(APP_STAMP) $@

$(PACKAGE_STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[package]'
	touch $(APP_STAMP) $@

system-deps:
	scripts/install-system-deps.sh --test

lint: $(TEST_STAMP)
	$(VENV)/bin/ruff check desktop tests packaging
	$(VENV)/bin/ruff format --check desktop tests packaging
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

test: system-deps $(TEST_STAMP) lint
	scripts/run-tests.sh $(PYTEST_ARGS)

unit: $(TEST_STAMP)
	$(PY) -m pytest tests/unit -q

bench: system-deps $(TEST_STAMP)
	scripts/run-tests.sh --bench

screenshots: system-deps $(TEST_STAMP)
	scripts/run-tests.sh --screenshots

# dist/: the wheel and sdist, the PyInstaller bundle tarball and the .deb (packaging/build.sh)
package: $(PACKAGE_STAMP)
	scripts/install-system-deps.sh --package
	PY=$(PY) packaging/build.sh

# CI, as root: installs, starts and removes what `make package` built (packaging/smoke-test.sh)
package-check: package
	PY=$(PY) packaging/smoke-test.sh

clean:
	rm -rf $(VENV) build dist *.egg-info desktop/*.egg-info .mypy_cache .ruff_cache .pytest_cache
