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


def test_overrides_are_the_librarys_and_leave_the_loaded_grid_alone():
    from chessformer.core.protocol import LEVEL_NODES
    from chessformer.play.grid import override_grid

    grid = load_grid("fast")
    before = [o.name for o in grid.opponents]
    new = override_grid(grid, levels=[0, 2], temperatures=[0.5], games=4, seed=None)
    assert [(o.settings.get("skill"), o.settings.get("nodes")) for o in new.opponents] == [
        (0, LEVEL_NODES), (2, LEVEL_NODES)]
    assert (new.temperatures, new.games, new.seed) == ([0.5], 4, grid.seed)
    assert [o.name for o in grid.opponents] == before and grid.games != 4
    timed = override_grid(grid, levels=[1], movetime_ms=100, experts="demo")
    assert timed.opponents[0].settings.get("movetime_ms") == 100
    assert "nodes" not in timed.opponents[0].settings and len(timed.opponents) > 1
    with pytest.raises(UserError, match="even"):
        override_grid(grid, games=3)
    with pytest.raises(TypeError, match="opening_plies"):
        override_grid(grid, opening_plies=2)
