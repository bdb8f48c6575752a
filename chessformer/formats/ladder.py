"""A calibrated Stockfish ladder (written by ``calibrate``): ``ladder-<version>.json`` holds each
rung's name, settings and Elo on the paper's scale; the games it was fitted on lie beside it in
``ladder-<version>-games.jsonl`` (the :mod:`chessformer.formats.games` record format).
Shipped ladders live in the project's ``stockfish/`` folder (and inside an installed package).

While it plays, ``calibrate`` keeps a work folder (``runs/calibrate/<version>-<plan hash>/``):
one evaluation folder per worker shard, ``plan.json`` (the plan its games belong to: a resumed
run refuses another plan's games) and ``sessions.jsonl`` (one line per session that added games:
workers, CPU count, load average).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from chessformer.formats import read_json
from chessformer.utils import UserError, in_checkout, resource_dir, write_json_atomic

#: The calibration work folder's files (see the module docstring).
WORK_PLAN = "plan.json"
WORK_SESSIONS = "sessions.jsonl"


def ladder_name(version: str) -> str:
    return f"ladder-{version}.json"


def games_beside(ladder: str | os.PathLike[str]) -> Path:
    """``ladder-V.json`` -> ``ladder-V-games.jsonl``."""
    ladder = Path(ladder)
    return ladder.with_name(f"{ladder.stem}-games.jsonl")


def read_ladder(path: str | os.PathLike[str]) -> dict[str, Any]:
    return read_json(path, "ladder")


def write_ladder(path: str | os.PathLike[str], doc: dict[str, Any]) -> None:
    write_json_atomic(path, doc)


def load_ladder(path: str | os.PathLike[str]) -> dict[str, float]:
    """Anchors ``{rung name: elo}`` from a ladder file."""
    data = read_ladder(path)
    try:
        return {str(r["name"]): float(r["elo"]) for r in data["rungs"]}
    except (KeyError, TypeError) as e:
        raise UserError(f"{path}: not a ladder file (need rungs with name and elo): {e}") from e


def calibrated_dir() -> Path:
    """Where ``calibrate`` writes a new ladder: the checkout's ``stockfish/`` (versioned beside the
    code), or ``./stockfish/`` when chessformer is installed (never into site-packages)."""
    return resource_dir("stockfish") if in_checkout() else Path.cwd() / "stockfish"


def search_dirs() -> list[Path]:
    """Where ladders are looked for: the ones calibrated here, then the shipped ones."""
    dirs = [calibrated_dir(), resource_dir("stockfish")]
    return list(dict.fromkeys(dirs))


def find_ladder(version: str | None, folder: str | os.PathLike[str] | None = None) -> Path | None:
    """``ladder-<version>.json`` in ``folder`` (default: :func:`search_dirs`) if it exists; with
    no version, the only ladder there."""
    for d in [Path(folder)] if folder is not None else search_dirs():
        if version:
            p = d / ladder_name(version)
            if p.is_file():
                return p
            continue
        found = sorted(d.glob("ladder-*.json"))
        if len(found) == 1:
            return found[0]
    return None
