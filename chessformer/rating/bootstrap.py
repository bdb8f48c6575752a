"""Percentile-bootstrap intervals for the joint Elo fit (:mod:`chessformer.rating.bradley_terry`).

Games are resampled with replacement (or, when games carry a ``pair`` key, whole colour-swapped
pairs are, since the two games of a pair share an opening), every resample is refitted, and the
2.5th and 97.5th percentiles of each player's rating are reported. Resampling is seeded.
:class:`BootstrapFit` keeps every resample so that differences between players
(:meth:`BootstrapFit.difference`) use the same resamples.

Anchors taken from a calibrated ladder (:class:`LadderGames`) carry the ladder's uncertainty: in
every replicate the ladder's own games are resampled too (whole colour-swapped pairs) and refitted
with the ladder's anchors held as the ladder holds them, and each rung that anchors this fit is
moved by its refit's change, ``stated + (refit_b - refit_point)``, before the evaluation's
resample is fitted. The point ratings stay where the ladder states them; only the intervals widen.
The ladder's resamples come from their own seeded stream, so the evaluation's resamples are the
same with and without the ladder (the widening compares like with like). Anchors held without a
ladder's games (``--anchor``, or the ladder's own paper anchors) have zero-width intervals.
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


@dataclass(frozen=True)
class LadderGames:
    """A calibrated ladder's own games and how it holds its scale: its anchors (held exactly)
    and the ratings it states for its rungs (the points the refits are centred on)."""

    games: Sequence[GameResult]
    anchors: Mapping[str, float]
    stated: Mapping[str, float]


def ladder_replicates(ladder: LadderGames, rungs: Sequence[str], n_boot: int, seed: int,
                      draw_model: DrawModel = "half", prior: Prior | None = None,
                      virtual_draws: float = VIRTUAL_DRAWS) -> np.ndarray:
    """``(n_boot, len(rungs))`` ratings of ``rungs`` in refits of resampled ladder games (see the
    module docstring), each centred on the rung's stated rating."""
    f = Fitter(ladder.games, ladder.anchors, draw_model, prior, virtual_draws)
    missing = [r for r in rungs if r not in f.idx]
    if missing:
        raise ValueError(f"rungs not in the ladder's games: {', '.join(missing)}")
    _, elo, eta = f.point_fit()
    cols = np.array([f.idx[r] for r in rungs], dtype=np.int64)
    stated = np.array([ladder.stated.get(r, elo[f.idx[r]]) for r in rungs])
    keys: dict[Hashable, int] = {}
    group = np.array([keys.setdefault(g.pair if g.pair is not None else ("game", k), len(keys))
                      for k, g in enumerate(f.games)], dtype=np.int64)
    n_groups = len(keys)
    rng = np.random.default_rng([seed, 26])  # its own stream: the evaluation's is unchanged
    x_hat = f.to_x(elo)
    out = np.empty((n_boot, len(rungs)))
    for b in range(n_boot):
        picks = np.bincount(rng.integers(0, n_groups, n_groups), minlength=n_groups)
        e, _, _ = f.fit_counts(pair_counts(f.pairs, picks[group].astype(float)), x_hat, eta)
        out[b] = stated + e[cols] - elo[cols]
    return out


@dataclass
class BootstrapFit:
    """A point fit plus ``n_boot`` refits on resampled games (rows of ``samples``)."""

    fit: EloFit
    players: list[str]
    samples: np.ndarray  # (n_boot, n_players) Elo
    level: float
    records: dict[str, tuple[int, int, int]]  # player -> (wins, draws, losses)
    #: anchors whose ladder was resampled with the games (held at their points in the fit,
    #: their intervals have width)
    refitted: tuple[str, ...] = ()

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
            if p in self.fit.anchors and p not in self.refitted:
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
              virtual_draws: float = VIRTUAL_DRAWS, by_pair: bool | None = None,
              ladder: LadderGames | None = None) -> BootstrapFit:
    """Fit, then refit ``n_boot`` resamples of the games (whole pairs when games carry ``pair``).

    ``by_pair=None`` resamples pairs when every game has a ``pair`` key. Seeded: the same games,
    anchors and seed give the same intervals. ``ladder``: the anchors that are rungs of it (and
    not its own fixed anchors) are refitted in every replicate (the module docstring).
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
    refitted: list[str] = []
    moved = np.empty((n_boot, 0))
    if ladder is not None:
        ladder_names = {g.white for g in ladder.games} | {g.black for g in ladder.games}
        refitted = sorted(p for p in f.anchors if p in ladder_names and p not in ladder.anchors)
        if refitted:
            moved = ladder_replicates(ladder, refitted, n_boot, seed, draw_model, prior,
                                      virtual_draws)
    samples = np.empty((n_boot, len(f.pairs.players)))
    for b in range(n_boot):
        picks = np.bincount(rng.integers(0, n_groups, n_groups), minlength=n_groups)
        c = pair_counts(f.pairs, picks[group].astype(float))
        samples[b], _, _ = f.fit_counts(  # warm start: a few Newton steps
            c, x_hat, eta, dict(zip(refitted, moved[b].tolist())) if refitted else None)
    return BootstrapFit(fit, f.pairs.players, samples, level, records(f.games), tuple(refitted))


