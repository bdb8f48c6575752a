"""Every learner through every interface that loads a model.

A learner is a set of model options a user can give ``train`` (input mode, move head, board
features, the legal-move softmax, EMA). Each one is trained for a few steps through the real
command (``--keep-best``, so the run's ``latest`` is chosen by validation loss), then loaded by
every interface: ``eval-vs-stockfish`` with masked and raw legality, ``uci`` driven by
python-chess's engine client from the start position and from a FEN (both legalities),
``report`` (the cover's learners: nothing it reads depends on the other options), and
``--resume``. The installed wheel is the packaging test's (the default learner).

The default suite trains :data:`COVER`, a set in which every value of every option appears at
least once, the presets' default learner included; ``-m slow`` trains the full product of the
options and the ``small`` preset that ``make demo`` trains. A combination that cannot work is
refused by ``train`` with a one-line error (:data:`REFUSED`).
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import sys
from pathlib import Path

import chess
import chess.engine
import pytest

from chessformer.formats.games import read_results

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
       "CHESSFORMER_PROGRESS": "0"}
FEN = "r1bqkbnr/pppp1ppp/2n5/4p3/4P3/5N2/PPPP1PPP/RNBQKB1R w KQkq - 2 3"



def learner(input_mode: str, head: str, features: str, legal_softmax: bool, ema: bool,
            preset: str | None = None) -> tuple[str, list[str]]:
    """(preset, train options) of one learner; every option spelled out, none left to a
    preset's default."""
    preset = preset or ("tiny" if input_mode == "moves+board" else "small-moves")
    args = ["--move-head", head, "--legal-softmax" if legal_softmax else "--no-legal-softmax",
            "--ema", "0.9" if ema else "0"]
    if input_mode == "moves+board":
        args += ["--board-features", features]
    return preset, args


def name(spec: tuple) -> str:
    mode, head, features, ls, ema = spec[:5]
    return "-".join([mode.replace("+", ""), head, *([features] if mode != "moves" else []),
                     "legalsm" if ls else "fullsm", "ema" if ema else "noema"] + list(spec[5:]))


HEADS = {"moves": ("flat", "from-to"), "moves+board": ("flat", "from-to", "tactics")}
#: Every learner that can be trained (the ``moves`` input has no board features).
PRODUCT = [(mode, head, features, ls, ema)
           for mode in HEADS for head in HEADS[mode]
           for features in (("basic", "tactics") if mode == "moves+board" else ("basic",))
           for ls, ema in itertools.product((False, True), (False, True))]
#: The default suite's cover: each option's every value at least once; the first is the
#: presets' default learner (what ``make train`` trains), the second the paper's input.
COVER = [("moves+board", "tactics", "basic", True, False),
         ("moves", "flat", "basic", False, False),
         ("moves", "from-to", "basic", True, True),
         ("moves+board", "flat", "tactics", False, True),
         ("moves+board", "from-to", "basic", False, False),
         ("moves+board", "tactics", "tactics", True, True)]
#: The demo's own learner at the demo's own size, trained a few steps (slow suite).
DEMO = ("moves+board", "tactics", "basic", True, False, "small")
#: (preset, options, what the error names): combinations ``train`` refuses in one line.
REFUSED = [("small-moves", ["--move-head", "tactics"], "tactics")]

assert {v for spec in COVER for v in spec} == {v for spec in PRODUCT for v in spec}
LEARNERS = ([pytest.param(s, id=name(s)) for s in COVER]
            + [pytest.param(s, id=name(s), marks=pytest.mark.slow) for s in PRODUCT
               if s not in COVER]
            + [pytest.param(DEMO, id=name(DEMO), marks=pytest.mark.slow)])


def cli(*args: str, **kwargs) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "chessformer", *args], cwd=ROOT, env=ENV,
                          capture_output=True, text=True, timeout=600, **kwargs)
    return proc


