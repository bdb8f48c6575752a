"""Players that choose one move at a time: Stockfish, simulated experts, the uniform random mover.

    >>> import chess, numpy as np
    >>> from chessformer.play.players import PlayerSpec, make_player, EnginePool
    >>> spec = PlayerSpec.stockfish(skill=1, nodes=1000)
    >>> with EnginePool() as pool:                                       # doctest: +SKIP
    ...     player = make_player(spec, pool)
    ...     player.choose(chess.Board(), [], np.random.default_rng(0))

A :class:`PlayerSpec` is plain data (name, kind, settings) that crosses process boundaries and
lands in every game record; :func:`make_player` turns it into an object with
``choose(board, moves, rng) -> chess.Move``. The model is not here: it plays many games at once
in one batched forward pass (see :mod:`chessformer.play.arena`). Engine options are fixed per engine
process (never changed per move); games that need other options get another process from the
:class:`EnginePool`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import chess
import numpy as np

from chessformer.play.engine import Limit, UciEngine, require_stockfish

__all__ = ["EnginePool", "Player", "PlayerSpec", "RandomPlayer", "StockfishPlayer", "make_player"]


@dataclass(frozen=True)
class PlayerSpec:
    """What a player is, as data: ``kind`` is model, stockfish, expert, ensemble or random."""

    name: str
    kind: str
    settings: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, **dict(self.settings)}

    @staticmethod
    def stockfish(*, skill: int | None = None, elo: int | None = None, nodes: int | None = None,
                  depth: int | None = None, movetime_ms: int | None = None,
                  name: str | None = None) -> PlayerSpec:
        settings: dict[str, Any] = {}
        if skill is not None:
            settings["skill"] = skill
        if elo is not None:
            settings["uci_elo"] = elo
        settings.update(Limit(nodes, depth, movetime_ms).describe())
        if name is None:
            name = "stockfish " + " ".join(f"{k}={v}" for k, v in settings.items())
        return PlayerSpec(name, "stockfish", settings)

    @staticmethod
    def random() -> PlayerSpec:
        return PlayerSpec("random", "random", {})


class Player(Protocol):
    spec: PlayerSpec

    def choose(self, board: chess.Board, moves: Sequence[str], rng: np.random.Generator) -> chess.Move:
        """The move to play in ``board`` (reached by ``moves`` from the start position)."""
        ...


class EnginePool:
    """Engine processes of one worker, one per distinct option set, started on first use."""

    def __init__(self, stockfish_path: str | None = None, *, timeout: float = 30.0) -> None:
        self._path = stockfish_path
        self._engines: dict[str, UciEngine] = {}
        self.timeout = timeout

    @property
    def path(self) -> str:
        if self._path is None:
            self._path = str(require_stockfish())
        return self._path

    def get(self, options: Mapping[str, object]) -> UciEngine:
        key = json.dumps(dict(options), sort_keys=True)
        eng = self._engines.get(key)
        if eng is None:
            eng = self._engines[key] = UciEngine(self.path, options, timeout=self.timeout)
        return eng

    def engines(self) -> list[UciEngine]:
        return list(self._engines.values())

    def close(self) -> None:
        for eng in self._engines.values():
            eng.close()
        self._engines.clear()

    def __enter__(self) -> EnginePool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def limit_of(settings: Mapping[str, Any]) -> Limit:
    return Limit(settings.get("nodes"), settings.get("depth"), settings.get("movetime_ms"))


class StockfishPlayer:
    """Stockfish at a Skill Level or UCI_Elo, searching to a node, depth or time limit."""

    def __init__(self, spec: PlayerSpec, pool: EnginePool) -> None:
        self.spec = spec
        s = spec.settings
        options: dict[str, object] = {}
        if "skill" in s:
            options["Skill Level"] = int(s["skill"])
        if "uci_elo" in s:
            options["UCI_LimitStrength"] = "true"
            options["UCI_Elo"] = int(s["uci_elo"])
        self.engine = pool.get(options)
        self.limit = limit_of(s)

    def choose(self, board: chess.Board, moves: Sequence[str], rng: np.random.Generator) -> chess.Move:
        uci = self.engine.bestmove(moves, self.limit)
        if uci is None:
            raise RuntimeError("Stockfish found no move in a position that has legal moves")
        return chess.Move.from_uci(uci)


class RandomPlayer:
    """A uniformly random legal move: the bottom rung of every ladder."""

    def __init__(self, spec: PlayerSpec) -> None:
        self.spec = spec

    def choose(self, board: chess.Board, moves: Sequence[str], rng: np.random.Generator) -> chess.Move:
        legal = list(board.legal_moves)
        return legal[int(rng.integers(len(legal)))]


def make_player(spec: PlayerSpec, pool: EnginePool) -> Player:
    if spec.kind == "stockfish":
        return StockfishPlayer(spec, pool)
    if spec.kind == "random":
        return RandomPlayer(spec)
    if spec.kind == "expert":
        from chessformer.play.experts import Expert

        return Expert.from_settings(spec, pool)
    if spec.kind == "ensemble":
        from chessformer.play.experts import Ensemble

        return Ensemble.from_settings(spec, pool)
    raise ValueError(f"player kind {spec.kind!r} cannot move one game at a time (model players "
                     f"are batched by the arena)")
