# Two entry points for newcomers (see README): `make book` and `make test`.
# Both create ./.venv on first use and install the project with its dev extras into it.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export HARNB_MIRROR ?= $(abspath ../shared/datasets)

$(BIN)/harnb: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $@

.PHONY: setup book test lint bench
setup: $(BIN)/harnb

book: setup
	$(BIN)/harnb book --profile $(or $(PROFILE),ci)

# --durations: CI's log names the slowest tests (a suite that fits stays visible).
# -n 2 --dist loadgroup: two workers for two cores; the built book's tests stay on one
# (tests/conftest.py orders the longest first). PYTEST_ARGS="-n 0" runs them in one process.
test: setup
	$(BIN)/python -m pytest -q -p no:cacheprovider --durations=25 -n 2 --dist loadgroup $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check harnb tests bench notebooks && $(BIN)/ruff format --check harnb tests bench

bench: setup
	$(BIN)/python bench/bench_preprocess.py && $(BIN)/python bench/bench_models.py
