"""The sbq agent file format: :class:`Agent` (decide a slot, save), :func:`load`, sidecars, shipped agents.

Checkpoints: ``hybrid`` is a ``torch.save`` dict (format tag, kind,
environment settings, network sizes, weights, training stats) read back with
``torch.load(weights_only=True)``; the stable-baselines3 agents are their own
``.zip`` with one more member, ``semalloc.json`` (format tag, kind, settings,
stats), or, for DQN and DDPG/TD3, a ``.pt`` dict like the hybrid one holding
their deterministic policy alone (:class:`semalloc.rl.baselines.Exported`).
:func:`load` refuses any other file with an
:class:`~semalloc.errors.InputError` naming ``agent``. A checkpoint's sidecar
``<name>.json`` (:func:`write_sidecar`) records how it was made and its SHA-256,
which :func:`load` checks (the shipped agents must have one).

Examples
--------
>>> import os, tempfile
>>> from semalloc.rl.checkpoint import SHIPPED, load
>>> agent = load(SHIPPED)                          # its sidecar's SHA-256 checked
>>> agent.kind, agent.general["max_users"]
('hybrid', 12)
>>> path = os.path.join(tempfile.mkdtemp(), "notes.pt")
>>> _ = open(path, "w").write("not an agent")
>>> load(path)
Traceback (most recent call last):
...
semalloc.errors.InputError: sbq: agent: ... is not a semalloc sbq agent (...)
"""
from __future__ import annotations

import functools
import hashlib
import io
import json
import warnings
import zipfile
import zlib
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..problems.sbq.evaluate import outcome
from ..problems.sbq.instance import _settings
from ..problems.sbq.mdp import observe, observe_general
from ..threads import one_blas_thread

__all__ = ["KINDS", "FORMAT", "Agent", "load", "write_sidecar", "SHIPPED", "SHIPPED_MAPPING", "SHIPPED_DQN",
           "SHIPPED_TD3", "SHIPPED_BY_PRESET"]

#: Agent kinds a checkpoint may hold: ours, then the stable-baselines3 baselines (:mod:`semalloc.rl.baselines`).
KINDS = ("hybrid", "dqn", "ddpg", "td3", "sac")
#: Format tag of every semalloc agent file.
FORMAT = "semalloc-sbq-agent"
_VERSION = 1
#: The shipped scenario-general hybrid agent (``semalloc rl train sbq --preset paper``; ``make agents``),
#: with its sidecar ``sbq-hybrid.json`` (command, seed, steps, code version, SHA-256) and curve ``sbq-hybrid.csv``.
SHIPPED = Path(__file__).parent / "data" / "sbq-hybrid.pt"
#: The shipped mapping-guided agent (``mapping-drl``): the ``paper`` recipe on the reward the S-SE map
#: perceives (``semalloc rl train sbq --preset mapping``).
SHIPPED_MAPPING = Path(__file__).parent / "data" / "sbq-mapping-drl.pt"
#: The shipped single-type DRL baselines (presets ``dqn`` and ``td3``): scenario-general DQN on the discretised
#: action (K <= 6) and TD3 on the relaxed one (K <= 12), their deterministic policies alone
#: (:class:`semalloc.rl.baselines.Exported`).
SHIPPED_DQN = Path(__file__).parent / "data" / "sbq-dqn.pt"
SHIPPED_TD3 = Path(__file__).parent / "data" / "sbq-td3.pt"
#: Ours (``drl-zf``, preset ``zf``): the ``paper`` recipe seeing the channel directions, its subchannels decided
#: user by user with each subchannel's zero-forcing residual (:class:`semalloc.rl.hybrid.HybridPolicy`).
SHIPPED_ZF = Path(__file__).parent / "data" / "sbq-hybrid-zf.pt"
#: The shipped agent of each preset.
SHIPPED_BY_PRESET = {"paper": SHIPPED, "mapping": SHIPPED_MAPPING, "dqn": SHIPPED_DQN, "td3": SHIPPED_TD3,
                     "zf": SHIPPED_ZF}


