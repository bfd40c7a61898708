"""The public facade of the sbq agents: the names of four modules, in one place.

The code lives in one module per concern; import from them inside semalloc:

- :mod:`semalloc.rl.checkpoint`: the file format -- :class:`Agent`, :func:`load`, :data:`FORMAT`,
  sidecars (:func:`write_sidecar`), the shipped agents (:data:`SHIPPED`, :data:`SHIPPED_MAPPING`,
  :data:`SHIPPED_BY_PRESET`), the agent kinds :data:`KINDS`;
- :mod:`semalloc.rl.training`: :func:`train`, the recipes :data:`PRESETS`, :func:`train_recorded`,
  :func:`retrained`;
- :mod:`semalloc.rl.cache`: :func:`agent_for` (the agent ``drl`` runs: shipped, a file, or ``auto``,
  trained once and cached) and :func:`scenario_of`;
- :mod:`semalloc.rl.evaluation`: :func:`run_episodes`, :func:`compare`.

This module stays (decision of issue 20) so that users' code, notebooks and
``from semalloc.rl.agents import ...`` lines written before the split keep
working: it defines nothing and re-exports the public names in ``__all__``
(the same objects, so ``agents.load is checkpoint.load``). Nothing inside
semalloc imports it; it imports every layer above the file format, so a
module that needs only :func:`load` should not import it (it would pull in
training and evaluation).

Examples
--------
>>> from semalloc.rl import agents, checkpoint, training
>>> agents.load is checkpoint.load and agents.PRESETS is training.PRESETS
True
>>> agents.SHIPPED.name
'sbq-hybrid.pt'
"""
from __future__ import annotations

from .cache import agent_for, scenario_of
from .checkpoint import FORMAT, KINDS, SHIPPED, SHIPPED_BY_PRESET, SHIPPED_MAPPING, Agent, load, write_sidecar
from .evaluation import compare, run_episodes
from .training import PRESETS, retrained, train, train_recorded

__all__ = ["KINDS", "PRESETS", "Agent", "train", "train_recorded", "retrained", "load", "agent_for", "run_episodes",
           "compare", "scenario_of", "FORMAT", "SHIPPED", "SHIPPED_MAPPING", "SHIPPED_BY_PRESET", "write_sidecar"]
