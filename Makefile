PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

LOCK := requirements.lock
TEST_LOCK := requirements-test.lock
COMPILE := $(BIN)/pip-compile --quiet --generate-hashes --strip-extras --no-emit-index-url --no-emit-find-links

.PHONY: run test lint bench load lock sbom clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# exactly the lock file's versions and hashes, then the service itself (its dependencies are all there)
$(STAMP): $(BIN)/python pyproject.toml $(TEST_LOCK)
	$(BIN)/python -m pip install --quiet --require-hashes -r $(TEST_LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

# sandbox mode has no authentication: this machine only, unless HOST says otherwise (make run HOST=0.0.0.0)
HOST ?= 127.0.0.1
PORT ?= 8080

run: $(STAMP)
	$(BIN)/cdshooks serve --sandbox --host $(HOST) --port $(PORT)

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python scripts/bench.py $(ARGS)

load: $(STAMP)
	$(BIN)/python scripts/load.py

# after a change to the dependencies in pyproject.toml: the image's lock and the tests' lock
lock: $(BIN)/python
	$(BIN)/python -m pip install --quiet pip-tools
	$(COMPILE) --extra postgres --extra otel --extra report --output-file $(LOCK) pyproject.toml
	$(COMPILE) --extra postgres --extra otel --extra report --extra test --output-file $(TEST_LOCK) pyproject.toml

# a CycloneDX SBOM of what the image installs: build/sbom.cdx.json
sbom: $(STAMP)
	mkdir -p build
	$(BIN)/cyclonedx-py requirements $(LOCK) --pyproject pyproject.toml --of JSON --output-reproducible \
		-o build/sbom.cdx.json
	@echo "build/sbom.cdx.json"

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .ruff_cache
