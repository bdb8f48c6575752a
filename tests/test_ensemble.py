"""The explicit ensemble: how it combines its experts' distributions, and that it plays their
plurality."""

from __future__ import annotations

import chess
import numpy as np
import pytest

from chessformer.core.engine import Limit
from chessformer.play.ensemble import Ensemble, combine_distributions, ensemble_spec
from chessformer.play.players import EnginePool, make_player
from chessformer.utils import UserError


@pytest.fixture
def pool():
    with EnginePool() as p:
        yield p


def test_plurality_and_mean_rules_differ_as_they_should():
    rng = np.random.default_rng(0)
    dists = [{"a": 0.6, "b": 0.4}, {"a": 0.6, "b": 0.4}, {"b": 0.95, "c": 0.05}]
    assert combine_distributions(dists, "plurality", rng) == "a"  # two votes against one
    assert combine_distributions(dists, "mean", rng) == "b"  # 1.75 / 3 against 1.2 / 3
    # epsilon experts: (1 - eps) on the base move + eps / n on each legal move
    n = 20
    eps = [0.9, 0.9, 0.9, 0.2, 0.2]
    bases = ["m1", "m1", "m1", "m2", "m2"]
    legal = [f"m{i}" for i in range(1, n + 1)]
    ds = [{m: e / n + (1 - e) * (m == b) for m in legal} for e, b in zip(eps, bases)]
    assert combine_distributions(ds, "plurality", rng) == "m1"  # the majority of modes
    assert combine_distributions(ds, "mean", rng) == "m2"  # the confident experts' move


def test_ties_are_broken_by_the_seed():
    d = [{"a": 0.5, "b": 0.5}]
    picks = {combine_distributions(d, "plurality", np.random.default_rng(s)) for s in range(20)}
    assert picks == {"a", "b"}
    assert (combine_distributions(d, "mean", np.random.default_rng(3))
            == combine_distributions(d, "mean", np.random.default_rng(3)))


def test_ensemble_spec_holds_its_members():
    spec = ensemble_spec({"kind": "ensemble", "preset": "diversity", "rule": "mean",
                          "only": ["blind-a", "blind-b"]})
    assert spec.kind == "ensemble" and spec.settings["rule"] == "mean"
    assert [m["name"] for m in spec.settings["members"]] == ["blind-a", "blind-b"]
    assert spec.settings["members"][0]["blind_spot"]["kind"] == "squares"
    with pytest.raises(UserError, match="rule"):
        ensemble_spec({"kind": "ensemble", "preset": "demo", "rule": "median"})
    with pytest.raises(UserError, match="unknown"):
        ensemble_spec({"kind": "ensemble", "preset": "demo", "temperature": 1})


@pytest.mark.stockfish
def test_ensemble_plays_the_majority_of_its_experts(tmp_path, pool):
    """Two of three noiseless experts see Stockfish's move, one is blind to its square: the
    plurality is Stockfish's move, whatever the blind one plays."""
    board = chess.Board()
    moves = ["e2e4", "e7e5"]
    for m in moves:
        board.push_uci(m)
    best = chess.Move.from_uci(pool.get({}).bestmove(moves, Limit(depth=1)))
    square = chess.square_name(best.to_square)
    preset = tmp_path / "ens.toml"
    preset.write_text(
        "[[expert]]\nname = \"a\"\n[[expert]]\nname = \"b\"\n"
        f"[[expert]]\nname = \"blind\"\nblind_spot = {{ kind = \"squares\", squares = [\"{square}\"] }}\n")
    spec = ensemble_spec({"kind": "ensemble", "preset": str(preset), "rule": "plurality"})
    ens = make_player(spec, pool)
    assert isinstance(ens, Ensemble)
    dists = ens.distributions(board, moves)
    assert dists[0] == dists[1] == {best.uci(): 1.0} and best.uci() not in dists[2]
    assert ens.choose(board, moves, np.random.default_rng(0)) == best
    # two blind experts out of three: the plurality follows them
    preset.write_text(
        "[[expert]]\nname = \"a\"\n"
        f"[[expert]]\nname = \"blind1\"\nblind_spot = {{ kind = \"squares\", squares = [\"{square}\"] }}\n"
        f"[[expert]]\nname = \"blind2\"\nblind_spot = {{ kind = \"squares\", squares = [\"{square}\"] }}\n")
    ens2 = make_player(ensemble_spec({"kind": "ensemble", "preset": str(preset)}), pool)
    assert ens2.choose(board, moves, np.random.default_rng(0)) != best
