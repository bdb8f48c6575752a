"""Shards of a grid merge into the games of the full grid."""

from __future__ import annotations

import pytest
from play_fixtures import GRID, tiny_run, write_grid  # noqa: F401 (tiny_run: a fixture)

from chessformer.formats.games import read_results
from chessformer.play.arena import run_eval
from chessformer.play.grid import load_grid
from chessformer.play.merge import merge


@pytest.mark.stockfish
def test_shards_merge_to_the_full_grid(tmp_path, tiny_run):
    grid_path = write_grid(tmp_path / "g.toml", GRID)
    run_eval(load_grid(grid_path), tiny_run, tmp_path / "full")
    for i in range(2):
        run_eval(load_grid(grid_path), tiny_run, tmp_path / f"s{i}", shard=(i, 2))
    merge([tmp_path / "s0", tmp_path / "s1"], tmp_path / "merged")
    full = read_results(tmp_path / "full" / "games.jsonl")
    merged = read_results(tmp_path / "merged" / "games.jsonl")
    assert [r.index for r in merged] == sorted(r.index for r in full)
    by_index = {r.index: r.moves for r in full}
    assert all(r.moves == by_index[r.index] for r in merged)
