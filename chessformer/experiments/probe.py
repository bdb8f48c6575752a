"""The per-move view on held-out positions: what each expert, the ensemble and each model plays.

:func:`probe_positions` replays held-out games and records, at every position, Stockfish's
depth-1 move and every expert's exact move distribution; :func:`chessformer.model.inference.argmax_moves` gives a model's most
likely legal move there. The statistics are over positions, but positions of one game are not
independent and every arm is measured on the *same* positions, so (:class:`Clusters`):

* every rate's 95% interval is a bootstrap over held-out games (clusters), and over the arm's
  training seeds (a rate is the mean over its seeds' models);
* arm against arm is a paired difference: both arms on the same resampled games.

:func:`training_overlap` measures how many probe positions occur in an arm's training games (a
held-out game can walk into a position the model was trained on, above all in the opening).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import chess
import chess.pgn
import numpy as np

from chessformer.experiments.entropy import position_key
from chessformer.utils import progress

#: One model's argmax per probe position: ``{(game, ply): uci}``.
Argmax = Mapping[tuple[int, int], str]


# ---------------------------------------------------------------------------------------------
# Held-out positions: Stockfish's move and every expert's distribution
# ---------------------------------------------------------------------------------------------

@dataclass
class Position:
    game: int
    ply: int
    mover: str  # the expert who played the move in the held-out game
    played: str
    sf: str  # Stockfish depth-1 move
    dists: dict[str, dict[str, float]]  # expert -> distribution
    inside: dict[str, bool]  # expert -> position inside its region
    hidden_sf: dict[str, bool]  # expert -> Stockfish's move is in its blind spot
    plurality: str  # the ensemble's moves
    mean: str
    key: str = ""  # the position (FEN without move counters), for the overlap with training data


def read_pgn_games(path: Path) -> list[tuple[dict[str, str], list[str]]]:
    out = []
    with open(path, encoding="utf-8") as f:
        while (g := chess.pgn.read_game(f)) is not None:
            out.append((dict(g.headers), [m.uci() for m in g.mainline_moves()]))
    return out


def probe_positions(games: Sequence[tuple[dict[str, str], list[str]]], pool, max_plies: int,
                    stockfish: str | None = None, min_ply: int = 0) -> list[Position]:
    """Every position of ``games`` at plies ``min_ply .. max_plies - 1`` with what each expert of
    ``pool`` would play there (exact distributions) and Stockfish's depth-1 move."""
    from chessformer.core.engine import Limit
    from chessformer.play.ensemble import combine_distributions
    from chessformer.play.experts import Expert
    from chessformer.play.players import EnginePool

    out: list[Position] = []
    rng = np.random.default_rng(0)
    with EnginePool(stockfish) as engines:
        experts = {e.name: Expert(e, engines) for e in pool.experts}
        sf = engines.get({})
        bar = progress(total=len(games), desc="probe positions", unit="game")
        for gi, (headers, moves) in enumerate(games):
            board = chess.Board()
            for t, uci in enumerate(moves[:max_plies]):
                if t >= min_ply and not board.is_game_over():
                    best = sf.bestmove(moves[:t], Limit(depth=1))
                    assert best is not None
                    mv = chess.Move.from_uci(best)
                    dists = {n: e.move_distribution(board, moves[:t]) for n, e in experts.items()}
                    out.append(Position(
                        gi, t, headers["White" if t % 2 == 0 else "Black"], uci, best, dists,
                        {n: e.region.contains(board, moves[:t]) for n, e in experts.items()},
                        {n: e.blind_spot.hides(board, mv) for n, e in experts.items()},
                        combine_distributions(list(dists.values()), "plurality", rng),
                        combine_distributions(list(dists.values()), "mean", rng),
                        position_key(board)))
                board.push_uci(uci)
            bar.update(1)
        bar.close()
    return out


def _mode(d: Mapping[str, float]) -> str:
    top = max(d.values())
    return min(m for m, p in d.items() if p >= top - 1e-12)



#: Bootstrap resamples of the held-out games behind every probe interval.
N_BOOT_PROBE = 1000


def _quantiles(samples: np.ndarray) -> tuple[float, float]:
    ok = samples[np.isfinite(samples)]
    if not len(ok):
        return math.nan, math.nan
    lo, hi = np.quantile(ok, [0.025, 0.975])
    return float(lo), float(hi)


