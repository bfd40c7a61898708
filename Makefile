# Two entry points that work on a fresh machine with Python 3.11+:
#   make run   -- create .venv, install semalloc, run the main job
#   make test  -- create .venv, install with test extras, run pytest
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test test-slow bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/semalloc generate multicell --seed 0 -o out/default-multicell.json
	$(BIN)/semalloc compare out/default-multicell.json

test: $(STAMP)
	MPLBACKEND=Agg $(BIN)/python -m pytest

test-slow: $(STAMP)
	MPLBACKEND=Agg $(BIN)/python -m pytest -m slow

bench: $(STAMP)
	$(BIN)/python benchmarks/multicell.py

clean:
	rm -rf $(VENV) out .pytest_cache
