# eo_jlab: two commands do all set-up on a fresh machine.
#
#   make demo   install what is needed, then start JupyterLab with the embedded demo (offline)
#   make test   install what is needed, then run every test suite
#   make demo-hub  (optional) a local JupyterHub with users alice, bob, carol and the share service
#
# Set-up steps leave stamps in .make/ and rerun only when their inputs change, so a second
# `make test` skips them.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
PY := $(BIN)/python
JLPM := $(BIN)/jlpm
STAMPS := .make
PYTHON ?= python3
DEBIAN_PACKAGES := chromium iproute2 util-linux

export PATH := $(BIN):$(PATH)
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1
export PIP_DISABLE_PIP_VERSION_CHECK := 1

SOURCES := $(shell find src style schema -type f 2>/dev/null) package.json tsconfig.json

# Test servers and kernels (STAC API on pgstac, pycsw, R, ...) each bring a fragment in mk/
# that adds its set-up stamp to TEST_STAMPS (their own venvs live under .servers/).
TEST_STAMPS :=
-include mk/*.mk

.PHONY: help install build demo demo-hub test lint test-python test-js test-ui check-auth check-idempotent wheel bench clean

help:
	@echo "make demo   - set up and start JupyterLab with the eo_jlab demo (offline)"
	@echo "make test   - set up and run every test suite (lint, jest, pytest, auth check, Galata, wheel)"
	@echo "make demo-hub - set up and start a local JupyterHub (alice, bob, carol) with the share service"
	@echo "make bench  - run the benchmarks in bench/"
	@echo "make clean  - remove build products, stamps and the virtual environment"

$(STAMPS):
	@mkdir -p $(STAMPS)

# Debian packages: Chromium for Galata, iproute2/util-linux for the offline demo test.
$(STAMPS)/debian: | $(STAMPS)
	@if dpkg -s $(DEBIAN_PACKAGES) >/dev/null 2>&1; then \
	  echo "Debian packages present: $(DEBIAN_PACKAGES)"; \
	else \
	  SUDO=$$( [ "$$(id -u)" = 0 ] && echo "" || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(DEBIAN_PACKAGES); \
	fi
	@touch $@

$(STAMPS)/venv: | $(STAMPS)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -U pip
	$(PY) -m pip install -q "jupyter-builder>=1.2,<2"
	@touch $@

# JavaScript dependencies (yarn via jlpm; immutable when CI=true).
$(STAMPS)/js: $(STAMPS)/venv package.json yarn.lock .yarnrc.yml
	$(JLPM) install
	@touch $@

# The Python package in editable mode (its build hook runs the JS build) with the test tools and
# the local PyWPS sandbox (PyWPS in this venv), then the labextension symlinked into the venv
# so rebuilds are picked up.
$(STAMPS)/python: $(STAMPS)/js pyproject.toml
	@# A previous develop link would let pip write install.json into the source bundle folder,
	@# which the next editable build then adds twice: drop both first.
	rm -rf $(VENV)/share/jupyter/labextensions/eo_jlab eo_jlab/labextension/install.json
	$(PY) -m pip install -q -e ".[test,sandbox]"
	$(BIN)/jupyter labextension develop . --overwrite
	@touch $@

$(STAMPS)/ui-tests: $(STAMPS)/js ui-tests/package.json ui-tests/yarn.lock
	cd ui-tests && $(JLPM) install
	@touch $@

install: $(STAMPS)/debian $(STAMPS)/python $(STAMPS)/ui-tests $(TEST_STAMPS)

$(STAMPS)/build: $(STAMPS)/python $(SOURCES)
	$(JLPM) build
	@touch $@

build: $(STAMPS)/build

demo: install build
	$(BIN)/eo-jlab demo --workspace $(CURDIR)/eo-jlab-demo

# A local JupyterHub on a free 127.0.0.1 port: users alice, bob and carol (one printed password),
# group 'class' = bob, the eo-jlab share service (mk/hub.mk installs JupyterHub and the proxy).
demo-hub: install build
	$(PY) -m eo_jlab.sharing.demo_hub --workspace $(CURDIR)/eo-jlab-demo-hub \
	  --proxy $(CURDIR)/$(CHP_DIR)/node_modules/.bin/configurable-http-proxy

lint: install
	$(BIN)/ruff check eo_jlab tests bench .ci ui-tests/jupyter_server_test_config.py
	$(BIN)/ruff format --check eo_jlab tests bench .ci
	$(JLPM) lint:check

test-js: install
	$(JLPM) test

test-python: install build
	$(PY) -m pytest -v -r fEs --cov eo_jlab --cov-report term-missing:skip-covered

check-auth: install
	$(PY) .github/scripts/check_auth.py
	$(BIN)/jupyter server extension list 2>&1 | grep -ie "eo_jlab.*OK"
	$(BIN)/jupyter labextension list 2>&1 | grep -ie "eo_jlab.*OK"

test-ui: install build
	cd ui-tests && CI=true $(JLPM) playwright test

# A production wheel built from a clean copy of the tree (the working tree keeps its
# development bundle), checked to carry the prebuilt labextension.
wheel: install
	rm -rf dist
	src=$$(mktemp -d) && trap 'rm -rf "$$src"' EXIT && \
	git ls-files -z --cached --others --exclude-standard | grep -zv '^ui-tests/' | \
	  while IFS= read -r -d '' f; do [ -e "$$f" ] && printf '%s\0' "$$f"; done | \
	  xargs -0 cp --parents -t "$$src" && \
	ln -s $(CURDIR)/node_modules "$$src/node_modules" && \
	( cd "$$src" && $(PY) -m build --wheel --outdir $(CURDIR)/dist . > "$$src/wheel.log" 2>&1 ) \
	  || { tail -40 "$$src/wheel.log"; exit 1; }
	$(PY) .ci/check_wheel.py dist/*.whl

# After a full set-up, nothing is left to redo: a second `make test` skips every set-up step.
check-idempotent: install build
	@$(MAKE) -q $(STAMPS)/debian $(STAMPS)/python $(STAMPS)/ui-tests $(STAMPS)/build $(TEST_STAMPS) \
	  || { echo "set-up is not idempotent: a stamp is out of date right after set-up"; exit 1; }
	@echo "set-up is idempotent: every stamp is up to date"

test: check-idempotent lint test-js test-python check-auth test-ui wheel
	@echo "make test: every suite passed"

bench: install build
	@start=$$(date +%s); \
	$(PY) bench/event_loop.py && $(PY) bench/search.py && $(PY) bench/jobs.py && \
	$(PY) bench/sharing.py && $(PY) bench/startup.py && $(PY) bench/browser.py && \
	$(PY) bench/setup_time.py && \
	echo "make bench: every benchmark ran in $$(( $$(date +%s) - start )) s"

clean:
	rm -rf $(STAMPS) .servers dist lib eo_jlab/labextension eo_jlab/_version.py tsconfig.tsbuildinfo \
	  node_modules ui-tests/node_modules $(VENV) .eslintcache .stylelintcache
