# Two entry points that work on a fresh machine with Python 3.11+:
#   make run   -- create .venv, install semalloc, reproduce every paper figure (quick) under out/
#   make test  -- create .venv, install with test extras, run pytest
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test test-slow bench docs agents curves clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	MPLBACKEND=Agg $(BIN)/semalloc reproduce all --quick --workers 2 --out out

test: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	MPLBACKEND=Agg $(BIN)/python -m pytest

test-slow: $(STAMP)
	MPLBACKEND=Agg $(BIN)/python -m pytest -m slow

bench: $(STAMP)
	$(BIN)/python benchmarks/multicell.py
	$(BIN)/python benchmarks/sweep.py
	$(BIN)/python benchmarks/compression.py
	$(BIN)/python benchmarks/training.py
	$(BIN)/python benchmarks/offloading.py
	$(BIN)/python benchmarks/sbq.py --episodes 50 --slots 2 --default-slots 10    # the shipped agent: ~4 min

# API reference from the docstrings (pdoc, offline) -> docs/api/index.html
API_MODULES := semalloc semalloc.plugins semalloc.experiments semalloc.problems semalloc.solvers semalloc.perf \
               semalloc.channel semalloc.result semalloc.errors semalloc.schema semalloc.learn semalloc.rl
docs: $(STAMP)
	$(BIN)/python -m pip install -q -e '.[docs]'
	MPLBACKEND=Agg $(BIN)/python -m pdoc -d numpy -o docs/api $(API_MODULES)

# the shipped sbq agent (src/semalloc/rl/data/sbq-hybrid.pt) from scratch, about an hour on one core;
# prints whether the result is bit-identical to the shipped file (SHA-256 in its sidecar); the shipped file
# was trained at commit 859df5e, before the generators' per-entity random streams: a later commit differs
agents: $(STAMP)
	$(BIN)/semalloc rl train sbq --preset paper -o out/agents/sbq-hybrid.pt
	$(BIN)/python -c "import json, sys; a, b = (json.load(open(p))['sha256'] for p in sys.argv[1:]); \
	print('identical to the shipped agent' if a == b else f'differs from the shipped agent: {a} != {b}')" \
	out/agents/sbq-hybrid.json src/semalloc/rl/data/sbq-hybrid.json

# the training curves of figure sbq-training (src/semalloc/rl/data/curves): per-scenario hybrid, DQN and
# TD3 agents at the default scenario, 30720 steps each, seeds 0-2 (hours on one core: DQN and TD3 are slow)
curves: $(STAMP)
	for s in 0 1 2; do for a in hybrid dqn td3; do ext=zip; [ $$a = hybrid ] && ext=pt; \
	  $(BIN)/semalloc rl train sbq --agent $$a --steps 30720 --seed $$s --slots 25 --device cpu \
	  -o out/curves/$$a-s$$s.$$ext --no-progress || exit 1; done; done
	cp out/curves/*.csv out/curves/*.json src/semalloc/rl/data/curves/

clean:
	rm -rf $(VENV) out .pytest_cache docs/api
