"""Multicell instances for the tests: generated from settings, or one of the
stored regression instances (tests/data/multicell-regressions.json).

The stored ones are examples hypothesis once found, drawn by the generator
before common random numbers (issue 15) changed what every seed draws; they
are kept as data so that the exact instances stay tested.
"""
import json
from pathlib import Path

import semalloc
from semalloc.problems.multicell.instance import MulticellInstance

REGRESSIONS = json.loads((Path(__file__).parent / "data" / "multicell-regressions.json").read_text())["instances"]


def make(kw: dict):
    """``dict(stored=name)``: the stored instance; otherwise ``generate("multicell", **kw)``."""
    if "stored" in kw:
        return MulticellInstance.from_dict(REGRESSIONS[kw["stored"]]["instance"])
    return semalloc.generate("multicell", **kw)
