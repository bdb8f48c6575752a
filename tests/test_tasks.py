"""A grid's games, numbered: colour pairs, openings, and the same games every time."""

from __future__ import annotations

from play_fixtures import GRID, write_grid

from chessformer.play.grid import load_grid
from chessformer.play.tasks import build_tasks


def test_build_tasks_pairs_colours_and_openings(tmp_path):
    grid = load_grid(write_grid(tmp_path / "g.toml", GRID))
    tasks = build_tasks(grid, label="m")
    # 2 legality x 2 temperatures x 2 opponents x 2 games + 1 match pair of 2
    assert len(tasks) == 2 * 2 * 2 * 2 + 2
    assert [t.index for t in tasks] == list(range(len(tasks)))
    for a, b in zip(tasks[::2], tasks[1::2]):
        assert a.pair == b.pair and a.opening == b.opening
        assert (a.white.name, a.black.name) == (b.black.name, b.white.name)
    model_games = [t for t in tasks if t.model is not None]
    assert {t.model_color for t in model_games} == {True, False}
    assert all(t.model is None and t.model_color is None for t in tasks[-2:])
    assert build_tasks(grid, label="m") == tasks  # the same grid gives the same games
