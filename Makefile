# Two commands: `make run` runs the workbook in sandbox mode, `make test` checks it.
# Each creates .venv on first use and reinstalls only when pyproject.toml changes.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
ARGS ?=

.PHONY: run test lint lab sandbox baseline clean clean-sandbox

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/ssopoc run $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check conftest.py lib tests notebooks
	$(BIN)/ruff format --check conftest.py lib tests notebooks
	$(BIN)/mypy

test: lint
	$(BIN)/pytest $(ARGS)

lab: $(STAMP)
	$(BIN)/ssopoc sandbox --ensure
	$(BIN)/jupyter lab --notebook-dir=notebooks
	@echo "the sandbox keeps running; stop it with: $(BIN)/ssopoc sandbox --stop"

sandbox: $(STAMP)
	$(BIN)/ssopoc sandbox

baseline: $(STAMP)
	$(BIN)/ssopoc baseline $(ARGS)

clean-sandbox: $(STAMP)
	$(BIN)/ssopoc clean

clean:
	rm -rf $(VENV) build lib/*.egg-info
