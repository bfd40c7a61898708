"""Train, save, load and evaluate SBQ agents: ``hybrid`` (ours) and the stable-baselines3 baselines.

Checkpoints: ``hybrid`` is a ``torch.save`` dict (format tag, kind,
environment settings, network sizes, weights, training stats) read back with
``torch.load(weights_only=True)``; the stable-baselines3 agents are their own
``.zip`` with one more member, ``semalloc.json`` (format tag, kind, settings,
stats). :func:`load` refuses any other file with an
:class:`~semalloc.errors.InputError` naming ``agent``.

Examples
--------
>>> import os, tempfile
>>> from semalloc.rl.agents import train, load
>>> agent = train("hybrid", steps=256, settings={"users": 2, "antennas": 2, "subchannels": 1}, progress=False)
>>> path = agent.save(os.path.join(tempfile.mkdtemp(), "a.pt"))
>>> load(path).kind
'hybrid'
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import time
import zipfile
import zlib
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..problems.sbq.evaluate import evaluate, outcome, parse_variables
from ..problems.sbq.instance import _settings, episode
from ..problems.sbq.mdp import allocation, observe, observe_general
from ..units import w_to_dbm

__all__ = ["KINDS", "PRESETS", "Agent", "train", "train_recorded", "load", "agent_for", "run_episodes", "scenario_of", "FORMAT", "SHIPPED",
           "SHIPPED_MAPPING",
           "write_sidecar"]

KINDS = ("hybrid", "dqn", "ddpg", "td3", "sac")
#: Format tag of every semalloc agent file.
FORMAT = "semalloc-sbq-agent"
_VERSION = 1
#: The shipped scenario-general hybrid agent (``semalloc rl train sbq --preset paper``; ``make agents``),
#: with its sidecar ``sbq-hybrid.json`` (command, seed, steps, code version, SHA-256) and curve ``sbq-hybrid.csv``.
SHIPPED = Path(__file__).parent / "data" / "sbq-hybrid.pt"
#: ``semalloc rl train sbq --preset paper``: the recipe of :data:`SHIPPED` (one agent for every point of the
#: sbq figures: K in 2..12, Pmax in 0.01..10 W; M = 3, Nt = 4; 25-slot training episodes, each a new scenario).
PRESETS = {"paper": {"agent": "hybrid", "steps": 307_200, "seed": 0, "slots": 25, "general": True, "max_users": 12},
           "mapping": {"agent": "hybrid", "steps": 307_200, "seed": 0, "slots": 25, "general": True, "max_users": 12,
                       "perception": "mapping"}}
#: The shipped mapping-guided agent (``mapping-drl``): the ``paper`` recipe on the reward the S-SE map
#: perceives (``semalloc rl train sbq --preset mapping``).
SHIPPED_MAPPING = Path(__file__).parent / "data" / "sbq-mapping-drl.pt"
#: The shipped agent of each preset.
SHIPPED_BY_PRESET = {"paper": SHIPPED, "mapping": SHIPPED_MAPPING}


def _device(device: str):
    import torch
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise InputError("device", f"{device!r} requested but CUDA is not available", "sbq")
    if device != "cpu" and not device.startswith("cuda"):
        raise InputError("device", f"must be cpu, cuda, cuda:N or auto, got {device!r}", "sbq")
    return device


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

    def decide(self, inst, last_score=None, last_effective=None, samples: int = 0) -> tuple[dict, int]:
        """Variables (feasible by construction) for slot ``inst``; refuses a slot of other dimensions.

        ``samples > 0`` (hybrid only): a policy with sampling -- the
        deterministic action and ``samples`` actions drawn from the policy
        (seeded by the observation, so reproducible), each mapped to its
        allocation and scored by the model (``evaluate``'s objective on this
        slot); the best one is returned (ties: the earliest, so the
        deterministic action first). Costs about ``1 + samples`` decisions.
        """
        if (inst.M, inst.Nt) != (self.M, self.Nt) or (inst.K > self.K if self.general else inst.K != self.K):
            raise InputError("agent", f"trained for {'up to ' if self.general else ''}{self.K} users, {self.M} "
                             f"subchannels, {self.Nt} antennas; the slot has {inst.K}, {inst.M}, {inst.Nt}", "sbq")
        from .env import split_action
        if self.general:                                 # the policy acts for the present users only
            obs = observe_general(inst, self.K, last_score, last_effective)
        else:
            obs = observe(inst, last_score, last_effective)
        if not samples:
            return allocation(inst, *split_action(inst.K, self.M, self.act(obs)))
        if self.kind != "hybrid":
            raise InputError("samples", f"only the hybrid agent samples actions, not {self.kind}", "sbq")
        if int(samples) < 0:
            raise InputError("samples", f"must be >= 0, got {samples!r}", "sbq")
        rng = np.random.default_rng(zlib.crc32(obs.tobytes()))
        best, best_value = None, -np.inf
        for action in self.model.act_one(obs, int(samples), rng):
            v, moved = allocation(inst, *split_action(inst.K, self.M, action))
            value = float(outcome(inst, v).score.sum())                 # evaluate's objective
            if best is None or value > best_value:
                best, best_value = (v, moved), value
        return best

    def save(self, path) -> Path:
        """Write the checkpoint (``.pt`` for hybrid, ``.zip`` for the stable-baselines3 agents)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = {"format": FORMAT, "version": _VERSION, "kind": self.kind, "settings": self.settings,
                "slots": self.slots, "stats": {k: v for k, v in self.stats.items() if k not in ("config", "curve")},
                **({"general": self.general} if self.general else {}),
                **({"perception": self.perception} if self.perception != "sbq" else {})}
        if self.kind == "hybrid":
            import torch
            m = self.model
            meta["stats"].pop("seconds", None)                 # wall-clock: in the sidecar, not in the weights file
            buf = io.BytesIO()                                   # a file object: the archive's inner name is fixed,
            torch.save({**meta, "arch": {"users": m.K, "subchannels": m.M, "features": m.F,     # not the file's
                                         "hidden": m.encoder[0].out_features, "masked": m.masked},
                        "state_dict": {k: v.cpu() for k, v in m.state_dict().items()}}, buf)
            path.write_bytes(buf.getvalue())
            return path
        self.model.save(path)                            # stable-baselines3 appends .zip if missing
        path = path if path.suffix == ".zip" else path.with_name(path.name + ".zip")
        with zipfile.ZipFile(path, "a") as z:
            z.writestr("semalloc.json", json.dumps(meta))
        return path


