"""Arena benchmark: games/s, moves/s and the model's share of wall time on a fixed grid.

    python bench/bench_arena.py [--preset small] [--games 128]

The model is the preset's architecture with seeded random weights (its moves are legal in
``masked`` mode, and its cost per move is what a trained model of that size costs); the opponent
is Stockfish at Skill Level 1 limited to 1,000 nodes. Targets on 2 cores: at least 5 games/s,
model share at most 25%.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="small")
    ap.add_argument("--games", type=int, default=128, help="games (one cell, colour pairs)")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--nodes", type=int, default=1000)
    ap.add_argument("--dtype", default="fp32", choices=["fp32", "bf16"])
    args = ap.parse_args()

    import torch

    from chessformer.model.checkpoint import save_checkpoint
    from chessformer.model.transformer import GPT, PRESETS, GPTConfig
    from chessformer.play.arena import run_eval
    from chessformer.play.grid import Grid
    from chessformer.play.players import PlayerSpec

    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / f"bench-{args.preset}"
        save_checkpoint(run, GPT(GPTConfig(**PRESETS[args.preset])), None, {"step": 0})
        grid = Grid(name="bench", opponents=[PlayerSpec.stockfish(skill=1, nodes=args.nodes)],
                    temperatures=[1.0], legality=["masked"], games=args.games, opening_plies=4,
                    batch_size=args.batch_size, workers=args.workers, seed=0)
        s = run_eval(grid, run, Path(tmp) / "eval", dtype=args.dtype)
    rows = [
        ("games", s["played_now"], ""),
        ("wall s", s["seconds"], ""),
        ("games/s", s["games_per_s"], ">= 5"),
        ("moves/s", s["moves_per_s"], ""),
        ("model share of wall time", s["model_share"], "<= 0.25"),
    ]
    print(f"\narena benchmark: preset {args.preset} ({args.dtype}) vs stockfish skill=1 "
          f"nodes={args.nodes}, batch {args.batch_size}, {args.workers} workers")
    print(f"{'metric':<28}{'value':>12}  target")
    for name, value, target in rows:
        print(f"{name:<28}{value:>12}  {target}")
    print(json.dumps({"bench": "arena", **{k: v for k, v, _ in rows}}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
