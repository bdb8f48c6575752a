"""``chessformer uci`` driven by a real UCI client (python-chess's chess.engine), and any UCI
engine as an arena opponent."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import chess
import chess.engine
import pytest

from chessformer.core.engine import find_stockfish
from chessformer.formats.games import read_results
from chessformer.utils import UserError

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory, tiny_dataset):
    """A ``tiny`` model trained a few steps through the real ``train`` command."""
    run = tmp_path_factory.mktemp("uci") / "run"
    subprocess.run([sys.executable, "-m", "chessformer", "train", "--data", str(tiny_dataset),
                    "--preset", "tiny", "--max-steps", "4", "--batch-size", "4", "--eval-windows",
                    "4", "--checkpoint-minutes", "0", "--out", str(run)],
                   check=True, cwd=ROOT, env=ENV, capture_output=True)
    return run


def uci_command(run: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "chessformer", "uci", "--model", str(run), *extra]


def play_game(model: chess.engine.SimpleEngine, opponent: chess.engine.SimpleEngine,
              board: chess.Board, max_plies: int = 300) -> list[str]:
    """A game to its end (or ``max_plies``); the model's ``info string`` lines, checked legal."""
    infos = []
    model_color = board.turn
    while not board.is_game_over(claim_draw=True) and board.ply() < max_plies:
        if board.turn == model_color:
            result = model.play(board, chess.engine.Limit(time=5.0), info=chess.engine.INFO_ALL)
            infos.append(result.info.get("string", ""))
        else:
            result = opponent.play(board, chess.engine.Limit(depth=1))
        assert result.move in board.legal_moves, (result.move, board.fen())
        board.push(result.move)
    return infos


@pytest.mark.stockfish
def test_python_chess_plays_full_games_against_chessformer_uci(trained_run):
    model = chess.engine.SimpleEngine.popen_uci(uci_command(trained_run), cwd=ROOT, env=ENV)
    stockfish = chess.engine.SimpleEngine.popen_uci(str(find_stockfish()))
    try:
        assert model.id["name"].startswith("chessformer")
        assert {"Temperature", "Legality", "Seed"} <= set(model.options)
        stockfish.configure({"Skill Level": 0})
        for color in (chess.WHITE, chess.BLACK):
            board = chess.Board()
            if color == chess.BLACK:
                board.push_uci("e2e4")
            infos = play_game(model, stockfish, board)
            assert board.is_game_over(claim_draw=True) or board.ply() >= 300
            assert infos and all(i.startswith("move ") and " probability " in i for i in infos)
            assert all(0.0 < float(i.split()[3]) <= 1.0 for i in infos)
        # A FEN with no history, then moves from it: python-chess sends `position fen ... moves`.
        model.configure({"Temperature": "1.0", "Seed": 7})
        board = chess.Board("r1bqkbnr/pppp1ppp/2n5/4p3/4P3/5N2/PPPP1PPP/RNBQKB1R w KQkq - 2 3")
        play_game(model, stockfish, board, max_plies=40)
    finally:
        stockfish.quit()
        model.quit()  # returns once the process has exited


