# Everything a fresh machine needs: `make run` and `make test` create .venv/ and install into it.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 3000
UV_VERSION := 0.9.30

CHECKOV := $(VENV)/tools/checkov/bin/checkov

.PHONY: install run test lint typecheck template-lint scan unit fault integration e2e browser bench train eval-generalization clean

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check uv==$(UV_VERSION)
	$(BIN)/uv pip install -q --python $(BIN)/python -c requirements.lock -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# checkov pins packages the product pins differently, so it lives in a virtualenv of its own.
$(CHECKOV): requirements-checkov.lock | $(STAMP)
	test -x $(VENV)/tools/checkov/bin/python || $(PYTHON) -m venv $(VENV)/tools/checkov
	$(BIN)/uv pip install -q --python $(VENV)/tools/checkov/bin/python -r requirements-checkov.lock
	touch $(CHECKOV)

run: install
	$(BIN)/rewards serve --port $(PORT)

test: install lint typecheck template-lint scan unit fault integration e2e

# ruff also holds functions short (C901, PLR0915); lint-imports holds the layers
# (docs/architecture.md); pylint's duplicate-code finds code written twice.
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/pylint --rcfile pyproject.toml shared functions

typecheck: install
	$(BIN)/mypy shared functions

# cfn-lint with the serverless rules; every suppression carries its reason in template.yaml.
template-lint: install
	$(BIN)/cfn-lint -a cfn_lint_serverless.rules -- template.yaml

# checkov on the template (.checkov.yaml lists the repo-wide decisions) and bandit on the
# product code at medium severity and up (low: asserts and non-cryptographic randomness).
scan: install $(CHECKOV)
	$(CHECKOV) -f template.yaml --config-file .checkov.yaml --skip-download
	$(BIN)/bandit -q -r shared functions --severity-level medium

unit: install
	$(BIN)/pytest -q tests/unit

# Faults at every port site of the money path, on the memory and the moto table.
fault: install
	$(BIN)/pytest -q tests/fault

integration: install
	$(BIN)/pytest -q tests/integration

e2e: install browser
	$(BIN)/pytest -q tests/e2e

# The console test drives Debian's Chromium (Playwright's own browser download is not used).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; \
	  else echo "chromium missing: run 'sudo apt-get install chromium' for the console test"; fi; }

bench: install
	$(BIN)/python -m shared.bench

# The shipped default model: the training recipe applied to every generator under generators/.
train: install
	$(BIN)/python -m shared.training.generalization --shipped-model models

# Leave-one-generator-out: the training recipe judged on generators it never saw.
eval-generalization: install
	$(BIN)/python -m shared.training.generalization

clean:
	rm -rf $(VENV) .aws-sam .pytest_cache .mypy_cache .ruff_cache .eval

# `sam build` builds the shared layer with this target (BuildMethod: makefile).
# Wheels are Lambda's (python3.11 on x86_64, glibc 2.26), whatever machine builds the layer;
# tests, scripts and the development-only parts of shared/ stay out (numpy's tests alone
# are 16.6 MB of the 92 MB the wheels unpack to). Byte code is compiled here because /opt
# is read-only on Lambda: without it every cold start compiles shared/ again.
LAYER = $(ARTIFACTS_DIR)/python
build-SharedLayer:
	mkdir -p "$(LAYER)"
	cp -r shared "$(LAYER)/"
	rm -rf "$(LAYER)/shared/local" "$(LAYER)/shared/training" "$(LAYER)/shared/benchmarks"
	rm -f "$(LAYER)/shared/bench.py" "$(LAYER)/shared/cli.py" "$(LAYER)/shared/labels_cli.py" \
	  "$(LAYER)/shared/progress.py"
	find "$(LAYER)/shared" -name __pycache__ -type d -prune -exec rm -rf {} +
	mkdir -p "$(ARTIFACTS_DIR)/models" && cp -r models/. "$(ARTIFACTS_DIR)/models/"
	$(PYTHON) -m pip install -q --disable-pip-version-check --target "$(LAYER)" \
	  --platform manylinux2014_x86_64 --python-version 3.11 --only-binary=:all: \
	  --require-hashes --no-deps -r layer-requirements.txt
	find "$(LAYER)/numpy" -name tests -type d -prune -exec rm -rf {} +
	rm -rf "$(LAYER)/bin"
	if $(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then \
	  $(PYTHON) -m compileall -q "$(LAYER)/shared"; \
	else find "$(LAYER)" -name __pycache__ -type d -prune -exec rm -rf {} +; fi
