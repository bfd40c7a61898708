"""The README's shell blocks run as written, in order, in a temporary directory
(each ``semalloc`` line through this interpreter); a block preceded by
``<!-- readme-test: skip (...) -->`` is not run (it trains for minutes or needs a
cluster). Output blocks (lines not starting with a command) are not commands.
And docs/cli.md's spec example is the shipped spec it names."""
from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = ("semalloc", "make")


def shell_blocks(text: str) -> list[tuple[bool, list[str]]]:
    """(skipped, command lines) of every fenced block without a language whose lines are commands."""
    out, block, lang, marked, prev = [], None, "", False, ""
    for line in text.splitlines():
        if block is None and line.startswith("```"):
            block, lang, marked = [], line[3:].strip(), prev.startswith("<!-- readme-test: skip")
        elif block is not None and line.startswith("```"):
            lines = [ln for ln in block if ln.strip()]
            if not lang and lines and all(ln.split()[0] in COMMANDS for ln in lines):
                out.append((marked, lines))
            block = None
        elif block is not None:
            block.append(line)
        if line.strip():
            prev = line.strip()
    return out


def test_blocks_found():
    blocks = shell_blocks((ROOT / "README.md").read_text())
    run = [b for skipped, b in blocks if not skipped]
    assert len(run) >= 2 and any("make run" in ln for skipped, b in blocks if skipped for ln in b)


@pytest.mark.slow
def test_readme_shell_blocks_run_in_order(tmp_path):
    (tmp_path / "examples").symlink_to(ROOT / "examples", target_is_directory=True)
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": str(ROOT / "src")}
    ran = 0
    for skipped, lines in shell_blocks((ROOT / "README.md").read_text()):
        if skipped:
            continue
        for line in lines:
            cmd = line.split(" #")[0].strip()
            argv = [sys.executable, "-m", "semalloc.cli", *shlex.split(cmd)[1:]]
            r = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True)
            assert r.returncode == 0, (line, r.stderr[-2000:])
            ran += 1
    assert ran >= 10
    assert (tmp_path / "devices.pdf").read_bytes()[:4] == b"%PDF"
    assert (tmp_path / "out" / "multicell-fig6-quick.png").exists()


def test_cli_md_spec_example_is_the_shipped_spec():
    text = (ROOT / "docs" / "cli.md").read_text()
    example = yaml.safe_load(re.search(r"```yaml\n(.*?)```", text, re.S).group(1))
    title = example["title"].split(":")[0]                     # "He et al., Fig. 6"
    fig = re.search(r"Fig\. (\d+)", title).group(1)
    shipped = yaml.safe_load((ROOT / "examples" / "specs" / f"{example['problem']}-fig{fig}.yaml").read_text())
    assert example == shipped
