"""Players that choose one move at a time, and the one parser of player tables.

    >>> import chess, numpy as np
    >>> from chessformer.play.players import EnginePool, make_player, parse_players
    >>> [spec] = parse_players({"kind": "stockfish", "skill": 1, "nodes": 1000}, "example")
    >>> with EnginePool() as pool:                                       # doctest: +SKIP
    ...     player = make_player(spec, pool)
    ...     player.choose(chess.Board(), [], np.random.default_rng(0))

:func:`parse_players` reads the player tables of grids (``[[opponent]]``, ``[[match]]`` players)
and ladders (``[[rung]]``) into :class:`~chessformer.play.spec.PlayerSpec` s; :func:`make_player`
turns a spec into an object with ``choose(board, moves, rng) -> chess.Move``. The model is not
here: it plays many games at once in one batched forward pass (see :mod:`chessformer.play.arena`).

Player tables (``kind`` and its settings; a search limit is ``nodes``, ``depth`` or
``movetime_ms``)::

    { kind = "stockfish", skill = 3, uci_elo = 1500, nodes = 1000, name = "..." }
    { kind = "uci", command = "gnuchess --uci", options = { Hash = 16 }, depth = 2 }
    { kind = "random" }
    { kind = "expert", name = "e", base = ..., noise = ... }  # one expert, as in data/experts/
    { kind = "experts", preset = "demo", only = ["eps80-a"] }  # every expert of a preset
    { kind = "ensemble", preset = "demo", rule = "plurality" }

``uci`` runs any UCI engine as a process (its ``command`` is a string split like a shell line,
or a list); its ``options`` are set once at start. Only engines that are deterministic at a node
or depth limit replay games identically: Stockfish at a Skill Level below 20 is not (it draws its
weakening from a generator seeded by the clock, so its games differ from run to run).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import chess
import numpy as np

from chessformer.core.engine import EngineError
from chessformer.play.ensemble import Ensemble, ensemble_spec
from chessformer.play.experts import Expert
from chessformer.play.presets import check_expert, load_experts
from chessformer.play.spec import EnginePool, PlayerSpec, check_uci, limit_of
from chessformer.utils import UserError

__all__ = ["EnginePool", "Player", "PlayerSpec", "RandomPlayer", "StockfishPlayer", "UciPlayer",
           "limit_of", "make_player", "parse_players"]

PLAYER_KINDS = ("stockfish", "uci", "random", "expert", "experts", "ensemble")
_LIMIT_KEYS = ("nodes", "depth", "movetime_ms")


class Player(Protocol):
    spec: PlayerSpec

    def choose(self, board: chess.Board, moves: Sequence[str], rng: np.random.Generator) -> chess.Move:
        """The move to play in ``board`` (reached by ``moves`` from the start position)."""
        ...


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


class UciPlayer:
    """Any UCI engine (its ``command`` and ``options``), searching to a node, depth or time limit."""

    def __init__(self, spec: PlayerSpec, pool: EnginePool) -> None:
        self.spec = spec
        s = spec.settings
        self.engine = pool.get(dict(s.get("options", {})), command=list(s["command"]))
        self.limit = limit_of(s)

    def choose(self, board: chess.Board, moves: Sequence[str], rng: np.random.Generator) -> chess.Move:
        uci = self.engine.bestmove(moves, self.limit)
        move = None if uci is None else chess.Move.from_uci(uci)
        if move is None or move not in board.legal_moves:
            raise EngineError(f"engine {self.engine.path} answered {uci!r}, not a legal move")
        return move


class RandomPlayer:
    """A uniformly random legal move: the bottom rung of every ladder."""

    def __init__(self, spec: PlayerSpec) -> None:
        self.spec = spec

    def choose(self, board: chess.Board, moves: Sequence[str], rng: np.random.Generator) -> chess.Move:
        legal = list(board.legal_moves)
        return legal[int(rng.integers(len(legal)))]


def make_player(spec: PlayerSpec, pool: EnginePool) -> Player:
    """The player of ``spec``, its engines taken from ``pool``."""
    if spec.kind == "stockfish":
        return StockfishPlayer(spec, pool)
    if spec.kind == "uci":
        return UciPlayer(spec, pool)
    if spec.kind == "random":
        return RandomPlayer(spec)
    if spec.kind == "expert":
        return Expert(spec, pool)
    if spec.kind == "ensemble":
        return Ensemble(spec, pool)
    raise ValueError(f"player kind {spec.kind!r} cannot move one game at a time (model players "
                     f"are batched by the arena)")


def parse_players(raw_list: Mapping[str, Any] | Sequence[Mapping[str, Any]],
                  where: str) -> list[PlayerSpec]:
    """The players of one table or a list of tables (``[[opponent]]``, ``[[rung]]``, a match's
    ``players``). Errors name ``where`` (and ``where`` + the table's number for a list); a table
    of kind ``experts`` gives several players."""
    if isinstance(raw_list, Mapping):
        return _parse_one(raw_list, where)
    return [spec for i, raw in enumerate(raw_list) for spec in _parse_one(raw, f"{where} {i + 1}")]


def _parse_one(raw: Mapping[str, Any], where: str) -> list[PlayerSpec]:
    kind = raw.get("kind")
    if kind == "stockfish":
        _check_keys(raw, {"kind", "skill", "uci_elo", "name", *_LIMIT_KEYS}, where, "stockfish")
        spec = PlayerSpec.stockfish(skill=raw.get("skill"), elo=raw.get("uci_elo"),
                                    nodes=raw.get("nodes"), depth=raw.get("depth"),
                                    movetime_ms=raw.get("movetime_ms"), name=raw.get("name"))
        if not any(k in spec.settings for k in _LIMIT_KEYS):
            raise UserError(f"{where}: a stockfish player needs nodes, depth or movetime_ms")
        return [spec]
    if kind == "uci":
        return [_uci_spec(raw, where)]
    if kind == "random":
        return [PlayerSpec.random()]
    if kind == "experts":
        pool = load_experts(raw.get("preset", "demo"))
        names = raw.get("only")
        return [e for e in pool.experts if names is None or e.name in names]
    if kind == "expert":  # one expert described inline, in the TOML format of data/experts/
        return [check_expert({k: v for k, v in raw.items() if k != "kind"}, where)]
    if kind == "ensemble":
        return [ensemble_spec(raw)]
    raise UserError(f"{where}: player kind must be one of {', '.join(PLAYER_KINDS)}, not {kind!r}")


def _check_keys(raw: Mapping[str, Any], known: set[str], where: str, kind: str) -> None:
    if unknown := set(raw) - known:
        raise UserError(f"{where}: unknown {kind} settings {sorted(unknown)}")


def _uci_spec(raw: Mapping[str, Any], where: str) -> PlayerSpec:
    _check_keys(raw, {"kind", "command", "options", "name", *_LIMIT_KEYS}, where, "uci")
    settings = check_uci(raw, where)
    words = [f"{k}={v}" for k, v in settings["options"].items()]
    words += [f"{k}={settings[k]}" for k in _LIMIT_KEYS if k in settings]
    name = raw.get("name") or " ".join(["uci", Path(settings["command"][0]).name, *words])
    return PlayerSpec(str(name), "uci", settings)
