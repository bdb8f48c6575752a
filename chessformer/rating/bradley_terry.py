"""Joint Elo ratings: Bradley-Terry with anchors and a prior (Jeffreys, or BayesElo's virtual draws).

    >>> from chessformer.rating.counts import GameResult
    >>> games = [GameResult("model", "sf1", 1.0), GameResult("sf1", "model", 0.5)] * 20
    >>> {p: round(e) for p, e in fit_elo(games, {"sf1": 1554.0}).ratings.items()}
    {'model': 1739, 'sf1': 1554}

The model (:func:`fit_elo`)
    Bradley-Terry on the logistic Elo scale: P(i scores against j) = 1 / (1 + 10^((Rj - Ri) / 400)).
    By default a draw counts as half a win and half a loss (the quasi-likelihood that makes the fit
    match each player's expected score); ``draw_model="davidson"`` instead fits Davidson's (1970)
    three-outcome model with one draw parameter nu shared by all games:
    P(win) : P(draw) : P(loss) = 10^(d/800) : nu : 10^(-d/800), with d = Ri - Rj.
    Ratings are joint maximum-likelihood estimates over every player in the games (Newton's method
    with step halving; the log-likelihood is concave), with some players held fixed as anchors.

The prior (why perfect scores do not diverge)
    ``prior="jeffreys"`` (the default, :data:`PRIOR`; half-point model only) maximises the
    log-likelihood plus Jeffreys' 0.5 log det I, Firth's (1993) bias-reduced estimate. Between two
    players it is exactly one virtual draw (a 100-0 score counts as 100.5 / 101); against
    opponents far away it weighs each by how much its games tell (their leverage), so it does not
    pull a weak player up. Measured (tests/test_ratings.py): a player truly at 1000 with 100 games
    against each of the paper's five Stockfish anchors is fitted +2 Elo off on average, where one
    virtual draw per pair gave +44 and no prior -13.
    ``prior="draws"``: as in BayesElo, each pair of players that met at least once gets
    ``virtual_draws`` extra drawn games (default :data:`VIRTUAL_DRAWS`); Davidson's model uses it.
    Either prior is a function of the pairs that met in the *original* games, so every bootstrap
    resample (:mod:`chessformer.rating.bootstrap`) is fitted under the same prior.

Without anchors (or for a group of players not connected by games to any anchor) the scale has no
origin: such a group is centred so that its players' mean rating is :data:`CENTRE` = 1500 (Glicko's
default), and only differences inside it mean anything.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from chessformer.rating.counts import GameResult, outcome
from chessformer.rating.graph import components

#: Elo points per natural-log unit of odds: a 400-point gap is 10:1 odds.
ELO_PER_NAT = 400.0 / math.log(10.0)
#: Mean rating of a group of players with no anchor among them.
CENTRE = 1500.0
#: BayesElo-style prior (``prior="draws"``): virtual drawn games added to each pair that met.
VIRTUAL_DRAWS = 1.0

DrawModel = Literal["half", "davidson"]
Prior = Literal["jeffreys", "draws"]
#: The prior of the half-point model; Davidson's model always uses virtual draws.
PRIOR: Prior = "jeffreys"


def prior_for(draw_model: DrawModel, prior: Prior | None = None) -> Prior:
    """The prior a fit uses: ``prior`` if given, else :data:`PRIOR` (virtual draws for Davidson)."""
    if prior is None:
        return PRIOR if draw_model == "half" else "draws"
    if prior not in ("jeffreys", "draws"):
        raise ValueError(f"prior must be 'jeffreys' or 'draws', not {prior!r}")
    if prior == "jeffreys" and draw_model != "half":
        raise ValueError("the Jeffreys prior is for the half-point model; Davidson's draw model "
                         "needs prior='draws'")
    return prior


def describe_prior(prior: Prior, virtual_draws: float = VIRTUAL_DRAWS) -> str:
    """The prior in words, for reports and ladder notes."""
    if prior == "jeffreys":
        return ("Jeffreys prior (Firth's bias-reduced estimate: keeps perfect scores finite "
                "without pulling weak players up)")
    return f"{virtual_draws:g} virtual draw(s) per pair of players that met (keeps perfect " \
           "scores finite)"


@dataclass(frozen=True)
class Pairs:
    """Games aggregated per unordered pair of player indices (i < j): counts for i."""

    players: list[str]
    i: np.ndarray  # (P,) int
    j: np.ndarray  # (P,) int
    game_pair: np.ndarray  # (G,) index into the pair arrays, for each game
    game_outcome: np.ndarray  # (G,) 0 = i won, 1 = draw, 2 = j won


def index_games(games: Sequence[GameResult]) -> Pairs:
    """Players (sorted names) and, per game, its pair of players and outcome for the first."""
    names = sorted({g.white for g in games} | {g.black for g in games})
    idx = {n: k for k, n in enumerate(names)}
    pair_id: dict[tuple[int, int], int] = {}
    gp = np.empty(len(games), dtype=np.int64)
    go = np.empty(len(games), dtype=np.int64)
    for k, g in enumerate(games):
        a, b, s = idx[g.white], idx[g.black], g.score
        if a > b:
            a, b, s = b, a, 1.0 - s
        gp[k] = pair_id.setdefault((a, b), len(pair_id))
        go[k] = outcome(s)
    ij = np.array(list(pair_id), dtype=np.int64).reshape(-1, 2)
    return Pairs(names, ij[:, 0], ij[:, 1], gp, go)


def pair_counts(pairs: Pairs, weights: np.ndarray | None = None) -> np.ndarray:
    """(P, 3) weighted win/draw/loss counts for the first player of each pair."""
    n_pairs = len(pairs.i)
    flat = pairs.game_pair * 3 + pairs.game_outcome
    c = np.bincount(flat, weights=weights, minlength=3 * n_pairs)
    return c.reshape(n_pairs, 3).astype(float)


def _loglik_grad_hess(x: np.ndarray, eta: float, pairs: Pairs, c: np.ndarray, model: DrawModel,
                      ) -> tuple[float, np.ndarray, np.ndarray]:
    """Log-likelihood, gradient and Hessian over (x_0..x_{n-1}[, eta]); x in natural units."""
    n = len(pairs.players)
    w, dr, lo = c[:, 0], c[:, 1], c[:, 2]
    tot = w + dr + lo
    d = x[pairs.i] - x[pairs.j]
    if model == "half":
        s = w + 0.5 * dr
        p = 0.5 * (1.0 + np.tanh(0.5 * d))  # stable sigmoid
        ll = float(np.sum(s * _log(p) + (tot - s) * _log(1.0 - p)))
        gd = s - tot * p
        hd = -tot * p * (1.0 - p)
        m = n
    else:
        nu = math.exp(eta)
        u = 0.5 * d
        # Scale numerator and denominator by exp(-|u|) to avoid overflow.
        au = np.abs(u)
        a, b = np.exp(u - au), np.exp(-u - au)
        nz = nu * np.exp(-au)
        z = a + b + nz
        ll = float(np.sum((w - lo) * u + dr * eta - tot * (np.log(z) + au)))
        gd = 0.5 * (w - lo) - tot * (a - b) / (2.0 * z)
        hd = -0.25 * tot * ((a + b) / z - ((a - b) / z) ** 2)
        g_eta = float(np.sum(dr - tot * nz / z))
        h_eta = float(-np.sum(tot * (nz / z - (nz / z) ** 2)))
        h_d_eta = tot * (a - b) * nz / (2.0 * z * z)
        m = n + 1
    grad = np.zeros(m)
    np.add.at(grad, pairs.i, gd)
    np.add.at(grad, pairs.j, -gd)
    hess = np.zeros((m, m))
    np.add.at(hess, (pairs.i, pairs.i), hd)
    np.add.at(hess, (pairs.j, pairs.j), hd)
    np.add.at(hess, (pairs.i, pairs.j), -hd)
    np.add.at(hess, (pairs.j, pairs.i), -hd)
    if model == "davidson":
        grad[n] = g_eta
        hess[n, n] = h_eta
        col = np.zeros(n)
        np.add.at(col, pairs.i, h_d_eta)
        np.add.at(col, pairs.j, -h_d_eta)
        hess[:n, n] = col
        hess[n, :n] = col
    return ll, grad, hess


def _jeffreys(x: np.ndarray, pairs: Pairs, tot: np.ndarray, free: np.ndarray,
              ) -> tuple[float, np.ndarray]:
    """Jeffreys prior of the half-point model, 0.5 log det I(x) over the free ratings, and its
    gradient (Firth 1993): maximising log-likelihood + penalty removes the O(1/n) bias of the
    maximum-likelihood estimate and keeps perfect scores finite. ``tot``: games per pair in the
    original games (the prior is the same function in every bootstrap resample, so a player whose
    games a resample left out is still held near its opponents)."""
    n = len(pairs.players)
    p = 0.5 * (1.0 + np.tanh(0.5 * (x[pairs.i] - x[pairs.j])))
    w = tot * p * (1.0 - p)
    info = np.zeros((n, n))
    np.add.at(info, (pairs.i, pairs.i), w)
    np.add.at(info, (pairs.j, pairs.j), w)
    np.add.at(info, (pairs.i, pairs.j), -w)
    np.add.at(info, (pairs.j, pairs.i), -w)
    sign, logdet = np.linalg.slogdet(info[np.ix_(free, free)])
    if sign <= 0 or not math.isfinite(logdet):
        return -math.inf, np.zeros(n)
    inv = np.zeros((n, n))
    inv[np.ix_(free, free)] = np.linalg.inv(info[np.ix_(free, free)])
    # d/dx_k of 0.5 log det I = 0.5 tr(I^-1 dI/dx_k); each pair contributes through its weight.
    h = inv[pairs.i, pairs.i] + inv[pairs.j, pairs.j] - 2.0 * inv[pairs.i, pairs.j]
    cd = 0.5 * tot * p * (1.0 - p) * (1.0 - 2.0 * p) * h
    grad = np.zeros(n)
    np.add.at(grad, pairs.i, cd)
    np.add.at(grad, pairs.j, -cd)
    return 0.5 * logdet, grad


def _objective(x: np.ndarray, eta: float, pairs: Pairs, c: np.ndarray, model: DrawModel,
               jeffreys: tuple[np.ndarray, np.ndarray] | None,
               ) -> tuple[float, np.ndarray, np.ndarray]:
    """Log-posterior, its gradient, and the log-likelihood's Hessian (Newton's curvature: the
    prior's own curvature is O(1) against the likelihood's O(games))."""
    ll, g, h = _loglik_grad_hess(x, eta, pairs, c, model)
    if jeffreys is not None and len(jeffreys[1]):
        pen, gp = _jeffreys(x, pairs, *jeffreys)
        ll, g = ll + pen, g + np.append(gp, np.zeros(len(g) - len(gp)))
    return ll, g, h


def _log(p: np.ndarray) -> np.ndarray:
    return np.log(np.clip(p, 1e-300, None))


@dataclass(frozen=True)
class EloFit:
    """A point estimate: ratings by player, the Davidson draw parameter (or None), and notes."""

    ratings: dict[str, float]
    anchors: dict[str, float]
    draw_nu: float | None
    unanchored: frozenset[str]  # players in groups with no anchor (centred at CENTRE)
    iterations: int


_MAX_STEP = 2.0  # natural units, about 350 Elo


def _newton(pairs: Pairs, c: np.ndarray, model: DrawModel, fixed: dict[int, float],
            x0: np.ndarray, eta0: float, jeffreys_tot: np.ndarray | None, tol: float = 1e-9,
            max_iter: int = 200,
            ) -> tuple[np.ndarray, float, int]:
    n = len(pairs.players)
    x = x0.copy()
    for k, v in fixed.items():
        x[k] = v
    eta = eta0
    free = np.array([k for k in range(n) if k not in fixed] + ([n] if model == "davidson" else []),
                    dtype=np.int64)
    if len(free) == 0:
        return x, eta, 0

    def pack(xx: np.ndarray, ee: float) -> np.ndarray:
        return np.append(xx, ee) if model == "davidson" else xx

    jf = None if jeffreys_tot is None else (
        jeffreys_tot, np.array([k for k in range(n) if k not in fixed], dtype=np.int64))
    ll, g, h = _objective(x, eta, pairs, c, model, jf)
    for it in range(1, max_iter + 1):
        gf, hf = g[free], h[np.ix_(free, free)]
        try:
            step = np.linalg.solve(hf, -gf)
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(hf, -gf, rcond=None)[0]
        # Far from the optimum the Hessian of a lopsided pair is nearly zero and a full Newton
        # step can overshoot by thousands of Elo: cap any one move at MAX_STEP natural units.
        big = float(np.max(np.abs(step)))
        if big > _MAX_STEP:
            step *= _MAX_STEP / big
        theta = pack(x, eta)
        t = 1.0
        while True:  # step halving keeps every iteration an ascent step
            cand = theta.copy()
            cand[free] += t * step
            xc, ec = (cand[:n], float(cand[n])) if model == "davidson" else (cand, eta)
            llc, gc, hc = _objective(xc, ec, pairs, c, model, jf)
            if llc >= ll - 1e-12:
                break
            t *= 0.5
            if t < 1e-10:  # no ascent along the step: at the optimum to working precision
                return x, eta, it
        x, eta, ll, g, h = xc, ec, llc, gc, hc
        if np.max(np.abs(t * step)) < tol:
            return x, eta, it
    return x, eta, max_iter


class Fitter:
    """Set-up shared by the point fit and every bootstrap refit of one set of games."""

    def __init__(self, games: Sequence[GameResult], anchors: Mapping[str, float],
                 draw_model: DrawModel, prior: Prior | None, virtual_draws: float):
        if not games:
            raise ValueError("no finished games to rate")
        if draw_model not in ("half", "davidson"):
            raise ValueError(f"draw_model must be 'half' or 'davidson', not {draw_model!r}")
        self.games = list(games)
        self.pairs = index_games(self.games)
        names = self.pairs.players
        self.idx = {p: k for k, p in enumerate(names)}
        self.anchors = {p: float(v) for p, v in anchors.items() if p in self.idx}
        self.model = draw_model
        self.prior = prior_for(draw_model, prior)
        self.virtual = np.zeros((len(self.pairs.i), 3))
        if self.prior == "draws":
            self.virtual[:, 1] = virtual_draws
        self.jeffreys_tot = pair_counts(self.pairs).sum(axis=1) if self.prior == "jeffreys" \
            else None
        n = len(names)
        comps = components(range(n), zip(self.pairs.i.tolist(), self.pairs.j.tolist()))
        self.fixed: dict[int, float] = {self.idx[p]: v / ELO_PER_NAT for p, v in self.anchors.items()}
        # A group with no anchor is pinned at one player while fitting, then shifted to CENTRE.
        self.free_groups: list[list[int]] = []
        for comp in comps:
            if not any(k in self.fixed for k in comp):
                self.free_groups.append(comp)
        self.pin = {comp[0]: 0.0 for comp in self.free_groups}
        self.x0 = np.zeros(n)
        self.eta0 = 0.0

    def fit_counts(self, c: np.ndarray, x0: np.ndarray | None = None, eta0: float | None = None,
                   anchors: Mapping[str, float] | None = None,
                   ) -> tuple[np.ndarray, float, int]:
        """Fit weighted counts ``c``; ``anchors`` moves some anchors for this fit only (a
        bootstrap replicate of the ladder that holds them)."""
        held = dict(self.anchors)
        fixed = self.fixed
        if anchors:
            held.update({p: float(v) for p, v in anchors.items() if p in held})
            fixed = {self.idx[p]: v / ELO_PER_NAT for p, v in held.items()}
        x, eta, it = _newton(self.pairs, c + self.virtual, self.model, {**fixed, **self.pin},
                             self.x0 if x0 is None else x0, self.eta0 if eta0 is None else eta0,
                             self.jeffreys_tot)
        elo = x * ELO_PER_NAT
        for comp in self.free_groups:
            elo[comp] += CENTRE - elo[comp].mean()
        for k in fixed:  # exactly, not via the natural-unit round trip
            elo[k] = held[self.pairs.players[k]]
        return elo, eta, it

    def point_fit(self) -> tuple[EloFit, np.ndarray, float]:
        """The fit of the games themselves: the :class:`EloFit`, its Elo array and draw log-nu."""
        elo, eta, it = self.fit_counts(pair_counts(self.pairs))
        unanchored = frozenset(self.pairs.players[k] for comp in self.free_groups for k in comp)
        fit = EloFit(dict(zip(self.pairs.players, elo.tolist())), dict(self.anchors),
                     math.exp(eta) if self.model == "davidson" else None, unanchored, it)
        return fit, elo, eta

    def to_x(self, elo: np.ndarray) -> np.ndarray:
        x = elo / ELO_PER_NAT
        for comp in self.free_groups:  # put pinned players back at 0
            x[comp] -= x[comp[0]]
        return x


def fit_elo(games: Sequence[GameResult], anchors: Mapping[str, float] | None = None, *,
            draw_model: DrawModel = "half", prior: Prior | None = None,
            virtual_draws: float = VIRTUAL_DRAWS) -> EloFit:
    """Joint maximum-likelihood Elo ratings of every player in ``games``.

    ``anchors`` maps player names to ratings held fixed (anchors absent from the games are
    ignored). See the module docstring for the model, the prior and the centring convention.
    """
    return Fitter(games, anchors or {}, draw_model, prior, virtual_draws).point_fit()[0]
