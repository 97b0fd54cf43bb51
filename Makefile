# Two commands a learner needs: `make lab` and `make test`. Both set up .venv by themselves.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.scattn-installed

.PHONY: install lab site test test-fast test-browser test-nbgrader test-colab notebooks exercises zh bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

# Extras on top of [dev], each installed the first time a target needs it.
$(VENV)/.scattn-%-installed: pyproject.toml | $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[dev,$*]"
	touch $@

# JupyterLab on 127.0.0.1 (LAB_IP=0.0.0.0 to reach it from outside a container); it refuses
# to run as root unless told it may, so --allow-root is passed exactly when we are root.
LAB_IP   ?= 127.0.0.1
LAB_PORT ?= 8888
IS_ROOT  := $(filter 0,$(shell id -u))
# It serves the whole repository: the course (notebooks/) and the Chinese edition (zh/notebooks/).
lab: $(STAMP)
	@echo "Starting JupyterLab in $(CURDIR). It prints its address below, with a token; open it in your"
	@echo "browser (the port moves up if $(LAB_PORT) is taken). Both trees, in that address:"
	@echo "  the course:                    http://$(LAB_IP):$(LAB_PORT)/lab/tree/notebooks?token=..."
	@echo "  中文版 (the Chinese edition):  http://$(LAB_IP):$(LAB_PORT)/lab/tree/zh/notebooks?token=...$(if $(wildcard zh/notebooks),,  (not built yet: make zh))"
	@echo "Ctrl-C twice stops it."
	$(BIN)/jupyter lab --ip=$(LAB_IP) --port=$(LAB_PORT) --no-browser $(if $(IS_ROOT),--allow-root) \
		--ServerApp.root_dir=. --LabApp.default_url=/lab/tree/notebooks

# The course website (Jupyter Book 1), strict: a warning is an error. Two books (BOOKS in
# docs/_ext/scattn_site.py): the English one, then the Chinese edition into its zh/ folder, once
# zh/notebooks exists (make zh). Serve build/site/_build/html/.
site: $(VENV)/.scattn-site-installed
	$(BIN)/python docs/_ext/scattn_site.py build/site

NBVAL := --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg

# The whole suite: lint, then unit, property and cross-checks, and nbval (strict) on the
# course notebooks, the solutions and the exercises (English and Chinese), all in the smoke profile.
test: $(VENV)/.scattn-site-installed
	$(BIN)/ruff check scattn tests benchmarks tools
	SCATTN_PROFILE=smoke $(BIN)/python -m pytest -n 2 --dist loadfile $(NBVAL) tests notebooks solutions exercises \
		$(wildcard zh/notebooks zh/solutions zh/exercises)

# Only the Python tests, no notebooks and no fresh-venv installation tests (-m "not install").
test-fast: $(STAMP)
	SCATTN_PROFILE=smoke $(BIN)/python -m pytest -n 2 -m "not install" tests

# JupyterLab in a real browser: Debian's Chromium driven by Playwright (tests/test_browser.py).
SUDO := $(if $(IS_ROOT),,sudo)
test-browser: $(VENV)/.scattn-browser-installed
	@test -x /usr/bin/chromium && fc-list | grep -q "CJK" || \
		($(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium fonts-noto-cjk)
	SCATTN_BROWSER_TEST=1 $(BIN)/python -m pytest -p no:randomly -v tests/test_browser.py

# nbgrader for real: generate_assignment and autograde in a scratch course (tests/test_nbgrader.py).
test-nbgrader: $(VENV)/.scattn-grading-installed
	SCATTN_PROFILE=smoke $(BIN)/python -m pytest -p no:randomly -v tests/test_nbgrader.py

# A Colab-like environment: the versions Colab ships (tests/colab/constraints.txt; sources in
# docs/colab.md) in a fresh venv; the notebooks' own setup cell, run as it is with SCATTN_SOURCE
# pointing at this checkout, installs the course (pip, not editable); then notebooks 00-04 and
# the exercise solutions under nbval in the smoke profile. Run before each release
# (docs/colab.md says how long it takes and why CI does not run it).
COLAB_VENV ?= .venv-colab
COLAB_PINS := tests/colab/constraints.txt

test-colab: $(STAMP)
	rm -rf $(COLAB_VENV)
	$(PYTHON) -m venv $(COLAB_VENV)
	$(COLAB_VENV)/bin/python -m pip install --quiet -r $(COLAB_PINS) pytest nbval
	$(BIN)/python -m tools.notebooks setup-cell > $(COLAB_VENV)/setup_cell.py
	cd $(COLAB_VENV) && env -u PYTHONPATH SCATTN_SOURCE=$(CURDIR) PIP_CONSTRAINT=$(CURDIR)/$(COLAB_PINS) \
		SCATTN_PROFILE=smoke bin/python setup_cell.py
	env -u PYTHONPATH $(COLAB_VENV)/bin/python tests/colab/check_versions.py
	env -u PYTHONPATH SCATTN_PROFILE=smoke $(COLAB_VENV)/bin/python -m pytest -p no:cacheprovider $(NBVAL) \
		notebooks/0[0-4]_*.ipynb solutions

# Execute every notebook in place so committed outputs come from a real run (cpu or gpu profile).
notebooks: $(STAMP)
	$(BIN)/python -m tools.notebooks run

# Regenerate exercises/ from solutions/ (and zh/exercises/ from zh/solutions/).
exercises: $(STAMP)
	$(BIN)/python -m tools.notebooks build

# The Chinese edition: zh/notebooks and zh/solutions from the English ones and translations/zh/,
# then zh/exercises from zh/solutions (tools/translate.py says how it stays in step).
zh: $(STAMP)
	$(BIN)/python -m tools.translate build
	$(BIN)/python -m tools.notebooks build

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_attention.py

clean:
	rm -rf $(VENV) .pytest_cache build/site build/browser
