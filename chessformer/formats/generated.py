"""Expert games written by ``generate``: an ordinary PGN file and its summary beside it.

    GAMES.pgn        the games (read by ``ingest`` like any PGN)
    GAMES.pgn.json   the summary: preset, seed, counts of results and terminations, the experts

The summary is written after the PGN is complete, so its presence marks a finished file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from chessformer.formats import records as records_format


def summary_path(pgn: str | os.PathLike[str]) -> Path:
    """``GAMES.pgn`` -> ``GAMES.pgn.json``."""
    pgn = Path(pgn)
    return pgn.with_suffix(pgn.suffix + ".json")


@dataclass(frozen=True, kw_only=True)
class GenerationSummary(records_format.Record):
    """``GAMES.pgn.json``: what ``generate`` played into ``GAMES.pgn``.

    Schema version 1 (:attr:`SCHEMA`; no version key), written by every release so far.
    """

    SCHEMA: ClassVar[int] = 1

    pgn: str
    #: the expert pool's name and the preset file it came from
    pool: str
    preset: str
    games: int
    seed: int
    max_plies: int
    workers: int
    #: games per result (``1-0``, ...) and per termination
    results: dict[str, int]
    terminations: dict[str, int]
    mean_plies: float
    seconds: float
    games_per_s: float
    #: each expert's specification (``PlayerSpec.to_json``)
    experts: list[dict[str, Any]]


def write_summary(pgn: str | os.PathLike[str], summary: GenerationSummary) -> None:
    summary.save(summary_path(pgn))


def read_summary(pgn: str | os.PathLike[str]) -> GenerationSummary:
    return GenerationSummary.load(summary_path(pgn), "generate summary")


def is_complete(pgn: str | os.PathLike[str]) -> bool:
    """Whether ``pgn`` and its summary both exist (a finished ``generate``)."""
    return Path(pgn).exists() and summary_path(pgn).exists()


def read_summary_experts(pgn: str | os.PathLike[str]) -> list[dict[str, Any]] | None:
    """The expert specifications a ``generate`` summary lists (None: no summary beside ``pgn``,
    e.g. a real PGN download)."""
    from chessformer.formats import read_json
    from chessformer.utils import UserError

    path = summary_path(pgn)
    if not path.is_file():
        return None
    experts = read_json(path, "generated games summary").get("experts")
    if not isinstance(experts, list) or not all(isinstance(e, dict) and "name" in e
                                                for e in experts):
        raise UserError(f"{path}: 'experts' should be a list of expert specifications")
    return experts


def spec_hash(spec: dict[str, Any]) -> str:
    """A short hash of a player's full specification (its TOML entry as JSON, ``kind`` aside,
    keys sorted): two players with one hash play alike whatever they are called."""
    import hashlib
    import json

    body = {k: v for k, v in spec.items() if k != "kind"}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:12]
