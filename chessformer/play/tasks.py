"""A grid's games, numbered: game ``i`` is the same game on every machine, in every shard.

:func:`build_tasks` walks the grid in a fixed order (legality, temperature, opponent, pair; then
the matches), and every colour-swapped pair opens with its own seeded opening (or the grid's
``openings``). Shards, resuming and ``merge`` all rely on this numbering.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from chessformer.core.games import random_opening
from chessformer.model.inference import ModelSettings
from chessformer.play.grid import Grid
from chessformer.play.spec import PlayerSpec

__all__ = ["GameTask", "build_tasks", "model_spec"]


@dataclass(frozen=True)
class GameTask:
    """One game of a grid: its players, opening and seed (``model``: the model's sampling, when
    one side is the model, playing ``model_color``)."""

    index: int
    cell: str
    pair: int
    white: PlayerSpec
    black: PlayerSpec
    opening: tuple[str, ...]
    seed: int
    model: ModelSettings | None = None  # set when one side is the model
    model_color: bool | None = None


def model_spec(label: str, run: str, s: ModelSettings, cap: int | None) -> PlayerSpec:
    """The model as a player of the grid: its name says its temperature and legality."""
    name = f"{label} T={s.temperature:g} {s.legality}"
    settings: dict[str, Any] = {"run": run, "label": label, "temperature": s.temperature,
                                "legality": s.legality, "cap": cap}
    if s.top_k:
        settings["top_k"] = s.top_k
        name += f" top{s.top_k}"
    return PlayerSpec(name, "model", settings)


def build_tasks(grid: Grid, *, label: str = "model", run: str = "", cap: int | None = None) -> list[GameTask]:
    """Every game of the grid, in a fixed order; game ``i`` is the same on every machine."""
    tasks: list[GameTask] = []

    def add_pair(cell: str, a: PlayerSpec, b: PlayerSpec, model: ModelSettings | None, pair: int,
                 j: int) -> None:
        # The opening depends on the grid and the pair's rank j in its cell only, so the j-th
        # pair opens the same way in every cell: cells differ by the players, not the openings.
        if grid.openings:
            opening = tuple(grid.openings[j % len(grid.openings)].split())
        else:
            opening = tuple(random_opening(grid.opening_plies, np.random.default_rng([grid.seed, 1, j])))
        for white, black in ((a, b), (b, a)):
            seed = int(np.random.default_rng([grid.seed, 2, len(tasks)]).integers(2**31))
            color = None if model is None else (white.kind == "model")
            tasks.append(GameTask(len(tasks), cell, pair, white, black, opening, seed, model, color))

    pair = 0
    for legality in grid.legality:
        for temp in grid.temperatures:
            ms = ModelSettings(temp, legality, grid.top_k)
            me = model_spec(label, run, ms, cap)
            for opp in grid.opponents:
                cell = f"{me.name} vs {opp.name}"
                for j in range(grid.games // 2):
                    add_pair(cell, me, opp, ms, pair, j)
                    pair += 1
    for players, games in grid.matches:
        for i, a in enumerate(players):
            for b in players[i + 1:]:
                cell = f"{a.name} vs {b.name}"
                for j in range(max(games // 2, 1)):
                    add_pair(cell, a, b, None, pair, j)
                    pair += 1
    return tasks
