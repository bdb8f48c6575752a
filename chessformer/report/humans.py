"""The human-games analysis's section of a page (``humans.md``, and the run's report when
``humans.json`` sits in the report's folder): the per-bin table of :mod:`chessformer.analysis.humans`."""

from __future__ import annotations

from typing import Any

from chessformer.formats.humans import HumansGain, HumansResult
from chessformer.report.document import Section

__all__ = ["humans_sections", "table"]


def _pct(v: float | None, lo: float | None = None, hi: float | None = None) -> str:
    if v is None:
        return "n/a"
    return f"{100 * v:.1f}%" + ("" if lo is None or hi is None else
                                f" [{100 * lo:.1f}, {100 * hi:.1f}]")


def _pts(g: HumansGain) -> str:
    return f"{100 * g.gain:+.2f} [{100 * g.gain_lo:+.2f}, {100 * g.gain_hi:+.2f}]"


def table(r: HumansResult) -> tuple[list[str], list[list[str]]]:
    """The table's header and rows (one per bin, then all positions)."""
    headers = ["rating bin", "positions", "games", "top-1", "top-3", "log-loss (nats)",
               "human's expected score", *(f"gain at T={g.temperature:g} (points)"
                                           for g in r.total.model)]
    rows = []
    for b in [*r.bins, r.total]:
        rows.append([b.bin, str(b.positions), str(b.games), _pct(b.top1, b.top1_lo, b.top1_hi),
                     _pct(b.top3, b.top3_lo, b.top3_hi),
                     "n/a" if b.log_loss is None else f"{b.log_loss:.2f}",
                     _pct(b.human), *(_pts(g) for g in b.model)])
    return headers, rows


def humans_sections(r: HumansResult, image: str | None) -> list[Any]:
    """The analysis's section of a page (``humans.md``, and the run's report when
    ``humans.json`` is in the report's folder)."""
    headers, rows = table(r)
    clock = ("off" if r.min_clock is None else
             f"moves where the mover had under {r.min_clock:g} s left out ({r.positions_low_clock} "
             f"moves; {r.moves_with_clock} moves of the games had a clock)")
    return [Section("Move matching and gain over the humans, by rating of the player to move", [
        f"{r.positions} positions sampled (seed {r.seed}) of {r.positions_total} from "
        f"{r.games_used} games of {', '.join(r.sources)}; the first {r.skip_plies} plies of each "
        f"game left out; clock filter: {clock}. Checked against the {r.dataset_games} games of "
        f"the training dataset {r.dataset}: none is among them.",
        "Top-1/top-3: the human's move is the model's most likely move / among its 3 most likely "
        "(T = 1). Log-loss: -ln p(human's move) at T = 1. Gain: the expected score (Stockfish's "
        f"WDL, {r.scorer['search']}) of the model's move distribution at T minus that of the "
        "human's move in the same position, in points (1 point = 1% of a game). Intervals: 95% "
        "bootstrap over games (a bin of one game has an interval of no width: its spread is "
        "unknown, not nil).",
    ], headers, rows, image=image)]
