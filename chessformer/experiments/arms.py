"""An experiment's ratings by arm: every arm is several models (one per training seed).

The report's joint fit (:mod:`chessformer.report.report`) rates every model at every temperature,
every expert and the ensemble on one scale. An arm's rating at a temperature is the mean over its
seeds' models; its interval, and the interval of a difference between arms, come from a two-stage
bootstrap: each of the fit's resamples of game pairs, with the arm's seeds resampled with
replacement inside it. The interval so covers the games' noise and the spread between training
seeds (with one seed per arm it would cover the games only).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from chessformer.formats.experiment import ArmRating, Difference, ExperimentRatings, RatedPlayer
from chessformer.rating.bootstrap import BootstrapFit


def seed_mean(bf: BootstrapFit, players: Sequence[str], rng: np.random.Generator,
              ) -> tuple[float, np.ndarray]:
    """Mean rating of ``players`` (one per seed) and its two-stage bootstrap samples."""
    cols = bf.samples[:, [bf.players.index(p) for p in players]]  # (B, S)
    point = float(np.mean([bf.fit.ratings[p] for p in players]))
    picks = rng.integers(0, len(players), size=cols.shape)
    return point, np.take_along_axis(cols, picks, axis=1).mean(axis=1)


def _interval(samples: np.ndarray, level: float) -> tuple[float, float]:
    a = (1.0 - level) / 2.0
    lo, hi = np.quantile(samples, [a, 1.0 - a])
    return float(lo), float(hi)


def experiment_ratings(rated: Any, arm_labels: Mapping[str, Sequence[str]],
                       verdict_temperature: float, seed: int = 0) -> ExperimentRatings:
    """Ratings and differences on the report's scale (its games, anchors and resamples).

    ``rated``: the report's :class:`~chessformer.report.report.Rated`; ``arm_labels``: each arm's
    model labels (one per training seed). Differences: each arm at the temperature fixed in
    advance minus each ensemble, and arm against arm at every temperature both played.
    """
    bf, players, ratings = rated.bf, rated.players, rated.ratings
    level = bf.level
    rng = np.random.default_rng(seed)

    def row(p: str, temperature: float | None = None) -> RatedPlayer:
        r = ratings[p]
        return RatedPlayer(player=p, kind=players.get(p, {}).get("kind"), elo=r.elo, lo=r.lo,
                           hi=r.hi, prior_only=r.prior_only, temperature=temperature)

    by_label: dict[str, dict[float, str]] = defaultdict(dict)
    for p, s in players.items():
        if s.get("kind") == "model" and p in ratings:
            by_label[str(s.get("label"))][float(s["temperature"])] = p
    models = {label: [row(p, t) for t, p in sorted(ts.items())]
              for label, ts in by_label.items()}
    arms: dict[str, list[ArmRating]] = {}
    samples: dict[tuple[str, float], np.ndarray] = {}
    point: dict[tuple[str, float], float] = {}
    for arm, labels in arm_labels.items():
        temps = sorted(set.intersection(*(set(by_label.get(x, {})) for x in labels))
                       if labels else set())
        arms[arm] = []
        for t in temps:
            point[(arm, t)], samples[(arm, t)] = seed_mean(bf, [by_label[x][t] for x in labels],
                                                           rng)
            lo, hi = _interval(samples[(arm, t)], level)
            arms[arm].append(ArmRating(temperature=t, elo=point[(arm, t)], lo=lo, hi=hi,
                                       seeds=len(labels)))
    others = [row(p) for p, s in players.items()
              if s.get("kind") in ("expert", "ensemble") and p in ratings]
    diffs = []
    t0 = verdict_temperature
    for e in (r.player for r in others if r.kind == "ensemble"):
        col = bf.samples[:, bf.players.index(e)]
        for arm in arm_labels:
            if (arm, t0) in samples:
                lo, hi = _interval(samples[(arm, t0)] - col, level)
                diffs.append(Difference(a=f"{arm} T={t0:g}", b=e,
                                        diff=point[(arm, t0)] - ratings[e].elo, lo=lo, hi=hi))
    names = list(arm_labels)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            for t in sorted({t for x, t in samples if x == a} & {t for x, t in samples if x == b}):
                lo, hi = _interval(samples[(a, t)] - samples[(b, t)], level)
                diffs.append(Difference(a=f"{a} T={t:g}", b=f"{b} T={t:g}",
                                        diff=point[(a, t)] - point[(b, t)], lo=lo, hi=hi))
    return ExperimentRatings(
        anchors=rated.choice.anchors, anchor_source=rated.choice.source,
        games=len(rated.res.games), models=models, arms=arms,
        others=sorted(others, key=lambda r: -r.elo), differences=diffs, n_boot=rated.n_boot,
        level=level, verdict_temperature=t0,
        seeds={arm: len(labels) for arm, labels in arm_labels.items()},
        note=("arm = mean over its training seeds' models; intervals: two-stage bootstrap over "
              "game pairs and training seeds"))

