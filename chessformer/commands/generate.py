"""``chessformer generate``: the command line of :mod:`chessformer.play.generate`."""

from __future__ import annotations

import argparse

from chessformer.core.games import DEFAULT_MAX_PLIES
from chessformer.play.generate import MAX_DEFAULT_WORKERS, generate
from chessformer.utils import UserError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--experts", required=True,
                        help="expert preset: a TOML file, or a name in data/experts/ (e.g. demo)")
    parser.add_argument("--games", type=int, required=True, help="number of games to play")
    parser.add_argument("--out", required=True, help="output PGN file")
    parser.add_argument("--seed", type=int, default=0, help="seed of every game's randomness")
    parser.add_argument("--workers", type=int, default=None,
                        help=f"worker processes (default {MAX_DEFAULT_WORKERS}, at most twice the "
                             "CPU cores: each waits on its engine's pipe)")
    parser.add_argument("--max-plies", type=int, default=DEFAULT_MAX_PLIES,
                        help="adjudicate a game as a draw after this many plies (recorded in "
                             "Termination)")
    parser.add_argument("--stockfish", default=None, help="Stockfish binary (default: search)")


def main(args: argparse.Namespace) -> int:
    if args.games <= 0:
        raise UserError("--games must be positive")
    generate(args.experts, args.games, args.out, seed=args.seed, workers=args.workers,
             max_plies=args.max_plies, stockfish=args.stockfish)
    return 0

