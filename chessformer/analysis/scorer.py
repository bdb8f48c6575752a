"""The position scorer: Stockfish's expected score of every legal move of a position.

    >>> from chessformer.analysis.scorer import Scorer
    >>> with Scorer(cache="scores.jsonl") as scorer:                     # doctest: +SKIP
    ...     [pos] = scorer.score(["rnbqkbnr/pppppppp/8/8/4P3/8/PPPP1PPP/RNBQKBNR b KQkq - 0 1"])
    ...     pos.moves[0], pos.expected[0]

Every legal move gets a score, in one of two ways (:data:`MODES`): ``per-move`` (the default),
one search per legal move (``go nodes N searchmoves MOVE``, python-chess's ``root_moves``) at N
nodes a move; or ``multipv``, one search with ``MultiPV`` set to the number of legal moves, the
N nodes shared by all the lines. Each move's centipawns (for the side to move, after the move)
become an expected score through python-chess's WDL model of the engine's version
(``Score.wdl(model=..., ply=...)``: win + draw / 2). A position's searches start from
``ucinewgame`` (cleared hash) and the FEN alone, so its scores do not depend on what the engine
searched before: the cache (:mod:`chessformer.formats.scores`, keyed by FEN, engine and limit)
holds what a rerun would compute. Positions are scored by a pool of engine processes (one
Stockfish thread each); each result is appended to the cache as it arrives, so a killed analysis
resumes where it stopped.

The default, 1,000 nodes a move, was chosen by :func:`stability` against ten times as many
nodes, on 100 positions of real games: per-move searches agreed better with the 10x limit than
MultiPV searches of the same or greater cost, and were faster (docs/results.md, "Position
scorer").
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any

import chess
import chess.engine
import numpy as np

from chessformer.core.engine import MATE_CP, Limit, UciEngine, require_stockfish
from chessformer.formats import scores as scores_format
from chessformer.formats.scores import ScoredPosition
from chessformer.utils import UserError, log, mp_context

__all__ = ["DEFAULT_MODE", "DEFAULT_NODES", "MODES", "Scorer", "expected_score", "score_position", "stability"]

#: The default search: see the module docstring.
DEFAULT_MODE = "per-move"
DEFAULT_NODES = 1_000
#: Stockfish's largest MultiPV (its UCI option's maximum); no position has more legal moves.
MAX_MULTIPV = 500
ENGINE_OPTIONS: dict[str, object] = {"Threads": 1, "Hash": 16, "MultiPV": MAX_MULTIPV}
_MATE_BAND = 10_000


def wdl_model(engine_name: str) -> str:
    """python-chess's WDL model for an engine's ``id name`` (``Stockfish 15.1`` -> ``sf15.1``);
    its newest Stockfish model for any other version or engine."""
    for version in ("16", "15.1", "15", "14", "12"):
        if engine_name.startswith(f"Stockfish {version}"):
            return f"sf{version}"
    return "sf"


def _score(cp: int) -> chess.engine.Score:
    if abs(cp) >= MATE_CP - _MATE_BAND:
        n = MATE_CP - abs(cp)
        return chess.engine.Mate(n if cp > 0 else -n)
    return chess.engine.Cp(cp)


def expected_score(cp: int, ply: int, model: str = "sf15.1") -> float:
    """The expected score (win 1, draw 1/2) for the side to move of ``cp`` centipawns (mate in n:
    +-(100000 - n)) at ``ply``."""
    wdl = _score(cp).wdl(model=model, ply=ply)  # type: ignore[arg-type]
    return float(wdl.expectation())


#: How a position is searched: ``multipv`` (one search, every move a line, the node limit
#: shared by the lines) or ``per-move`` (one search per legal move, ``go nodes N searchmoves
#: MOVE``, the node limit per move).
MODES = ("multipv", "per-move")


def limit_json(nodes: int, mode: str) -> dict[str, int]:
    """The search limit as the cache records it: ``{"nodes": N}`` or ``{"nodes_per_move": N}``."""
    return {"nodes": nodes} if mode == "multipv" else {"nodes_per_move": nodes}


def score_position(engine: UciEngine, fen: str, nodes: int, mode: str = "multipv",
                   ) -> ScoredPosition:
    """Every legal move of ``fen`` scored by ``engine`` (started with ``MultiPV`` >= the number
    of legal moves) in ``mode``; a move a MultiPV search did not report gets its own search."""
    board = chess.Board(fen)
    legal = [m.uci() for m in board.legal_moves]
    if not legal:
        raise ValueError(f"{fen}: no legal moves to score")
    limit = Limit(nodes=nodes)
    t0 = time.perf_counter()
    engine.new_game()
    lines: list[tuple[str, int]] = []
    if mode == "multipv":
        lines = engine.analyse([], limit, multipv=len(legal), fen=fen)
    seen = {m for m, _ in lines}
    for uci in legal:
        if uci not in seen:
            lines += engine.analyse([], limit, multipv=1, fen=fen, searchmoves=[uci])[:1]
    order = sorted(range(len(lines)), key=lambda i: -lines[i][1])  # stable: engine order on ties
    moves = [lines[i][0] for i in order]
    cps = [lines[i][1] for i in order]
    model = wdl_model(engine.name)
    ply = board.ply()
    return ScoredPosition(fen=fen, engine=engine.name, limit=limit_json(nodes, mode), moves=moves,
                          cp=cps, expected=[round(expected_score(c, ply, model), 6) for c in cps],
                          seconds=round(time.perf_counter() - t0, 4))


_ENGINE: UciEngine | None = None


def _init_worker(stockfish: str) -> None:
    global _ENGINE
    _ENGINE = UciEngine(stockfish, ENGINE_OPTIONS, timeout=120.0)


def _work(fen: str, nodes: int, mode: str) -> ScoredPosition:
    assert _ENGINE is not None
    return score_position(_ENGINE, fen, nodes, mode)


@dataclass
class ScoreStats:
    """What a :class:`Scorer` did: distinct positions asked for, found in the cache, scored."""

    positions: int = 0
    from_cache: int = 0
    scored_now: int = 0
    seconds: float = 0.0
    engine_seconds: float = 0.0

    @property
    def per_second_per_process(self) -> float:
        return self.scored_now / self.engine_seconds if self.engine_seconds else float("nan")


class Scorer:
    """Scores positions with ``processes`` engine processes, through an on-disk cache."""

    def __init__(self, cache: str | os.PathLike[str] | None, *, nodes: int = DEFAULT_NODES,
                 mode: str = DEFAULT_MODE, processes: int = 2,
                 stockfish: str | os.PathLike[str] | None = None) -> None:
        if nodes < 1:
            raise UserError(f"the scorer's node limit must be at least 1, not {nodes}")
        if mode not in MODES:
            raise UserError(f"the scorer's mode must be one of {', '.join(MODES)}, not {mode!r}")
        self.stockfish = str(require_stockfish(stockfish))
        self.nodes, self.mode = nodes, mode
        self.limit = limit_json(nodes, mode)
        self.processes = max(1, processes)
        self.cache_path = None if cache is None else scores_format.scores_path(cache)
        with UciEngine(self.stockfish, ENGINE_OPTIONS) as eng:
            self.engine = eng.name
        self._cached: dict[tuple[str, str, str], ScoredPosition] = (
            {} if self.cache_path is None else scores_format.read_scored(self.cache_path))
        self._file: Any = None
        if self.cache_path is not None:
            try:
                self._file = scores_format.open_cache(self.cache_path)
            except OSError as e:
                raise UserError(f"cannot write the scorer's cache {self.cache_path}: "
                                f"{e.strerror or e}") from None
        self.stats = ScoreStats()

    def key(self, fen: str) -> tuple[str, str, str]:
        return fen, self.engine, scores_format.limit_key(self.limit)

    def describe(self) -> str:
        return (f"{self.nodes:,} nodes a position (one MultiPV search)" if self.mode == "multipv"
                else f"{self.nodes:,} nodes a move (one search per legal move)")

    def cached(self, fen: str) -> ScoredPosition | None:
        return self._cached.get(self.key(fen))

    def score(self, fens: Iterable[str], *, progress: Any = None) -> list[ScoredPosition]:
        """Every position of ``fens`` scored (in their order), from the cache where it can."""
        fens = list(fens)
        t0 = time.perf_counter()
        unique = list(dict.fromkeys(fens))
        todo = [f for f in unique if self.key(f) not in self._cached]
        self.stats.positions += len(unique)
        self.stats.from_cache += len(unique) - len(todo)
        if progress is not None:
            progress.total = len(todo)
        if todo:
            log.info("scorer: %d positions to score (%d in the cache), %s, %d engine processes",
                     len(todo), len(unique) - len(todo), self.describe(), self.processes)
            self._score_all(todo, progress)
        self.stats.seconds += time.perf_counter() - t0
        return [self._cached[self.key(f)] for f in fens]

    def _keep(self, rec: ScoredPosition) -> None:
        self._cached[rec.key()] = rec
        if self._file is not None:
            scores_format.append_scored(self._file, rec)
        self.stats.scored_now += 1
        self.stats.engine_seconds += rec.seconds

    def _score_all(self, todo: Sequence[str], progress: Any) -> None:
        if self.processes == 1 or len(todo) == 1:
            _init_worker(self.stockfish)
            try:
                for fen in todo:
                    self._keep(_work(fen, self.nodes, self.mode))
                    if progress is not None:
                        progress.update(1)
            finally:
                if _ENGINE is not None:
                    _ENGINE.close()
            return
        with ProcessPoolExecutor(max_workers=min(self.processes, len(todo)),
                                 mp_context=mp_context(), initializer=_init_worker,
                                 initargs=(self.stockfish,)) as pool:
            futures = [pool.submit(_work, fen, self.nodes, self.mode) for fen in todo]
            for fut in as_completed(futures):
                self._keep(fut.result())
                if progress is not None:
                    progress.update(1)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> Scorer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def stability(low: Sequence[ScoredPosition], high: Sequence[ScoredPosition]) -> dict[str, float]:
    """How a limit's scores agree with a larger limit's on the same positions: the share where
    the best move is the same, where the low limit's best is in the high limit's top 3, the
    mean Spearman correlation of the moves' expected scores, the mean absolute difference of
    the expected score of each move and of a uniformly random move, and the mean loss (in
    expected score, by the high limit) of playing the low limit's best move."""
    same, top3, rho, diff, uniform, regret = [], [], [], [], [], []
    for a, b in zip(low, high):
        ea, eb = a.by_move(), b.by_move()
        moves = sorted(ea)
        xa = np.array([ea[m] for m in moves])
        xb = np.array([eb[m] for m in moves])
        same.append(a.best() == b.best())
        top3.append(a.best() in b.moves[:3])
        if len(moves) > 2 and xa.std() > 0 and xb.std() > 0:
            ra = np.argsort(np.argsort(-xa))
            rb = np.argsort(np.argsort(-xb))
            rho.append(float(np.corrcoef(ra, rb)[0, 1]))
        diff.append(float(np.abs(xa - xb).mean()))
        uniform.append(abs(float(xa.mean() - xb.mean())))
        regret.append(b.expected[0] - eb[a.best()])
    return {"positions": len(same), "same_best": float(np.mean(same)),
            "best_in_top3": float(np.mean(top3)), "spearman": float(np.mean(rho)),
            "mean_abs_diff": float(np.mean(diff)), "uniform_abs_diff": float(np.mean(uniform)),
            "best_regret": float(np.mean(regret))}
