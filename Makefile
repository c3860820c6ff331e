# Set-up and checks from a fresh clone. `make test` installs everything it needs.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: test lint unit node bench clean

test: $(STAMP) node_modules/.installed lint
	$(PY) -m pytest

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(VENV)/bin/python pyproject.toml
	$(PY) -m pip install -q 'pip<26.3'
	$(PY) -m pip install -q -e '.[test]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check simulator

bench: $(STAMP) node_modules/.installed
	$(PY) benchmarks/engine.py

clean:
	rm -rf $(VENV) node_modules .pytest_cache .ruff_cache .hypothesis