def _make_env(settings: dict, slots: int, kind: str = "hybrid", general: dict | None = None, perception: str = "sbq"):
    from .env import SBQEnv, ScenarioEnv
    env = (ScenarioEnv(slots=slots, perception=perception, **general, **settings) if general
           else SBQEnv(slots=slots, perception=perception, **settings))
    if kind == "hybrid":
        return env
    from .baselines import SB3
    return SB3[kind][0](env)


class _Bar:
    """A rich progress bar on stderr with the mean reward per slot."""

    def __init__(self, total: int, kind: str):
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
        self.p = Progress(TextColumn(f"[bold]train {kind}"), BarColumn(), MofNCompleteColumn(),
                          TextColumn("mean reward {task.fields[r]}"), TimeElapsedColumn(),
                          console=Console(stderr=True))
        self.total = total
        self.task = self.p.add_task("", total=total, r="-")
        self.p.start()

    def __call__(self, done: int, reward: float) -> None:
        self.p.update(self.task, completed=min(done, self.total), r=f"{reward:.4f}")

    def stop(self) -> None:
        self.p.stop()


def train(kind: str, steps: int, settings: dict | None = None, seed: int = 0, device: str = "cpu",
          progress=True, slots: int = 100, general: dict | None = None, perception: str = "sbq", **options) -> Agent:
    """Train agent ``kind`` for ``steps`` environment steps on ``SBQ-v0(**settings)``.

    ``progress``: True for a progress bar, False for none, or a callable
    ``(done_steps, mean_reward)``. ``general`` (hybrid only): ``{"max_users": K, "ranges": {...}}``
    trains one scenario-general agent on :class:`~semalloc.rl.env.ScenarioEnv` (users and Pmax drawn
    per episode, ``settings`` fixed). ``perception="mapping"``: the reward as the S-SE map perceives it
    (the ``mapping-drl`` agent; :func:`semalloc.rl.env.scored`). ``options`` go to the trainer (PPO settings
    of :data:`semalloc.rl.hybrid.PPO_DEFAULTS`, or stable-baselines3 keywords).
    """
    if kind not in KINDS:
        raise InputError("agent", f"unknown agent {kind!r}; known: {', '.join(KINDS)}", "sbq")
    if int(steps) < 1:
        raise InputError("steps", f"must be >= 1, got {steps!r}", "sbq")
    settings = dict(settings or {})
    _settings(settings)
    device = _device(device)
    bar = _Bar(int(steps), kind) if progress is True else None
    report = bar or (progress if callable(progress) else None)
    try:
        if kind == "hybrid":
            from .hybrid import train_hybrid
            model, stats = train_hybrid(lambda: _make_env(settings, slots, general=general, perception=perception),
                                        int(steps), seed=seed,
                                        device=device, progress=report, **options)
        elif general:
            raise InputError("agent", f"only the hybrid agent is scenario-general, not {kind}", "sbq")
        else:
            model, stats = _train_sb3(kind, settings, int(steps), seed, device, report, slots, options, perception)
    finally:
        if bar:
            bar.stop()
    if general:
        from .env import RANGES
        general = {"max_users": int(general.get("max_users", 12)), "ranges": {**RANGES, **general.get("ranges", {})}}
    return Agent(kind, settings, model, {**stats, "seed": seed}, slots, general, perception)


