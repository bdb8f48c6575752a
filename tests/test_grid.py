"""Grid files: validation, and what every shipped grid states."""

from __future__ import annotations

from pathlib import Path

import pytest

from chessformer.play.grid import load_grid
from chessformer.utils import UserError

ROOT = Path(__file__).resolve().parents[1]


def write_grid(path: Path, body: str) -> Path:
    path.write_text(body)
    return path


@pytest.mark.parametrize("bad, message", [
    ("games = 3", "even"),
    ("temperatures = [0.0]", "> 0"),
    ('legality = ["sometimes"]', "masked or raw"),
    ("frobnicate = 1", "unknown grid setting"),
    ("verdict_temperature = 0.0", "verdict_temperature"),
])
def test_bad_grids_are_refused(tmp_path, bad, message):
    body = "name='x'\n" + bad + "\n[[opponent]]\nkind='random'\n"
    with pytest.raises(UserError, match=message):
        load_grid(write_grid(tmp_path / "g.toml", body))


def test_every_shipped_grid_states_its_verdict_temperature():
    import tomllib

    for path in sorted((ROOT / "evals").glob("*.toml")):
        raw = tomllib.loads(path.read_text())
        if "rung" in raw:  # a ladder, not a grid
            continue
        assert "verdict_temperature" in raw, path
        grid = load_grid(path)
        assert grid.verdict_temperature in grid.temperatures, path
