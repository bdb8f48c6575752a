"""Expert games written by ``generate``: an ordinary PGN file and its summary beside it.

    GAMES.pgn        the games (read by ``ingest`` like any PGN)
    GAMES.pgn.json   the summary: preset, seed, counts of results and terminations, the experts

The summary is written after the PGN is complete, so its presence marks a finished file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from chessformer.utils import write_json_atomic


def summary_path(pgn: str | os.PathLike[str]) -> Path:
    """``GAMES.pgn`` -> ``GAMES.pgn.json``."""
    pgn = Path(pgn)
    return pgn.with_suffix(pgn.suffix + ".json")


def write_summary(pgn: str | os.PathLike[str], summary: dict[str, Any]) -> None:
    write_json_atomic(summary_path(pgn), summary)


def is_complete(pgn: str | os.PathLike[str]) -> bool:
    """Whether ``pgn`` and its summary both exist (a finished ``generate``)."""
    return Path(pgn).exists() and summary_path(pgn).exists()
