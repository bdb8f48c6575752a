"""Where a rating can be measured: the calibrated ladder's rungs and the shipped grids' ranges.

A player that lost (or won) every game is rated by the prior only
(:func:`chessformer.rating.table.out_of_range` words the warning); to say which grid to use
instead, :func:`ladder_rungs` reads the ladder of the games' Stockfish version and
:func:`grid_ranges` the ladder ratings of each shipped grid's opponents (``evals/*.toml``).
``rate`` and ``report`` both print these warnings.
"""

from __future__ import annotations

from pathlib import Path

from chessformer.formats import ladder as ladder_format
from chessformer.rating.anchors import AnchorChoice, stockfish_versions
from chessformer.rating.collect import Results
from chessformer.rating.table import out_of_range
from chessformer.utils import UserError, resource_dir


def ladder_rungs(res: Results, choice: AnchorChoice) -> dict[str, float]:
    """``{rung: Elo}`` of the ladder the fit used, else of the games' Stockfish version ({} when
    none is calibrated)."""
    path: Path | None = choice.ladder
    if path is None:
        versions = sorted(stockfish_versions(res))
        path = ladder_format.find_ladder(versions[0]) if len(versions) == 1 else None
    if path is None:
        return {}
    try:
        return ladder_format.load_ladder(path)
    except UserError:
        return {}


def grid_ranges(rungs: dict[str, float], folder: Path | None = None) -> dict[str, list[float]]:
    """``{grid name: ladder Elo of each opponent that is a rung}`` for the grids in ``folder``
    (default: the shipped ``evals/``); files that are not evaluation grids are skipped."""
    from chessformer.play.grid import load_grid

    out = {}
    for path in sorted((folder or resource_dir("evals")).glob("*.toml")):
        try:
            grid = load_grid(path)
        except UserError:
            continue  # e.g. evals/ladder.toml: rungs for calibrate, not an evaluation grid
        elos = [rungs[o.name] for o in grid.opponents if o.name in rungs]
        if elos:
            out[path.stem] = elos
    return out


def range_warnings(res: Results, choice: AnchorChoice, rows: list[dict]) -> list[str]:
    """The out-of-range warnings of a ratings table (see the module docstring)."""
    if not any(r["prior_only"] for r in rows):
        return []
    rungs = ladder_rungs(res, choice)
    return out_of_range(rows, res.games, rungs, grid_ranges(rungs))
