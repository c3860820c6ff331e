# Set-up and checks from a fresh clone. `make test` installs everything it needs.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PORT ?= 8000

.PHONY: test lint chromium bench bench-site clean site demo

test: $(STAMP) node_modules/.installed chromium lint
	NO_MKDOCS_2_WARNING=1 $(PY) -m pytest

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(VENV)/bin/python pyproject.toml
	$(PY) -m pip install -q 'pip<26.3'
	$(PY) -m pip install -q -e '.[test]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

# Debian's Chromium drives the browser tests (Playwright cannot download its own browser here).
chromium:
	@command -v chromium >/dev/null || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; }

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check simulator site tests benchmarks

bench: $(STAMP) node_modules/.installed
	$(PY) benchmarks/engine.py

bench-site: $(STAMP) node_modules/.installed chromium
	$(PY) benchmarks/site.py

# The French static site (mkdocs.yml) into build/site, then served on 127.0.0.1:$(PORT).
site: $(STAMP) node_modules/.installed
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict

demo: site
	$(PY) site/serve.py --port $(PORT)

clean:
	rm -rf $(VENV) node_modules .pytest_cache .ruff_cache .hypothesis build