def ok(proc: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert proc.returncode == 0, f"{' '.join(proc.args[3:6])} exited {proc.returncode}:\n" \
                                 f"{proc.stderr[-3000:]}"
    return proc


_TRAINED: dict[tuple, Path] = {}


def _trained(spec: tuple, tiny_dataset: Path, tmp_path_factory) -> Path:
    """The learner trained 4 steps, evaluated every 2, ``latest`` the best checkpoint (once)."""
    if spec not in _TRAINED:
        mode, head, features, ls, ema, *size = spec
        preset, args = learner(mode, head, features, ls, ema, *size)
        out = tmp_path_factory.mktemp("matrix") / name(spec)
        ok(cli("train", "--data", str(tiny_dataset), "--preset", preset, "--max-steps", "4",
               "--batch-size", "2", "--block-size", "64", "--eval-every", "2",
               "--eval-windows", "4", "--legal-positions", "32", "--keep-best",
               "--checkpoint-minutes", "0", "--out", str(out), *args))
        _TRAINED[spec] = out
    return _TRAINED[spec]


@pytest.fixture(scope="module", params=LEARNERS)
def run(request, tiny_dataset, tmp_path_factory) -> Path:
    return _trained(request.param, tiny_dataset, tmp_path_factory)


@pytest.fixture(scope="module", params=[pytest.param(s, id=name(s)) for s in COVER])
def cover_run(request, tiny_dataset, tmp_path_factory) -> Path:
    """The cover's learners only: what ``report`` reads of a run (its games, run.json, metrics)
    depends on the legal-move softmax alone of the model options, which the cover spans."""
    return _trained(request.param, tiny_dataset, tmp_path_factory)


@pytest.mark.stockfish
def test_eval_vs_stockfish_plays_masked_and_raw(run, tmp_path):
    ok(cli("eval-vs-stockfish", "--model", str(run), "--grid", "fast", "--levels", "0",
           "--nodes", "1", "--temperatures", "0.001,1.0", "--legality", "masked,raw",
           "--games", "2", "--workers", "1", "--max-plies", "30", "--out", str(tmp_path / "ev")))
    games = read_results(tmp_path / "ev")
    assert len(games) == 8
    for g in games:
        side = next(s for s in ("white", "black") if g.players[s]["kind"] == "model")
        board = chess.Board()
        for uci in g.moves:
            assert chess.Move.from_uci(uci) in board.legal_moves
            board.push_uci(uci)
        if g.players[side]["legality"] == "masked":
            assert g.illegal[side] == 0 and g.termination != "forfeit_illegal"
        assert g.model_moves[side] + (g.termination == "forfeit_illegal") >= 1, g


def _play(model: chess.engine.SimpleEngine, board: chess.Board, plies: int) -> int:
    """Model against a random mover; returns the model's moves; each must be legal."""
    import random

    rng, moves = random.Random(0), 0
    model_color = board.turn
    while not board.is_game_over(claim_draw=True) and plies > 0:
        if board.turn == model_color:
            move = model.play(board, chess.engine.Limit(time=5.0)).move
            moves += 1
        else:
            move = rng.choice(list(board.legal_moves))
        assert move in board.legal_moves, (move, board.fen())
        board.push(move)
        plies -= 1
    return moves


@pytest.mark.stockfish
def test_uci_plays_from_the_start_and_from_a_fen(run):
    engine = chess.engine.SimpleEngine.popen_uci(
        [sys.executable, "-m", "chessformer", "uci", "--model", str(run)], cwd=ROOT, env=ENV)
    try:
        assert _play(engine, chess.Board(), 40) >= 10
        board = chess.Board(FEN)
        assert _play(engine, board, 12) >= 6
        # raw legality: a legal move, or the forfeit `bestmove 0000` (no move) after 5 samples
        engine.configure({"Legality": "raw", "Temperature": "1.0"})
        for fen in (chess.STARTING_FEN, FEN):
            result = engine.play(chess.Board(fen), chess.engine.Limit(time=5.0))
            assert result.move == chess.Move.null() or result.move in chess.Board(fen).legal_moves
    finally:
        engine.quit()


@pytest.mark.stockfish
def test_report_reads_the_run_and_its_games(cover_run, tmp_path):
    run = cover_run
    ev = run / "eval" / "fast"
    ok(cli("eval-vs-stockfish", "--model", str(run), "--grid", "fast", "--levels", "0",
           "--nodes", "1", "--temperatures", "0.001", "--legality", "masked", "--games", "2",
           "--workers", "1", "--max-plies", "20"))
    ok(cli("report", str(run), "--out", str(tmp_path / "rep")))
    text = (tmp_path / "rep" / "report.md").read_text()
    assert run.name in text and "0.001" in text
    shutil.rmtree(ev)


def test_resume_continues_the_run(run, tmp_path, tiny_dataset):
    """A copy of the run resumed to 6 steps: the options come from its checkpoint."""
    import json

    copy = tmp_path / run.name
    shutil.copytree(run, copy)
    preset = json.loads((run / "run.json").read_text())["preset"]
    ok(cli("train", "--data", str(tiny_dataset), "--preset", preset, "--out", str(copy),
           "--resume", "--max-steps", "6", "--checkpoint-minutes", "0"))
    final = json.loads((copy / "final_metrics.json").read_text())
    assert final["step"] == 6, final
    saved = json.loads((copy / "run.json").read_text())
    assert saved["config"] == json.loads((run / "run.json").read_text())["config"]
    assert saved["command"].startswith("chessformer train --data ")  # a string, as typed
    assert "--resume" in saved["resumes"][-1]["command"]


@pytest.mark.parametrize("preset, args, named", REFUSED)
def test_train_refuses_what_cannot_work_in_one_line(preset, args, named, tiny_dataset, tmp_path):
    proc = cli("train", "--data", str(tiny_dataset), "--preset", preset, "--max-steps", "1",
               "--out", str(tmp_path / "r"), *args)
    err = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(err) == 1 and named in err[0], proc.stderr[-2000:]
