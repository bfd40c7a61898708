"""The shipped sbq figure specs: valid in both modes, drl first with a trained agent, quick is smaller."""
from __future__ import annotations

from semalloc.experiments.reproduce import figures
from semalloc.experiments.spec import load_spec


def test_every_sbq_figure_spec_is_valid_in_both_modes():
    figs = figures("sbq")
    assert sorted(figs) == [1, 2]
    for path in figs.values():
        full, quick = load_spec(path), load_spec(path, quick=True)
        for spec in (full, quick):
            assert spec.algorithms[0] == "drl"
            assert {"mapping", "fixed-bits", "equal", "random", "best"} <= set(spec.algorithms)
            assert "agent" not in spec.options.get("drl", {})   # the shipped agent
        assert len(quick.tasks()) < len(full.tasks())
        assert quick.hash != full.hash
