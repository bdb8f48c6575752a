"""Ratings on one anchored Elo scale, with bootstrap 95% intervals, and Glicko-2 as a second number.

    >>> from chessformer.rating.elo import GameResult, rate
    >>> games = [GameResult("model", "sf1", 1.0), GameResult("sf1", "model", 0.5)] * 20
    >>> [(r.player, round(r.elo)) for r in rate(games, {"sf1": 1554.0}, n_boot=50)]
    [('model', 1739), ('sf1', 1554)]

Everything here is a pure function over game results except :func:`read_games`, which reads the
arena's ``games.jsonl`` files.

The model (:func:`fit_elo`)
    Bradley-Terry on the logistic Elo scale: P(i scores against j) = 1 / (1 + 10^((Rj - Ri) / 400)).
    By default a draw counts as half a win and half a loss (the quasi-likelihood that makes the fit
    match each player's expected score); ``draw_model="davidson"`` instead fits Davidson's (1970)
    three-outcome model with one draw parameter nu shared by all games:
    P(win) : P(draw) : P(loss) = 10^(d/800) : nu : 10^(-d/800), with d = Ri - Rj.
    Ratings are joint maximum-likelihood estimates over every player in the games (Newton's method
    with step halving; the log-likelihood is concave), with some players held fixed as anchors.

The prior (why perfect scores do not diverge)
    As in BayesElo, each pair of players that met at least once gets ``virtual_draws`` extra drawn
    games (default :data:`VIRTUAL_DRAWS` = 1, i.e. one virtual draw per pair). A 100-0 score then
    gives a finite +921 Elo instead of infinity; with tens of games per pair it moves estimates by
    a few Elo. The virtual draws follow the pairs that met in the *original* games, so every
    bootstrap resample is fitted under the same prior.

Without anchors (or for a group of players not connected by games to any anchor) the scale has no
origin: such a group is centred so that its players' mean rating is :data:`CENTRE` = 1500 (Glicko's
default), and only differences inside it mean anything.

Intervals
    Percentile bootstrap: games are resampled with replacement (or, when games carry a ``pair``
    key, whole colour-swapped pairs are, since the two games of a pair share an opening), every
    resample is refitted, and the 2.5th and 97.5th percentiles of each player's rating are reported.
    Resampling is seeded. Anchors have zero-width intervals: their uncertainty is not propagated
    (a ladder's own interval is stated in its file). :class:`BootstrapFit` keeps every resample so
    that differences between players (:meth:`BootstrapFit.difference`) use the same resamples.

Also here, fishtest style (pure functions over counts): likelihood of superiority, Elo with a 95%
interval from win/draw/loss counts (:func:`elo_from_wdl`) and from pentanomial counts of
colour-swapped pairs (:func:`elo_from_pentanomial`); and Glicko-2 (Glickman 2012, "Example of the
Glicko-2 system") computed the transcendence paper's way: per player, game by game, against
opponents with fixed ratings and deviation 0 (:func:`glicko2_vs_fixed`).
"""

from __future__ import annotations

import json
import math
import os
from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, NamedTuple

import numpy as np

#: Elo points per natural-log unit of odds: a 400-point gap is 10:1 odds.
ELO_PER_NAT = 400.0 / math.log(10.0)
#: Mean rating of a group of players with no anchor among them.
CENTRE = 1500.0
#: BayesElo-style prior: virtual drawn games added to each pair of players that met.
VIRTUAL_DRAWS = 1.0
#: The paper's Stockfish anchors (Zhang et al. 2024): Skill Level 1..5 at 0.1 s a move (SF 16.1).
PAPER_STOCKFISH_ELO = {1: 1554.0, 2: 1759.0, 3: 1867.0, 4: 2006.0, 5: 2148.0}

DrawModel = Literal["half", "davidson"]


# --------------------------------------------------------------------------------------------
# Game results


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


RESULT_SCORES = {"1-0": 1.0, "0-1": 0.0, "1/2-1/2": 0.5}


@dataclass
class GameFileSummary:
    """What :func:`read_games` found besides the finished games."""

    finished: int = 0
    unfinished: int = 0
    players: dict[str, dict] = field(default_factory=dict)  # name -> settings dict from the arena
    bad_lines: list[str] = field(default_factory=list)


