"""Issue 17: malformed instance and solution files, for every problem, end with
exit 2 and one line on stderr that names the field; no traceback, no output
file, seconds each. An infeasible but well-formed solution ends with exit 1
and ``evaluate --json`` gives ``objective: null`` with the violations.

The corpus is generated from each problem's schema (tests/hostile.py); its
size per problem is asserted below so that it cannot shrink unnoticed.
"""
from __future__ import annotations

import hashlib
import importlib
import json
import subprocess
import sys

import numpy as np
import pytest

import semalloc
from hostile import FAST, PROBLEMS, Run, cli, field_cases, file_cases, valid_instance
from semalloc.solve import get_problem

LIMIT_S = 10.0


def one_line_error(r: Run, code: int = 2) -> str:
    """Check the contract of a refused input and return the message."""
    assert r.code == code, (r.code, r.err[-2000:])
    assert "Traceback" not in r.err and "Traceback" not in r.out
    lines = r.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), r.err[-2000:]
    assert r.seconds < LIMIT_S
    return lines[0]


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """Per problem: a valid instance document and file, a valid solution document and file."""
    root = tmp_path_factory.mktemp("hostile")
    out = {}
    for key in PROBLEMS:
        inst = valid_instance(key, seed=1)
        res = semalloc.solve(inst, FAST[key])
        assert res.feasible
        ipath, spath = root / f"{key}.json", root / f"{key}-sol.json"
        semalloc.save(inst, ipath)
        semalloc.save(res, spath)
        out[key] = (json.loads(ipath.read_text()), ipath, json.loads(spath.read_text()), spath)
    return out


def variables_schema(key):
    return importlib.import_module(f"semalloc.problems.{key}.evaluate").VARIABLES


def instance_cases(key, every: int = 1):
    """The file cases and every ``every``-th field case (all kinds of fault come
    round: the field cases cycle through them field by field)."""
    return file_cases("instance") + field_cases(get_problem(key).instance_type.SCHEMA)[::every]


def solution_cases(key):
    return file_cases("solution") + field_cases({"variables": variables_schema(key)})[:-1] + [
        ("variables missing", "variables", lambda d: json.dumps({k: v for k, v in d.items() if k != "variables"})),
        ("variables a list", "variables", lambda d: json.dumps({**d, "variables": [1, 2]})),
        ("unknown variable", "variables.x_unknown",
         lambda d: json.dumps({**d, "variables": {**d["variables"], "x_unknown": [1]}})),
    ]


#: The default run takes every third field case of the instances (all of them
#: with -m slow); solutions are fewer and all run.
EVERY = 3


@pytest.mark.parametrize("key", PROBLEMS)
def test_corpus_size(key):
    assert len(instance_cases(key, EVERY)) >= 40
    assert len(solution_cases(key)) >= 25


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def check_instances(key, base, tmp_path, every):
    doc, _, _, spath = base[key]
    bad, out = tmp_path / "bad.json", tmp_path / "out.json"
    kept = tmp_path / "kept.json"
    kept.write_text("do not touch\n")
    before = _digest(kept)
    for i, (name, field, write) in enumerate(instance_cases(key, every)):
        bad.write_text(write(doc))
        commands = [["solve", bad, "-a", FAST[key], "-o", out]]
        if i % 4 == 0:                                  # the other verbs on a quarter of the cases
            commands += [["solve", bad, "-o", kept], ["evaluate", bad, spath, "--json"]]
        for args in commands:
            r = cli(*args)
            msg = one_line_error(r)
            assert field in msg, (name, msg)
            assert not out.exists() and _digest(kept) == before, name
            assert r.out == "", name                              # --json prints nothing on refusal


@pytest.mark.parametrize("key", PROBLEMS)
def test_malformed_instances_exit_2_naming_the_field(key, base, tmp_path):
    check_instances(key, base, tmp_path, EVERY)


@pytest.mark.slow
@pytest.mark.parametrize("key", PROBLEMS)
def test_every_malformed_instance_exits_2_naming_the_field(key, base, tmp_path):
    check_instances(key, base, tmp_path, 1)


@pytest.mark.parametrize("key", PROBLEMS)
def test_malformed_solutions_exit_2_naming_the_field(key, base, tmp_path):
    _, ipath, doc, _ = base[key]
    bad = tmp_path / "bad-sol.json"
    for name, field, write in solution_cases(key):
        bad.write_text(write(doc))
        r = cli("evaluate", ipath, bad, "--json")
        msg = one_line_error(r)
        assert field in msg, (name, msg)
        assert r.out == ""


@pytest.mark.parametrize("key,name,what,count", [("multicell", "bs", "BSs", "M"), ("offloading", "bs", "BSs", "K"),
                                                   ("sbq", "subchannel", "subchannels", "M")])
