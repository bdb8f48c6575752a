"""``chessformer experiment``: the measures (entropy, intervals, per-move counts), the experiment
descriptions, and the diversity experiment end to end at its tiny size (the other two: slow)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import chess
import numpy as np
import pytest

from chessformer.experiments.taxonomy import (
    Position,
    agreement_rows,
    eval_grids,
    identification,
    load_experiment,
    move_entropy,
    wilson,
)
from chessformer.play.engine import find_stockfish
from chessformer.utils import UserError

ROOT = Path(__file__).resolve().parents[1]
needs_sf = pytest.mark.skipif(find_stockfish() is None, reason="Stockfish is not installed")


def h(*p: float) -> float:
    return -sum(x * math.log2(x) for x in p)


def test_move_entropy_on_a_hand_built_example():
    games = [["e2e4", "e7e5"], ["e2e4", "c7c5"], ["d2d4", "d7d5"], ["e2e4", "e7e5"]]
    s = move_entropy(games, min_count=2)
    # start: e2e4 x3, d2d4 x1; after 1.e4: e7e5 x2, c7c5 x1; after 1.d4 (1 visit) and the final
    # positions (no move played from them) are not common.
    assert (s.games, s.positions, s.visits) == (4, 2, 7)
    assert s.mean_bits == pytest.approx((h(0.75, 0.25) + h(2 / 3, 1 / 3)) / 2)
    assert s.weighted_bits == pytest.approx((4 * h(0.75, 0.25) + 3 * h(2 / 3, 1 / 3)) / 7)
    assert move_entropy(games, min_count=5).positions == 0
    assert math.isnan(move_entropy(games, min_count=5).mean_bits)


def test_move_entropy_keys_positions_without_move_counters():
    # The knights go out and back: the start position comes again at ply 4 (other counters).
    s = move_entropy([["g1f3", "g8f6", "f3g1", "f6g8", "e2e4"]], min_count=2)
    assert (s.positions, s.visits) == (1, 2) and s.mean_bits == pytest.approx(1.0)
    # one visit per position when the game is cut before the return
    assert move_entropy([["g1f3", "g8f6", "f3g1", "f6g8", "e2e4"]], 2, max_plies=4).positions == 0


def test_wilson_interval():
    lo, hi = wilson(5, 10)
    assert lo == pytest.approx(0.2366, abs=1e-4) and hi == pytest.approx(0.7634, abs=1e-4)
    lo, hi = wilson(0, 10)
    assert lo == 0 and hi == pytest.approx(0.2775, abs=1e-4)
    assert all(math.isnan(x) for x in wilson(0, 0))


def pos(game, ply, mover, sf, dists, plurality):
    return Position(game, ply, mover, "x", sf, dists, {k: True for k in dists},
                    {k: False for k in dists}, plurality, plurality)


def test_agreement_and_identification_counts():
    d_a = {"e2e4": 0.9, "d2d4": 0.1}
    d_b = {"d2d4": 0.8, "e2e4": 0.2}
    ps = [pos(0, 0, "a", "e2e4", {"a": d_a, "b": d_b, "c": d_a}, "e2e4"),
          pos(0, 1, "b", "e2e4", {"a": d_a, "b": d_b, "c": d_a}, "e2e4"),
          pos(1, 0, "b", "d2d4", {"a": d_a, "b": d_b, "c": d_a}, "e2e4")]
    am = {"copier": {(0, 0): "e2e4", (0, 1): "d2d4", (1, 0): "d2d4"},
          "averager": {(0, 0): "e2e4", (0, 1): "e2e4", (1, 0): "e2e4"}}
    rows = agreement_rows(ps, am, ["a", "b", "c"])
    assert rows["positions"] == 3
    assert rows["models"]["copier"]["k"] == 2 and rows["models"]["averager"]["k"] == 2
    assert rows["ensemble_plurality"]["k"] == 2
    assert rows["experts_expected"]["a"] == pytest.approx((0.9 + 0.9 + 0.1) / 3)
    idf = identification(ps, am)
    assert idf["positions"] == 2  # where b played (its mode d2d4 differs from the plurality)
    assert idf["models"]["copier"]["acting_expert"]["k"] == 2
    assert idf["models"]["copier"]["plurality"]["k"] == 0
    assert idf["models"]["averager"]["plurality"]["k"] == 2


def test_eval_grids_are_built_from_the_experiment_table():
    exp = load_experiment("diversity", "tiny")
    model_grid, match_grid, openings = eval_grids(exp, workers=3)
    assert model_grid.name == exp.name and model_grid.workers == 3
    assert model_grid.seed == exp.seed and model_grid.openings == openings
    assert model_grid.opponents and not model_grid.matches
    assert (match_grid is None) == (not exp.eval.get("match"))
    if match_grid is not None:
        assert match_grid.matches and not match_grid.opponents


def test_grid_openings_cycle_per_cell():
    from chessformer.play.grid import Grid
    from chessformer.play.players import PlayerSpec
    from chessformer.play.tasks import build_tasks

    lines = ["e2e4 e7e5", "d2d4 d7d5"]
    grid = Grid(opponents=[PlayerSpec.random(), PlayerSpec.stockfish(depth=1)],
                temperatures=[0.1, 1.0], games=6, openings=lines)
    tasks = build_tasks(grid)
    by_cell: dict[str, list[tuple[str, ...]]] = {}
    for t in tasks:
        by_cell.setdefault(t.cell, []).append(t.opening)
    for openings in by_cell.values():  # 3 pairs, both colours: lines 0, 1, 0
        assert openings == [("e2e4", "e7e5")] * 2 + [("d2d4", "d7d5")] * 2 + [("e2e4", "e7e5")] * 2
    assert len(by_cell) == 4


@pytest.mark.parametrize("name", ["diversity", "selection", "generalization"])
@pytest.mark.parametrize("size", ["tiny", "small", "full"])
def test_experiments_load_at_every_size(name, size):
    exp = load_experiment(name, size)
    assert exp.kind == name and len(exp.arms) == 2 and exp.size == size
    if size == "tiny":
        assert exp.train["preset"] == "tiny" and "minutes" not in exp.train
        assert all(a.games < 50 for a in exp.arms)
    if size == "full":
        assert all(a.games >= 10000 for a in exp.arms) and exp.train["max_steps"] >= 600
    assert "minutes" not in exp.train  # equal training for every arm, whatever the load


def test_bad_experiment_files(tmp_path):
    with pytest.raises(UserError, match="not found"):
        load_experiment("nonesuch")
    bad = tmp_path / "x.toml"
    bad.write_text('kind = "diversity"\nfoo = 1\n')
    with pytest.raises(UserError, match="unknown experiment settings"):
        load_experiment(bad)
    bad.write_text('kind = "diversity"\n[[arm]]\nname = "a"\nexperts = "demo"\ngames = 4\n'
                   '[train]\npreset = "tiny"\n[eval]\nopponent = [{ kind = "random" }]\n')
    with pytest.raises(UserError, match="no \\[size.tiny\\]"):
        load_experiment(bad, "tiny")
    assert load_experiment(bad).arms[0].games == 4


def test_argmax_moves_gives_legal_moves():
    from chessformer.model.inference import argmax_moves

    import torch

    from chessformer.model.transformer import GPT, PRESETS, GPTConfig

    torch.manual_seed(0)
    model = GPT(GPTConfig(**PRESETS["tiny"])).eval()
    games = [["e2e4", "e7e5", "g1f3"], ["d2d4"], []]
    out = argmax_moves(model, games, max_plies=2, batch_size=2)
    assert [len(r) for r in out] == [2, 1, 0]
    for moves, row in zip(games, out):
        board = chess.Board()
        for t, mv in enumerate(row):
            assert chess.Move.from_uci(mv) in board.legal_moves
            board.push_uci(moves[t])


def run_tiny(name: str, out: Path) -> dict:
    proc = subprocess.run([sys.executable, "-m", "chessformer", "experiment", name, "--size", "tiny",
                           "--out", str(out), "--boot", "200"], cwd=ROOT, text=True,
                          capture_output=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads((out / "experiment.json").read_text())
    md = (out / "experiment.md").read_text()
    assert (out / "report" / "report.html").is_file()
    # Every model at every temperature, the ensemble and the experts are rated on one scale.
    rt = result["ratings"]
    assert set(rt["models"]) == {a.name for a in load_experiment(name, "tiny").arms}
    assert all(len(rows) == 2 for rows in rt["models"].values())  # two temperatures
    assert any(r["kind"] == "ensemble" for r in rt["others"])
    assert any(r["kind"] == "expert" for r in rt["others"])
    assert rt["anchors"] == {"random": 0.0}
    # Entropy of each arm's training data, and consistent counts in the per-move view.
    for e in result["entropy"].values():
        assert e["games"] > 0 and e["positions"] > 0 and 0 <= e["mean_bits"] < 8
    probe = result["probe"]
    for arm, r in probe["all"]["models"].items():
        assert 0 <= r["k"] <= r["n"] == probe["all"]["positions"] > 0
        assert r["lo"] <= r["rate"] <= r["hi"]
    assert "Diversity of the training data" in md and "## Finding" in md
    assert "Does a model identify the expert who is playing?" in md
    return result


@needs_sf
def test_diversity_experiment_tiny_end_to_end(tmp_path):
    result = run_tiny("diversity", tmp_path / "div")
    blind = result["probe"]["blind"]
    assert blind["positions"] > 0
    # blind-a gives Stockfish's move no probability where it is hidden (unless it is blind to
    # every legal move and plays at random): far below the other experts' expected agreement.
    exp = blind["experts_expected"]
    assert exp["blind-a"] < min(v for k, v in exp.items() if k != "blind-a")
    assert "blind to Stockfish's move" in (tmp_path / "div" / "experiment.md").read_text()
    # Resuming: a second run finds every stage done and writes the same per-move counts.
    again = run_tiny("diversity", tmp_path / "div")
    assert again["probe"] == json.loads(json.dumps(result["probe"]))


@needs_sf
@pytest.mark.slow
def test_selection_experiment_tiny_end_to_end(tmp_path):
    result = run_tiny("selection", tmp_path / "sel")
    assert set(result["probe"]["regions"]) == {"e4-expert", "d4-expert", "flank-expert"}
    for e, block in result["probe"]["regions"].items():
        if block["positions"]:  # inside its own region an expert is the strongest of the three
            own = block["experts_expected"][e]
            assert own >= max(block["experts_expected"].values()) - 1e-9 or block["positions"] < 5


@needs_sf
@pytest.mark.slow
def test_generalization_experiment_tiny_end_to_end(tmp_path):
    result = run_tiny("generalization", tmp_path / "gen")
    held_out = {tuple(line.split()) for line in result["eval_openings"]}
    for arm in result["arms"].values():
        folder = Path(arm["run"]) / "eval" / "generalization"
        for line in (folder / "games.jsonl").read_text().splitlines():
            assert tuple(json.loads(line)["opening"]) in held_out
    assert result["probe"]["min_ply"] == 4
    ent = result["entropy"]
    assert np.isfinite(ent["A-only"]["mean_bits"]) and np.isfinite(ent["A+B"]["mean_bits"])
