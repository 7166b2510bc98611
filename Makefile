# The two commands of the README, and a few more for developers.
#   make run    install into .venv, create the demo district, serve it on http://127.0.0.1:8000
#   make test   install into .venv (with test tools), then lint, type-check and run every test

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
JOBS   ?= 2

.PHONY: run test install lint typecheck pytest bench fuzz screenshots clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/rollbook demo

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: install
	$(BIN)/mypy

pytest: install
	$(BIN)/python -m pytest -n $(JOBS) $(PYTEST_ARGS)

test: lint typecheck pytest

# The sync benchmark (docs/benchmarks.md): N = 10,000 and 100,000; BENCH_ARGS=--large adds
# 1,000,000.
bench: install
	$(BIN)/python -m bench $(BENCH_ARGS)

# The API fuzzed against its OpenAPI document at length, in-process (schemathesis), on both
# backends; the default test run makes 15 examples per operation and mode, this one 500.
FUZZ_EXAMPLES ?= 500
fuzz: install
	ROLLBOOK_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest -n $(JOBS) -p no:cacheprovider tests/integration/test_schemathesis.py $(PYTEST_ARGS)

# Refresh docs/screenshots/ (Debian's chromium at /usr/bin/chromium: apt-get install -y chromium).
screenshots: install
	$(BIN)/python -m bench.screenshots --out docs/screenshots

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
