"""The agent ``drl`` runs on a slot (:func:`agent_for`): the shipped one, a checkpoint, or ``auto`` -- a
hybrid agent trained once on the slot's scenario (:func:`scenario_of`) and cached on disk under a file
lock; loaded agents stay in memory (the last four).

Examples
--------
>>> import semalloc
>>> from semalloc.rl.cache import agent_for, scenario_of
>>> inst = semalloc.generate("sbq", seed=0, users=3)
>>> scenario_of(inst)["users"], scenario_of(inst)["power_max_w"]
(3, 1.0)
>>> agent_for(inst, None).kind                        # the shipped scenario-general agent
'hybrid'
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path

from ..caches import cache_dir
from ..errors import InputError
from ..units import w_to_dbm
from .checkpoint import _VERSION, SHIPPED, Agent, load
from .training import train

__all__ = ["agent_for", "scenario_of"]

#: Agents :func:`agent_for` loaded, by (resolved path, modification time, device); the last four.
_LOADED: dict = {}


def scenario_of(inst) -> dict:
    """Generator settings of the scenario slot ``inst`` comes from (the rest: generator defaults)."""
    keys = ("bandwidth_hz", "power_max_w", "deadline_s", "xi_threshold", "qos_weight", "sqe_req", "sqe_steepness",
            "latency_req_s", "latency_steepness", "words_per_sentence", "units_per_sentence")
    return {"users": inst.K, "antennas": inst.Nt, "subchannels": inst.M,
            "noise_dbm_hz": float(w_to_dbm(inst.noise_psd_w_hz)),
            **{k: (int if k == "words_per_sentence" else float)(getattr(inst, k)) for k in keys}}


@contextlib.contextmanager
def _locked(path: Path):
    """An exclusive lock on ``path`` (workers of one sweep train a scenario's agent once)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        try:
            import fcntl
            fcntl.flock(f, fcntl.LOCK_EX)
        except ImportError:                                   # no fcntl (Windows): no lock
            pass
        yield


def agent_for(inst, agent: str | None, steps: int = 30000, seed: int = 0, device: str = "cpu",
              shipped: Path = SHIPPED) -> Agent:
    """The agent ``drl`` runs on ``inst``: ``None`` (the shipped agent ``shipped``, :data:`SHIPPED` or
    :data:`SHIPPED_MAPPING`), a checkpoint path, or ``"auto"``.

    ``auto`` trains a hybrid agent for ``steps`` steps on the instance's
    scenario (:func:`scenario_of`) once, and caches it under
    ``$SEMALLOC_CACHE/agents`` (default: the system's temporary directory).
    """
    if agent is None:
        if not shipped.is_file():
            raise InputError("agent", f"no shipped agent at {shipped}; `make agents` trains it", "sbq")
        path = shipped
    elif agent == "auto":
        settings = scenario_of(inst)
        key = hashlib.sha256(json.dumps([settings, int(steps), int(seed), _VERSION], sort_keys=True).encode())
        path = cache_dir("agents") / f"hybrid-{key.hexdigest()[:16]}.pt"
        if not path.is_file():
            with _locked(path.with_suffix(".lock")):
                if not path.is_file():
                    tmp = path.with_suffix(f".{os.getpid()}.tmp.pt")
                    train("hybrid", steps, settings, seed=seed, device=device, progress=False).save(tmp)
                    os.replace(tmp, path)
    else:
        path = Path(agent)
    try:
        stamp = (str(path.resolve()), path.stat().st_mtime_ns, device)
    except OSError:
        raise InputError("agent", f"{agent}: no such file", "sbq") from None
    if stamp not in _LOADED:
        if len(_LOADED) >= 4:                                 # drl and mapping-drl in one sweep: both stay loaded
            _LOADED.pop(next(iter(_LOADED)))
        _LOADED[stamp] = load(path, device)
    return _LOADED[stamp]
