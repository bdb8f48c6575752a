"""Evaluation grids: which games the arena plays, read from TOML (``evals/*.toml``).

    name = "fast"
    temperatures = [0.001, 0.3, 1.0]   # the model's sampling temperatures
    verdict_temperature = 0.001        # the one the report's verdict reads
    legality = ["masked", "raw"]       # see chessformer.model.inference
    games = 20                         # per (opponent, temperature, legality) cell; even
    opening_plies = 4                  # seeded random plies per pair (or openings = ["e2e4 e7e5"])
    max_plies = 400                    # then adjudicated (adjudication table)
    [[opponent]]                       # player tables: see chessformer.play.players
    kind = "stockfish"
    skill = 1
    nodes = 1000
    [[match]]                          # games between players, without the model
    players = [{ kind = "experts", preset = "demo" }, { kind = "random" }]
    games = 4

Every field of :class:`Grid` may be set in the file; unknown settings are refused. The defaults
live in :class:`Grid`'s fields, nowhere else.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chessformer.core.games import DEFAULT_MAX_PLIES, check_line
from chessformer.core.protocol import LEVEL_NODES, VERDICT_TEMPERATURE
from chessformer.model.inference import LEGALITY
from chessformer.play.players import PlayerSpec, parse_players
from chessformer.utils import UserError, log, read_toml

__all__ = ["ADJUDICATION_KINDS", "DEFAULT_ADJUDICATION", "Grid", "grid_json", "load_grid",
           "override_grid", "validate_grid"]

#: Games that reach ``max_plies``: a full-strength Stockfish evaluation to ``depth``; a side
#: ahead by ``threshold_cp`` wins, otherwise a draw. ``{ kind = "unfinished" }`` records ``*``.
DEFAULT_ADJUDICATION: dict[str, Any] = {"kind": "stockfish", "depth": 12, "threshold_cp": 400}
ADJUDICATION_KINDS = ("stockfish", "unfinished")


@dataclass
class Grid:
    """An evaluation grid: which games to play. Loaded from TOML, overridable from the CLI."""

    name: str = "fast"
    opponents: list[PlayerSpec] = field(default_factory=list)
    temperatures: list[float] = field(default_factory=lambda: [0.001, 0.3, 1.0])
    #: The temperature whose results the report's verdict reads (recorded in eval.json).
    verdict_temperature: float = VERDICT_TEMPERATURE
    legality: list[str] = field(default_factory=lambda: ["masked"])
    games: int = 20
    matches: list[tuple[list[PlayerSpec], int]] = field(default_factory=list)
    opening_plies: int = 4
    #: Opening lines (UCI, space-separated): when set, the j-th pair of every cell opens with
    #: ``openings[j % len(openings)]`` instead of ``opening_plies`` random plies.
    openings: list[str] = field(default_factory=list)
    max_plies: int = DEFAULT_MAX_PLIES
    adjudication: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_ADJUDICATION))
    anchors: dict[str, float] = field(default_factory=dict)
    seed: int = 0
    batch_size: int = 64
    workers: int = 2
    top_k: int | None = None
    source: str = ""


def load_grid(path: str | os.PathLike[str]) -> Grid:
    """Read a grid TOML (a bare name means ``evals/<name>.toml``) and validate it."""
    p, raw = read_toml(path, folder="evals", what="evaluation grid")
    return grid_from_table(raw, p)


def grid_from_table(raw: Mapping[str, Any], p: str | os.PathLike[str]) -> Grid:
    """A validated grid from its TOML table; ``p`` (where it comes from) names it in errors and
    gives its default name."""
    p = Path(p)
    grid = Grid(name=raw.get("name", p.stem), source=str(p))
    simple = {f.name for f in dataclasses.fields(Grid)} - {"opponents", "matches", "name", "source"}
    for key, value in raw.items():
        if key in simple:
            setattr(grid, key, value)
        elif key not in ("opponent", "match", "name", "description"):
            raise UserError(f"{p}: unknown grid setting {key!r}")
    grid.opponents = parse_players(raw.get("opponent", []), f"{p}: opponent")
    for i, m in enumerate(raw.get("match", [])):
        players = parse_players(m.get("players", []), f"{p}: match {i + 1} player")
        if len(players) < 2:
            raise UserError(f"{p}: match {i + 1} needs two or more players")
        grid.matches.append((players, int(m.get("games", grid.games))))
    validate_grid(grid)
    return grid


#: The settings :func:`override_grid` replaces as they are.
OVERRIDABLE = ("temperatures", "legality", "games", "seed", "workers", "batch_size", "max_plies",
               "verdict_temperature")


def override_grid(grid: Grid, *, levels: list[int] | None = None, nodes: int | None = None,
                  movetime_ms: int | None = None, experts: str | None = None,
                  **settings: Any) -> Grid:
    """``grid`` with a caller's changes, validated: ``levels`` replaces the opponents with
    Stockfish at those Skill Levels (at ``movetime_ms`` if given, else ``nodes``, by default
    :data:`~chessformer.core.protocol.LEVEL_NODES`); ``experts`` adds every expert of that
    preset; ``settings`` (:data:`OVERRIDABLE`, ``None`` meaning unchanged) replace the grid's."""
    unknown = set(settings) - set(OVERRIDABLE)
    if unknown:
        raise TypeError(f"not grid settings to override: {sorted(unknown)}")
    grid = dataclasses.replace(grid, opponents=list(grid.opponents), matches=list(grid.matches))
    if levels:
        limit = nodes if nodes or movetime_ms else LEVEL_NODES
        grid.opponents = [PlayerSpec.stockfish(skill=level, nodes=limit, movetime_ms=movetime_ms)
                          for level in levels]
    if experts:
        from chessformer.play.presets import load_experts

        grid.opponents += list(load_experts(experts).experts)
    for key, value in settings.items():
        if value is not None:
            setattr(grid, key, value)
    validate_grid(grid)
    return grid


def validate_grid(grid: Grid) -> None:
    """UserError naming the grid's file if any setting is out of range."""
    where = grid.source or "grid"
    if not grid.opponents and not grid.matches:
        raise UserError(f"{where}: no opponents")
    if grid.games <= 0 or grid.games % 2:
        raise UserError(f"{where}: games per cell must be a positive even number (colour pairs), "
                        f"got {grid.games}")
    for t in grid.temperatures:
        if not t > 0:
            raise UserError(f"{where}: temperatures must be > 0, got {t}")
    if not grid.verdict_temperature > 0:
        raise UserError(f"{where}: verdict_temperature must be > 0, got {grid.verdict_temperature}")
    if grid.opponents and grid.verdict_temperature not in grid.temperatures:
        log.warning("%s: verdict_temperature %g is not among the temperatures %s: the report will "
                    "have no verdict", where, grid.verdict_temperature, grid.temperatures)
    for mode in grid.legality:
        if mode not in LEGALITY:
            raise UserError(f"{where}: legality must be masked or raw, not {mode!r}")
    for line in grid.openings:
        check_line(line, f"{where}: illegal opening line")
    if grid.adjudication.get("kind") not in ADJUDICATION_KINDS:
        raise UserError(f"{where}: adjudication.kind must be stockfish or unfinished")


def grid_json(grid: Grid) -> dict[str, Any]:
    """The grid as plain data (what ``eval.json`` records under ``grid_settings``)."""
    d = dataclasses.asdict(grid)
    d["opponents"] = [o.to_json() for o in grid.opponents]
    d["matches"] = [{"players": [p.to_json() for p in ps], "games": g} for ps, g in grid.matches]
    return d
