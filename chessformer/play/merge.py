"""Joining the results of an evaluation grid played in shards (the library of ``chessformer merge``).

    chessformer eval-vs-stockfish --model RUN --grid fast --shard 0/2 --out shards/0   # machine A
    chessformer eval-vs-stockfish --model RUN --grid fast --shard 1/2 --out shards/1   # machine B
    chessformer merge shards/0 shards/1 --out RUN/eval/fast

Games are keyed by their index in the full grid, so a game played in two shards (or twice after
a resume) is kept once; shards of different grids or seeds are refused. Every file is read and
written through :mod:`chessformer.formats.games`.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from chessformer.formats.games import (
    EvalInfo,
    GameRecord,
    has_eval_info,
    pgn_path,
    read_eval_info,
    read_results,
    write_eval_info,
    write_pgn,
    write_results,
)
from chessformer.utils import UserError, log

__all__ = ["merge"]


def merge(sources: list[Path], out: Path) -> EvalInfo:
    """Merge the evaluation folders ``sources`` into ``out``; returns the merged ``eval.json``."""
    manifests = []
    records: dict[int, GameRecord] = {}
    for src in sources:
        if not has_eval_info(src):
            raise UserError(f"{src}: no eval.json (not an evaluation folder)")
        m = read_eval_info(src)
        manifests.append(m)
        for r in read_results(src):
            records.setdefault(r.index, r)
    first = manifests[0]
    for src, m in zip(sources, manifests):
        for key in ("grid_settings", "seed", "label"):
            if getattr(m, key) != getattr(first, key):
                raise UserError(f"{src}: {key} differs from {sources[0]}'s; these shards are not "
                                f"parts of one grid")
    out.mkdir(parents=True, exist_ok=True)
    ordered = [records[i] for i in sorted(records)]
    write_results(out, ordered)
    write_pgn(ordered, pgn_path(out))
    manifest = dataclasses.replace(first, shard="merged", merged_from=[str(s) for s in sources],
                                   games=len(ordered),
                                   unfinished=sum(r.result == "*" for r in ordered))
    write_eval_info(out, manifest)
    log.info("merge: %d games from %d shards -> %s", len(ordered), len(sources), out)
    return manifest
