"""Train sbq agents: :func:`train` (ours ``hybrid`` or a stable-baselines3 baseline), the recorded
recipes :data:`PRESETS` (:func:`train_recorded`: checkpoint, sidecar, curve) and :func:`retrained`.

Examples
--------
>>> import os, tempfile
>>> from semalloc.rl.checkpoint import load
>>> from semalloc.rl.training import train
>>> agent = train("hybrid", steps=256, settings={"users": 2, "antennas": 2, "subchannels": 1}, progress=False)
>>> path = agent.save(os.path.join(tempfile.mkdtemp(), "a.pt"))
>>> load(path).kind
'hybrid'
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..problems.sbq.instance import _settings
from .checkpoint import KINDS, SHIPPED_BY_PRESET, Agent, _device, write_sidecar

__all__ = ["PRESETS", "HYBRID_OPTIONS", "train", "train_recorded", "retrained"]

#: The recipe keys of the hybrid agent alone, passed to :func:`~semalloc.rl.hybrid.train_hybrid`: the model's own
#: gradients (the pathwise gradient of the continuous action, :mod:`semalloc.rl.pathwise`; the counterfactual one
#: of the subchannels) and the subchannels decided user by user (``sequential``).
HYBRID_OPTIONS = ("pathwise", "kappa", "median", "counterfactual", "around", "sequential")

#: ``semalloc rl train sbq --preset paper``: the recipe of :data:`~semalloc.rl.checkpoint.SHIPPED` (one agent for every point of the
#: sbq figures: K in 2..12, Pmax in 0.01..10 W; M = 3, Nt = 4; 25-slot training episodes, each a new scenario): PPO
#: for the assignment and bits, the reward's pathwise gradient for the continuous action (weight 3, gate sharpness
#: 50, the median rolled out: the best of eight settings, docs/models.md, issue 16, fifth session). ``ppo``: the same
#: without the pathwise gradient (PPO alone; the shipped recipe until then). ``mapping``: ``paper`` on the
#: S-SE-perceived reward.
_PAPER = {"agent": "hybrid", "steps": 307_200, "seed": 0, "slots": 25, "general": True, "max_users": 12}
_PATHWISE = {"pathwise": 3.0, "kappa": 50.0, "median": True}
PRESETS = {"paper": {**_PAPER, **_PATHWISE},
           "mapping": {**_PAPER, **_PATHWISE, "perception": "mapping"},
           "ppo": {**_PAPER},
           # ours (drl-zf): the paper recipe with the channel directions in the observation and the subchannels
           # decided user by user, each with its zero-forcing residual given the users before it
           "zf": {**_PAPER, **_PATHWISE, "sequential": True, "channels": True},
           # the single-type DRL baselines of the figures, scenario-general like it: half its steps (each a
           # gradient step: 4-8x its wall-clock here); DQN's joint action (M + 1)^K * Q_MAX stops at K = 6
           "dqn": {"agent": "dqn", "steps": 153_600, "seed": 0, "slots": 25, "general": True, "max_users": 6,
                   "ranges": {"users": [2, 6]}},
           "td3": {"agent": "td3", "steps": 153_600, "seed": 0, "slots": 25, "general": True, "max_users": 12}}


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
    ``(done_steps, mean_reward)``. ``general``: ``{"max_users": K, "ranges": {...}}``
    trains one scenario-general agent on :class:`~semalloc.rl.env.ScenarioEnv` (users and Pmax drawn
    per episode, ``settings`` fixed; the baselines' actions then cover ``max_users`` users).
    ``perception="mapping"``: the reward as the S-SE map perceives it (the ``mapping-drl`` agent;
    :func:`semalloc.rl.env.scored`). ``options`` go to the trainer (PPO settings
    of :data:`semalloc.rl.hybrid.PPO_DEFAULTS`, or stable-baselines3 keywords).
    """
    if kind not in KINDS:
        raise InputError("agent", f"unknown agent {kind!r}; known: {', '.join(KINDS)}", "sbq")
    if int(steps) < 1:
        raise InputError("steps", f"must be >= 1, got {steps!r}", "sbq")
    pathwise, kappa = float(options.get("pathwise", 0.0)), float(options.get("kappa", 1.0))
    if not (np.isfinite(pathwise) and pathwise >= 0):
        raise InputError("pathwise", f"must be >= 0 and finite, got {options['pathwise']!r}", "sbq")
    if not (np.isfinite(kappa) and kappa > 0):
        raise InputError("kappa", f"must be > 0 and finite, got {options['kappa']!r}", "sbq")
    counterfactual = float(options.get("counterfactual", 0.0))
    if not (np.isfinite(counterfactual) and counterfactual >= 0):
        raise InputError("counterfactual", f"must be >= 0 and finite, got {options['counterfactual']!r}", "sbq")
    if options.get("around", "drawn") not in ("drawn", "mode"):
        raise InputError("around", f"must be drawn or mode, got {options['around']!r}", "sbq")
    if "around" in options and counterfactual == 0:
        raise InputError("around", "sets the other users of the counterfactual gradient's scores: needs "
                         "counterfactual > 0", "sbq")
    if options.get("sequential") and counterfactual > 0:
        raise InputError("sequential", "the counterfactual gradient scores each user's choices with the others "
                         "fixed: not with subchannels decided user by user", "sbq")
    if (general or {}).get("channels") and not (kind == "hybrid" and options.get("sequential")):
        raise InputError("channels", "the channel directions feed the zero-forcing residuals of a sequential hybrid "
                         "agent: needs sequential=True", "sbq")
    if options.get("median") and pathwise == 0:
        raise InputError("median", "rolls out the median of a continuous action learned by the pathwise gradient: "
                         "needs pathwise > 0", "sbq")
    settings = dict(settings or {})
    _settings(settings)
    device = _device(device)
    from .env import _perception
    _perception(perception)                          # before the progress bar starts
    bar = _Bar(int(steps), kind) if progress is True else None
    report = bar or (progress if callable(progress) else None)
    try:
        if kind == "hybrid":
            from .hybrid import train_hybrid
            model, stats = train_hybrid(lambda: _make_env(settings, slots, general=general, perception=perception),
                                        int(steps), seed=seed,
                                        device=device, progress=report, **options)
        else:
            model, stats = _train_sb3(kind, settings, int(steps), seed, device, report, slots, options, perception,
                                      general)
    finally:
        if bar:
            bar.stop()
    if general:
        from .env import scenario_ranges
        top = int(general.get("max_users", 12))
        general = {**general, "max_users": top, "ranges": scenario_ranges(top, general.get("ranges"))}
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
    gen = {"max_users": cfg["max_users"], "ranges": cfg.get("ranges", {}),
           **({"channels": True} if cfg.get("channels") else {})} if cfg["general"] else None
    if cfg.get("channels") and not (cfg["general"] and cfg.get("sequential")):
        raise InputError("--channels", "the channel directions feed the zero-forcing residuals of a sequential, "
                         "general hybrid agent: needs --sequential --general", "sbq")
    options = {k: cfg[k] for k in HYBRID_OPTIONS if k in cfg}
    if stop_after and cfg["agent"] != "hybrid":
        raise InputError("--stop-after", f"only the hybrid agent stops on its schedule, not {cfg['agent']}", "sbq")
    extra = {"stop_after": stop_after} if stop_after else {}
    if cfg["agent"] == "hybrid":
        from .env import scenario_ranges

        def snapshot(net, done):
            if done % 102_400 == 0:
                Agent("hybrid", settings, net, {"steps": done}, cfg["slots"],
                      gen and {**gen, "ranges": scenario_ranges(gen["max_users"], gen["ranges"])},
                      cfg.get("perception", "sbq")).save(output.with_suffix(".partial.pt"))
        extra["snapshot"] = snapshot
    a = train(cfg["agent"], cfg["steps"], settings, seed=cfg["seed"], device=device, progress=progress,
              slots=cfg["slots"], general=gen, perception=cfg.get("perception", "sbq"), **options, **extra)
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


def _train_sb3(kind, settings, steps, seed, device, report, slots, options, perception="sbq", general=None):
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.noise import NormalActionNoise

    from .baselines import SB3, _sb3

    env = _make_env(settings, slots, kind, general, perception)
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
