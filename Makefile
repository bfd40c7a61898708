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
	$(BIN)/python benchmarks/sbq.py --episodes 50 --slots 2 --default-slots 10    # the shipped agent: ~10 min
	$(BIN)/python benchmarks/sbq_mapping.py --episodes 50 --slots 2               # where drl's gain over mapping comes from: ~20 min
	$(BIN)/python benchmarks/sbq_best.py --slots 12                               # best against every assignment (K <= 6): ~3 min

# API reference from the docstrings (pdoc, offline) -> docs/api/index.html
API_MODULES := semalloc semalloc.plugins semalloc.experiments semalloc.problems semalloc.solvers semalloc.perf \
               semalloc.channel semalloc.result semalloc.errors semalloc.schema semalloc.learn semalloc.rl
docs: $(STAMP)
	$(BIN)/python -m pip install -q -e '.[docs]'
	MPLBACKEND=Agg $(BIN)/python -m pdoc -d numpy -o docs/api $(API_MODULES)

# the shipped sbq agents (src/semalloc/rl/data: sbq-hybrid.pt, sbq-mapping-drl.pt, sbq-dqn.pt, sbq-td3.pt,
# sbq-hybrid-zf.pt) from
# scratch, a few hours on one core; prints whether each is bit-identical to the shipped file (SHA-256 in its
# sidecar; bit-identical needs the recorded torch and numpy builds and one torch thread, which the presets use)
agents: $(STAMP)
	for p in paper mapping dqn td3 zf; do \
	  $(BIN)/semalloc rl train sbq --preset $$p -o out/agents/$$p.pt --no-progress || exit 1; done
	$(BIN)/python -c "import json; from semalloc.rl.checkpoint import SHIPPED_BY_PRESET as S; \
	[print(p, 'identical to the shipped agent' if json.load(open(f'out/agents/{p}.json'))['sha256'] == \
	json.load(open(S[p].with_suffix('.json')))['sha256'] else 'differs from the shipped agent') for p in S]"

# the training curves of figure sbq-training (src/semalloc/rl/data/curves): per-scenario hybrid agents (drl's
# recipe: PPO + the pathwise gradient; and PPO alone), DQN and TD3 at the default scenario, 30720 steps each,
# seeds 0-2 (hours on one core: DQN and TD3 are slow)
curves: $(STAMP)
	for s in 0 1 2; do \
	  $(BIN)/semalloc rl train sbq --agent hybrid --steps 30720 --seed $$s --slots 25 --pathwise 3 --kappa 50 \
	    --median --device cpu -o out/curves/hybrid-s$$s.pt --no-progress || exit 1; \
	  for a in ppo dqn td3; do ext=zip; k=$$a; [ $$a = ppo ] && ext=pt && k=hybrid; \
	    $(BIN)/semalloc rl train sbq --agent $$k --steps 30720 --seed $$s --slots 25 --device cpu \
	    -o out/curves/$$a-s$$s.$$ext --no-progress || exit 1; done; done
	cp out/curves/*.csv out/curves/*.json src/semalloc/rl/data/curves/

clean:
	rm -rf $(VENV) out .pytest_cache docs/api
