"""Citations resolve: every ``docs/*.md`` file, ``tests/*.py`` file and test
function (``test_xxx``) named in ``src/``, ``docs/`` or ``README.md`` exists.

A test function may be cited with a trailing ``*`` (``test_profile_file_*``):
then some test must start with that prefix. In ``src/`` only comments and
docstrings are read for test names (code has identifiers such as
``test_size``); file paths are read everywhere.
"""
import ast
import io
import re
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC_FILE = re.compile(r"\bdocs/[\w./-]*?\.md\b")
TEST_FILE = re.compile(r"\btests/[\w./*-]*?\.py\b")
TEST_NAME = re.compile(r"\btest_\w+\*?")

#: Words of the form test_xxx that are not citations of a test, with the reason.
NOT_TESTS = {
    "test_batch": "CIFAR-10's file name (cifar-10-batches-py/test_batch)",
}


def _defined_tests() -> set[str]:
    names = {p.stem for p in (ROOT / "tests").glob("test_*.py")}
    for p in (ROOT / "tests").glob("*.py"):
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test_"):
                names.add(node.name)
    return names


def _prose_of_python(text: str) -> str:
    """Comments and docstrings of a Python source, where a test may be cited."""
    parts = [t.string for t in tokenize.generate_tokens(io.StringIO(text).readline) if t.type == tokenize.COMMENT]
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            parts.append(ast.get_docstring(node, clean=False) or "")
    return "\n".join(parts)


def _sources():
    """(path relative to the root, full text, text where test names are citations)."""
    files = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"] + sorted((ROOT / "src").rglob("*.py"))
    for p in files:
        if p.exists():
            text = p.read_text(encoding="utf-8")
            yield p.relative_to(ROOT).as_posix(), text, _prose_of_python(text) if p.suffix == ".py" else text


def _line(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def _missing():
    tests = _defined_tests()
    for where, text, prose in _sources():
        for m in DOC_FILE.finditer(text):
            if not (ROOT / m.group(0)).is_file():
                yield f"{where}:{_line(text, m.start())} cites {m.group(0)}, which does not exist"
        for m in TEST_FILE.finditer(text):
            if not list(ROOT.glob(m.group(0))):
                yield f"{where}:{_line(text, m.start())} cites {m.group(0)}, which matches no file"
        for m in TEST_NAME.finditer(prose):
            name = m.group(0)
            if name in NOT_TESTS:
                continue
            ok = any(t.startswith(name[:-1]) for t in tests) if name.endswith("*") else name in tests
            if not ok:
                yield (f"{where}:{_line(text, text.find(name))} cites the test `{name}`, which no tests/*.py defines "
                       "(rename the citation to the test that checks the claim, or add that test)")


def test_every_cited_doc_test_file_and_test_function_exists():
    missing = sorted(set(_missing()))
    assert not missing, "dangling citations:\n" + "\n".join(missing)


@pytest.mark.parametrize("text,bad", [
    ("see docs/models-nowhere.md", "docs/models-nowhere.md"),
    ("checked by tests/test_nowhere.py", "tests/test_nowhere.py"),
    ("(`test_this_claim_is_never_tested`)", "test_this_claim_is_never_tested"),
    ("Tests: `test_no_such_prefix_*`", "test_no_such_prefix_*"),
])
def test_a_dangling_citation_is_reported(tmp_path, monkeypatch, text, bad):
    """The check can fail: a citation that resolves nowhere is reported with its file."""
    (tmp_path / "docs").mkdir()
    (tmp_path / "tests").mkdir()
    (tmp_path / "src").mkdir()
    (tmp_path / "tests" / "test_real.py").write_text("def test_real():\n    pass\n")
    (tmp_path / "docs" / "a.md").write_text(f"fine: docs/a.md, tests/test_real.py, `test_real`, `test_re*`.\n{text}\n")
    (tmp_path / "src" / "m.py").write_text(f'"""Module."""\nx = "test_size"  # see {text}\n')
    monkeypatch.setattr(__import__(__name__), "ROOT", tmp_path)
    missing = list(_missing())
    assert any(m.startswith("docs/a.md") and bad in m for m in missing)
    assert any(m.startswith("src/m.py") and bad in m for m in missing)
    assert not any("test_size" in m or "test_real`" in m or "docs/a.md," in m for m in missing)
