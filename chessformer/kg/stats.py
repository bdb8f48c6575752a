"""Bootstrap intervals over training seeds and queries; the verdict words are the chess
verdicts' (:func:`chessformer.report.verdict.verdict_word`).

    >>> mean, lo, hi = bootstrap_mean(acc, rng=np.random.default_rng(0))     # acc [seeds, queries]
    >>> diff, lo, hi = bootstrap_mean(acc, ref=best_expert_acc, rng=...)     # paired by query
    >>> verdict_word(lo, hi)                                                  # doctest: +SKIP
    'transcends'

A resample draws the seeds with replacement and, independently, the queries with replacement; the
statistic is the mean over the drawn seeds of the mean over the drawn queries (minus, with ``ref``,
the reference's mean over the *same* drawn queries: the reference is a fixed expert or vote, it has
no seeds). The interval is the 2.5 and 97.5 percentiles.
"""

from __future__ import annotations

import numpy as np

from chessformer.report.verdict import DOES_NOT, NOT_SHOWN, TRANSCENDS, verdict_word

__all__ = ["VERDICTS", "bootstrap_mean", "verdict_word"]

#: interval above 0, below 0, containing 0.
VERDICTS = (TRANSCENDS, DOES_NOT, NOT_SHOWN)


def bootstrap_mean(acc: np.ndarray, *, ref: np.ndarray | None = None, n_boot: int = 1000,
                   rng: np.random.Generator) -> tuple[float, float, float]:
    """(point, lo, hi) of mean(acc) - mean(ref): ``acc`` [S, Q], ``ref`` [Q] or None."""
    acc = np.asarray(acc, np.float64)
    s, q = acc.shape
    if q == 0:
        return float("nan"), float("nan"), float("nan")
    base = np.zeros(q) if ref is None else np.asarray(ref, np.float64)
    point = float(acc.mean() - base.mean())
    qi = rng.integers(q, size=(n_boot, q))
    si = rng.integers(s, size=(n_boot, s))
    per_seed = acc[:, qi].mean(axis=2)  # [S, B]: each seed's mean over each resample's queries
    stat = per_seed[si, np.arange(n_boot)[:, None]].mean(axis=1) - base[qi].mean(axis=1)
    lo, hi = np.percentile(stat, [2.5, 97.5])
    return point, float(lo), float(hi)
