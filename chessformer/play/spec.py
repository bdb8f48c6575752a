"""What a player is, as data (:class:`PlayerSpec`), and the engine processes players share.

A :class:`PlayerSpec` (name, kind, settings) crosses process boundaries and lands in every game
record; :func:`chessformer.play.players.make_player` turns it into an object that moves. An
:class:`EnginePool` holds one worker's engine processes, one per distinct (command, options):
engine options are fixed per process, never changed per move.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from chessformer.core.engine import Limit, UciEngine, require_stockfish
from chessformer.utils import UserError

__all__ = ["EnginePool", "PlayerSpec", "check_uci", "limit_of"]


@dataclass(frozen=True)
class PlayerSpec:
    """What a player is, as data: ``kind`` is model, stockfish, uci, expert, ensemble or random."""

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


def limit_of(settings: Mapping[str, Any]) -> Limit:
    """The search limit of a player's settings (``nodes``, ``depth``, ``movetime_ms``)."""
    return Limit(settings.get("nodes"), settings.get("depth"), settings.get("movetime_ms"))


def check_uci(raw: Mapping[str, Any], where: str) -> dict[str, Any]:
    """The settings of a UCI engine table (a ``uci`` player, or an expert's ``uci`` base):
    ``{"command": [argv], "options": {...}, <limit>}``; ``command`` may be one string, split as
    a shell would."""
    command = raw.get("command")
    if isinstance(command, str):
        command = shlex.split(command)
    if not command or not isinstance(command, list) or not all(isinstance(a, str) for a in command):
        raise UserError(f"{where}: a uci engine needs command = \"engine --args\" (or a list)")
    options = raw.get("options", {})
    if not isinstance(options, Mapping):
        raise UserError(f"{where}: uci options must be a table, e.g. {{ Hash = 16 }}")
    limit = limit_of(raw).describe()
    if not limit:
        raise UserError(f"{where}: a uci engine needs nodes, depth or movetime_ms")
    return {"command": list(command), "options": dict(options), **limit}


class EnginePool:
    """Engine processes of one worker, one per distinct (command, options), started on first use.

    ``stockfish_path`` is the Stockfish of :meth:`get` without a command (found on first use when
    None); other UCI engines are named by their command line.
    """

    def __init__(self, stockfish_path: str | None = None, *, timeout: float = 30.0) -> None:
        self._path = stockfish_path
        self._engines: dict[str, UciEngine] = {}
        self.timeout = timeout

    @property
    def path(self) -> str:
        if self._path is None:
            self._path = str(require_stockfish())
        return self._path

    def get(self, options: Mapping[str, object], command: Sequence[str] | None = None) -> UciEngine:
        """Stockfish with ``options`` (and one thread, 1 MB hash), or the UCI engine ``command``
        with exactly ``options``."""
        key = json.dumps(dict(options), sort_keys=True)
        if command is not None:
            key = json.dumps(list(command)) + key
        eng = self._engines.get(key)
        if eng is None:
            if command is None:
                eng = UciEngine(self.path, options, timeout=self.timeout)
            else:
                eng = UciEngine(command, options, timeout=self.timeout, defaults={})
            self._engines[key] = eng
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