def train_recorded(cfg: dict, settings: dict, output, command: str, preset: str | None = None, device: str = "cpu",
                   progress=True, stop_after: int | None = None) -> tuple[Agent, Path]:
    """Train as ``cfg`` says (keys of :data:`PRESETS`), on one torch thread, and write the checkpoint, its
    sidecar ``.json`` (:func:`write_sidecar`: ``command``, the code version at the start, ...) and its
    training curve ``.csv`` (steps, seconds, mean reward per slot of each rollout). A hybrid run keeps a
    snapshot ``.partial.pt`` every 102400 steps until it ends."""
    import torch
    output = Path(output)
    version = _code_version()                        # the code as training starts
    torch.set_num_threads(1)                         # one thread: the same bits on every run of one machine
    gen = {"max_users": cfg["max_users"]} if cfg["general"] else None
    extra = {"stop_after": stop_after} if stop_after else {}
    if cfg["agent"] == "hybrid":
        from .env import RANGES

        def snapshot(net, done):
            if done % 102_400 == 0:
                Agent("hybrid", settings, net, {"steps": done}, cfg["slots"], gen and {**gen, "ranges": dict(RANGES)},
                      cfg.get("perception", "sbq")).save(output.with_suffix(".partial.pt"))
        extra["snapshot"] = snapshot
    a = train(cfg["agent"], cfg["steps"], settings, seed=cfg["seed"], device=device, progress=progress,
              slots=cfg["slots"], general=gen, perception=cfg.get("perception", "sbq"), **extra)
    path = a.save(output)
    output.with_suffix(".partial.pt").unlink(missing_ok=True)
    curve = path.with_suffix(".csv")
    curve.write_text("steps,seconds,mean_reward\n" + "".join(
        f"{n},{t:.3f},{r:.6f}\n" for n, t, r in a.stats.get("curve", [])))
    write_sidecar(path, {"command": command, "code_version": version, "preset": preset, **cfg,
                         "stop_after": stop_after, "settings": settings, "train_seconds": round(a.stats["seconds"], 1),
                         "mean_reward": a.stats["mean_reward"], "curve": curve.name})
    return a, path


def retrained(out, preset: str = "paper") -> Path:
    """``reproduce sbq --retrain``: the :data:`PRESETS` ``preset`` agent trained afresh into ``out/agents``
    (reused if a finished one is there)."""
    path = Path(out) / "agents" / SHIPPED_BY_PRESET[preset].name
    if not path.is_file():
        train_recorded(PRESETS[preset], {}, path, "semalloc reproduce sbq --retrain", preset=preset)
    return path


