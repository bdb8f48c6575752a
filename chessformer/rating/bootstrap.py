"""Percentile-bootstrap intervals for the joint Elo fit (:mod:`chessformer.rating.bradley_terry`).

Games are resampled with replacement (or, when games carry a ``pair`` key, whole colour-swapped
pairs are, since the two games of a pair share an opening), every resample is refitted, and the
2.5th and 97.5th percentiles of each player's rating are reported. Resampling is seeded. Anchors
have zero-width intervals: their uncertainty is not propagated (a ladder's own interval is stated
in its file). :class:`BootstrapFit` keeps every resample so that differences between players
(:meth:`BootstrapFit.difference`) use the same resamples.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from chessformer.rating.bradley_terry import (
    VIRTUAL_DRAWS,
    DrawModel,
    EloFit,
    Fitter,
    Prior,
    pair_counts,
)
from chessformer.rating.counts import GameResult, records

#: Bootstrap resamples behind every interval unless a command says otherwise.
N_BOOT = 1000


@dataclass(frozen=True)
class Rating:
    """One player's rating with its bootstrap interval and record (score = points / games)."""

    player: str
    elo: float
    lo: float
    hi: float
    games: int
    wins: int
    draws: int
    losses: int
    score: float
    anchor: bool = False
    unanchored: bool = False  # in a group with no anchor: centred at CENTRE, differences only

    @property
    def prior_only(self) -> bool:
        """Won or lost every game: the games bound the rating on one side only, the prior sets
        where it lands (and every resample agrees, so the interval is no measure of it)."""
        return not self.anchor and self.games > 0 and (self.wins == self.games
                                                       or self.losses == self.games)


class Difference(NamedTuple):
    """Rating of a minus rating of b, with its bootstrap interval."""

    diff: float
    lo: float
    hi: float


@dataclass
class BootstrapFit:
    """A point fit plus ``n_boot`` refits on resampled games (rows of ``samples``)."""

    fit: EloFit
    players: list[str]
    samples: np.ndarray  # (n_boot, n_players) Elo
    level: float
    records: dict[str, tuple[int, int, int]]  # player -> (wins, draws, losses)

    def _col(self, player: str) -> np.ndarray:
        try:
            return self.samples[:, self.players.index(player)]
        except ValueError:
            raise KeyError(f"no games for player {player!r}") from None

    def _interval(self, values: np.ndarray, level: float | None = None) -> tuple[float, float]:
        if len(values) == 0:
            return math.nan, math.nan
        a = (1.0 - (self.level if level is None else level)) / 2.0
        lo, hi = np.quantile(values, [a, 1.0 - a])
        return float(lo), float(hi)

    def ratings(self) -> list[Rating]:
        """Every player, best first."""
        out = []
        for p in self.players:
            elo = self.fit.ratings[p]
            if p in self.fit.anchors:
                lo = hi = elo
            else:
                lo, hi = self._interval(self._col(p))
            w, d, l_ = self.records[p]
            n = w + d + l_
            out.append(Rating(p, elo, lo, hi, n, w, d, l_, (w + 0.5 * d) / n if n else math.nan,
                              anchor=p in self.fit.anchors, unanchored=p in self.fit.unanchored))
        return sorted(out, key=lambda r: -r.elo)

    def difference(self, a: str, b: str, level: float | None = None) -> Difference:
        """Rating of ``a`` minus ``b`` and its interval (at ``level``, default the fit's), over
        the same resamples."""
        diff = self.fit.ratings[a] - self.fit.ratings[b]
        lo, hi = self._interval(self._col(a) - self._col(b), level)
        return Difference(diff, lo, hi)

    def prob_superior(self, a: str, b: str) -> float:
        """Fraction of resamples in which ``a`` is rated above ``b`` (ties count half)."""
        d = self._col(a) - self._col(b)
        return float(np.mean(d > 0) + 0.5 * np.mean(d == 0)) if len(d) else math.nan


def bootstrap(games: Sequence[GameResult], anchors: Mapping[str, float] | None = None, *,
              n_boot: int = N_BOOT, seed: int = 0, level: float = 0.95,
              draw_model: DrawModel = "half", prior: Prior | None = None,
              virtual_draws: float = VIRTUAL_DRAWS, by_pair: bool | None = None) -> BootstrapFit:
    """Fit, then refit ``n_boot`` resamples of the games (whole pairs when games carry ``pair``).

    ``by_pair=None`` resamples pairs when every game has a ``pair`` key. Seeded: the same games,
    anchors and seed give the same intervals.
    """
    f = Fitter(games, anchors or {}, draw_model, prior, virtual_draws)
    fit, elo, eta = f.point_fit()
    if by_pair is None:
        by_pair = all(g.pair is not None for g in f.games)
    if by_pair:
        keys: dict[Hashable, int] = {}
        group = np.array([keys.setdefault(g.pair, len(keys)) for g in f.games], dtype=np.int64)
    else:
        group = np.arange(len(f.games))
    n_groups = int(group.max()) + 1
    rng = np.random.default_rng(seed)
    x_hat = f.to_x(elo)
    samples = np.empty((n_boot, len(f.pairs.players)))
    for b in range(n_boot):
        picks = np.bincount(rng.integers(0, n_groups, n_groups), minlength=n_groups)
        c = pair_counts(f.pairs, picks[group].astype(float))
        samples[b], _, _ = f.fit_counts(c, x_hat, eta)  # warm start: a few Newton steps
    return BootstrapFit(fit, f.pairs.players, samples, level, records(f.games))


