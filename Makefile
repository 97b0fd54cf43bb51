# Two commands a learner needs: `make lab` and `make test`. Both set up .venv by themselves.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.scattn-installed

.PHONY: install lab test test-fast notebooks exercises bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/

NBVAL := --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg

# The whole suite: lint, then unit, property and cross-checks, and nbval (strict) on the
# course notebooks, the solutions and the exercises, all in the smoke profile.
test: $(STAMP)
	$(BIN)/ruff check scattn tests benchmarks
	SCATTN_PROFILE=smoke $(BIN)/python -m pytest -n 2 --dist loadfile $(NBVAL) tests notebooks solutions exercises

# Only the Python tests, no notebooks.
test-fast: $(STAMP)
	SCATTN_PROFILE=smoke $(BIN)/python -m pytest -n 2 tests

# Execute every notebook in place so committed outputs come from a real run (cpu or gpu profile).
notebooks: $(STAMP)
	$(BIN)/python -m scattn course run

# Regenerate exercises/ from solutions/.
exercises: $(STAMP)
	$(BIN)/python -m scattn course build

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_attention.py

clean:
	rm -rf $(VENV) .pytest_cache
