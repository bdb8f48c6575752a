"""What an evaluation fixed before its games stays fixed, tested through the command line:
``eval-vs-stockfish`` refuses to change a played folder's verdict temperature, grid or experts
(one line, exit 2), and ``report`` marks verdicts exploratory when anchors change after the
games."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from play_fixtures import tiny_run, write_grid  # noqa: F401  (a fixture)

pytestmark = pytest.mark.stockfish

ROOT = Path(__file__).resolve().parents[1]

GRID = """
    name = "{name}"
    temperatures = [0.001]
    legality = ["masked"]
    games = 2
    opening_plies = 2
    max_plies = 40
    batch_size = 4
    workers = 1
    adjudication = {{ kind = "stockfish", depth = 4, threshold_cp = 300 }}

    [[opponent]]
    kind = "experts"
    preset = "demo"
    only = ["eps80"]

    [[opponent]]
    kind = "expert"
    name = "stockfish depth=1 epsilon=0.5"
    base = {{ kind = "stockfish", depth = 1 }}
    noise = {{ kind = "epsilon", epsilon = 0.5 }}
"""


def chessformer(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    return subprocess.run([sys.executable, "-m", "chessformer", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


def error_line(proc: subprocess.CompletedProcess) -> str:
    """The one error line of a refused command (exit 2, no traceback)."""
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    errors = [x for x in proc.stderr.splitlines() if "error:" in x]
    assert len(errors) == 1, proc.stderr
    return errors[0]


@pytest.fixture(scope="module")
def played(tiny_run, tmp_path_factory):  # noqa: F811
    root = tmp_path_factory.mktemp("lock")
    grid = write_grid(root / "t.toml", GRID.format(name="t"))
    out = root / "eval"
    proc = chessformer("eval-vs-stockfish", "--model", str(tiny_run), "--grid", str(grid),
                       "--out", str(out), cwd=root)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return root, tiny_run, grid, out


def test_changing_a_fixed_choice_after_the_games_is_refused(played):
    root, run, grid, out = played
    before = (out / "eval.json").read_bytes()
    games = (out / "games.jsonl").read_bytes()
    base = ["eval-vs-stockfish", "--model", str(run), "--out", str(out)]
    line = error_line(chessformer(*base, "--grid", str(grid), "--verdict-temperature", "0.3",
                                  cwd=root))
    assert f"{out}: 4 games already played with verdict_temperature 0.001" in line
    assert "refusing to change it to 0.3" in line
    line = error_line(chessformer(*base, "--grid", str(grid), "--experts", "demo", cwd=root))
    assert "refusing to change the experts" in line
    other = write_grid(root / "u.toml", GRID.format(name="u"))
    line = error_line(chessformer(*base, "--grid", str(other), cwd=root))
    assert "with grid 't'; refusing to play grid 'u'" in line
    # Nothing was rewritten by the refused commands.
    assert (out / "eval.json").read_bytes() == before
    assert (out / "games.jsonl").read_bytes() == games
    # The same choices again: a resume with nothing left to play.
    proc = chessformer(*base, "--grid", str(grid), cwd=root)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads((out / "eval.json").read_text())["played_now"] == 0


def test_anchors_given_after_the_games_make_the_verdict_exploratory(played):
    root, _, _, out = played
    proc = chessformer("report", str(out), "--out", str(root / "r0"), "--boot", "20", cwd=root)
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads((root / "r0" / "report.json").read_text())
    assert summary["exploratory"] is None
    assert not any(v["text"].startswith("exploratory") for v in summary["verdicts"])
    proc = chessformer("report", str(out), "--out", str(root / "r1"), "--boot", "20",
                       "--anchor", "eps80=700", cwd=root)
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads((root / "r1" / "report.json").read_text())
    assert summary["exploratory"] == "anchors changed after the games"
    assert summary["verdicts"] and all(
        v["text"].startswith("exploratory: anchors changed after the games: ")
        and v["transcends"] is False for v in summary["verdicts"])
    assert "exploratory: anchors changed after the games" in proc.stdout
