"""``analyze humans`` and ``ingest --holdout``: the per-bin table on a tiny model trained by
``train`` on games ingested by ``ingest`` (its held-out games analysed), the refusal of games in
the training set, the clock filter on ``%clk`` games, the clustered bootstrap, the scorer's
cache across a kill -9, and the one-line errors."""

from __future__ import annotations

import csv
import json
import math
import random
import subprocess
import sys
from pathlib import Path

import chess
import chess.pgn
import numpy as np
import pytest
from analysis_fixtures import cli_env, kill_mid_scoring

from chessformer.analysis.favor import State
from chessformer.analysis.humans import (
    Bins,
    Position,
    humans_analysis,
    read_positions,
    summarise,
)
from chessformer.cli import main
from chessformer.data.dataset import GameDataset
from chessformer.data.ingest import ingest
from chessformer.formats import humans as humans_format
from chessformer.formats import scores as scores_format
from chessformer.formats.dataset import HOLDOUT_PGN, read_manifest
from chessformer.report.humans import table
from chessformer.utils import UserError

ROOT = Path(__file__).resolve().parent.parent
N_GAMES = 40
HOLDOUT = 0.3


def _write_games(path: Path, n: int, *, seed: int, clocks: bool, ratings: bool = True) -> None:
    """``n`` seeded random legal games as a Lichess export writes them: ratings 1200-1699, and
    with ``clocks`` a ``%clk`` after every move, each side losing 3 s a move from 90 s."""
    rng = random.Random(seed)
    games = []
    for g in range(n):
        board = chess.Board()
        game = chess.pgn.Game()
        game.headers["Event"] = "Rated Blitz game"
        game.headers["Site"] = f"https://lichess.org/t{seed:03d}{g:04d}"[:27]
        game.headers["White"], game.headers["Black"] = f"w{seed}-{g}", f"b{seed}-{g}"
        if ratings:
            game.headers["WhiteElo"] = str(rng.randint(1200, 1699))
            game.headers["BlackElo"] = str(rng.randint(1200, 1699))
        node: chess.pgn.GameNode = game
        for ply in range(rng.randint(30, 50)):
            if board.is_game_over():
                break
            move = rng.choice(list(board.legal_moves))
            board.push(move)
            node = node.add_variation(move)
            if clocks:
                node.set_clock(90 - 3 * (ply // 2))
        game.headers["Result"] = "1/2-1/2"
        games.append(str(game))
    path.write_text("\n\n".join(games) + "\n")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """(run, dataset, all games' PGN): a tiny model trained by ``train`` on the games that
    ``ingest --holdout`` kept; the held-out games are in ``dataset/holdout.pgn``."""
    root = tmp_path_factory.mktemp("humans")
    pgn = root / "games.pgn"
    _write_games(pgn, N_GAMES, seed=7, clocks=True)
    ds = root / "ds"
    ingest([str(pgn)], ds, elo_cap=None, boards=True, workers=0, holdout=HOLDOUT,
           holdout_seed=1, engine="python-chess")
    run = root / "run"
    assert main(["train", "--data", str(ds), "--preset", "tiny", "--max-steps", "2",
                 "--batch-size", "4", "--eval-windows", "2", "--out", str(run)]) == 0
    return run, ds, pgn


def test_holdout_games_are_written_as_read_and_left_out_of_the_dataset(trained):
    _, ds, pgn = trained
    m = read_manifest(ds)
    held = (ds / HOLDOUT_PGN).read_text()
    n_held = held.count("[Event ")
    assert m.rejected is not None and m.rejected["held_out"] == n_held
    assert 0 < n_held < N_GAMES and m.kept == N_GAMES - n_held
    assert "[%clk" in held  # the comments survive
    dataset_ids = {r for r in GameDataset.open(ds).game_keys().values()}
    held_sites = {line.split("/")[-1].rstrip('"]') for line in held.splitlines()
                  if line.startswith("[Site ")}
    assert held_sites and not held_sites & dataset_ids
    # the same seed draws the same games from the same file
    again = pgn.parent / "ds-again"
    ingest([str(pgn)], again, elo_cap=None, workers=0, holdout=HOLDOUT, holdout_seed=1,
           engine="python-chess")
    assert (again / HOLDOUT_PGN).read_text() == held


def test_games_of_the_training_set_are_refused(trained):
    run, ds, pgn = trained
    keys = GameDataset.open(ds).game_keys()
    with pytest.raises(UserError, match=r"of the 40 games are in the model's training data, "
                                        r"e\.g\. .*games\.pgn game \d+ \(w7-\d+ - b7-\d+"):
        read_positions([pgn], Bins(), training_keys=keys)
    positions, counts = read_positions([ds / HOLDOUT_PGN], Bins(), training_keys=keys)
    assert positions and counts.games_read == read_manifest(ds).rejected["held_out"]


def _clock_before(game: chess.pgn.Game) -> list[float]:
    """The mover's clock before each move: after its previous move (first move: after it)."""
    clocks = [n.clock() for n in game.mainline()]
    return [clocks[i - 2] if i >= 2 else clocks[i] for i in range(len(clocks))]


def test_moves_under_the_clock_limit_are_left_out(trained):
    _, ds, _ = trained
    holdout = ds / HOLDOUT_PGN
    want_low, want_kept = 0, 0
    with open(holdout) as f:
        while (game := chess.pgn.read_game(f)) is not None:
            for ply, before in enumerate(_clock_before(game)):
                if ply >= 10:
                    want_low += before < 30
                    want_kept += before >= 30
    assert want_low > 0 and want_kept > 0
    positions, c = read_positions([holdout], Bins(), min_clock=30, sample=10_000)
    assert c.low_clock == want_low and c.eligible == len(positions) == want_kept
    assert c.moves_with_clock > 0
    everything, c0 = read_positions([holdout], Bins(), min_clock=None, sample=10_000)
    assert c0.low_clock == 0 and len(everything) == want_low + want_kept
    # a game without clock comments keeps every move
    bare = ds.parent / "bare.pgn"
    _write_games(bare, 3, seed=8, clocks=False)
    _, c1 = read_positions([bare], Bins(), min_clock=30, sample=10_000)
    assert c1.low_clock == 0 and c1.moves_with_clock == 0 and c1.eligible > 0


def test_the_sample_is_seeded_uniform_and_bounded(trained):
    _, ds, _ = trained
    holdout = ds / HOLDOUT_PGN
    allp, _ = read_positions([holdout], Bins(), sample=10_000)
    a, ca = read_positions([holdout], Bins(), sample=20, seed=3)
    b, _ = read_positions([holdout], Bins(), sample=20, seed=3)
    c, _ = read_positions([holdout], Bins(), sample=20, seed=4)
    key = [(p.game_number, p.ply) for p in a]
    assert len(a) == 20 and ca.eligible == len(allp)
    assert key == [(p.game_number, p.ply) for p in b] != [(p.game_number, p.ply) for p in c]
    assert set(key) <= {(p.game_number, p.ply) for p in allp}
    edges, _ = read_positions([holdout], Bins(width=None, edges=(1200, 1400, 1700)))
    assert {p.bin for p in edges} <= {(1200, 1400), (1400, 1700)}


def test_bootstrap_intervals_are_clustered_by_game():
    """Ten games of twenty positions, every position of a game alike: the interval is that of
    ten observations, not two hundred."""
    rng = np.random.default_rng(0)
    positions, states = [], []
    won = rng.permutation([0] * 5 + [1] * 5)
    for g in range(10):
        for ply in range(20):
            human = "e2e4" if won[g] else "d2d4"
            positions.append(Position("x.pgn", g + 1, ["e2e4"] * 21, ply, 1500, (1500, 1600)))
            positions[-1].moves[ply] = human
            s = State(g, f"g{g}", ply, [], chess.STARTING_FEN, "opening")
            s.model = {1.0: {"e2e4": 0.9, "d2d4": 0.1}}
            s.scores, s.ranked = {"e2e4": 0.6, "d2d4": 0.4}, ["e2e4", "d2d4"]
            states.append(s)
    rows, total, _ = summarise(positions, states, [1.0], 2000, 0)
    assert total.top1 == pytest.approx(0.5) and total.games == 10 and total.positions == 200
    width = total.top1_hi - total.top1_lo
    assert 0.45 < width < 0.75  # about 4 x sqrt(.25 / 10) = 0.63; 200 independent: 0.14
    g = total.model[0]
    assert g.gain == pytest.approx(0.5 * (0.58 - 0.6) + 0.5 * (0.58 - 0.4))
    assert rows[0].bin == "1500-1599" and rows[0].positions == 200


@pytest.mark.stockfish
def test_per_bin_table_on_held_out_games(trained, tmp_path):
    run, ds, _ = trained
    out = tmp_path / "out"
    r, positions = humans_analysis(run, [ds / HOLDOUT_PGN], out, positions=40, nodes=60,
                                   temperatures=[0.001], n_boot=100, processes=2,
                                   command="test")
    assert r.positions == len(positions) == 40 and r.dataset == str(ds)
    assert r.temperatures == [0.001, 1.0] and r.input_mode == "moves+board"
    assert sum(b.positions for b in r.bins) == r.total.positions == 40
    assert humans_format.read_humans(out).to_json() == r.to_json()
    rows = list(csv.DictReader(open(out / humans_format.HUMANS_CSV)))
    assert len(rows) == 40
    for b in [*r.bins, r.total]:
        mine = [x for x in rows if b.bin in ("all", x["bin"])]
        assert len(mine) == b.positions
        assert b.top1 == pytest.approx(np.mean([x["human_move"] == x["model_top1"] for x in mine]),
                                       abs=1e-5)
        assert b.top3 == pytest.approx(np.mean([int(x["human_rank"]) <= 3 for x in mine]), abs=1e-5)
        assert b.log_loss == pytest.approx(np.mean([-math.log(float(x["human_p"]))
                                                    for x in mine]), abs=1e-3)
        for gain in b.model:
            want = np.mean([float(x[f"model_T{gain.temperature:g}"]) - float(x["human_score"])
                            for x in mine])
            assert gain.gain == pytest.approx(want, abs=1e-4)
            assert gain.gain_lo <= gain.gain <= gain.gain_hi
    for x in rows:
        lo, hi = map(int, x["bin"].split("-"))
        assert lo <= int(x["rating"]) <= hi
        assert int(x["ply"]) >= 10
    md = (out / humans_format.HUMANS_MD).read_text()
    assert "| 1200-1299 |" in md or "| 1300-1399 |" in md
    assert (out / humans_format.HUMANS_PLOT).stat().st_size > 1000
    from chessformer.report.report import humans_report_sections

    [section] = humans_report_sections([run], out)  # `report RUN --out OUT` shows the table
    assert section.rows == table(r)[1] and section.image == humans_format.HUMANS_PLOT
    assert humans_report_sections([tmp_path / "another-run"], out) == []
    again, _ = humans_analysis(run, [ds / HOLDOUT_PGN], out, positions=40, nodes=60,
                               temperatures=[0.001], n_boot=100)
    assert again.scorer["scored_now"] == 0 and again.scorer["from_cache"] == r.scorer["positions"]
    assert [b.to_json() for b in again.bins] == [b.to_json() for b in r.bins]


@pytest.mark.slow
@pytest.mark.stockfish
def test_kill_minus_nine_then_a_second_run_scores_nothing_twice(trained, tmp_path):
    run, ds, _ = trained
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "chessformer", "analyze", "humans", "--model", str(run),
           "--games", str(ds / HOLDOUT_PGN), "--out", str(out), "--positions", "40",
           "--nodes", "400", "--workers", "1", "--boot", "20"]
    before = kill_mid_scoring(cmd, out, within=90)
    cache = scores_format.scores_path(out)
    assert 3 <= len(before) < 40, "the kill came too late to test anything"
    done = subprocess.run(cmd, env=cli_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    r = humans_format.read_humans(out)
    assert r.scorer["from_cache"] == len(before)
    assert r.scorer["scored_now"] == r.scorer["positions"] - len(before)
    lines = [json.loads(x) for x in cache.read_text().splitlines()]
    assert len(lines) == r.scorer["positions"] == len({x["fen"] for x in lines})
    third = subprocess.run(cmd, env=cli_env(), capture_output=True, text=True, timeout=300)
    assert third.returncode == 0 and "scored now 0," in third.stdout


def _cli(*args, **env):
    return subprocess.run([sys.executable, "-m", "chessformer", *map(str, args)],
                          env=cli_env(**env), capture_output=True, text=True, timeout=120)


def _one_line(p, *needles):
    assert p.returncode == 2 and "Traceback" not in p.stderr, p.stderr
    assert len(p.stderr.strip().splitlines()) == 1, p.stderr
    for n in needles:
        assert str(n) in p.stderr, p.stderr


@pytest.mark.stockfish
def test_bad_input_is_one_line_exit_2(trained, tmp_path):
    run, ds, pgn = trained
    held = ds / HOLDOUT_PGN
    unrated = tmp_path / "unrated.pgn"
    _write_games(unrated, 2, seed=9, clocks=False, ratings=False)
    _one_line(_cli("analyze", "humans", "--model", run, "--games", unrated, "--out", tmp_path / "o"),
              "no position with a rated player to move in any bin", unrated)
    _one_line(_cli("analyze", "humans", "--model", run, "--games", pgn, "--out", tmp_path / "o"),
              "in the model's training data", pgn)
    _one_line(_cli("analyze", "humans", "--model", tmp_path / "no-run", "--games", held),
              "no trained model here", "no-run")
    _one_line(_cli("analyze", "humans", "--model", run, "--games", tmp_path / "none.pgn"),
              "no such PGN file", "none.pgn")
    _one_line(_cli("analyze", "humans", "--model", run, "--games", held, "--out", tmp_path / "o",
                   STOCKFISH_PATH=str(tmp_path / "no-stockfish")),
              "Stockfish not found", "no-stockfish")
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    _one_line(_cli("analyze", "humans", "--model", run, "--games", held, "--out", blocker / "o"),
              "cannot write the output folder", blocker)
    _one_line(_cli("analyze", "humans", "--model", run, "--games", held, "--bins", "1500,1400"),
              "--bins")
