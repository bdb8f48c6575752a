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

from chessformer.experiments.arms import seed_mean
from chessformer.experiments.entropy import move_entropy
from chessformer.experiments.probe import (
    Clusters,
    Position,
    agreement_rows,
    identification,
    training_keys,
    training_overlap,
)
from chessformer.experiments.spec import load_experiment
from chessformer.experiments.taxonomy import eval_grids
from chessformer.utils import UserError

ROOT = Path(__file__).resolve().parents[1]


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


def pos(game, ply, mover, sf, dists, plurality, key=""):
    return Position(game, ply, mover, "x", sf, dists, {k: True for k in dists},
                    {k: False for k in dists}, plurality, plurality, key)


def test_probe_intervals_are_clustered_by_game():
    # 10 games of 20 positions; a model is right on every position of half of the games. Counted
    # as 200 independent positions the interval would be about +-7 points; by game it is about
    # +-30 (10 independent draws).
    ps = [pos(g, t, "a", "e2e4", {"a": {}}, "e2e4") for g in range(10) for t in range(20)]
    values = np.array([[float(p.game % 2) for p in ps]])
    clustered = Clusters(ps, seed=0).rate(values)
    assert clustered["rate"] == 0.5 and clustered["games"] == 10 and clustered["n"] == 200
    as_if_independent = Clusters([pos(k, 0, "a", "e2e4", {"a": {}}, "e2e4")
                                  for k in range(200)], seed=0).rate(values)
    assert clustered["hi"] - clustered["lo"] > 0.4
    assert as_if_independent["hi"] - as_if_independent["lo"] < 0.2
    assert clustered["lo"] <= 0.5 <= clustered["hi"]


def test_paired_difference_and_seed_spread():
    ps = [pos(g, t, "a", "e2e4", {"a": {}}, "e2e4") for g in range(20) for t in range(10)]
    rng = np.random.default_rng(0)
    base = (rng.random(len(ps)) < 0.5).astype(float)
    better = base.copy()
    better[:: 20] = 1.0  # right on 10 more positions, in 10 different games
    better[base == 1.0] = 1.0
    cl = Clusters(ps, seed=1)
    a, b = cl.rate(better[None]), cl.rate(base[None])
    assert a["lo"] < b["hi"]  # the two marginal intervals overlap ...
    d = cl.difference(better[None], base[None])
    assert d["diff"] == pytest.approx(a["rate"] - b["rate"]) and d["lo"] > 0  # ... paired, not
    # Two seeds that disagree widen the arm's interval beyond either seed's own.
    two = cl.rate(np.stack([base, 1.0 - base]))
    assert two["seeds"] == 2 and two["rate"] == pytest.approx(0.5)
    assert two["hi"] - two["lo"] > b["hi"] - b["lo"]


def test_agreement_and_identification_rates():
    d_a = {"e2e4": 0.9, "d2d4": 0.1}
    d_b = {"d2d4": 0.8, "e2e4": 0.2}
    ps = [pos(0, 0, "a", "e2e4", {"a": d_a, "b": d_b, "c": d_a}, "e2e4"),
          pos(0, 1, "b", "e2e4", {"a": d_a, "b": d_b, "c": d_a}, "e2e4"),
          pos(1, 0, "b", "d2d4", {"a": d_a, "b": d_b, "c": d_a}, "e2e4")]
    am = {"copier": [{(0, 0): "e2e4", (0, 1): "d2d4", (1, 0): "d2d4"}],
          "averager": [{(0, 0): "e2e4", (0, 1): "e2e4", (1, 0): "e2e4"},
                       {(0, 0): "e2e4", (0, 1): "e2e4", (1, 0): "d2d4"}]}
    rows = agreement_rows(ps, am, ["a", "b", "c"])
    assert rows["positions"] == 3 and rows["games"] == 2
    assert rows["models"]["copier"]["rate"] == pytest.approx(2 / 3)
    assert rows["models"]["averager"]["rate"] == pytest.approx((2 / 3 + 3 / 3) / 2)
    assert rows["models"]["averager"]["seeds"] == 2
    assert rows["ensemble_plurality"]["rate"] == pytest.approx(2 / 3)
    assert rows["experts_expected"]["a"]["rate"] == pytest.approx((0.9 + 0.9 + 0.1) / 3)
    (d,) = rows["differences"]
    assert (d["a"], d["b"]) == ("copier", "averager")
    assert d["diff"] == pytest.approx(2 / 3 - 5 / 6)
    idf = identification(ps, am)
    assert idf["positions"] == 2  # where b played (its mode d2d4 differs from the plurality)
    assert idf["models"]["copier"]["acting_expert"]["rate"] == 1.0
    assert idf["models"]["copier"]["plurality"]["rate"] == 0.0
    assert idf["models"]["copier"]["difference"]["diff"] == 1.0
    assert idf["models"]["averager"]["plurality"]["rate"] == pytest.approx(0.75)


