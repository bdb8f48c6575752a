"""Tests for ``chessformer calibrate``: ladder files, names, anchors and connectivity."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chessformer.core.engine import find_stockfish
from chessformer.experiments.calibrate import (
    DEFAULT_LADDER,
    Ladder,
    Rung,
    calibrate,
    ladder_pairs,
    load_ladder_toml,
    plan_grid,
)
from chessformer.formats.games import read_results
from chessformer.formats.ladder import load_ladder
from chessformer.play.grid import load_grid
from chessformer.play.players import PlayerSpec
from chessformer.rating.anchors import PAPER_STOCKFISH_ELO
from chessformer.rating.collect import game_results
from chessformer.rating.ladder_fit import check_connected
from chessformer.utils import UserError

ROOT = Path(__file__).resolve().parents[1]

TINY_GRID = """
name = "tiny"
[[opponent]]
kind = "random"
[[opponent]]
kind = "stockfish"
skill = 0
depth = 1
[[opponent]]
kind = "stockfish"
skill = 20
depth = 1
"""


def tiny_rungs() -> list[Rung]:
    return [Rung(PlayerSpec.random(), anchor=400.0),
            Rung(PlayerSpec.stockfish(skill=0, depth=1)),
            Rung(PlayerSpec.stockfish(skill=20, depth=1), anchor=1800.0)]


@pytest.fixture(scope="module")
def tiny_ladder(tmp_path_factory):
    if find_stockfish() is None:
        pytest.skip("Stockfish not installed")
    tmp = tmp_path_factory.mktemp("calibrate")
    out = tmp / "ladder-test.json"
    # 4 games a pair cannot place an anchor left out near its stated rating: the ladder fails its
    # own check, and is written only because it is asked to be
    # (test_a_ladder_whose_anchors_fail_the_check_is_refused_unless_asked).
    doc = calibrate(out, games_per_pair=4, rungs=tiny_rungs(), workers=2, seed=3,
                    work=tmp / "work", n_boot=50, allow_anchor_misfit=True)
    return out, doc


@pytest.mark.stockfish
def test_tiny_ladder_file_is_valid_and_named_like_the_arena(tiny_ladder, tmp_path):
    out, doc = tiny_ladder
    on_disk = json.loads(out.read_text())
    assert on_disk == doc.to_json()
    for key in ("stockfish_version", "stockfish_path", "created", "command", "anchors", "games",
                "n_games", "rungs", "notes"):
        assert key in on_disk, key
    assert Path(on_disk["stockfish_path"]).is_file()
    assert on_disk["stockfish_version"] not in ("", "unknown")
    # The rung names are exactly the names the arena gives the same players in a grid.
    grid_file = tmp_path / "tiny.toml"
    grid_file.write_text(TINY_GRID)
    arena_names = [o.name for o in load_grid(grid_file).opponents]
    assert [r["name"] for r in on_disk["rungs"]] == arena_names
    assert set(load_ladder(out)) == set(arena_names)
    # The games file sits beside the ladder, and the ladder's counts come from it.
    games_file = out.with_name("ladder-test-games.jsonl")
    assert Path(on_disk["games"]).resolve() == games_file.resolve()
    games, _ = game_results(read_results(games_file))
    assert on_disk["n_games"] == len(games) > 0
    # span 2 over three rungs: every pair but the two anchors' (it cannot move the fit), 4 games.
    assert len(games_file.read_text().splitlines()) == 2 * 4
    assert {(p["a"], p["b"]) for p in on_disk["pairs"]} == {
        ("random", "stockfish skill=0 depth=1"),
        ("stockfish skill=0 depth=1", "stockfish skill=20 depth=1")}
    for r in on_disk["rungs"]:
        assert r["games"] == sum(r["name"] in (g.white, g.black) for g in games)
        assert 0.0 <= r["score"] <= 1.0
        assert r["lo"] <= r["elo"] <= r["hi"]
    assert "16.1" in on_disk["notes"] and "cores" in on_disk["notes"]


@pytest.mark.stockfish
def test_tiny_ladder_holds_its_anchors(tiny_ladder):
    _, doc = tiny_ladder
    rungs = {r.name: r for r in doc.rungs}
    assert doc.anchors == {"random": 400.0, "stockfish skill=20 depth=1": 1800.0}
    for name, elo in doc.anchors.items():
        r = rungs[name]
        assert r.anchor is True
        assert r.elo == r.lo == r.hi == elo
    free = rungs["stockfish skill=0 depth=1"]
    assert free.anchor is False
    assert free.lo < free.hi  # a real interval from the bootstrap
    # Leave-one-anchor-out check: each anchor is refitted from the other one.
    assert {c.name for c in doc.anchor_check} == set(doc.anchors)


def test_disconnected_rungs_are_refused_by_name():
    ladder = Ladder(rungs=tiny_rungs(), span=0,
                    pairs=[("random", "stockfish skill=20 depth=1")])
    with pytest.raises(UserError, match="stockfish skill=0 depth=1"):
        plan_grid(ladder, 4)
    with pytest.raises(UserError, match="no anchor"):
        check_connected(["a", "b"], {}, [("a", "b")])
    # Refused before any game is played (no Stockfish needed to see it).
    with pytest.raises(UserError, match="do not connect"):
        calibrate(None, games_per_pair=2, rungs=ladder, stockfish="/nonexistent/stockfish")


def test_bad_ladders_give_clear_errors(tmp_path):
    with pytest.raises(UserError, match="positive even"):
        plan_grid(Ladder(rungs=tiny_rungs()), 3)
    bad = tmp_path / "bad.toml"
    bad.write_text('[[rung]]\nkind = "random"\n[[rung]]\nkind = "random"\n')
    with pytest.raises(UserError, match="unique"):
        load_ladder_toml(bad)
    bad.write_text('[[rung]]\nkind = "random"\nanchor = 0\n'
                   '[[rung]]\nkind = "stockfish"\nskill = 1\nnodes = 10\n'
                   '[[pair]]\nplayers = ["random", "nobody"]\n')
    with pytest.raises(UserError, match="nobody"):
        load_ladder_toml(bad)


def test_default_ladder_covers_the_evaluation_grids_and_paper_anchors():
    ladder = load_ladder_toml(DEFAULT_LADDER)
    names = {r.name for r in ladder.rungs}
    assert "random" in names
    for grid in ("fast", "paper"):
        for opp in load_grid(grid).opponents:
            assert opp.name in names, f"{grid} opponent {opp.name!r} has no ladder rung"
    paper = {PlayerSpec.stockfish(skill=k, movetime_ms=100).name: PAPER_STOCKFISH_ELO[k]
             for k in (1, 3, 5)}
    assert ladder.anchors == paper
    pairs = ladder_pairs(ladder)
    assert not any(a.anchor is not None and b.anchor is not None for a, b in pairs)
    grid = plan_grid(ladder, 40)  # connected, valid counts
    assert all(n == 40 for _, n in grid.matches)


def test_shipped_ladder_matches_the_default_ladder():
    shipped = sorted((ROOT / "stockfish").glob("ladder-*[0-9].json"))
    if not shipped:
        pytest.skip("no shipped ladder file")
    names = {r.name for r in load_ladder_toml(DEFAULT_LADDER).rungs}
    for path in shipped:
        doc = json.loads(path.read_text())
        assert path.name == f"ladder-{doc['stockfish_version']}.json"
        rungs = {r["name"]: r for r in doc["rungs"]}
        assert set(rungs) == names
        for name, elo in doc["anchors"].items():
            assert rungs[name]["elo"] == elo and rungs[name]["anchor"]
        games = ROOT / doc["games"]
        assert games.is_file(), f"{path}: games file {doc['games']} missing"
        assert len(game_results(read_results(games))[0]) == doc["n_games"]


@pytest.mark.stockfish
def test_rerun_resumes_and_other_plans_are_refused(tiny_ladder):
    out, doc = tiny_ladder
    work = out.parent / "work"
    shard_lines = {p: p.read_text() for p in work.glob("shard-*/games.jsonl")}
    again = calibrate(out.with_name("again.json"), games_per_pair=4, rungs=tiny_rungs(), workers=2,
                      seed=3, work=work, n_boot=50, allow_anchor_misfit=True)
    # Nothing replayed: the shards' games are as they were, and the fit is the same.
    assert {p: p.read_text() for p in work.glob("shard-*/games.jsonl")} == shard_lines
    assert again.rungs == doc.rungs
    with pytest.raises(UserError, match="another plan"):
        calibrate(out.with_name("other.json"), games_per_pair=6, rungs=tiny_rungs(), workers=2,
                  seed=3, work=work, n_boot=50)


def test_cli_dry_run_lists_the_default_plan(capsys):
    from chessformer.cli import main

    argv = ["calibrate", "--dry-run", "--games-per-pair", "10", "--fast-games-per-pair", "20"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    ladder = load_ladder_toml(DEFAULT_LADDER)
    n_pairs = len(ladder_pairs(ladder))
    assert f"{n_pairs} pairs" in out
    assert "stockfish skill=5 nodes=1000  vs  stockfish skill=5 movetime_ms=100" in out
    assert "  20  random  vs  " in out


@pytest.mark.stockfish
def test_a_ladder_whose_anchors_fail_the_check_is_refused_unless_asked(tiny_ladder):
    """The tiny ladder's anchors fail the leave-one-out check (each left out, the 4-game pairs
    put it far from its stated rating): without --allow-anchor-misfit calibrate refuses to write
    it and names them; with it, the failure is the file's first key."""
    out, doc = tiny_ladder
    bad = out.with_name("refused.json")
    with pytest.raises(UserError, match=r"not written: the anchors fail the leave-one-out "
                                        r"check \(random: paper 400, games "):
        calibrate(bad, games_per_pair=4, rungs=tiny_rungs(), workers=2, seed=3,
                  work=out.parent / "work", n_boot=50)
    assert not bad.exists()
    assert doc.warning.startswith("ANCHOR CHECK FAILED: random: paper 400, games ")
    assert "stockfish skill=20 depth=1: paper 1800, games " in doc.warning
    assert "offset to the paper's scale is unknown" in doc.warning
    assert next(iter(json.loads(out.read_text()))) == "warning"
