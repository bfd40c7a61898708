"""Docs agree with the code: every schema field is documented, every docstring example runs."""
from __future__ import annotations

import doctest
import importlib
import pkgutil
from pathlib import Path

import pytest

import semalloc
from semalloc.problems.multicell.instance import DEFAULTS

ROOT = Path(__file__).resolve().parents[1]


def _fields(schema, prefix=""):
    for name, spec in schema.items():
        if isinstance(spec, dict):
            yield from _fields(spec, prefix + name + ".")
        else:
            yield prefix + name


@pytest.mark.parametrize("key", sorted(semalloc.list_problems()))
def test_formats_md_documents_every_field(key):
    text = (ROOT / "docs" / "formats.md").read_text()
    schema = importlib.import_module(f"semalloc.problems.{key}.instance").SCHEMA
    variables = importlib.import_module(f"semalloc.problems.{key}.evaluate").VARIABLES
    missing = [f for f in [*_fields(schema), *_fields(variables)] if f"`{f}`" not in text]
    assert not missing, f"docs/formats.md lacks {key} fields {missing}"


def test_cli_md_documents_every_generator_setting():
    text = (ROOT / "docs" / "cli.md").read_text()
    assert not [k for k in DEFAULTS if k not in text]


def test_the_solvers_package_docstring_lists_each_of_its_modules_once():
    import semalloc.solvers as solvers
    names = [m.name for m in pkgutil.iter_modules(solvers.__path__)]
    assert len(names) >= 9
    assert not [n for n in names if solvers.__doc__.count(f":mod:`.{n}`") != 1]


MODULES = sorted(m.name for m in pkgutil.walk_packages(semalloc.__path__, "semalloc."))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    mod = importlib.import_module(name)
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0


def test_the_largest_counts_in_reliability_md_are_the_largest_accepted():
    """docs/reliability.md's table of the largest instance counts: each count is accepted and one more is
    refused (the table went stale twice as schema fields were added: found 2026-12-07)."""
    from semalloc.solve import MAX_INSTANCE_BYTES, instance_bytes
    text = (ROOT / "docs" / "reliability.md").read_text()
    lines = text[text.index("| problem | largest count"):].splitlines()[2:]
    rows = [line.split("|")[1:3] for line in lines[:next(i for i, x in enumerate(lines) if not x.startswith("| "))]]
    checked = 0
    for problem, counts in rows:
        for item in counts.split(","):
            name, *digits = item.split()
            n = int("".join(digits))
            assert instance_bytes(problem.strip(), {name: n}) <= MAX_INSTANCE_BYTES, (problem, name, n)
            assert instance_bytes(problem.strip(), {name: n + 1}) > MAX_INSTANCE_BYTES, (problem, name, n)
            checked += 1
    assert checked == 12
