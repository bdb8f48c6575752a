"""What the arena's tests share: an untrained tiny run and a small grid (imported by test files)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest


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