def _device(device: str):
    import torch
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise InputError("device", f"{device!r} requested but CUDA is not available", "sbq")
    if device != "cpu" and not device.startswith("cuda"):
        raise InputError("device", f"must be cpu, cuda, cuda:N or auto, got {device!r}", "sbq")
    return device


def _one_blas_thread(decide):
    """Run a decision with numpy's BLAS on one thread (:func:`~semalloc.threads.one_blas_thread`).

    A decision's products are small (a few hundred rows of 128: (K M + 1) K
    for ``drl-local``, (samples + 1) K for ``drl-sampled``): split over
    OpenBLAS's threads they gain nothing on an idle machine, and while
    another job holds a core the threads wait for each other; on the 2-core
    machine ``drl-local --set changes=1`` then took 10-24 ms a slot instead of
    1.4-1.6 ms, ``drl-sampled`` 23-24 ms instead of 1.2-1.6 ms (measured beside a
    training run). ``solve`` runs every algorithm so; an agent's ``decide`` called directly too."""
    @functools.wraps(decide)
    def one(*args, **kwargs):
        with one_blas_thread():
            return decide(*args, **kwargs)
    return one


class Agent:
    """A trained agent: ``decide(inst, last) -> (variables, moved)`` on one slot."""

    def __init__(self, kind: str, settings: dict, model, stats: dict, slots: int = 100, general: dict | None = None,
                 perception: str = "sbq"):
        self.kind, self.settings, self.model, self.stats, self.slots = kind, dict(settings), model, dict(stats), slots
        self.perception = perception                      # the reward it learned from (rl.env.PERCEPTIONS)
        self.general = dict(general) if general else None       # {"max_users", "ranges"}: scenario-general
        s = _settings(self.settings)
        self.K, self.M, self.Nt = int(s["users"]), int(s["subchannels"]), int(s["antennas"])
        if self.general:
            self.K = int(self.general["max_users"])

    def act(self, obs: np.ndarray) -> dict:
        """Deterministic hybrid action for one observation."""
        if self.kind == "hybrid":                        # numpy forward pass: no torch overhead for one slot
            return self.model.act_one(obs)
        from .baselines import SB3
        raw, _ = self.model.predict(obs, deterministic=True)
        return SB3[self.kind][1](self.K, self.M, raw)

    def observe(self, inst, last_score=None, last_effective=None) -> np.ndarray:
        """The agent's observation of slot ``inst``: :func:`~semalloc.problems.sbq.mdp.observe_general` with
        the features it was trained on (a scenario-general agent), else :func:`~semalloc.problems.sbq.mdp.observe`."""
        if self.general:                                 # the hybrid policy acts for the present users only
            return observe_general(inst, self.K, last_score, last_effective, self.general.get("directions", False),
                                   self.general.get("channels", False))
        return observe(inst, last_score, last_effective)

    def check(self, inst) -> None:
        """Refuse (:class:`InputError` on ``agent``) a slot of other dimensions than the agent was trained for."""
        if (inst.M, inst.Nt) != (self.M, self.Nt) or (inst.K > self.K if self.general else inst.K != self.K):
            raise InputError("agent", f"trained for {'up to ' if self.general else ''}{self.K} users, {self.M} "
                             f"subchannels, {self.Nt} antennas; the slot has {inst.K}, {inst.M}, {inst.Nt}", "sbq")

    @_one_blas_thread
    def decide(self, inst, last_score=None, last_effective=None, samples: int = 0,
               local: bool = False, changes: int | None = None, reallocate: bool = False,
               swaps: bool = False) -> tuple[dict, int]:
        """Variables (feasible by construction) for slot ``inst``; refuses a slot of other dimensions.

        ``samples > 0`` (hybrid only): a policy with sampling -- the
        deterministic action and ``samples`` actions drawn from the policy
        (seeded by the observation, so reproducible), each mapped to its
        allocation and scored by the model (``evaluate``'s objective on this
        slot); the best one is returned (ties: the earliest, so the
        deterministic action first). The samples go through the network, the
        map to an allocation and the model's score as one batch.

        ``local`` (hybrid only): the deterministic action's assignment improved
        by single-user subchannel changes scored by the model (:func:`~semalloc.rl.search.local_search`;
        ``changes``: at most that many, default 2K; ``swaps``: when no single change gains, also every swap
        of two users' choices; ``reallocate``: then the power and bandwidth of the assignment found
        re-optimised by ``best``'s price search).

        In the main thread, numpy's BLAS runs on one thread meanwhile (:func:`_one_blas_thread`).
        """
        self.check(inst)
        from .env import to_allocation
        obs = self.observe(inst, last_score, last_effective)
        if changes is not None:                          # the local search's bound: with local only
            if not local:
                raise InputError("changes", "bounds the local search: needs local=True", "sbq")
            if isinstance(changes, bool) or not isinstance(changes, (int, np.integer)) or changes < 1:
                raise InputError("changes", f"must be an integer >= 1, got {changes!r}", "sbq")
        for name, on, what in (("reallocate", reallocate, "re-allocates the local search's assignment"),
                               ("swaps", swaps, "adds swaps to the local search")):
            if not isinstance(on, (bool, np.bool_)):
                raise InputError(name, f"must be true or false, got {on!r}", "sbq")
            if on and not local:
                raise InputError(name, f"{what}: needs local=True", "sbq")
        if local:
            if self.kind != "hybrid" or samples:
                raise InputError("local", f"only the hybrid agent acting with its mode searches locally, not "
                                 f"{self.kind}{' with samples' if samples else ''}", "sbq")
            from .search import local_search
            v, moved, _ = local_search(self.model, inst, obs, 2 * inst.K if changes is None else changes,
                                       self.perception, reallocate, swaps)
            return v, moved
        if not samples:                                  # a baseline's action covers all K it was trained for
            return to_allocation(inst, self.act(obs), self.perception, None if self.kind == "hybrid" else self.K)
        if self.kind != "hybrid":
            raise InputError("samples", f"only the hybrid agent samples actions, not {self.kind}", "sbq")
        if int(samples) < 0:
            raise InputError("samples", f"must be >= 0, got {samples!r}", "sbq")
        rng = np.random.default_rng(zlib.crc32(obs.tobytes()))
        v, moved = to_allocation(inst, self.model.act_one(obs, int(samples), rng), self.perception)   # a batch
        best = int(np.argmax(outcome(inst, v).score.sum(axis=-1)))          # evaluate's objective; first of equals
        return {k: x[best] for k, x in v.items()}, int(moved[best])

    def save(self, path) -> Path:
        """Write the checkpoint (``.pt`` for hybrid; for the stable-baselines3 agents ``.zip``, the whole
        model, or ``.pt``, the deterministic policy alone: :func:`semalloc.rl.baselines.export`)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = {"format": FORMAT, "version": _VERSION, "kind": self.kind, "settings": self.settings,
                "slots": self.slots, "stats": {k: v for k, v in self.stats.items() if k not in ("config", "curve")},
                **({"general": self.general} if self.general else {}),
                **({"perception": self.perception} if self.perception != "sbq" else {})}
        if self.kind == "hybrid" or path.suffix == ".pt":
            import torch
            m = self.model
            meta["stats"].pop("seconds", None)                 # wall-clock: in the sidecar, not in the weights file
            if self.kind == "hybrid":
                body = {"arch": {"users": m.K, "subchannels": m.M, "features": m.F,
                                 "hidden": m.encoder[0].out_features, "masked": m.masked,
                                 **({"sequential": True} if m.sequential else {}),
                                 **({"channels": m.channels} if m.channels else {})},
                        "state_dict": {k: v.cpu() for k, v in m.state_dict().items()}}
            else:
                from .baselines import Exported, export
                body = {"exported": (m if isinstance(m, Exported) else export(m, self.kind)).state()}
            buf = io.BytesIO()                                   # a file object: the archive's inner name is fixed,
            torch.save({**meta, **body}, buf)                    # not the file's
            path.write_bytes(buf.getvalue())
            return path
        if not hasattr(self.model, "save"):
            raise InputError("agent", f"{path}: an exported {self.kind} policy saves as .pt only", "sbq")
        self.model.save(path)                            # stable-baselines3 appends .zip if missing
        path = path if path.suffix == ".zip" else path.with_name(path.name + ".zip")
        with zipfile.ZipFile(path, "a") as z:
            z.writestr("semalloc.json", json.dumps(meta))
        return path


def _sha256(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_sidecar(path, record: dict) -> Path:
    """Write ``<checkpoint>.json``: the file name, its SHA-256, torch and numpy versions, and ``record``."""
    import torch
    path = Path(path)
    side = path.with_suffix(".json")
    side.write_text(json.dumps({"file": path.name, "sha256": _sha256(path), "torch": torch.__version__, "numpy": np.__version__, **record}, indent=1) + "\n")
    return side


def _check_sidecar(path: Path, required: bool) -> None:
    """The SHA-256 recorded in ``<path>.json`` (if there is one; ``required`` for the shipped agent) must match."""
    side = path.with_suffix(".json")
    if not side.is_file():
        if required:
            raise InputError("agent", f"{path}: its record {side.name} is missing", "sbq")
        return
    try:
        record = json.loads(side.read_text()).get("sha256")
    except (ValueError, AttributeError):
        raise InputError("agent", f"{side}: unreadable record", "sbq") from None
    if not (isinstance(record, str) and len(record) == 64):        # a record vouches for the file by its hash
        raise InputError("agent", f"{side}: the record has no SHA-256 of {path.name} (sha256: {record!r})", "sbq")
    if record != _sha256(path):
        raise InputError("agent", f"{path}: SHA-256 {_sha256(path)[:16]}... does not match {record[:16]}... "
                         f"recorded in {side.name}", "sbq")


def _not_ours(path, why: str) -> InputError:
    return InputError("agent", f"{path} is not a semalloc sbq agent ({why})", "sbq")


def load(path, device: str = "cpu") -> Agent:
    """Read a checkpoint written by :meth:`Agent.save`; anything else is an :class:`InputError` on ``agent``."""
    path = Path(path)
    if not path.is_file():
        raise InputError("agent", f"{path}: no such file", "sbq")
    _check_sidecar(path, required=path.resolve() in {p.resolve() for p in SHIPPED_BY_PRESET.values()})
    device = _device(device)
    import torch
    meta = None
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            if "semalloc.json" in z.namelist():
                try:
                    meta = json.loads(z.read("semalloc.json"))
                except ValueError:
                    raise _not_ours(path, "unreadable semalloc.json") from None
    if meta is None:
        try:
            with warnings.catch_warnings():                      # torch's warnings on a foreign file: not ours
                warnings.simplefilter("ignore")
                meta = torch.load(path, map_location=device, weights_only=True)
        except Exception as e:                                   # noqa: BLE001 -- any unreadable file
            raise _not_ours(path, f"{type(e).__name__}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise _not_ours(path, "no semalloc format tag")
    kind = meta.get("kind")
    if kind not in KINDS or meta.get("version") != _VERSION:
        raise _not_ours(path, f"kind {kind!r}, version {meta.get('version')!r}")
    try:
        if kind == "hybrid":
            from .hybrid import HybridPolicy
            model = HybridPolicy(**meta["arch"]).to(device)
            model.load_state_dict(meta["state_dict"])
            model.eval()
        elif "exported" in meta:                                 # a baseline's policy alone
            from .baselines import Exported
            model = Exported(kind, [(w.float().numpy(), b.float().numpy()) for w, b in meta["exported"]["layers"]])
        else:
            from .baselines import _sb3
            model = _sb3()[kind].load(path, device=device)
        agent = Agent(kind, meta["settings"], model, meta.get("stats", {}), int(meta.get("slots", 100)),
                      meta.get("general"), meta.get("perception", "sbq"))
    except Exception as e:                                       # noqa: BLE001 -- any damage to a tagged file
        raise _not_ours(path, f"damaged: {type(e).__name__}") from None
    from .env import PERCEPTIONS
    if agent.perception not in PERCEPTIONS:
        raise _not_ours(path, f"damaged: perception {agent.perception!r}")
    return agent