def test_an_index_past_the_last_item_is_named_with_the_bound_and_the_value(key, name, what, count, base):
    """A solution's index variable at or above the number of items: the first such
    entry, the bound and the value are named (``schema.check_index``)."""
    _, ipath, sol, _ = base[key]
    inst = semalloc.load(ipath)
    n = getattr(inst, count)
    index = list(sol["variables"][name])
    index[1] = n + 3
    with pytest.raises(semalloc.InputError) as e:
        semalloc.evaluate(inst, {**sol["variables"], name: index})
    assert str(e.value) == f"{key}: variables.{name}[1]: must be < {n} (number of {what}), got {n + 3}"


@pytest.mark.parametrize("key", PROBLEMS)
def test_infeasible_solution_exit_1_objective_null(key, base, tmp_path):
    """Every unbounded real of the allocation x 1e6 (powers, bandwidths, CPU
    frequencies) breaks a budget in every problem: evaluate exits 1, and its
    JSON has objective null and the violations."""
    _, ipath, doc, _ = base[key]
    schema = variables_schema(key)
    scaled = {k: (np.asarray(v, dtype=float) * 1e6).tolist() if schema[k].kind == "float" and schema[k].hi is None
              else v for k, v in doc["variables"].items()}
    bad = tmp_path / "infeasible.json"
    bad.write_text(json.dumps({**doc, "variables": scaled}))
    r = cli("evaluate", ipath, bad, "--json")
    assert r.code == 1 and "Traceback" not in r.err
    ev = json.loads(r.out)
    assert ev["feasible"] is False and ev["objective"] is None and ev["violations"]
    inst = semalloc.load(ipath)                                 # the Python API says the same
    assert not semalloc.evaluate(inst, scaled).feasible


@pytest.mark.parametrize("key", PROBLEMS)
def test_feasible_solution_objective_is_a_number(key, base):
    _, ipath, _, spath = base[key]
    r = cli("evaluate", ipath, spath, "--json")
    ev = json.loads(r.out)
    assert r.code == 0 and ev["feasible"] is True and isinstance(ev["objective"], float)


def test_a_few_real_processes(base, tmp_path):
    """The in-process runs stand for real ones: the same contract from a subprocess."""
    doc, _, _, _ = base["multicell"]
    deep, dup = tmp_path / "deep.json", tmp_path / "dup.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    dup.write_text(json.dumps(doc)[:-1] + ', "problem": "multicell"}')
    for args, field in ((["solve", deep, "-o", tmp_path / "o.json"], "nested"),
                        (["solve", dup], "problem"),
                        (["solve"], "instance"), (["frobnicate"], "frobnicate"),
                        (["generate", "multicell", "--seed", "abc", "-o", tmp_path / "g.json"], "--seed")):
        p = subprocess.run([sys.executable, "-m", "semalloc.cli", *map(str, args)], capture_output=True,
                           text=True, timeout=60)
        msg = one_line_error(Run(p.returncode, p.stdout, p.stderr, 0.0))
        assert field in msg
    assert not (tmp_path / "o.json").exists() and not (tmp_path / "g.json").exists()


# ----------------------------------------------------------------------------- the edge of floating point

def test_a_subnormal_number_in_an_instance_is_refused_naming_the_field():
    """5e-324 FLOPs made offloading ``exact`` "optimal" at 4.87 where ``best`` found 7.55, and made
    algorithms reject their own NaN output (the hostile-input audit of 2026-12-07)."""
    d = semalloc.generate("offloading", seed=0).to_dict()
    d["tasks"]["recognition_flop"] = np.array(d["tasks"]["recognition_flop"], dtype=float)
    d["tasks"]["recognition_flop"][1] = 5e-324
    with pytest.raises(semalloc.InputError, match=r"tasks.recognition_flop\[1\]: must be 0 or at least 2.23e-308"):
        type(semalloc.generate("offloading", seed=0)).from_dict(semalloc.schema.to_jsonable(d))


def test_a_complex_number_is_refused_not_cut_to_its_real_part():
    inst = semalloc.generate("multicell", seed=0, devices=4, base_stations=2)
    v = semalloc.solve(inst, "prop").variables
    with pytest.raises(semalloc.InputError, match="variables.power_w: must be .* real numbers, got a complex"):
        semalloc.evaluate(inst, {**v, "power_w": np.asarray(v["power_w"]) + 1e6j})


def test_an_allocation_whose_objective_is_not_finite_is_not_feasible(tmp_path):
    """A reward constant at 1e308 overflows the objective: evaluate (the API and the command) said feasible
    with objective null."""
    d = semalloc.generate("offloading", seed=0).to_dict()
    d["reward_c2"] = 1e308
    inst = type(semalloc.generate("offloading", seed=0)).from_dict(semalloc.schema.to_jsonable(d))
    r = semalloc.solve(semalloc.generate("offloading", seed=0), "best")
    ev = semalloc.evaluate(inst, r.variables)
    assert not ev.feasible and ev.violations and "not finite" in ev.violations[0]
    semalloc.save(inst, tmp_path / "i.json")
    semalloc.save(r, tmp_path / "s.json")
    run = cli("evaluate", tmp_path / "i.json", tmp_path / "s.json", "--json")
    assert run.code == 1 and json.loads(run.out) == {"feasible": False, "objective": None,
                                                     "violations": ev.violations} and not run.err
