"""``chessformer calibrate``: the command line of :mod:`chessformer.experiments.calibrate`."""

from __future__ import annotations

import argparse
import shlex
import sys

from chessformer.experiments.calibrate import (
    DEFAULT_LADDER,
    DEFAULT_WORKERS,
    calibrate,
    estimate_seconds,
    load_ladder_toml,
    plan_grid,
    print_ladder,
)
from chessformer.formats import ladder as ladder_format
from chessformer.rating.bootstrap import N_BOOT
from chessformer.utils import UserError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ladder", default=str(DEFAULT_LADDER),
                        help="ladder TOML (default evals/ladder.toml)")
    parser.add_argument("--games-per-pair", type=int,
                        help="games per pair of rungs, even (default: the ladder's games_per_pair)")
    parser.add_argument("--fast-games-per-pair", type=int,
                        help="games per pair with no time-limited rung (cheap: milliseconds a "
                        "move; default: the ladder's fast_games_per_pair, else --games-per-pair)")
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS,
                        help=f"engines searching at once (default {DEFAULT_WORKERS}; keep <= CPU cores)")
    parser.add_argument("--seed", type=int, help="openings and bootstrap seed (default: ladder's)")
    parser.add_argument("--stockfish", help="Stockfish binary (default: search)")
    parser.add_argument("--out", help="ladder file (default stockfish/ladder-<version>.json)")
    parser.add_argument("--work", help="folder for the games while playing (resumable; default "
                        "runs/calibrate/<version>-<plan hash>)")
    parser.add_argument("--boot", type=int, default=N_BOOT,
                        help=f"bootstrap resamples (default {N_BOOT})")
    parser.add_argument("--allow-anchor-misfit", action="store_true",
                        help="write the ladder even when its anchors fail the leave-one-out "
                             "check (it then says so first)")
    parser.add_argument("--dry-run", action="store_true",
                        help="print the pairs, game counts and a time estimate; play nothing")


def main(args: argparse.Namespace) -> int:
    ladder = load_ladder_toml(args.ladder)
    games = args.games_per_pair or ladder.games_per_pair
    fast = args.fast_games_per_pair or ladder.fast_games_per_pair
    seed = ladder.seed if args.seed is None else args.seed
    if args.dry_run:
        grid = plan_grid(ladder, games, fast_games_per_pair=fast, seed=seed)
        for players, n in grid.matches:
            print(f"{n:>4}  {players[0].name}  vs  {players[1].name}")
        total = sum(n for _, n in grid.matches)
        print(f"{len(grid.matches)} pairs, {total} games, about "
              f"{estimate_seconds(grid, args.workers) / 60:.1f} min with {args.workers} workers")
        return 0
    if args.boot < 1:
        raise UserError("--boot must be at least 1")
    command = "chessformer " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    doc = calibrate(args.out, games_per_pair=games, rungs=ladder, workers=args.workers, seed=seed,
                    stockfish=args.stockfish, fast_games_per_pair=fast,
                    work=args.work, n_boot=args.boot, command=command,
                    allow_anchor_misfit=args.allow_anchor_misfit)
    print_ladder(doc)
    out = args.out or (ladder_format.calibrated_dir()
                       / ladder_format.ladder_name(doc.stockfish_version))
    print(f"wrote {out} ({doc.n_games} games: {doc.games})")
    return 0