def test_uci_session_answers_each_command_and_quit_ends_it(trained_run):
    """The raw protocol: the same seed gives the same move, bad input is reported, quit exits."""
    script = textwrap.dedent("""\
        uci
        setoption name Seed value 3
        setoption name Temperature value 1.0
        isready
        ucinewgame
        position startpos moves e2e4 e7e5
        go wtime 1000 btime 1000 winc 0 binc 0
        ucinewgame
        position startpos moves e2e4 e7e5
        go infinite
        stop
        position startpos moves e2e5
        setoption name Legality value sometimes
        frobnicate
        position fen 7k/8/8/8/8/8/8/K6R b - - 0 1
        go depth 3
        setoption name Legality value raw
        position fen 7k/8/8/8/8/8/8/K6R b - - 0 1 moves h8g8
        go nodes 1
        quit
        isready
        """)
    proc = subprocess.run(uci_command(trained_run), input=script, text=True, capture_output=True,
                          cwd=ROOT, env=ENV, timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert "uciok" in lines and lines.count("readyok") == 1  # nothing is read after quit
    best = [line.split()[1] for line in lines if line.startswith("bestmove")]
    assert len(best) == 4 and best[0] == best[1]  # ucinewgame resets the seeded generator
    board = chess.Board()
    for uci in ("e2e4", "e7e5"):
        board.push_uci(uci)
    assert chess.Move.from_uci(best[0]) in board.legal_moves
    assert chess.Move.from_uci(best[2]) in chess.Board("7k/8/8/8/8/8/8/K6R b - - 0 1").legal_moves
    raw_board = chess.Board("7k/8/8/8/8/8/8/K6R b - - 0 1")
    raw_board.push_uci("h8g8")
    assert best[3] == "0000" or chess.Move.from_uci(best[3]) in raw_board.legal_moves
    errors = [line for line in lines if line.startswith("info string error")]
    assert len(errors) == 3  # the illegal position, the bad option value, the unknown command


def test_uci_needs_an_existing_model(tmp_path):
    from chessformer.cli import main

    assert main(["uci", "--model", str(tmp_path / "nope")]) == 2


def test_uci_server_in_process(trained_run):
    """The library half, without a process: a game from a FEN with no move history."""
    from chessformer.model.checkpoint import load_model
    from chessformer.play.uci import UciServer

    out = io.StringIO()
    server = UciServer(load_model(trained_run), out=out)
    fen = "4k3/8/8/8/8/8/4P3/4K3 w - - 0 1"
    board = chess.Board(fen)
    for _ in range(6):
        server.handle(f"position fen {fen} moves " + " ".join(m.uci() for m in board.move_stack))
        server.handle("go movetime 10")
        move = chess.Move.from_uci(out.getvalue().splitlines()[-1].split()[1])
        assert move in board.legal_moves
        board.push(move)
        if board.is_game_over():
            break
        board.push(next(iter(board.legal_moves)))
        if board.is_game_over():
            break
    assert not server.handle("quit")


# -- any UCI engine as an opponent ------------------------------------------------------------

@pytest.mark.stockfish
def test_grid_plays_a_uci_engine_run_as_a_process(tmp_path, trained_run):
    from chessformer.play.arena import run_eval
    from chessformer.play.grid import load_grid

    sf = str(find_stockfish())
    grid = tmp_path / "g.toml"
    grid.write_text(textwrap.dedent(f"""\
        name = "uci"
        temperatures = [1.0]
        games = 2
        opening_plies = 2
        max_plies = 40
        batch_size = 4
        workers = 1
        adjudication = {{ kind = "stockfish", depth = 4, threshold_cp = 400 }}
        [[opponent]]
        kind = "uci"
        command = "{sf}"
        options = {{ "Skill Level" = 0, Threads = 1 }}
        depth = 1
        [[match]]
        players = [{{ kind = "random" }},
                   {{ kind = "uci", command = ["{sf}"], nodes = 200, name = "sf-nodes" }}]
        games = 2
        """))
    g = load_grid(grid)
    assert [o.kind for o in g.opponents] == ["uci"]
    assert g.opponents[0].name == "uci stockfish Skill Level=0 Threads=1 depth=1"
    run_eval(g, trained_run, tmp_path / "out")
    records = read_results(tmp_path / "out")
    assert len(records) == 4
    kinds = {r.players[side]["kind"] for r in records for side in ("white", "black")}
    assert kinds == {"model", "uci", "random"}
    for r in records:
        assert r.result in ("1-0", "0-1", "1/2-1/2") and r.termination != "aborted"
        board = chess.Board()
        for uci in r.moves:
            move = chess.Move.from_uci(uci)
            assert move in board.legal_moves
            board.push(move)


def test_uci_player_tables_are_checked():
    from chessformer.play.players import parse_players
    from chessformer.play.presets import check_expert

    with pytest.raises(UserError, match="needs command"):
        parse_players({"kind": "uci", "depth": 1}, "grid.toml: opponent 1")
    with pytest.raises(UserError, match="nodes, depth or movetime_ms"):
        parse_players({"kind": "uci", "command": "stockfish"}, "x")
    with pytest.raises(UserError, match="unknown uci settings"):
        parse_players({"kind": "uci", "command": "stockfish", "depth": 1, "skill": 3}, "x")
    [spec] = parse_players({"kind": "uci", "command": "lc0 --weights=maia-1100.pb.gz",
                            "nodes": 1}, "x")
    assert spec.settings["command"] == ["lc0", "--weights=maia-1100.pb.gz"]
    expert = check_expert({"name": "maia-eps", "base": {"kind": "uci", "command": "lc0",
                                                        "nodes": 1},
                           "noise": {"kind": "epsilon", "epsilon": 0.2}}, "preset.toml")
    assert expert.settings["base"] == {"kind": "uci", "command": ["lc0"], "options": {}, "nodes": 1}


@pytest.mark.stockfish
def test_expert_with_a_uci_base_plays_the_engines_move():
    import numpy as np

    from chessformer.play.players import EnginePool, make_player
    from chessformer.play.presets import check_expert

    sf = str(find_stockfish())
    expert = check_expert({"name": "uci-base", "base": {"kind": "uci", "command": sf, "depth": 1}},
                          "inline")
    reference = check_expert({"name": "sf-base", "base": {"kind": "stockfish", "depth": 1}}, "inline")
    with EnginePool(sf) as pool:
        a, b = make_player(expert, pool), make_player(reference, pool)
        board, moves = chess.Board(), []
        for _ in range(6):
            rng = np.random.default_rng(0)
            move = a.choose(board, moves, rng)
            assert move == b.choose(board, moves, rng)
            board.push(move)
            moves.append(move.uci())


def test_a_ladder_rung_may_be_any_uci_engine(tmp_path):
    from chessformer.experiments.calibrate import load_ladder_toml

    ladder = tmp_path / "ladder.toml"
    ladder.write_text('[[rung]]\nkind = "random"\nanchor = 0\n'
                      '[[rung]]\nkind = "uci"\ncommand = "gnuchess --uci"\ndepth = 1\n')
    rungs = load_ladder_toml(ladder).rungs
    assert rungs[1].spec.kind == "uci" and rungs[1].spec.name == "uci gnuchess depth=1"
    assert rungs[1].spec.settings["command"] == ["gnuchess", "--uci"]
