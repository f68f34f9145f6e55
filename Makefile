PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench load clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test,postgres]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/cdshooks serve --sandbox --host 0.0.0.0 --port 8080

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python scripts/bench.py $(ARGS)

load: $(STAMP)
	$(BIN)/python scripts/load.py

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .ruff_cache
