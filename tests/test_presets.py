"""Expert presets: validation of every [[expert]] table, defaults, and sub-pools."""

from __future__ import annotations

import pytest

from chessformer.play.presets import check_expert, load_experts, subset_pool
from chessformer.utils import UserError


def expert(name: str = "x", **raw) -> object:
    return check_expert({"name": name, **raw}, "test")


def test_blind_spot_and_region_validation():
    with pytest.raises(UserError, match="squares"):
        expert(blind_spot={"kind": "squares", "squares": ["z9"]})
    with pytest.raises(UserError, match="piece"):
        expert(blind_spot={"kind": "piece", "piece": "dragon"})
    with pytest.raises(UserError, match="phases"):
        expert(region={"kind": "phase", "phases": ["late"]})
    with pytest.raises(UserError, match="illegal"):
        expert(region={"kind": "opening", "first_moves": ["e2e5"]})
    with pytest.raises(UserError, match="outside_noise needs a region"):
        expert(outside_noise={"kind": "epsilon", "epsilon": 0.9})
    with pytest.raises(UserError, match="repertoire"):
        expert(region={"kind": "phase", "phases": ["endgame"]}, repertoire={"weight": 2.0})


def test_old_presets_keep_their_settings():
    for e in load_experts("demo").experts:
        assert set(e.settings) == {"nominal_elo", "base", "noise", "openings"}
    spec = expert(region={"kind": "phase", "phases": ["endgame"]})
    assert spec.settings["outside_noise"] == {"kind": "epsilon", "epsilon": 0.9}


def test_subset_pool_replaces_books():
    pool = load_experts("generalization")
    sub = subset_pool(pool, ["gen-eps50"], ["d2d4 d7d5"], name="x")
    assert [e.name for e in sub.experts] == ["gen-eps50"] and sub.name == "x"
    assert sub.experts[0].settings["openings"] == {"kind": "book", "lines": ["d2d4 d7d5"]}
    assert sub.experts[0].settings["noise"] == pool.experts[1].settings["noise"]
    with pytest.raises(UserError, match="no experts named"):
        subset_pool(pool, ["nobody"])