def _train_sb3(kind, settings, steps, seed, device, report, slots, options, perception="sbq"):
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.noise import NormalActionNoise

    from .baselines import SB3, _sb3

    env = _make_env(settings, slots, kind, perception=perception)
    env.reset(seed=seed)
    kw = {**SB3[kind][2], "learning_starts": min(1000, max(steps // 10, 1)), "buffer_size": min(steps, 200_000),
          **options}
    if kind in ("ddpg", "td3") and "action_noise" not in kw:
        n = env.action_space.shape[0]
        kw["action_noise"] = NormalActionNoise(np.zeros(n), 0.1 * np.ones(n))
    model = _sb3()[kind]("MlpPolicy", env, seed=seed, device=device, verbose=0, **kw)
    rewards: list[float] = []
    curve: list[tuple] = []

    class Report(BaseCallback):
        def _on_step(self) -> bool:
            rewards.append(float(np.mean(self.locals["rewards"])))
            if self.num_timesteps % 256 == 0:                  # the curve at the hybrid agent's rollout size
                curve.append((self.num_timesteps, time.perf_counter() - t0, float(np.mean(rewards[-256:]))))
                if report is not None:
                    report(self.num_timesteps, float(np.mean(rewards[-2000:])))
            return True

    t0 = time.perf_counter()
    model.learn(total_timesteps=steps, callback=Report())
    if report is not None and rewards:
        report(steps, float(np.mean(rewards[-2000:])))
    tail = rewards[-max(1, len(rewards) // 4):]
    return model, {"steps": steps, "seconds": time.perf_counter() - t0, "mean_reward": float(np.mean(tail)),
                   "curve": curve}


def _sha256(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _code_version() -> str:
    """``semalloc <version>`` and the git commit of the source tree (``+dirty`` with uncommitted changes)."""
    import subprocess

    from .. import __version__
    here = Path(__file__).parent
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True,
                                timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "."], cwd=here.parent, capture_output=True,
                               text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit, dirty = "", ""
    return f"semalloc {__version__}" + (f" ({commit}{'+dirty' if dirty else ''})" if commit else "")


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
    if record is not None and record != _sha256(path):
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
        else:
            from .baselines import _sb3
            model = _sb3()[kind].load(path, device=device)
    except (KeyError, TypeError, RuntimeError, ValueError) as e:
        raise _not_ours(path, f"damaged: {type(e).__name__}") from None
    return Agent(kind, meta["settings"], model, meta.get("stats", {}), int(meta.get("slots", 100)), meta.get("general"),
                 meta.get("perception", "sbq"))


_LOADED: dict = {}


def scenario_of(inst) -> dict:
    """Generator settings of the scenario slot ``inst`` comes from (the rest: generator defaults)."""
    keys = ("bandwidth_hz", "power_max_w", "deadline_s", "xi_threshold", "qos_weight", "sqe_req", "sqe_steepness",
            "latency_req_s", "latency_steepness", "words_per_sentence", "units_per_sentence")
    return {"users": inst.K, "antennas": inst.Nt, "subchannels": inst.M,
            "noise_dbm_hz": float(w_to_dbm(inst.noise_psd_w_hz)),
            **{k: (int if k == "words_per_sentence" else float)(getattr(inst, k)) for k in keys}}


def _cache_dir() -> Path:
    """``$SEMALLOC_CACHE/agents``, else under the system's temporary directory (never the home directory)."""
    import tempfile
    return Path(os.environ.get("SEMALLOC_CACHE") or Path(tempfile.gettempdir()) / "semalloc") / "agents"


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
        path = _cache_dir() / f"hybrid-{key.hexdigest()[:16]}.pt"
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


def run_episodes(decide, settings: dict, episodes: int, slots: int, seed: int = 10_000) -> dict:
    """Score ``decide(inst, last_score, last_effective) -> variables`` over ``episodes`` episodes.

    Episode ``e`` is :func:`episode` with seed ``seed + e`` (the same slots for
    every policy). Returns ``rewards`` (episodes, slots) of per-slot effective
    SC-QoS sums (0 for a slot ``evaluate`` finds infeasible), ``decide_s``
    and ``decide_median_s`` (seconds per slot, mean and median) and
    ``infeasible`` (count of such slots).
    """
    rewards, spent = np.zeros((episodes, slots)), np.zeros((episodes, slots))
    infeasible = 0
    for e in range(episodes):
        last = (None, None)
        for t, inst in enumerate(episode(seed=seed + e, slots=slots, **settings)):
            t0 = time.perf_counter()
            v = decide(inst, *last)
            spent[e, t] = time.perf_counter() - t0
            v = parse_variables(inst, v)
            ev = evaluate(inst, v)
            infeasible += not ev.feasible
            o = outcome(inst, v)
            rewards[e, t] = ev.objective if ev.feasible else 0.0
            last = (o.score, o.effective)
    return {"rewards": rewards, "decide_s": float(spent.mean()), "decide_median_s": float(np.median(spent)),
            "infeasible": infeasible}


def compare(agents: list, algorithms: list[str], settings: dict, episodes: int = 50, slots: int = 20,
            seed: int = 10_000, progress=None) -> list[dict]:
    """Every agent and every registered sbq algorithm on the same evaluation episodes: one row each.

    ``algorithms``: names, or ``(label, name, options)`` triples.

    Rows: ``name``, ``mean`` (effective SC-QoS per slot), ``std`` (over
    episodes' means), ``decide_ms`` (per slot), ``infeasible`` (slots),
    ``train_s`` (agents).
    """
    from ..solve import solve

    rows = []
    runs = [(f"drl ({a.kind}{', general' if a.general else ''})" if a.kind == "hybrid" else a.kind,
             lambda inst, s, e, a=a: a.decide(inst, s, e)[0], a.stats.get("seconds")) for a in agents]
    specs = [(a, a, {}) if isinstance(a, str) else a for a in algorithms]
    runs += [(label, lambda inst, s, e, name=name, opts=opts: solve(inst, name, **opts).variables, None)
             for label, name, opts in specs]
    for name, decide, train_s in runs:
        if progress is not None:
            progress(name)
        r = run_episodes(decide, settings, episodes, slots, seed)
        per_episode = r["rewards"].mean(axis=1)
        rows.append({"name": name, "mean": float(per_episode.mean()), "std": float(per_episode.std()),
                     "decide_ms": 1e3 * r["decide_s"], "decide_median_ms": 1e3 * r["decide_median_s"],
                     "infeasible": r["infeasible"], "train_s": train_s, "episode_means": per_episode.tolist()})
    return rows