def test_training_overlap_counts_positions_seen_in_training():
    keys = training_keys([["e2e4", "e7e5"], ["d2d4"]])
    board = chess.Board()
    start = board.epd()
    board.push_uci("e2e4")
    after_e4 = board.epd()
    assert {start, after_e4} <= keys and len(keys) == 4
    ps = [pos(0, 0, "a", "e2e4", {"a": {}}, "e2e4", start),
          pos(0, 1, "a", "e7e5", {"a": {}}, "e7e5", after_e4),
          pos(0, 2, "a", "g1f3", {"a": {}}, "g1f3", "elsewhere")]
    assert training_overlap(ps, keys) == {"positions": 3, "seen": 2, "share": 2 / 3}


def test_arm_interval_covers_the_spread_between_seeds():
    from chessformer.rating.bootstrap import bootstrap
    from chessformer.rating.counts import GameResult, score_from_elo

    rng = np.random.default_rng(3)
    true = {"s0": 1400.0, "s1": 1600.0, "s2": 1500.0, "ref": 1500.0}
    games = []
    for p in ("s0", "s1", "s2"):
        for k in range(200):
            w, b = (p, "ref") if k % 2 == 0 else ("ref", p)
            games.append(GameResult(w, b, float(rng.random() < score_from_elo(true[w] - true[b])),
                                    pair=(p, k // 2)))
    bf = bootstrap(games, {"ref": 1500.0}, n_boot=300, seed=0)
    point, samples = seed_mean(bf, ["s0", "s1", "s2"], np.random.default_rng(0))
    assert point == pytest.approx(np.mean([bf.fit.ratings[p] for p in ("s0", "s1", "s2")]))
    games_only = bf.samples[:, [bf.players.index(p) for p in ("s0", "s1", "s2")]].mean(axis=1)
    width = np.subtract(*np.quantile(samples, [0.975, 0.025]))
    assert width > 2 * np.subtract(*np.quantile(games_only, [0.975, 0.025]))


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
    import torch

    from chessformer.model.inference import argmax_moves
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
    # experiment.json is a typed record: it reads back whole and writes the same bytes.
    from chessformer.formats import experiment as experiment_format

    record = experiment_format.read_experiment(out)
    experiment_format.write_experiment(out / "copy", record, "")
    assert (out / "copy" / "experiment.json").read_bytes() == (out / "experiment.json").read_bytes()
    md = (out / "experiment.md").read_text()
    assert (out / "report" / "report.html").is_file()
    # Every model at every temperature, the ensemble and the experts are rated on one scale.
    rt = result["ratings"]
    exp = load_experiment(name, "tiny")
    assert set(rt["arms"]) == {a.name for a in exp.arms} and exp.seeds == 3
    assert set(rt["models"]) == {f"{a.name}-s{k}" for a in exp.arms for k in range(3)}
    assert all(len(rows) == 2 for rows in rt["models"].values())  # two temperatures
    for rows in rt["arms"].values():
        assert [x["temperature"] for x in rows] == [0.001, 1.0]
        assert all(x["seeds"] == 3 and x["lo"] <= x["hi"] for x in rows)
    assert any(r["kind"] == "ensemble" for r in rt["others"])
    assert any(r["kind"] == "expert" for r in rt["others"])
    assert rt["anchors"] == {"random": 0.0}
    # Entropy of each arm's training data, and consistent counts in the per-move view.
    for e in result["entropy"].values():
        assert e["games"] > 0 and e["positions"] > 0 and 0 <= e["mean_bits"] < 8
    probe = result["probe"]
    for r in probe["all"]["models"].values():
        assert r["n"] == probe["all"]["positions"] > 0 and r["seeds"] == 3
        assert 0 <= r["lo"] <= r["hi"] <= 1 and 0 <= r["rate"] <= 1
    assert set(probe["overlap"]) == set(rt["arms"])
    for o in probe["overlap"].values():
        assert o["positions"] == probe["all"]["positions"] and 0 <= o["seen"] <= o["positions"]
    if probe["min_ply"] == 0:  # every held-out game's start position was in the training data
        assert all(o["seen"] >= probe["games"] for o in probe["overlap"].values())
    assert probe["unseen"]["positions"] <= probe["all"]["positions"]
    # The verdicts quoted are at the temperature fixed in advance.
    assert result["verdict_temperature"] == 0.001
    assert len(result["report"]["verdicts"]) == 2 * 3
    assert all("T=0.001 (fixed in advance): " in v for v in result["report"]["verdicts"])
    assert "Overlap with the training data" in md
    assert "Diversity of the training data" in md and "## Finding" in md
    assert "Does a model identify the expert who is playing?" in md
    return result


@pytest.mark.stockfish
def test_diversity_experiment_tiny_end_to_end(tmp_path):
    result = run_tiny("diversity", tmp_path / "div")
    blind = result["probe"]["blind"]
    assert blind["positions"] > 0
    # blind-a gives Stockfish's move no probability where it is hidden (unless it is blind to
    # every legal move and plays at random): far below the other experts' expected agreement.
    exp = {e: r["rate"] for e, r in blind["experts_expected"].items()}
    assert exp["blind-a"] < min(v for k, v in exp.items() if k != "blind-a")
    assert "blind to Stockfish's move" in (tmp_path / "div" / "experiment.md").read_text()
    # Every stage of the experiment records the command the experiment gave it (not the argv
    # of whatever process ran it): each run.json names what its eval.json names.
    runs = sorted((tmp_path / "div" / "runs").glob("*/run.json"))
    assert runs
    for p in runs:
        command = json.loads(p.read_text())["command"]
        [ev] = p.parent.glob("eval/*/eval.json")
        assert command.startswith("chessformer experiment ")
        assert command == json.loads(ev.read_text())["command"]
    # Resuming: a second run finds every stage done and writes the same per-move counts.
    again = run_tiny("diversity", tmp_path / "div")
    assert again["probe"] == json.loads(json.dumps(result["probe"]))


@pytest.mark.stockfish
@pytest.mark.slow
def test_selection_experiment_tiny_end_to_end(tmp_path):
    result = run_tiny("selection", tmp_path / "sel")
    assert set(result["probe"]["regions"]) == {"e4-expert", "d4-expert", "flank-expert"}
    for e, block in result["probe"]["regions"].items():
        if block["positions"]:  # inside its own region an expert is the strongest of the three
            expected = {x: r["rate"] for x, r in block["experts_expected"].items()}
            assert expected[e] >= max(expected.values()) - 1e-9 or block["positions"] < 5


@pytest.mark.stockfish
@pytest.mark.slow
def test_generalization_experiment_tiny_end_to_end(tmp_path):
    result = run_tiny("generalization", tmp_path / "gen")
    held_out = {tuple(line.split()) for line in result["eval_openings"]}
    for arm in result["arms"].values():
        assert len(arm["runs"]) == 3
        for run in arm["runs"]:
            folder = Path(run) / "eval" / "generalization"
            for line in (folder / "games.jsonl").read_text().splitlines():
                assert tuple(json.loads(line)["opening"]) in held_out
    assert result["probe"]["min_ply"] == 4
    ent = result["entropy"]
    assert np.isfinite(ent["A-only"]["mean_bits"]) and np.isfinite(ent["A+B"]["mean_bits"])
