"""The position scorer's cache: one scored position per line of an append-only JSON-lines file.

    CACHE/scores.jsonl   one :class:`ScoredPosition` per line, appended and flushed as each
                         position is scored (a killed analysis resumes, scoring nothing twice)

A line is keyed by :meth:`ScoredPosition.key`: (FEN, engine name, search limit); the same
position scored by another engine or at another limit is another line. A torn last line (killed
mid-write) is cut off on reading, as in ``games.jsonl``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, TextIO

from chessformer.formats import json_line
from chessformer.formats import records as records_format
from chessformer.utils import log

__all__ = ["SCORES", "ScoredPosition", "append_scored", "open_cache", "read_scored", "scores_path"]

SCORES = "scores.jsonl"


def limit_key(limit: dict[str, int]) -> str:
    """A search limit as a cache key (``{"nodes": 20000}`` -> ``nodes=20000``)."""
    return ",".join(f"{k}={limit[k]}" for k in sorted(limit))


@dataclass(frozen=True)
class ScoredPosition(records_format.Record):
    """Every legal move of one position, scored by one engine search.

    Schema version 1 (:attr:`SCHEMA`; no version key on the lines).
    """

    SCHEMA: ClassVar[int] = 1

    #: the position (Forsyth-Edwards notation, move counters included); the engine was given
    #: this FEN alone, without the game's history
    fen: str
    #: the engine's ``id name`` (e.g. ``Stockfish 15.1``)
    engine: str
    #: the search limit: ``{"nodes_per_move": N}`` (one search per legal move) or
    #: ``{"nodes": N}`` (one MultiPV search of the position)
    limit: dict[str, int]
    #: every legal move in UCI, the engine's best first
    moves: list[str]
    #: each move's centipawns for the side to move (mate in n: +-(100000 - n))
    cp: list[int]
    #: each move's expected score for the side to move (win 1, draw 1/2), from the centipawns
    #: through python-chess's WDL model of the engine's version at the position's ply
    expected: list[float]
    #: wall seconds the search took
    seconds: float

    def key(self) -> tuple[str, str, str]:
        return self.fen, self.engine, limit_key(self.limit)

    def best(self) -> str:
        return self.moves[0]

    def by_move(self) -> dict[str, float]:
        return dict(zip(self.moves, self.expected))


def scores_path(folder: str | os.PathLike[str]) -> Path:
    """``folder/scores.jsonl``, or ``folder`` itself when it names a ``.jsonl`` file."""
    folder = Path(folder)
    return folder if folder.suffix == ".jsonl" else folder / SCORES


def _complete_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """``(line number, line)`` of every whole line; a torn last line is cut off the file."""
    with open(path, "rb") as f:
        data = f.read()
    good = 0
    for lineno, line in enumerate(data.splitlines(keepends=True), 1):
        if not line.endswith(b"\n"):
            break
        try:
            json.loads(line)
        except json.JSONDecodeError:
            break
        good += len(line)
        yield lineno, line
    if good != len(data):
        log.warning("%s: dropping a torn last line (%d bytes) left by an interrupted run",
                    path, len(data) - good)
        with open(path, "r+b") as f:
            f.truncate(good)


def read_scored(path: str | os.PathLike[str]) -> dict[tuple[str, str, str], ScoredPosition]:
    """The cache by key (a later line for the same key wins); no file gives ``{}``. A line that
    is JSON but not a :class:`ScoredPosition` is an error naming the file and line."""
    path = scores_path(path)
    if not path.exists():
        return {}
    out: dict[tuple[str, str, str], ScoredPosition] = {}
    for lineno, line in list(_complete_lines(path)):
        rec = ScoredPosition.from_json(json.loads(line), f"{path}:{lineno}")
        out[rec.key()] = rec
    return out


def open_cache(path: str | os.PathLike[str]) -> TextIO:
    """The cache opened for appending (its folder made)."""
    path = scores_path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return open(path, "a", encoding="utf-8")


def append_scored(f: Any, rec: ScoredPosition) -> None:
    """Append one scored position, flushed and synced (a kill loses no finished search)."""
    f.write(json_line(rec.to_json()))
    f.flush()
    os.fsync(f.fileno())