def read_games(paths: Iterable[str | os.PathLike[str]],
               summary: GameFileSummary | None = None) -> list[GameResult]:
    """Read finished games from arena ``games.jsonl`` files (or folders holding one).

    Games whose result is ``*`` are unfinished: they are counted in ``summary.unfinished`` and left
    out. A game's ``pair`` key is ``(file, cell, pair)`` so pair numbers from different cells or
    files never merge. Lines that are not valid JSON or lack fields are skipped and listed in
    ``summary.bad_lines`` (``file:line: why``).
    """
    summary = summary if summary is not None else GameFileSummary()
    games: list[GameResult] = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            path = path / "games.jsonl"
        with open(path, encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    rec = json.loads(line)
                    result = rec["result"]
                    white, black = str(rec["white"]), str(rec["black"])
                except (json.JSONDecodeError, KeyError, TypeError) as e:
                    summary.bad_lines.append(f"{path}:{lineno}: {type(e).__name__}: {e}")
                    continue
                for side, name in (("white", white), ("black", black)):
                    settings = (rec.get("players") or {}).get(side)
                    if settings and name not in summary.players:
                        summary.players[name] = dict(settings)
                if result not in RESULT_SCORES:
                    summary.unfinished += 1
                    continue
                pair = rec.get("pair")
                key = None if pair is None else (str(path), rec.get("cell"), pair)
                games.append(GameResult(white, black, RESULT_SCORES[result], key))
                summary.finished += 1
    return games


# --------------------------------------------------------------------------------------------
# Maximum-likelihood fit


@dataclass(frozen=True)
class _Pairs:
    """Games aggregated per unordered pair of player indices (i < j): counts for i."""

    players: list[str]
    i: np.ndarray  # (P,) int
    j: np.ndarray  # (P,) int
    game_pair: np.ndarray  # (G,) index into the pair arrays, for each game
    game_outcome: np.ndarray  # (G,) 0 = i won, 1 = draw, 2 = j won


def _index(games: Sequence[GameResult], extra: Iterable[str] = ()) -> _Pairs:
    names = sorted({g.white for g in games} | {g.black for g in games} | set(extra))
    idx = {n: k for k, n in enumerate(names)}
    pair_id: dict[tuple[int, int], int] = {}
    gp = np.empty(len(games), dtype=np.int64)
    go = np.empty(len(games), dtype=np.int64)
    for k, g in enumerate(games):
        a, b, s = idx[g.white], idx[g.black], g.score
        if a > b:
            a, b, s = b, a, 1.0 - s
        gp[k] = pair_id.setdefault((a, b), len(pair_id))
        go[k] = 0 if s == 1.0 else (1 if s == 0.5 else 2)
    ij = np.array(list(pair_id), dtype=np.int64).reshape(-1, 2)
    return _Pairs(names, ij[:, 0], ij[:, 1], gp, go)


def _counts(pairs: _Pairs, weights: np.ndarray | None = None) -> np.ndarray:
    """(P, 3) weighted win/draw/loss counts for the first player of each pair."""
    n_pairs = len(pairs.i)
    flat = pairs.game_pair * 3 + pairs.game_outcome
    c = np.bincount(flat, weights=weights, minlength=3 * n_pairs)
    return c.reshape(n_pairs, 3).astype(float)


def _components(n: int, i: np.ndarray, j: np.ndarray) -> list[list[int]]:
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in zip(i.tolist(), j.tolist()):
        parent[find(a)] = find(b)
    groups: dict[int, list[int]] = defaultdict(list)
    for k in range(n):
        groups[find(k)].append(k)
    return list(groups.values())


def _loglik_grad_hess(x: np.ndarray, eta: float, pairs: _Pairs, c: np.ndarray, model: DrawModel,
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


def _newton(pairs: _Pairs, c: np.ndarray, model: DrawModel, fixed: dict[int, float],
            x0: np.ndarray, eta0: float, tol: float = 1e-9, max_iter: int = 100,
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

    ll, g, h = _loglik_grad_hess(x, eta, pairs, c, model)
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
            llc, gc, hc = _loglik_grad_hess(xc, ec, pairs, c, model)
            if llc >= ll - 1e-12:
                break
            t *= 0.5
            if t < 1e-10:  # no ascent along the step: at the optimum to working precision
                return x, eta, it
        x, eta, ll, g, h = xc, ec, llc, gc, hc
        if np.max(np.abs(t * step)) < tol:
            return x, eta, it
    return x, eta, max_iter


class _Fitter:
    """Set-up shared by the point fit and every bootstrap refit of one set of games."""

    def __init__(self, games: Sequence[GameResult], anchors: Mapping[str, float],
                 draw_model: DrawModel, virtual_draws: float):
        if not games:
            raise ValueError("no finished games to rate")
        if draw_model not in ("half", "davidson"):
            raise ValueError(f"draw_model must be 'half' or 'davidson', not {draw_model!r}")
        self.games = list(games)
        self.pairs = _index(self.games)
        names = self.pairs.players
        self.idx = {p: k for k, p in enumerate(names)}
        self.anchors = {p: float(v) for p, v in anchors.items() if p in self.idx}
        self.model = draw_model
        self.virtual = np.zeros((len(self.pairs.i), 3))
        self.virtual[:, 1] = virtual_draws
        n = len(names)
        comps = _components(n, self.pairs.i, self.pairs.j)
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
                   ) -> tuple[np.ndarray, float, int]:
        x, eta, it = _newton(self.pairs, c + self.virtual, self.model, {**self.fixed, **self.pin},
                             self.x0 if x0 is None else x0, self.eta0 if eta0 is None else eta0)
        elo = x * ELO_PER_NAT
        for comp in self.free_groups:
            elo[comp] += CENTRE - elo[comp].mean()
        for k, v in self.fixed.items():  # exactly, not via the natural-unit round trip
            elo[k] = self.anchors[self.pairs.players[k]]
        return elo, eta, it

    def to_x(self, elo: np.ndarray) -> np.ndarray:
        x = elo / ELO_PER_NAT
        for comp in self.free_groups:  # put pinned players back at 0
            x[comp] -= x[comp[0]]
        return x


def fit_elo(games: Sequence[GameResult], anchors: Mapping[str, float] | None = None, *,
            draw_model: DrawModel = "half", virtual_draws: float = VIRTUAL_DRAWS) -> EloFit:
    """Joint maximum-likelihood Elo ratings of every player in ``games``.

    ``anchors`` maps player names to ratings held fixed (anchors absent from the games are
    ignored). See the module docstring for the model, the prior and the centring convention.
    """
    f = _Fitter(games, anchors or {}, draw_model, virtual_draws)
    elo, eta, it = f.fit_counts(_counts(f.pairs))
    unanchored = frozenset(f.pairs.players[k] for comp in f.free_groups for k in comp)
    return EloFit(dict(zip(f.pairs.players, elo.tolist())), dict(f.anchors),
                  math.exp(eta) if draw_model == "davidson" else None, unanchored, it)


# --------------------------------------------------------------------------------------------
# Bootstrap


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

    def _interval(self, values: np.ndarray) -> tuple[float, float]:
        if len(values) == 0:
            return math.nan, math.nan
        a = (1.0 - self.level) / 2.0
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

    def difference(self, a: str, b: str) -> Difference:
        """Rating of ``a`` minus ``b`` and its interval, over the same resamples."""
        diff = self.fit.ratings[a] - self.fit.ratings[b]
        lo, hi = self._interval(self._col(a) - self._col(b))
        return Difference(diff, lo, hi)

    def prob_superior(self, a: str, b: str) -> float:
        """Fraction of resamples in which ``a`` is rated above ``b`` (ties count half)."""
        d = self._col(a) - self._col(b)
        return float(np.mean(d > 0) + 0.5 * np.mean(d == 0)) if len(d) else math.nan


def _records(games: Sequence[GameResult]) -> dict[str, tuple[int, int, int]]:
    rec: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for g in games:
        ow = 0 if g.score == 1.0 else (1 if g.score == 0.5 else 2)
        rec[g.white][ow] += 1
        rec[g.black][2 - ow] += 1
    return {p: (v[0], v[1], v[2]) for p, v in rec.items()}


def bootstrap(games: Sequence[GameResult], anchors: Mapping[str, float] | None = None, *,
              n_boot: int = 1000, seed: int = 0, level: float = 0.95,
              draw_model: DrawModel = "half", virtual_draws: float = VIRTUAL_DRAWS,
              by_pair: bool | None = None) -> BootstrapFit:
    """Fit, then refit ``n_boot`` resamples of the games (whole pairs when games carry ``pair``).

    ``by_pair=None`` resamples pairs when every game has a ``pair`` key. Seeded: the same games,
    anchors and seed give the same intervals.
    """
    f = _Fitter(games, anchors or {}, draw_model, virtual_draws)
    elo, eta, it = f.fit_counts(_counts(f.pairs))
    unanchored = frozenset(f.pairs.players[k] for comp in f.free_groups for k in comp)
    fit = EloFit(dict(zip(f.pairs.players, elo.tolist())), dict(f.anchors),
                 math.exp(eta) if draw_model == "davidson" else None, unanchored, it)
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
        c = _counts(f.pairs, picks[group].astype(float))
        samples[b], _, _ = f.fit_counts(c, x_hat, eta)  # warm start: a few Newton steps
    return BootstrapFit(fit, f.pairs.players, samples, level, _records(f.games))


def rate(games: Sequence[GameResult], anchors: Mapping[str, float] | None = None, *,
         n_boot: int = 1000, seed: int = 0, level: float = 0.95, draw_model: DrawModel = "half",
         virtual_draws: float = VIRTUAL_DRAWS) -> list[Rating]:
    """Ratings of every player, best first, with ``level`` bootstrap intervals."""
    return bootstrap(games, anchors, n_boot=n_boot, seed=seed, level=level, draw_model=draw_model,
                     virtual_draws=virtual_draws).ratings()


def difference(games: Sequence[GameResult], anchors: Mapping[str, float] | None, a: str, b: str,
               *, n_boot: int = 1000, seed: int = 0, level: float = 0.95,
               draw_model: DrawModel = "half", virtual_draws: float = VIRTUAL_DRAWS) -> Difference:
    """Rating of ``a`` minus rating of ``b`` with an interval from the same bootstrap resamples."""
    return bootstrap(games, anchors, n_boot=n_boot, seed=seed, level=level, draw_model=draw_model,
                     virtual_draws=virtual_draws).difference(a, b)


# --------------------------------------------------------------------------------------------
# Fishtest-style statistics over counts


def elo_from_score(score: float) -> float:
    """Elo difference whose logistic expected score is ``score`` (+-inf at 1 and 0)."""
    if score <= 0.0:
        return -math.inf
    if score >= 1.0:
        return math.inf
    return -400.0 * math.log10(1.0 / score - 1.0)


def score_from_elo(elo: float) -> float:
    return 1.0 / (1.0 + 10.0 ** (-elo / 400.0))


def los(wins: float, losses: float) -> float:
    """Likelihood of superiority from decisive games (draws carry no information here).

    LOS = Phi((W - L) / sqrt(W + L)), the normal approximation used by fishtest and cutechess.
    """
    if wins + losses == 0:
        return 0.5
    return 0.5 * (1.0 + math.erf((wins - losses) / math.sqrt(2.0 * (wins + losses))))


class EloInterval(NamedTuple):
    elo: float
    lo: float
    hi: float
    los: float


_Z95 = 1.959963984540054


def _elo_from_distribution(scores: Sequence[float], counts: Sequence[float], z: float,
                           ) -> tuple[float, float, float]:
    counts_ = np.asarray(counts, dtype=float)
    n = counts_.sum()
    if n == 0:
        return math.nan, math.nan, math.nan
    p = counts_ / n
    s = np.asarray(scores, dtype=float)
    mu = float(np.sum(p * s))
    var = float(np.sum(p * (s - mu) ** 2))
    half = z * math.sqrt(var / n)
    return elo_from_score(mu), elo_from_score(mu - half), elo_from_score(mu + half)


def elo_from_wdl(wins: int, draws: int, losses: int, *, z: float = _Z95) -> EloInterval:
    """Elo from trinomial counts with a normal-approximation interval on the mean score.

    The interval is computed on the score scale, mu +- z * sd / sqrt(N), then mapped to Elo
    (fishtest's ``stat_util`` does the same).
    """
    elo, lo, hi = _elo_from_distribution([1.0, 0.5, 0.0], [wins, draws, losses], z)
    return EloInterval(elo, lo, hi, los(wins, losses))


def elo_from_pentanomial(counts: Sequence[int], *, z: float = _Z95) -> EloInterval:
    """Elo from pentanomial counts ``[LL, LD, DD+WL, WD, WW]`` of colour-swapped game pairs.

    Each pair scores 0, 0.25, 0.5, 0.75 or 1 per game; the variance is that of pair scores, so
    the correlation between the two games of a pair (same opening) is accounted for. LOS here is
    Phi(mean excess / its standard error), fishtest's pentanomial form.
    """
    if len(counts) != 5:
        raise ValueError(f"pentanomial counts need 5 entries, got {len(counts)}")
    scores = [0.0, 0.25, 0.5, 0.75, 1.0]
    elo, lo, hi = _elo_from_distribution(scores, counts, z)
    n = float(sum(counts))
    if n == 0:
        return EloInterval(elo, lo, hi, 0.5)
    p = np.asarray(counts, float) / n
    mu = float(np.sum(p * np.asarray(scores)))
    sd = math.sqrt(float(np.sum(p * (np.asarray(scores) - mu) ** 2)) / n)
    los_ = 0.5 if sd == 0 else 0.5 * (1.0 + math.erf((mu - 0.5) / (sd * math.sqrt(2.0))))
    return EloInterval(elo, lo, hi, los_)


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


# --------------------------------------------------------------------------------------------
# Glicko-2


GLICKO2_SCALE = 173.7178  # Glickman's 400 / ln(10)


@dataclass(frozen=True)
class Glicko2:
    """A Glicko-2 rating on the Glicko scale: rating, deviation (RD), volatility."""

    rating: float = 1500.0
    rd: float = 350.0
    volatility: float = 0.06

    @property
    def interval(self) -> tuple[float, float]:
        """rating +- 1.96 RD (Glickman's approximate 95% interval)."""
        return self.rating - _Z95 * self.rd, self.rating + _Z95 * self.rd


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


def glicko2_vs_fixed(results: Iterable[tuple[float, float]], *, start: Glicko2 = Glicko2(),
                     tau: float = 0.5) -> Glicko2:
    """The transcendence paper's Glicko-2: one game per rating period, opponents at RD 0.

    ``results`` are ``(opponent rating, score)`` in the order played, e.g. Stockfish Skill Level
    1..5 at :data:`PAPER_STOCKFISH_ELO`. Starts from 1500 / 350 / 0.06 unless ``start`` says
    otherwise.
    """
    r = start
    for opp, score in results:
        r = glicko2_update(r, [(opp, 0.0, score)], tau=tau)
    return r


def glicko2_ratings(games: Iterable[GameResult], fixed: Mapping[str, float], *,
                    start: Glicko2 = Glicko2(), tau: float = 0.5) -> dict[str, Glicko2]:
    """:func:`glicko2_vs_fixed` for every player not in ``fixed``, over its games against players
    in ``fixed``, in the order given (games between two unfixed players are ignored)."""
    per: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for g in games:
        if g.white not in fixed and g.black in fixed:
            per[g.white].append((fixed[g.black], g.score))
        elif g.black not in fixed and g.white in fixed:
            per[g.black].append((fixed[g.white], 1.0 - g.score))
    return {p: glicko2_vs_fixed(res, start=start, tau=tau) for p, res in per.items()}


# --------------------------------------------------------------------------------------------
# Ladder files


def load_ladder(path: str | os.PathLike[str]) -> dict[str, float]:
    """Anchors ``{rung name: elo}`` from a ``stockfish/ladder-<version>.json`` file."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    try:
        return {str(r["name"]): float(r["elo"]) for r in data["rungs"]}
    except (KeyError, TypeError) as e:
        raise ValueError(f"{path}: not a ladder file (need rungs with name and elo): {e}") from e
