"""Glicko-2 (Glickman 2012, "Example of the Glicko-2 system") as a second number beside the
joint Elo fit, computed against opponents held at fixed ratings with deviation 0.

The transcendence paper updates Glicko-2 game by game, so its number depends on the order the
games are fed: the same games gave 2084 in the arena's order and 1547 reversed, each with a
claimed +-119. Feeding all of a player's games as one rating period removes the order but breaks
when the opponents are far from the 1500 start (one linearised step: a player with its games
against the random mover came out at -6833). :func:`glicko2_ratings` therefore updates game by
game, as the paper does, in ``orders`` seeded random orders of the games sorted canonically, and
reports the mean of the final ratings and deviations with the spread (standard deviation) of the
ratings over the orders: the same games in any file order give the same numbers.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from chessformer.rating.counts import GameResult

GLICKO2_SCALE = 173.7178  # Glickman's 400 / ln(10)


@dataclass(frozen=True)
class Glicko2:
    """A Glicko-2 rating on the Glicko scale: rating, deviation (RD), volatility."""

    rating: float = 1500.0
    rd: float = 350.0
    volatility: float = 0.06
    #: how much ``rating`` moved with the order of the games (see :func:`glicko2_ratings`)
    spread: float = 0.0


def glicko2_update(player: Glicko2, results: Sequence[tuple[float, float, float]], *,
                   tau: float = 0.5, elapsed_periods: float = 1.0, eps: float = 1e-6) -> Glicko2:
    """One rating period of Glickman's Glicko-2 (steps 2-8 of "Example of the Glicko-2 system").

    ``results`` are ``(opponent rating, opponent RD, score)``. ``elapsed_periods`` scales the
    pre-period RD increase of step 6 (1 in the paper; lichess's tests use 0). With no results
    only the RD grows.
    """
    mu = (player.rating - 1500.0) / GLICKO2_SCALE
    phi = player.rd / GLICKO2_SCALE
    sigma = player.volatility
    if not results:
        phi_star = math.sqrt(phi * phi + elapsed_periods * sigma * sigma)
        return Glicko2(player.rating, phi_star * GLICKO2_SCALE, sigma)

    def g(ph: float) -> float:
        return 1.0 / math.sqrt(1.0 + 3.0 * ph * ph / (math.pi * math.pi))

    v_inv = 0.0
    delta_sum = 0.0
    for r_j, rd_j, s_j in results:
        mu_j, phi_j = (r_j - 1500.0) / GLICKO2_SCALE, rd_j / GLICKO2_SCALE
        gj = g(phi_j)
        e = 1.0 / (1.0 + math.exp(-gj * (mu - mu_j)))
        v_inv += gj * gj * e * (1.0 - e)
        delta_sum += gj * (s_j - e)
    v = 1.0 / v_inv
    delta = v * delta_sum

    # Step 5: volatility by the Illinois algorithm on f(x), x = ln(sigma'^2).
    a = math.log(sigma * sigma)

    def f(x: float) -> float:
        ex = math.exp(x)
        return (ex * (delta * delta - phi * phi - v - ex) / (2.0 * (phi * phi + v + ex) ** 2)
                - (x - a) / (tau * tau))

    big_a = a
    if delta * delta > phi * phi + v:
        big_b = math.log(delta * delta - phi * phi - v)
    else:
        k = 1
        while f(a - k * tau) < 0:
            k += 1
        big_b = a - k * tau
    f_a, f_b = f(big_a), f(big_b)
    for _ in range(10_000):
        if abs(big_b - big_a) <= eps:
            break
        big_c = big_a + (big_a - big_b) * f_a / (f_b - f_a)
        f_c = f(big_c)
        if f_c * f_b <= 0:
            big_a, f_a = big_b, f_b
        else:
            f_a /= 2.0
        big_b, f_b = big_c, f_c
    sigma_new = math.exp(big_a / 2.0)

    phi_star = math.sqrt(phi * phi + elapsed_periods * sigma_new * sigma_new)
    phi_new = 1.0 / math.sqrt(1.0 / (phi_star * phi_star) + 1.0 / v)
    mu_new = mu + phi_new * phi_new * delta_sum
    return Glicko2(mu_new * GLICKO2_SCALE + 1500.0, phi_new * GLICKO2_SCALE, sigma_new)


def glicko2_ratings(games: Iterable[GameResult], fixed: Mapping[str, float], *,
                    start: Glicko2 = Glicko2(), tau: float = 0.5, orders: int = 32,
                    seed: int = 0) -> dict[str, Glicko2]:
    """Glicko-2 of every player not in ``fixed`` from its games against players in ``fixed``
    (held at their ratings with RD 0), updated game by game from ``start`` (1500 / 350 / 0.06):
    the mean over ``orders`` seeded random orders, with the ratings' standard deviation over the
    orders as ``spread``. Games between two unfixed players are ignored."""
    per: dict[str, list[tuple[float, float, float]]] = defaultdict(list)
    for g in games:
        if g.white not in fixed and g.black in fixed:
            per[g.white].append((fixed[g.black], 0.0, g.score))
        elif g.black not in fixed and g.white in fixed:
            per[g.black].append((fixed[g.white], 0.0, 1.0 - g.score))
    out = {}
    for player in sorted(per):
        results = sorted(per[player])  # canonical: the file's order plays no part
        rng = np.random.default_rng(seed)
        finals = []
        for _ in range(orders):
            r = start
            for k in rng.permutation(len(results)):
                r = glicko2_update(r, [results[k]], tau=tau)
            finals.append(r)
        ratings = [f.rating for f in finals]
        out[player] = Glicko2(float(np.mean(ratings)), float(np.mean([f.rd for f in finals])),
                              float(np.mean([f.volatility for f in finals])),
                              float(np.std(ratings)))
    return out
