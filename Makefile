# Set-up and checks from a fresh clone. `make test` installs everything it needs.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PORT ?= 8000
API_PORT ?= 8001
STACK ?= assurcredit-dev

.PHONY: test lint chromium bench bench-site clean site demo mails package publish

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
	$(PY) -m ruff format --check simulator site tests benchmarks api infra

bench: $(STAMP) node_modules/.installed
	$(PY) benchmarks/engine.py
	$(PY) benchmarks/api.py

bench-site: $(STAMP) node_modules/.installed chromium
	$(PY) benchmarks/site.py

# The French static site (mkdocs.yml) into build/site, then served on 127.0.0.1:$(PORT).
site: $(STAMP) node_modules/.installed
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict

# Local AWS (moto server on 127.0.0.1), the API under `chalice local`, and the site pointing at it.
demo: site
	$(PY) -m infra.local_stack --app-dir api --port $(API_PORT) --site-dir build/site --site-port $(PORT)

# The e-mails the running `make demo` has sent (moto's SES), as a mailbox; TO=address to filter.
mails: $(STAMP)
	$(PY) -m infra.mails $(if $(TO),--to $(TO))

# Deployment (see infra/README.md): CloudFormation from Chalice merged with infra/template.yaml.
package: $(STAMP)
	$(PY) api/vendor_engine.py
	cd api && AWS_DEFAULT_REGION=eu-west-3 ../$(VENV)/bin/chalice package --stage dev --merge-template ../infra/template.yaml --template-format yaml ../build/cfn

publish: site
	$(PY) -m infra.publish_site --stack $(STACK)

clean:
	rm -rf $(VENV) node_modules .pytest_cache .ruff_cache .hypothesis build
