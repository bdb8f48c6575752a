"""A report folder's numbers (written by ``chessformer report`` beside report.html and report.md).

    OUT/report.json   verdicts, head to head beside the fit, goodness of fit, the widening of
                      the intervals by the ladder's own games, terminations per cell

Non-finite numbers (the Elo difference of a perfect score) are written as ``null``.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from chessformer.formats import records as records_format

__all__ = ["REPORT_JSON", "GoodnessOfFit", "HeadToHead", "IntervalWidth", "PairFit",
           "ReportSummary", "Terminations", "finite", "read_report_summary",
           "write_report_summary"]

REPORT_JSON = "report.json"


def finite(x: float | None) -> float | None:
    """``x``, or None where it is not a finite number (JSON has no infinity)."""
    return None if x is None or not math.isfinite(x) else float(x)


@dataclass(frozen=True, kw_only=True)
class Terminations(records_format.Record):
    """One cell's games by how they ended."""

    #: the cell (``"<white> vs <black>"`` of the grid)
    cell: str
    games: int
    checkmate: int
    stalemate: int
    threefold_repetition: int
    fifty_moves: int
    insufficient_material: int
    #: stopped and scored by the adjudicating engine's evaluation
    adjudicated: int
    #: the ply at which each adjudicated game was stopped, ascending
    adjudicated_plies: list[int]
    #: stopped at the move cap unscored (result ``*``)
    move_cap: int
    #: lost by a raw-mode model that proposed no legal move
    forfeit: int
    #: any other ending (an aborted game), by its name
    other: dict[str, int]


@dataclass(frozen=True, kw_only=True)
class HeadToHead(records_format.Record):
    """A model player's direct score against one opponent beside the fitted difference."""

    #: the model line, the model player and its temperature
    line: str
    player: str
    temperature: float
    #: the opponent and its role (training expert, ladder rung, ...); whether it is the
    #: verdict's reference
    opponent: str
    role: str
    reference: bool
    games: int
    wins: int
    draws: int
    losses: int
    #: the score per game and its 95% interval (over colour-swapped pairs when complete)
    score: float
    score_lo: float
    score_hi: float
    #: the Elo differences the score and its bounds imply (None: a perfect score)
    elo: float | None
    elo_lo: float | None
    elo_hi: float | None
    #: the fitted difference (model minus opponent) and its 95% bootstrap interval
    fitted: float
    fitted_lo: float
    fitted_hi: float
    #: the head-to-head score and the fitted difference are on the same side of even
    same_sign: bool
    #: the two intervals do not overlap
    disagrees: bool


@dataclass(frozen=True, kw_only=True)
class PairFit(records_format.Record):
    """One pair of players with games (names sorted): ``a``'s observed and fitted score."""

    a: str
    b: str
    games: int
    wins: int
    draws: int
    losses: int
    observed: float
    predicted: float
    #: standardized residual (observed - predicted points over their standard deviation)
    z: float


@dataclass(frozen=True, kw_only=True)
class GoodnessOfFit(records_format.Record):
    """The chi-square test of the Bradley-Terry fit over every pair with games
    (:mod:`chessformer.rating.fit_check`)."""

    chi2: float
    #: pairs minus free ratings
    df: int
    #: None when df < 1
    p_value: float | None
    #: |z| above which a pair is listed in ``flagged``
    z_flag: float
    pairs: list[PairFit]
    flagged: list[PairFit]


@dataclass(frozen=True, kw_only=True)
class IntervalWidth(records_format.Record):
    """One interval with the ladder's rungs held fixed and with its games resampled."""

    #: what the interval is of (a rating, or a verdict's difference)
    what: str
    fixed_lo: float
    fixed_hi: float
    ladder_lo: float
    ladder_hi: float


@dataclass(frozen=True, kw_only=True)
class ReportSummary(records_format.Record):
    """``report.json``: the numbers behind a report (written by ``chessformer report``).

    Schema version 1 (:attr:`SCHEMA`; no version key).
    """

    SCHEMA: ClassVar[int] = 1

    code_version: str
    command: str
    #: the anchors held, and where they came from in words
    anchors: dict[str, float]
    anchors_source: str
    #: the ladder whose games every bootstrap replicate resamples (None: anchors held exactly)
    ladder: str | None
    #: what the Elo scale is, in words (a ladder whose anchors fail its check says so)
    scale: str
    #: why the verdicts are exploratory (a choice fixed in advance changed after the games)
    exploratory: str | None
    #: every verdict (the fields of :class:`chessformer.report.verdict.Verdict`)
    verdicts: list[dict[str, Any]]
    head_to_head: list[HeadToHead]
    goodness_of_fit: GoodnessOfFit
    #: intervals without and with the ladder's games (empty without a ladder's games)
    widening: list[IntervalWidth]
    terminations: list[Terminations]


def write_report_summary(folder: str | os.PathLike[str], summary: ReportSummary) -> Path:
    path = Path(folder) / REPORT_JSON
    summary.save(path)
    return path


def read_report_summary(folder: str | os.PathLike[str]) -> ReportSummary:
    path = Path(folder) / REPORT_JSON
    return ReportSummary.load(path, "report summary")
