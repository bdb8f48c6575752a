"""The position scorer and ``analyze favor``: scores checked against Stockfish's own MultiPV
output, the cache (a second analysis scores nothing; kill -9 loses and repeats nothing), the
favor table on games the arena played, and the one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import chess
import chess.engine
import pytest
from analysis_fixtures import cli_env, kill_mid_scoring
from play_fixtures import tiny_run, write_grid  # noqa: F401 - the fixture

from chessformer.analysis.favor import Boot, favor_analysis, model_states
from chessformer.analysis.scorer import Scorer, expected_score, stability
from chessformer.core.engine import find_stockfish
from chessformer.formats import favor as favor_format
from chessformer.formats import scores as scores_format
from chessformer.formats.games import read_results
from chessformer.play.arena import run_eval
from chessformer.play.grid import load_grid

ROOT = Path(__file__).resolve().parent.parent
FENS = [
    chess.STARTING_FEN,
    "r1bqkbnr/pppp1ppp/2n5/4p3/2B1P3/5Q2/PPPP1PPP/RNB1K1NR w KQkq - 2 3",  # mate in one
    "8/8/8/4k3/8/8/4P3/4K3 w - - 0 60",
    "rnbqkbnr/pp1ppppp/8/2p5/4P3/8/PPPP1PPP/RNBQKBNR w KQkq c6 0 2",
]

FAVOR_GRID = """
    name = "f"
    temperatures = [0.001, 1.0]
    legality = ["masked"]
    games = 2
    opening_plies = 2
    max_plies = 40
    batch_size = 8
    workers = 1
    adjudication = { kind = "unfinished" }

    [[opponent]]
    kind = "experts"
    preset = "demo"
    only = ["eps80", "eps90"]
