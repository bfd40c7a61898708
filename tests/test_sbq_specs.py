"""The shipped sbq figure specs: valid in both modes, drl first with a trained agent, quick is smaller."""
from __future__ import annotations

from semalloc.experiments.reproduce import figures
from semalloc.experiments.spec import load_spec


def test_every_sbq_figure_spec_is_valid_in_both_modes():
    figs = figures("sbq")
    assert sorted(figs) == [1, 2]                              # figure 3 is drawn from shipped curves
    for path in figs.values():
        full, quick = load_spec(path), load_spec(path, quick=True)
        for spec in (full, quick):
            assert spec.algorithms[0] == "drl"
            assert {"mapping", "fixed-bits", "equal", "random", "best"} <= set(spec.algorithms)
            assert "agent" not in spec.options.get("drl", {})   # the shipped agent
        assert len(quick.tasks()) < len(full.tasks())
        assert quick.hash != full.hash


def test_figure_3_draws_the_shipped_training_curves_with_their_records(tmp_path):
    """sbq-training needs no training: the curves ship, each with the record of the run that wrote it."""
    import json

    import pytest
    pytest.importorskip("scipy")
    from semalloc.experiments.reproduce import reproduce
    from semalloc.rl.curves import SHIPPED_CURVES
    csvs = sorted(SHIPPED_CURVES.glob("*.csv"))
    kinds = {json.loads(p.with_suffix(".json").read_text())["agent"] for p in csvs}
    assert {"hybrid", "dqn"} <= kinds
    for p in csvs:
        rec = json.loads(p.with_suffix(".json").read_text())
        assert rec["curve"] == p.name and rec["general"] is False and rec["steps"] == 30720
    (rep,) = reproduce("sbq", figure=3, out=tmp_path, progress=False)
    assert rep.image == tmp_path / "sbq-training.png" and rep.image.stat().st_size > 10_000
    rows = {r["algorithm"]: r for r in rep.summary}
    hybrid = rows["hybrid, PPO + pathwise gradient (drl's recipe)"]          # the recipe drl ships with,
    assert hybrid["n"] == len([p for p in csvs if p.name.startswith("hybrid")]) >= 2 and hybrid["ci95"] > 0
    assert rows["hybrid, PPO alone"]["n"] == len([p for p in csvs if p.name.startswith("ppo")]) >= 2  # and without
