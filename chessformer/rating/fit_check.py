"""Does the Bradley-Terry fit describe the games? Per-pair residuals and one chi-square test.

For every pair of players with games, the observed score (points per game of the first, names
sorted) is set beside the score the fit predicts, ``p = 1 / (1 + 10^(-(R_a - R_b) / 400))``, and
a standardized residual ``z = (points - n p) / sqrt(n v)``. The per-game variance ``v`` is that
of a game scored 1, 1/2 or 0 with mean ``p`` and the pair's observed draw share ``d``:
``v = p (1 - p) - d / 4`` (floored at ``p (1 - p) / 4`` so a pair of all draws does not divide
by zero). The test statistic is ``X^2 = sum z^2`` over the pairs, referred to a chi-square with
``pairs - free ratings`` degrees of freedom (anchors are not free; one rating per group without
an anchor is pinned). What it tests: that one number per player explains every pair's score.
What it does not: the two games of a colour-swapped pair share an opening and are treated as
independent here, which makes ``z`` a little larger than it should be when openings matter (the
test errs toward flagging a misfit). Checked by simulation (tests/test_fit_check.py): pools drawn
from a true Bradley-Terry model give a p-value close to uniform, and a rock-paper-scissors pool
is flagged at p < 0.01.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from chessformer.formats.report import PairFit
from chessformer.rating.counts import GameResult, score_from_elo
from chessformer.rating.graph import components

#: |z| above which a pair is listed as a misfit.
Z_FLAG = 3.0


@dataclass(frozen=True)
class FitCheck:
    """Every pair's residual and the chi-square test over them (``p_value`` None when df < 1)."""

    pairs: list[PairFit]
    chi2: float
    df: int
    p_value: float | None

    @property
    def flagged(self) -> list[PairFit]:
        return [r for r in self.pairs if abs(r.z) > Z_FLAG]


def chi2_sf(x: float, df: int) -> float:
    """P(X >= x) for a chi-square with ``df`` degrees of freedom: the regularized upper incomplete
    gamma Q(df/2, x/2) (series below a + 1, Lentz's continued fraction above)."""
    if x <= 0:
        return 1.0
    a, z = df / 2.0, x / 2.0
    lg = math.lgamma(a)
    if z < a + 1.0:
        term = total = 1.0 / a
        k = a
        for _ in range(10000):
            k += 1.0
            term *= z / k
            total += term
            if abs(term) < abs(total) * 1e-15:
                break
        return max(0.0, 1.0 - total * math.exp(-z + a * math.log(z) - lg))
    tiny = 1e-300
    b = z + 1.0 - a
    c, d = 1.0 / tiny, 1.0 / b
    h = d
    for i in range(1, 10000):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            break
    return min(1.0, h * math.exp(-z + a * math.log(z) - lg))


def fit_check(games: Sequence[GameResult], ratings: Mapping[str, float],
              anchors: Mapping[str, float]) -> FitCheck:
    """Residuals of every pair with games against the fitted ``ratings`` (see the module
    docstring); ``anchors``: the players held fixed in the fit (they have no free rating)."""
    acc: dict[tuple[str, str], list[int]] = {}
    for g in games:
        a, b = sorted((g.white, g.black))
        s = g.score if g.white == a else 1.0 - g.score
        c = acc.setdefault((a, b), [0, 0, 0])
        c[0 if s == 1.0 else 1 if s == 0.5 else 2] += 1
    rows = []
    for (a, b), (w, d, lo) in sorted(acc.items()):
        n = w + d + lo
        p = score_from_elo(ratings[a] - ratings[b])
        v = max(p * (1 - p) - (d / n) / 4.0, p * (1 - p) / 4.0)
        obs = (w + 0.5 * d) / n
        z = (obs - p) * n / math.sqrt(n * v) if v > 0 else 0.0
        rows.append(PairFit(a=a, b=b, games=n, wins=w, draws=d, losses=lo, observed=obs,
                            predicted=p, z=z))
    names = sorted({x for k in acc for x in k})
    groups = components(names, list(acc))
    free = sum(len(gr) - (0 if set(gr) & set(anchors) else 1) for gr in groups) \
        - sum(1 for p in anchors if p in set(names))
    df = len(rows) - free
    chi2 = float(sum(r.z ** 2 for r in rows))
    return FitCheck(rows, chi2, df, chi2_sf(chi2, df) if df >= 1 else None)
