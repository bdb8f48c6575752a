"""``chessformer merge``: join the results of an evaluation grid played in shards.

    chessformer eval-vs-stockfish --model RUN --grid fast --shard 0/2 --out shards/0   # machine A
    chessformer eval-vs-stockfish --model RUN --grid fast --shard 1/2 --out shards/1   # machine B
    chessformer merge shards/0 shards/1 --out RUN/eval/fast

Games are keyed by their index in the full grid, so a game played in two shards (or twice after
a resume) is kept once; shards of different grids or seeds are refused.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from chessformer.play.arena import read_results, write_pgn
from chessformer.utils import UserError, log, write_json_atomic, write_text_atomic


def merge(sources: list[Path], out: Path) -> dict[str, Any]:
    manifests = []
    records: dict[int, dict[str, Any]] = {}
    for src in sources:
        if not (src / "eval.json").exists():
            raise UserError(f"{src}: no eval.json (not an evaluation folder)")
        m = json.loads((src / "eval.json").read_text())
        manifests.append(m)
        for r in read_results(src / "games.jsonl"):
            records.setdefault(r["index"], r)
    first = manifests[0]
    for src, m in zip(sources, manifests):
        for key in ("grid_settings", "seed", "label"):
            if m.get(key) != first.get(key):
                raise UserError(f"{src}: {key} differs from {sources[0]}'s; these shards are not "
                                f"parts of one grid")
    out.mkdir(parents=True, exist_ok=True)
    ordered = [records[i] for i in sorted(records)]
    write_text_atomic(out / "games.jsonl", "".join(json.dumps(r, separators=(",", ":")) + "\n"
                                                   for r in ordered))
    write_pgn(ordered, out / "games.pgn")
    manifest = {**first, "shard": "merged", "merged_from": [str(s) for s in sources],
                "games": len(ordered), "unfinished": sum(r["result"] == "*" for r in ordered)}
    write_json_atomic(out / "eval.json", manifest)
    log.info("merge: %d games from %d shards -> %s", len(ordered), len(sources), out)
    return manifest