class Clusters:
    """Positions grouped by held-out game, and one set of bootstrap resamples of the games that
    every measure over these positions shares (so that differences are paired)."""

    def __init__(self, positions: Sequence[Position], n_boot: int = N_BOOT_PROBE, seed: int = 0):
        games = sorted({p.game for p in positions})
        index = {g: i for i, g in enumerate(games)}
        self.gid = np.array([index[p.game] for p in positions], dtype=np.int64)
        self.n_games = len(games)
        self.positions = len(positions)
        self.rng = np.random.default_rng(seed)
        g = max(self.n_games, 1)
        self.weights = np.stack([np.bincount(self.rng.integers(0, g, g), minlength=g)
                                 for _ in range(n_boot)]).astype(float)  # (B, G)
        self.per_game_n = np.bincount(self.gid, minlength=g).astype(float)

    def _resampled(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Point rates (S,) and resampled rates (B,) of per-seed values (S, P), the seeds
        resampled with replacement in every resample."""
        values = np.atleast_2d(np.asarray(values, dtype=float))
        s = len(values)
        per_game = np.stack([np.bincount(self.gid, weights=v, minlength=max(self.n_games, 1))
                             for v in values])  # (S, G)
        point = per_game.sum(axis=1) / max(self.positions, 1)
        with np.errstate(invalid="ignore", divide="ignore"):
            rates = (per_game @ self.weights.T) / (self.weights @ self.per_game_n)  # (S, B)
        picks = self.rng.integers(0, s, size=(len(self.weights), s))
        return point, rates[picks, np.arange(len(self.weights))[:, None]].mean(axis=1)

    def rate(self, values: np.ndarray) -> dict[str, Any]:
        """Mean of ``values`` (per seed x position; 0/1 for hits) with its clustered interval."""
        if not self.positions:
            return {"rate": math.nan, "lo": math.nan, "hi": math.nan, "n": 0, "games": 0,
                    "seeds": len(np.atleast_2d(values))}
        point, boot = self._resampled(values)
        lo, hi = _quantiles(boot)
        return {"rate": float(point.mean()), "lo": lo, "hi": hi, "n": self.positions,
                "games": self.n_games, "seeds": len(point)}

    def difference(self, a: np.ndarray, b: np.ndarray) -> dict[str, Any]:
        """Mean of ``a`` minus mean of ``b``, paired on the same positions and resampled games."""
        if not self.positions:
            return {"diff": math.nan, "lo": math.nan, "hi": math.nan}
        pa, ba = self._resampled(a)
        pb, bb = self._resampled(b)
        lo, hi = _quantiles(ba - bb)
        return {"diff": float(pa.mean() - pb.mean()), "lo": lo, "hi": hi}


def hits(positions: Sequence[Position], argmax: Sequence[Argmax], move) -> np.ndarray:
    """(seeds, positions): 1 where a seed's model plays ``move(position)``."""
    return np.array([[am.get((p.game, p.ply)) == move(p) for p in positions] for am in argmax],
                    dtype=float).reshape(len(argmax), len(positions))


def agreement_rows(positions: Sequence[Position], argmax: Mapping[str, Sequence[Argmax]],
                   experts: Sequence[str], *, seed: int = 0,
                   n_boot: int = N_BOOT_PROBE) -> dict[str, Any]:
    """How often each arm's models (argmax), the ensemble and (in expectation) each expert play
    Stockfish's move over ``positions``; arm against arm paired on the same positions."""
    cl = Clusters(positions, n_boot, seed)
    sf = {arm: hits(positions, ams, lambda p: p.sf) for arm, ams in argmax.items()}
    arms = list(sf)
    return {
        "positions": len(positions), "games": cl.n_games,
        "models": {arm: cl.rate(h) for arm, h in sf.items()},
        "ensemble_plurality": cl.rate(np.array([[p.plurality == p.sf for p in positions]])),
        "ensemble_mean": cl.rate(np.array([[p.mean == p.sf for p in positions]])),
        "experts_expected": {e: cl.rate(np.array([[p.dists[e].get(p.sf, 0.0) for p in positions]]))
                             for e in experts},
        "differences": [{"a": a, "b": b, **cl.difference(sf[a], sf[b])}
                        for i, a in enumerate(arms) for b in arms[i + 1:]],
    }


def identification(positions: Sequence[Position], argmax: Mapping[str, Sequence[Argmax]], *,
                   seed: int = 0, n_boot: int = N_BOOT_PROBE) -> dict[str, Any]:
    """Where the expert who played differs from the pool's plurality move: does each arm's model
    copy the acting expert's most likely move or the plurality move? (Paired on positions.)"""
    sel = [p for p in positions if p.mover in p.dists and _mode(p.dists[p.mover]) != p.plurality]
    cl = Clusters(sel, n_boot, seed)
    out: dict[str, Any] = {"positions": len(sel), "games": cl.n_games, "models": {}}
    for arm, ams in argmax.items():
        acting = hits(sel, ams, lambda p: _mode(p.dists[p.mover]))
        plural = hits(sel, ams, lambda p: p.plurality)
        out["models"][arm] = {"acting_expert": cl.rate(acting), "plurality": cl.rate(plural),
                              "difference": cl.difference(acting, plural)}
    return out


def training_keys(games: Iterable[Sequence[str]], max_plies: int | None = None) -> set[str]:
    """Every position (:func:`~chessformer.experiments.entropy.position_key`) of ``games``."""
    keys: set[str] = set()
    for moves in games:
        board = chess.Board()
        keys.add(position_key(board))
        for uci in moves[:max_plies]:
            board.push_uci(uci)
            keys.add(position_key(board))
    return keys


def training_overlap(positions: Sequence[Position], keys: set[str]) -> dict[str, Any]:
    """How many probe positions occur in a training set (positions by FEN without counters)."""
    seen = sum(p.key in keys for p in positions)
    n = len(positions)
    return {"positions": n, "seen": seen, "share": seen / n if n else math.nan}
