"""The package's layers, read from the import statements (lazy ones inside functions
included): problems never import the RL layer or the command line, the RL command
line does not import the main one, and no two semalloc modules import each other
in a cycle. And every module imports in a fresh interpreter.
"""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """The semalloc modules ``path`` imports (absolute or relative, anywhere in the file)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("semalloc")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if mod.startswith("semalloc"):
                out.add(mod)
                out |= {f"{mod}.{a.name}" for a in node.names}      # `from .x import module`
    return out


def graph() -> dict[str, set[str]]:
    files = {_module_name(p): p for p in SRC.rglob("*.py")}
    return {m: {t for t in _imports(p) if t in files and t != m} for m, p in files.items()}


def test_problems_do_not_import_the_rl_layer_or_the_cli():
    bad = [(m, t) for m, ts in graph().items() if m.startswith("semalloc.problems")
           for t in ts if t.startswith(("semalloc.rl", "semalloc.cli", "semalloc.learn"))]
    assert not bad, bad


def test_rl_cli_does_not_import_the_main_cli():
    assert not {t for t in graph()["semalloc.rl.cli"] if t == "semalloc.cli"}


def _cycle(g: dict[str, set[str]]) -> list[str] | None:
    state, stack = {}, []

    def visit(m):
        state[m] = 1
        stack.append(m)
        for t in sorted(g.get(m, ())):
            if state.get(t) == 1:
                return stack[stack.index(t):] + [t]
            if t not in state and (found := visit(t)):
                return found
        state[m] = 2
        stack.pop()
        return None

    for m in sorted(g):
        if m not in state and (found := visit(m)):
            return found
    return None


def test_no_import_cycle_between_modules():
    # a package's __init__ re-exporting its own modules is not a cycle of layers: compare modules
    g = {m: {t for t in ts if not (m.startswith(t + ".") or t.startswith(m + "."))} for m, ts in graph().items()}
    assert _cycle(g) is None, " -> ".join(_cycle(g))


def test_the_checker_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_every_module_imports_in_a_fresh_interpreter():
    mods = sorted(graph())
    code = "import importlib, sys\nfor m in sys.argv[1:]:\n    importlib.import_module(m)\n"
    r = subprocess.run([sys.executable, "-c", code, *mods], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]


def test_the_rl_agent_modules_are_layered_and_nothing_imports_the_facade():
    # checkpoint (the file format) <- training <- cache; evaluation needs none of them (issue 20); the
    # decision-time search sits on the environment's map alone
    g = graph()
    rl = {m: {t for t in g[f"semalloc.rl.{m}"] if t.startswith("semalloc.rl.")}
          for m in ("checkpoint", "training", "cache", "evaluation", "search")}
    assert not rl["checkpoint"] - {"semalloc.rl.hybrid", "semalloc.rl.baselines", "semalloc.rl.env",
                                   "semalloc.rl.search"}, rl
    assert not rl["search"] - {"semalloc.rl.env"}, rl
    assert not rl["training"] & {"semalloc.rl.cache", "semalloc.rl.evaluation", "semalloc.rl.agents"}, rl
    assert not rl["evaluation"], rl
    assert not [m for m, ts in g.items() if "semalloc.rl.agents" in ts]     # the facade is for users only


def test_the_rl_agents_facade_re_exports_the_same_objects():
    import importlib

    import pytest
    pytest.importorskip("torch")
    pytest.importorskip("gymnasium")
    agents = importlib.import_module("semalloc.rl.agents")
    homes = [importlib.import_module(f"semalloc.rl.{m}") for m in ("checkpoint", "training", "cache", "evaluation")]
    for name in agents.__all__:
        assert [getattr(h, name) for h in homes if name in h.__all__] == [getattr(agents, name)], name
    assert {"PRESETS", "SHIPPED", "SHIPPED_BY_PRESET", "SHIPPED_MAPPING", "load", "train", "compare",
            "agent_for", "retrained"} <= set(agents.__all__)
    assert not [n for n, v in vars(agents).items() if not n.startswith("__") and n not in agents.__all__
                and n != "annotations"]                                     # it defines nothing of its own
