"""``chessformer boards``: the command line of :mod:`chessformer.data.add_boards`."""

from __future__ import annotations

import argparse
import json

from chessformer.data.add_boards import add_boards


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dataset", help="dataset folder written by `chessformer ingest` (without --boards)")
    p.add_argument("--workers", type=int, default=None, help="worker processes (default: all cores)")
    p.add_argument("--overwrite", action="store_true", help="rebuild boards that are already there")


def main(args: argparse.Namespace) -> int:
    m = add_boards(args.dataset, workers=args.workers, overwrite=args.overwrite)
    print(json.dumps({"dataset": str(args.dataset), "n_games": m.n_games, "n_tokens": m.n_tokens,
                      "boards": m.boards}))
    return 0
