"""Fishtest-style statistics: pure functions over game results and their counts.

A :class:`GameResult` is one finished game (White's score); everything else here maps results or
count vectors to numbers: each player's win/draw/loss record, pentanomial counts of colour-swapped
pairs, Elo from a score and back, and a score with a 95% interval from trinomial or pentanomial
counts (the normal approximation fishtest's ``stat_util`` uses), as in a head-to-head table.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

#: White's score for each finished result (``*`` is an unfinished game).
RESULT_SCORES = {"1-0": 1.0, "0-1": 0.0, "1/2-1/2": 0.5}
#: The two-sided 95% normal quantile.
Z95 = 1.959963984540054


@dataclass(frozen=True)
class GameResult:
    """One finished game: ``score`` is White's (1, 0.5 or 0).

    ``pair`` groups the two colour-swapped games of a pair (same opening, colours reversed); games
    with equal ``pair`` keys are resampled together by the bootstrap.
    """

    white: str
    black: str
    score: float
    pair: Hashable | None = None

    def __post_init__(self) -> None:
        if self.score not in (0.0, 0.5, 1.0):
            raise ValueError(f"score must be 1, 0.5 or 0 for White, got {self.score!r}")
        if self.white == self.black:
            raise ValueError(f"a player cannot play itself: {self.white!r}")



def outcome(score: float) -> int:
    """0 for a win, 1 for a draw, 2 for a loss (of the player whose ``score`` it is)."""
    return 0 if score == 1.0 else (1 if score == 0.5 else 2)


def records(games: Iterable[GameResult]) -> dict[str, tuple[int, int, int]]:
    """Every player's ``(wins, draws, losses)``."""
    rec: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for g in games:
        ow = outcome(g.score)
        rec[g.white][ow] += 1
        rec[g.black][2 - ow] += 1
    return {p: (v[0], v[1], v[2]) for p, v in rec.items()}


def elo_from_score(score: float) -> float:
    """Elo difference whose logistic expected score is ``score`` (+-inf at 1 and 0)."""
    if score <= 0.0:
        return -math.inf
    if score >= 1.0:
        return math.inf
    return -400.0 * math.log10(1.0 / score - 1.0)


def score_from_elo(elo: float) -> float:
    """The logistic expected score of an Elo difference (the inverse of :func:`elo_from_score`)."""
    return 1.0 / (1.0 + 10.0 ** (-elo / 400.0))


class ScoreInterval(NamedTuple):
    """A mean score per game with its normal-approximation interval (clipped to [0, 1])."""

    score: float
    lo: float
    hi: float


def score_interval(scores: Sequence[float], counts: Sequence[float], *, z: float = Z95,
                   ) -> ScoreInterval:
    """Mean of ``scores`` weighted by ``counts``, +- z standard errors (fishtest's form)."""
    counts_ = np.asarray(counts, dtype=float)
    n = counts_.sum()
    if n == 0:
        return ScoreInterval(math.nan, math.nan, math.nan)
    p = counts_ / n
    s = np.asarray(scores, dtype=float)
    mu = float(np.sum(p * s))
    half = z * math.sqrt(float(np.sum(p * (s - mu) ** 2)) / n)
    return ScoreInterval(mu, max(0.0, mu - half), min(1.0, mu + half))


WDL_SCORES = (1.0, 0.5, 0.0)
PENTANOMIAL_SCORES = (0.0, 0.25, 0.5, 0.75, 1.0)


def pentanomial(games: Iterable[GameResult], player: str) -> list[int]:
    """Pentanomial counts ``[LL, LD, DD+WL, WD, WW]`` for ``player`` over colour-swapped pairs.

    A pair is the set of games sharing a ``pair`` key; it counts when it has exactly two games,
    ``player`` plays in both, once with each colour. Other games are ignored.
    """
    by_pair: dict[Hashable, list[GameResult]] = defaultdict(list)
    for g in games:
        if g.pair is not None and player in (g.white, g.black):
            by_pair[g.pair].append(g)
    counts = [0, 0, 0, 0, 0]
    for pair in by_pair.values():
        if len(pair) != 2 or {pair[0].white, pair[1].white} != {pair[0].white, pair[0].black}:
            continue
        pts = sum(g.score if g.white == player else 1.0 - g.score for g in pair)
        counts[int(round(pts * 2))] += 1
    return counts




def head_to_head(games: Iterable[GameResult], player: str, opponent: str,
                 ) -> tuple[tuple[int, int, int], ScoreInterval]:
    """``player``'s wins, draws, losses against ``opponent`` and its score with a 95% interval:
    over colour-swapped pairs (pentanomial) when every game is in a complete pair, since the two
    games of a pair share an opening; else over games (trinomial)."""
    between = [g for g in games if {g.white, g.black} == {player, opponent}]
    wdl = records(between).get(player, (0, 0, 0))
    penta = pentanomial(between, player)
    if between and 2 * sum(penta) == len(between):
        return wdl, score_interval(PENTANOMIAL_SCORES, penta)
    return wdl, score_interval(WDL_SCORES, wdl)
