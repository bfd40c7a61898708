"""Issue 17, property tests: any JSON value in any field of any problem's
instance gives a valid instance or an :class:`InputError` that names the
field; never another exception. The same for the fields of a solution."""
from __future__ import annotations

import importlib
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import semalloc
from hostile import FAST, PROBLEMS, fields, set_field, valid_instance
from semalloc.errors import InputError
from semalloc.solve import get_problem

#: Any JSON value (as json.loads gives it): null, booleans, integers of any
#: size, floats with NaN and infinities, text, and nested lists and objects.
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-10**400, max_value=10**400)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=6) | st.dictionaries(st.text(max_size=4), inner, max_size=4),
    max_leaves=30)


def _near(value):
    """Values that look like the valid one: the same shape with one entry changed
    (the cases random JSON alone would rarely reach)."""
    if isinstance(value, list) and value:
        return st.tuples(st.integers(0, len(value) - 1), JSON).map(
            lambda t: [t[1] if i == t[0] else v for i, v in enumerate(value)])
    return JSON


_DOCS = {}


def doc(key):
    if key not in _DOCS:
        inst = valid_instance(key, seed=4)
        res = semalloc.solve(inst, FAST[key])
        _DOCS[key] = (inst, inst.to_dict(), res.to_dict())
    return _DOCS[key]


def _dims_named(message: str, path: str) -> bool:
    """A length that does not match the dimension fixed by ``path`` names ``path`` as its source."""
    return f"(from {path})" in message


def check(build, path: str):
    try:
        build()
    except InputError as e:
        msg = str(e)
        assert path in msg or _dims_named(msg, path), (path, msg)
    # any other exception fails the test


FIELDS = [(key, path) for key in PROBLEMS for path, _ in fields(get_problem(key).instance_type.SCHEMA)]


@pytest.mark.parametrize("key,path", FIELDS, ids=[f"{k}:{p}" for k, p in FIELDS])
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_any_json_in_an_instance_field(key, path, data):
    _, raw, _ = doc(key)
    parent = raw
    for part in path.split(".")[:-1]:
        parent = parent[part]
    value = data.draw(JSON | _near(parent[path.split(".")[-1]]))
    cls = get_problem(key).instance_type
    check(lambda: cls.from_dict(set_field(raw, path, value)), path)


VARS = [(key, f"variables.{name}") for key in PROBLEMS
        for name in importlib.import_module(f"semalloc.problems.{key}.evaluate").VARIABLES]


@pytest.mark.parametrize("key,path", VARS, ids=[f"{k}:{p}" for k, p in VARS])
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_any_json_in_a_solution_field(key, path, data):
    inst, _, sol = doc(key)
    name = path.split(".")[1]
    value = data.draw(JSON | _near(sol["variables"][name]))
    variables = {**sol["variables"], name: value}

    def build():
        ev = semalloc.evaluate(inst, variables)          # a well-formed allocation is judged, never crashes
        assert isinstance(ev.feasible, bool)
        assert not ev.feasible or math.isfinite(ev.objective)
    check(build, path)