"""


@pytest.fixture(scope="module")
def evaluated(tiny_run):  # noqa: F811
    """The tiny run with 8 arena games against two simulated experts (eval/f/)."""
    grid = write_grid(tiny_run.parent / "favor-grid.toml", FAVOR_GRID)
    run_eval(load_grid(grid), tiny_run, tiny_run / "eval" / "f")
    return tiny_run


@pytest.mark.stockfish
def test_scores_match_stockfish_multipv_through_python_chess(tmp_path):
    """Every legal move is scored; the scores are python-chess's own MultiPV analysis of the
    same search (same nodes, fresh hash), its WDL expectation included."""
    sf = str(find_stockfish())
    with Scorer(tmp_path, nodes=3000, mode="multipv", processes=1) as scorer:
        got = scorer.score(FENS)
    with chess.engine.SimpleEngine.popen_uci(sf) as eng:
        eng.configure({"Threads": 1, "Hash": 16})
        for fen, rec in zip(FENS, got):
            board = chess.Board(fen)
            assert sorted(rec.moves) == sorted(m.uci() for m in board.legal_moves)
            infos = eng.analyse(board, chess.engine.Limit(nodes=3000),
                                multipv=board.legal_moves.count(), game="new-" + fen)
            theirs = {i["pv"][0].uci(): i["score"].relative for i in infos}
            for m, cp, e in zip(rec.moves, rec.cp, rec.expected):
                s = theirs[m]
                if s.is_mate():
                    assert abs(cp) > 90_000 and (cp > 0) == (s.mate() > 0)
                else:
                    assert cp == s.score()
                assert e == pytest.approx(s.wdl(model="sf15.1", ply=board.ply()).expectation(),
                                          abs=1e-6)
            assert rec.expected == sorted(rec.expected, reverse=True)
    assert got[1].moves[0] == "f3f7" and got[1].expected[0] == 1.0  # the mate
    assert expected_score(0, 0) == pytest.approx(0.5, abs=0.02)


@pytest.mark.stockfish
def test_per_move_scores_match_stockfish_searchmoves(tmp_path):
    """``per-move``: each legal move its own ``go nodes N searchmoves MOVE`` (python-chess's
    ``root_moves``), in legal-move order after one ucinewgame."""
    sf = str(find_stockfish())
    with Scorer(tmp_path, nodes=400, mode="per-move", processes=1) as scorer:
        got = scorer.score(FENS[2:4])
    assert got[0].limit == {"nodes_per_move": 400}
    with chess.engine.SimpleEngine.popen_uci(sf) as eng:
        eng.configure({"Threads": 1, "Hash": 16})
        for fen, rec in zip(FENS[2:4], got):
            board = chess.Board(fen)
            theirs = {}
            for m in board.legal_moves:
                info = eng.analyse(board, chess.engine.Limit(nodes=400), root_moves=[m],
                                   game="new-" + fen)
                theirs[m.uci()] = info["score"].relative.score(mate_score=100_000)
            assert dict(zip(rec.moves, rec.cp)) == theirs


@pytest.mark.stockfish
def test_a_second_analysis_costs_nothing_and_a_torn_line_is_dropped(tmp_path):
    with Scorer(tmp_path, nodes=2000, processes=2) as s:
        first = s.score(FENS)
        assert s.stats.scored_now == len(FENS)
    path = scores_format.scores_path(tmp_path)
    assert len(path.read_text().splitlines()) == len(FENS)
    with open(path, "a") as f:
        f.write('{"fen": "torn')
    with Scorer(tmp_path, nodes=2000, processes=2) as s:
        again = s.score(FENS)
        assert s.stats.scored_now == 0 and s.stats.from_cache == len(FENS)
    assert [a.to_json() for a in again] == [b.to_json() for b in first]
    assert path.read_text().endswith("}\n")  # the torn line was cut off
    with Scorer(tmp_path, nodes=2500, processes=1) as s:  # another limit: another key
        s.score(FENS[:1])
        assert s.stats.scored_now == 1
    st = stability(first, first)
    assert st["same_best"] == 1.0 and st["mean_abs_diff"] == 0.0


def test_boot_intervals_resample_games():
    import numpy as np

    game = np.repeat(np.arange(20), 5)
    x = np.where(game < 10, 0.0, 1.0)
    est, lo, hi = Boot(game, 500, 0).mean(x)
    assert est == pytest.approx(0.5) and lo < 0.4 and hi > 0.6
    gain = np.zeros(100)
    gain[:5] = 1.0
    share, _, _ = Boot(game, 50, 0).concentration(gain, 0.05)
    assert share == pytest.approx(1.0)


@pytest.mark.stockfish
def test_favor_on_arena_games(evaluated, tmp_path):
    records = read_results(evaluated / "eval" / "f")
    states = model_states(records, 0.001, None)
    # every model state: the model's own colour to move, after the opening
    for g, ply in states:
        side = "white" if ply % 2 == 0 else "black"
        assert records[g].players[side]["kind"] == "model" and ply >= 2
        assert records[g].players[side]["temperature"] == 0.001
    assert model_states(records, 0.3, None) == []
    r, sampled = favor_analysis(evaluated, tmp_path, states=12, nodes=1000, processes=2,
                                n_boot=50)
    assert r.states == len(sampled) == 12 and r.temperatures == [0.001, 1.0]
    assert r.experts == ["eps80", "eps90"]
    for s in sampled:
        for t in r.temperatures:
            assert sum(s.model[t].values()) == pytest.approx(1.0)
            assert set(s.model[t]) == set(s.scores)
        for d in s.experts.values():
            assert sum(d.values()) == pytest.approx(1.0)
    # the distributions are the arena's reading of the game up to the state (not a bare FEN)
    from chessformer.model.inference import ModelSettings, PositionDecoder, move_probabilities
    from chessformer.model.transformer import load_model

    dec = PositionDecoder(load_model(evaluated))
    for s in sampled[:3]:
        p, legal = move_probabilities(dec.logits(s.moves), chess.Board(s.fen),
                                      ModelSettings(1.0, "masked"))
        assert {m.uci(): p[t] for t, m in legal.items()} == pytest.approx(s.model[1.0], abs=1e-5)
    one = next(x for x in r.table if x.temperature == 1.0)
    low = next(x for x in r.table if x.temperature == 0.001)
    assert one.gain == 0.0
    assert low.gain == pytest.approx(low.expected - one.expected, abs=1e-4)
    best = next(x for x in r.table if x.kind == "stockfish")
    assert best.top1 == 1.0 and best.expected >= max(x.expected for x in r.table) - 1e-9
    assert sum(b.states for b in r.histogram) == 12
    assert sum(g.states for g in r.by_phase) == 12
    assert sum(g.states for g in r.by_entropy) == 12
    again = favor_format.read_favor(tmp_path)
    assert again == r
    rows = (tmp_path / favor_format.FAVOR_CSV).read_text().splitlines()
    assert len(rows) == 13 and rows[0].startswith("game,ply,phase,fen")
    page = (tmp_path / favor_format.FAVOR_HTML).read_text()
    assert "<svg" in page and "data:image/png;base64" in page
    assert (tmp_path / favor_format.board_svg_name(1)).is_file()
    r2, _ = favor_analysis(evaluated, tmp_path, states=12, nodes=1000, processes=2, n_boot=50)
    assert r2.scorer["scored_now"] == 0 and r2.scorer["from_cache"] == r.scorer["positions"]
    assert r2.table == r.table
    # the run's report, written into the same folder, gains the favor sections
    from chessformer.report.report import write_report

    info = write_report([evaluated], tmp_path, n_boot=20)
    md = info["md"].read_text()
    assert "## Where the model gains: expected score by temperature" in md
    assert "| model T=0.001 |" in md and "favor_gain.png" in md
    assert "<svg" in info["html"].read_text()
    other = tmp_path / "other"
    other.mkdir()
    (other / favor_format.FAVOR_JSON).write_text(
        (tmp_path / favor_format.FAVOR_JSON).read_text().replace(str(evaluated), "/elsewhere"))
    md = write_report([evaluated], other, n_boot=20)["md"].read_text()
    assert "Where the model gains" not in md  # another run's analysis is left out


@pytest.mark.stockfish
def test_kill_minus_nine_mid_scoring_loses_and_repeats_nothing(evaluated, tmp_path):
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "chessformer", "analyze", "favor", str(evaluated),
           "--out", str(out), "--states", "40", "--nodes", "2000", "--workers", "1",
           "--boot", "20"]
    before = kill_mid_scoring(cmd, out, within=60)
    assert 3 <= len(before) < 40, "the kill came too late to test anything"
    done = subprocess.run(cmd, env=cli_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    r = favor_format.read_favor(out)
    distinct = len({row.split(",")[3] for row in
                    (out / favor_format.FAVOR_CSV).read_text().splitlines()[1:]})
    assert r.states == 40 and r.scorer["positions"] == distinct
    assert r.scorer["from_cache"] == len(before)
    assert r.scorer["scored_now"] == distinct - len(before)
    lines = [json.loads(x) for x in scores_format.scores_path(out).read_text().splitlines()]
    assert len(lines) == distinct == len({x["fen"] for x in lines})  # nothing scored twice


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "chessformer", *map(str, args)], env=cli_env(),
                          capture_output=True, text=True, timeout=120)


def test_bad_input_is_one_line_exit_2(tmp_path):
    import torch

    from chessformer.model.checkpoint import save_checkpoint
    from chessformer.model.transformer import GPT, PRESETS, GPTConfig

    torch.manual_seed(0)
    run = tmp_path / "never-evaluated"
    save_checkpoint(run, GPT(GPTConfig(**PRESETS["tiny"])), None, {"step": 0})
    p = _cli("analyze", "favor", run, "--out", tmp_path / "o")
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert "no evaluation results" in p.stderr and str(run) in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1
    p = _cli("analyze", "favor", tmp_path / "nothing")
    assert p.returncode == 2 and "no such run" in p.stderr


@pytest.mark.stockfish
def test_missing_engine_and_unwritable_output(evaluated, tmp_path):
    env = {**cli_env(), "STOCKFISH_PATH": str(tmp_path / "no-stockfish")}
    p = subprocess.run([sys.executable, "-m", "chessformer", "analyze", "favor", str(evaluated),
                        "--out", str(tmp_path / "o"), "--states", "2"], env=env,
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert "Stockfish not found" in p.stderr and "no-stockfish" in p.stderr
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    p = _cli("analyze", "favor", evaluated, "--out", blocker / "o", "--states", "2")
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert "cannot write the output folder" in p.stderr and str(blocker) in p.stderr
    p = _cli("analyze", "favor", evaluated, "--out", tmp_path / "o2", "--opponent", "nobody")
    assert p.returncode == 2 and "no model games at T=0.001 against 'nobody'" in p.stderr


@pytest.mark.stockfish
def test_training_experts_are_the_games_experts_named_in_the_runs_data(evaluated, monkeypatch):
    """Of the simulated experts in the evaluation games, those the run's dataset names; the
    dataset path that run.json records relative to the checkout is found from the run."""
    import numpy as np

    from chessformer.analysis import favor as favor_module
    from chessformer.core import tokenizer
    from chessformer.data.dataset import DatasetWriter

    ds = evaluated.resolve().parent.parent / "ds-eps80"
    writer = DatasetWriter(ds, boards=False, val_fraction=0.0)
    meta = dict(game_id="x1", white="eps80", black="someone", white_elo=900, black_elo=900,
                result="1-0", time_control="-", termination="normal", plies=2, source="test")
    writer.add(tokenizer.tokenize(["e2e4", "e7e5"]), meta, np.zeros((3, 1), np.uint8))
    writer.finish(command="test")
    records = read_results(evaluated / "eval" / "f")
    monkeypatch.setattr(favor_module.run_format, "run_dataset", lambda run: Path("ds-eps80"))
    assert [s.name for s in favor_module._training_expert_specs(records, evaluated)] == ["eps80"]
    monkeypatch.setattr(favor_module.run_format, "run_dataset", lambda run: Path("no-such-ds"))
    names = [s.name for s in favor_module._training_expert_specs(records, evaluated)]
    assert names == ["eps80", "eps90"]  # no games table: every expert of the games
