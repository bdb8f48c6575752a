"""The arena: every game recorded, determinism, kill-and-resume, hung engines, the paper grid."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import chess
import pytest
from play_fixtures import GRID, tiny_run, write_grid  # noqa: F401 (tiny_run: a fixture)

from chessformer.formats.games import read_results
from chessformer.model.inference import MAX_RAW_TRIES
from chessformer.play.arena import run_eval
from chessformer.play.grid import load_grid
from chessformer.play.tasks import build_tasks
from chessformer.utils import UserError

ROOT = Path(__file__).resolve().parents[1]


def test_missing_grid_model_and_engine_fail_before_any_game(tmp_path, tiny_run, monkeypatch):
    with pytest.raises(UserError, match="not found"):
        load_grid(tmp_path / "nope.toml")
    grid = load_grid(write_grid(tmp_path / "g.toml", GRID))
    with pytest.raises(UserError):
        run_eval(grid, tmp_path / "no-such-run", tmp_path / "out1")
    monkeypatch.setenv("STOCKFISH_PATH", str(tmp_path / "no-stockfish"))
    with pytest.raises(UserError, match="Stockfish not found"):
        run_eval(grid, tiny_run, tmp_path / "out2")
    assert not (tmp_path / "out1" / "games.jsonl").exists()
    assert not (tmp_path / "out2" / "games.jsonl").exists()


@pytest.mark.stockfish
def test_eval_records_every_game_and_is_deterministic(tmp_path, tiny_run):
    grid_path = write_grid(tmp_path / "g.toml", GRID)
    a = run_eval(load_grid(grid_path), tiny_run, tmp_path / "a")
    run_eval(load_grid(grid_path), tiny_run, tmp_path / "b")
    ra, rb = read_results(tmp_path / "a" / "games.jsonl"), read_results(tmp_path / "b" / "games.jsonl")
    assert a.games == len(ra) == 18

    def key(r):
        return r.index, r.moves, r.result, r.termination

    assert sorted(map(key, ra)) == sorted(map(key, rb))
    for r in ra:
        board = chess.Board()
        for uci in r.moves:
            assert chess.Move.from_uci(uci) in board.legal_moves
            board.push_uci(uci)
        assert r.result in ("1-0", "0-1", "1/2-1/2", "*")
        if r.termination == "adjudicated":
            assert r.plies == 60 and "eval_cp_white" in r.adjudication
        if r.players["white"]["kind"] == "model" and r.players["white"]["legality"] == "masked":
            assert r.illegal["white"] == 0
    pgn = (tmp_path / "a" / "games.pgn").read_text()
    assert pgn.count("[Event ") == 18 and '[Legality "raw"]' in pgn and "[Temperature " in pgn
    manifest = json.loads((tmp_path / "a" / "eval.json").read_text())
    assert manifest["stockfish"]["version"] and manifest["games"] == 18
    assert manifest["grid_settings"]["verdict_temperature"] == 0.001  # the report reads it here


@pytest.mark.stockfish
def test_kill_minus_nine_then_resume_loses_and_duplicates_nothing(tmp_path, tiny_run):
    grid = write_grid(tmp_path / "g.toml", GRID.replace("games = 2\n    opening", "games = 6\n    opening")
                      .replace("max_plies = 60", "max_plies = 200").replace("batch_size = 8", "batch_size = 4"))
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "chessformer", "eval-vs-stockfish", "--model", str(tiny_run),
           "--grid", str(grid), "--out", str(out)]
    proc = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, cwd=ROOT)
    results = out / "games.jsonl"
    deadline = time.time() + 120
    while time.time() < deadline:
        if results.exists() and results.read_text().count("\n") >= 5:
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # the arena, its workers and their engines
    proc.wait()
    before = read_results(results)
    total = len(build_tasks(load_grid(grid)))
    assert 5 <= len(before) < total, "kill happened too late to test resuming"
    with open(results, "a") as f:  # a torn line, as a kill in the middle of a write leaves
        f.write('{"id": "g0000')
    subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    after = read_results(results)
    indices = [r.index for r in after]
    assert sorted(indices) == list(range(total)) and len(set(indices)) == total
    kept = {r.index: r for r in after}
    assert all(kept[r.index] == r for r in before)  # finished games were not replayed
    info = json.loads((out / "eval.json").read_text())  # provenance: retypeable, with the code
    assert info["command"] == f"chessformer eval-vs-stockfish --model {tiny_run} --grid {grid} --out {out}"
    assert info["code_version"].startswith("0.") and "+g" in info["code_version"]


def test_hung_engine_aborts_the_game_with_a_reason(tmp_path, tiny_run):
    """An engine that never answers `go` is killed after its deadline; the game is recorded."""
    fake = tmp_path / "hang-engine"
    fake.write_text(textwrap.dedent(f"""\
        #!{sys.executable}
        import sys
        for line in sys.stdin:
            cmd = line.strip()
            if cmd == "uci":
                print("id name Stockfish 99", flush=True); print("uciok", flush=True)
            elif cmd == "isready":
                print("readyok", flush=True)
            elif cmd == "quit":
                break
            # "go" is never answered
        """))
    fake.chmod(0o755)
    grid = write_grid(tmp_path / "g.toml", """
        name = "hang"
        temperatures = [1.0]
        games = 2
        opening_plies = 0
        batch_size = 2
        workers = 1
        [[opponent]]
        kind = "stockfish"
        depth = 1
        """)
    run_eval(load_grid(grid), tiny_run, tmp_path / "out", stockfish=str(fake), engine_timeout=0.5)
    records = read_results(tmp_path / "out" / "games.jsonl")
    assert len(records) == 2
    assert all(r.result == "*" and r.termination == "aborted" for r in records)
    assert all("did not answer" in r.abort_reason for r in records)


@pytest.mark.stockfish
def test_paper_grid_smoke(tmp_path, tiny_run):
    """evals/paper.toml as shipped (Skill Level at 0.1 s a move, raw sampling), cut to 2 games."""
    grid = load_grid("paper")
    assert grid.legality == ["raw"] and len(grid.temperatures) == 8
    assert [o.settings for o in grid.opponents] == [{"skill": s, "movetime_ms": 100} for s in (1, 3, 5)]
    grid.opponents = grid.opponents[:1]
    grid.temperatures = grid.temperatures[:1]
    grid.games = 2
    grid.max_plies = 40
    run_eval(grid, tiny_run, tmp_path / "paper")
    records = read_results(tmp_path / "paper" / "games.jsonl")
    assert len(records) == 2
    illegal = 0
    for r in records:
        side = "white" if r.players["white"]["kind"] == "model" else "black"
        assert r.players[side]["legality"] == "raw"
        if r.termination == "forfeit_illegal":  # forfeits only after the paper's 5 samples
            assert r.illegal[side] >= MAX_RAW_TRIES and r.result == ("0-1" if side == "white" else "1-0")
        illegal += r.illegal[side]
    # A barely trained model samples illegal moves in raw mode, and every one is counted.
    assert illegal > 0


@pytest.mark.stockfish
def test_games_jsonl_records_round_trip_and_a_damaged_one_is_named(tmp_path, tiny_run):
    """The arena's own games.jsonl reads back into records that write the same bytes; a record
    with a key renamed, missing or mistyped is a one-line error naming the file, the line and
    the key, never a count of zero (the report once printed a 100% legal rate from zeros)."""
    import json

    from chessformer.cli import main
    from chessformer.formats.games import write_results
    from chessformer.formats.records import RecordError

    out = tmp_path / "ev"
    run_eval(load_grid(write_grid(tmp_path / "g.toml", GRID)), tiny_run, out)
    written = (out / "games.jsonl").read_bytes()
    write_results(tmp_path / "copy", read_results(out))
    assert (tmp_path / "copy" / "games.jsonl").read_bytes() == written
    lines = written.decode().splitlines(keepends=True)
    first = json.loads(lines[0])

    def damaged(name: str, change) -> Path:
        bad = dict(first)
        change(bad)
        folder = tmp_path / name
        folder.mkdir()
        (folder / "games.jsonl").write_text(lines[1] + json.dumps(bad) + "\n")
        return folder

    renamed = damaged("renamed", lambda d: d.update(model_move=d.pop("model_moves")))
    missing = damaged("missing", lambda d: d.pop("illegal"))
    mistyped = damaged("mistyped", lambda d: d.update(plies="60"))
    one_side = damaged("one-side", lambda d: d.update(illegal={"white": 0}))
    for folder, words in ((renamed, "'model_move'"), (missing, "'illegal'"),
                          (mistyped, "'plies'"), (one_side, "'illegal'")):
        with pytest.raises(RecordError, match=f"games.jsonl:2: .*{words}"):
            read_results(folder)
    assert main(["rate", str(renamed)]) == 2  # the command line: a one-line error, exit 2


def test_the_shipped_ladder_games_read_as_records():
    """Written by an earlier release: every file the current release reads must still load."""
    from chessformer.formats.ladder import games_beside

    records = read_results(games_beside(ROOT / "stockfish" / "ladder-15.1.json"))
    assert len(records) > 100 and all(r.plies == len(r.moves) for r in records)


@pytest.mark.stockfish
def test_eval_json_is_a_typed_record_and_a_damaged_one_is_named(tmp_path, tiny_run):
    """eval.json reads back into the EvalInfo that wrote it (the same bytes); a renamed or
    mistyped key is a one-line error naming the file and the key."""
    import json

    from chessformer.formats.games import read_eval_info, write_eval_info
    from chessformer.formats.records import RecordError

    out = tmp_path / "ev"
    info = run_eval(load_grid(write_grid(tmp_path / "g.toml", GRID)), tiny_run, out)
    assert read_eval_info(out) == info and info.finished and info.unfinished is not None
    written = (out / "eval.json").read_bytes()
    write_eval_info(tmp_path / "copy", read_eval_info(out))
    assert (tmp_path / "copy" / "eval.json").read_bytes() == written
    raw = json.loads(written)
    for change, key in ((lambda d: d.update(stockfish_info=d.pop("stockfish")), "stockfish_info"),
                        (lambda d: d.update(games="18"), "games"), (lambda d: d.pop("seed"), "seed")):
        bad = dict(raw)
        change(bad)
        (tmp_path / "bad" / "eval.json").parent.mkdir(exist_ok=True)
        (tmp_path / "bad" / "eval.json").write_text(json.dumps(bad))
        with pytest.raises(RecordError, match=f"eval.json: .*'{key}'"):
            read_eval_info(tmp_path / "bad")
