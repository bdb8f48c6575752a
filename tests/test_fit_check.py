"""Tests for chessformer.rating.fit_check: the chi-square test of the Bradley-Terry fit is
calibrated on pools drawn from the model and flags a nontransitive pool."""

from __future__ import annotations

import math

import numpy as np

from chessformer.rating.bradley_terry import fit_elo
from chessformer.rating.counts import GameResult, score_from_elo
from chessformer.rating.fit_check import chi2_sf, fit_check

TRUE = {"a": 600.0, "b": 800.0, "c": 900.0, "d": 1000.0, "e": 1150.0, "f": 1300.0}


def _games(a: str, b: str, p_a: float, n: int, rng, draw_share: float = 0.3) -> list[GameResult]:
    """``n`` games of a against b (colours alternating), a's expected score ``p_a``, a share of
    the possible draws drawn."""
    out = []
    for k in range(n):
        pd = draw_share * 2 * min(p_a, 1 - p_a)
        u = rng.random()
        s = 1.0 if u < p_a - pd / 2 else 0.5 if u < p_a + pd / 2 else 0.0
        out.append(GameResult(a, b, s, pair=(a, b, k // 2)) if k % 2 == 0
                   else GameResult(b, a, 1.0 - s, pair=(a, b, k // 2)))
    return out


def bt_pool(rng, n: int = 40) -> list[GameResult]:
    names = sorted(TRUE)
    games = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            games += _games(a, b, score_from_elo(TRUE[a] - TRUE[b]), n, rng)
    return games


def test_chi2_sf_matches_known_values():
    assert math.isclose(chi2_sf(3.841458820694124, 1), 0.05, rel_tol=1e-9)
    assert math.isclose(chi2_sf(18.307038053275146, 10), 0.05, rel_tol=1e-9)
    assert math.isclose(chi2_sf(2.0, 2), math.exp(-1.0), rel_tol=1e-12)
    assert math.isclose(chi2_sf(0.5, 4), 0.9735009788392561, rel_tol=1e-9)


def test_p_value_is_uniform_for_a_true_bradley_terry_pool():
    """200 pools of 6 players (15 pairs, 40 games each, 30% of possible draws drawn) drawn from
    a true Bradley-Terry model, each fitted with one player as anchor: the chi-square p-values
    are compared with the uniform distribution by the Kolmogorov-Smirnov statistic D. The
    tolerance is the KS critical value at 1% for 200 draws, 1.63 / sqrt(200) = 0.115: were the
    p-value exactly uniform, D would exceed it for 1% of seeds (the seed is fixed, so the test is
    deterministic); the chi-square approximation and the estimated draw variance add a bias that
    this bounds. Measured: see the print."""
    rng = np.random.default_rng(26)
    ps = []
    for _ in range(200):
        games = bt_pool(rng)
        fit = fit_elo(games, {"d": 1000.0})
        ps.append(fit_check(games, fit.ratings, {"d": 1000.0}).p_value)
    ps = np.sort(np.array(ps))
    n = len(ps)
    d = max(np.max(np.arange(1, n + 1) / n - ps), np.max(ps - np.arange(n) / n))
    print(f"KS D = {d:.3f}; share p < 0.05: {np.mean(ps < 0.05):.3f}; "
          f"deciles {np.histogram(ps, bins=10, range=(0, 1))[0].tolist()}")
    assert d < 1.63 / math.sqrt(n)
    assert np.mean(ps < 0.05) < 0.1


def test_a_rock_paper_scissors_pool_is_flagged():
    """Three players each scoring 0.8 against the next in a cycle: one number per player cannot
    say that (the fit puts them level), so the test rejects and the pairs are listed."""
    rng = np.random.default_rng(3)
    games = (_games("rock", "scissors", 0.8, 40, rng) + _games("scissors", "paper", 0.8, 40, rng)
             + _games("paper", "rock", 0.8, 40, rng))
    fit = fit_elo(games, {"rock": 1000.0})
    check = fit_check(games, fit.ratings, {"rock": 1000.0})
    assert check.df == 1
    assert check.p_value is not None and check.p_value < 0.01
    assert {(r.a, r.b) for r in check.flagged} == {("rock", "scissors"), ("paper", "scissors"),
                                                   ("paper", "rock")}
    # The same players on a transitive line are not flagged.
    games = (_games("rock", "scissors", 0.8, 40, rng) + _games("scissors", "paper", 0.8, 40, rng)
             + _games("rock", "paper", score_from_elo(2 * 240.8), 40, rng))
    fit = fit_elo(games, {"rock": 1000.0})
    assert fit_check(games, fit.ratings, {"rock": 1000.0}).p_value > 0.01
