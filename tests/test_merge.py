"""Shards of a grid merge into the games of the full grid."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from chessformer.formats.games import read_results
from chessformer.play.arena import run_eval
from chessformer.play.engine import find_stockfish
from chessformer.play.grid import load_grid
from chessformer.play.merge import merge

needs_stockfish = pytest.mark.skipif(find_stockfish() is None, reason="Stockfish is not installed")


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """An untrained tiny moves+board model saved as a run: it plays legal moves when masked."""
    import torch

    from chessformer.model.checkpoint import save_checkpoint
    from chessformer.model.transformer import GPT, PRESETS, GPTConfig

    torch.manual_seed(0)
    run = tmp_path_factory.mktemp("runs") / "tiny"
    save_checkpoint(run, GPT(GPTConfig(**PRESETS["tiny"])), None, {"step": 0})
    return run


def write_grid(path: Path, body: str) -> Path:
    path.write_text(textwrap.dedent(body))
    return path


GRID = """
    name = "t"
    temperatures = [0.001, 1.0]
    legality = ["masked", "raw"]
    games = 2
    opening_plies = 2
    max_plies = 60
    batch_size = 8
    workers = 2
    adjudication = { kind = "stockfish", depth = 6, threshold_cp = 300 }

    [[opponent]]
    kind = "stockfish"
    depth = 1

    [[opponent]]
    kind = "experts"
    preset = "demo"
    only = ["eps80"]

    [[match]]
    players = [{ kind = "random" }, { kind = "experts", preset = "demo", only = ["eps85"] }]
    games = 2
"""


@needs_stockfish
def test_shards_merge_to_the_full_grid(tmp_path, tiny_run):
    grid_path = write_grid(tmp_path / "g.toml", GRID)
    run_eval(load_grid(grid_path), tiny_run, tmp_path / "full")
    for i in range(2):
        run_eval(load_grid(grid_path), tiny_run, tmp_path / f"s{i}", shard=(i, 2))
    merge([tmp_path / "s0", tmp_path / "s1"], tmp_path / "merged")
    full = read_results(tmp_path / "full" / "games.jsonl")
    merged = read_results(tmp_path / "merged" / "games.jsonl")
    assert [r["index"] for r in merged] == sorted(r["index"] for r in full)
    by_index = {r["index"]: r["moves"] for r in full}
    assert all(r["moves"] == by_index[r["index"]] for r in merged)
