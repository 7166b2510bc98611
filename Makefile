# The two commands of the README, and a few more for developers.
#   make run    install into .venv, create the demo district, serve it on http://127.0.0.1:8000
#   make test   install into .venv (with test tools), then lint, type-check and run every test

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
JOBS   ?= 2

.PHONY: run test install lint typecheck pytest bench fuzz fuzz-snapshots crash load screenshots clean

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

# Generated malformed OneRoster snapshots (hypothesis, tests/fuzz): the default test run reads
# 500 and syncs 200 (SQLite) and 100 (PostgreSQL); this one reads 10,000 and syncs 4,000 and 2,000.
SNAPSHOT_EXAMPLES ?= 10000
fuzz-snapshots: install
	ROLLBOOK_SNAPSHOT_FUZZ_EXAMPLES=$(SNAPSHOT_EXAMPLES) $(BIN)/python -m pytest -n $(JOBS) -p no:cacheprovider -rP tests/fuzz $(PYTEST_ARGS)

# kill -9 of `rollbook sync` at random moments, 20 times per backend (the default run: 4).
CRASH_KILLS ?= 20
crash: install
	ROLLBOOK_CRASH_KILLS=$(CRASH_KILLS) $(BIN)/python -m pytest -n $(JOBS) -p no:cacheprovider -rP tests/integration/test_crash_safety.py $(PYTEST_ARGS)

# 64 clients, 60 s of reads and writes against `rollbook serve` while syncs run (bench/load.py),
# on SQLite and on PostgreSQL; LOAD_ARGS="--students 2000 --seconds 20" for a shorter run.
LOAD_BACKENDS ?= sqlite postgresql
load: install
	for backend in $(LOAD_BACKENDS); do $(BIN)/python -m bench.load --backend $$backend $(LOAD_ARGS) || exit 1; done

# Refresh docs/screenshots/ (Debian's chromium at /usr/bin/chromium: apt-get install -y chromium).
screenshots: install
	$(BIN)/python -m bench.screenshots --out docs/screenshots

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
