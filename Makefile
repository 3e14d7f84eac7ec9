# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
CONFIG ?= examples/quickstart.yaml
STAMP  := $(VENV)/.installed
RUNTIME := $(VENV)/.installed-runtime

.PHONY: run test lint typecheck unit bench clean

# `make run` needs only the hub itself (about 0.2 GB); the test suite also needs the LLM, semantic
# cache (torch) and database-driver extras (about 1.5 GB).
$(RUNTIME): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $(RUNTIME)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

run: $(RUNTIME)
	mkdir -p data
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python examples/run_quickstart.py $(CONFIG)

lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest $(PYTEST_ARGS)

test: lint typecheck unit

bench: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m bench
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m bench rest
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m bench governance
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m bench llm

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache data .cache
