"""``chessformer ingest``: the command line of :mod:`chessformer.data.ingest`."""

from __future__ import annotations

import argparse

from chessformer.data.dataset import DEFAULT_VAL_FRACTION
from chessformer.data.ingest import FilterOptions, ingest
from chessformer.utils import command_line

_DEFAULT = FilterOptions()


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("sources", nargs="+", metavar="SOURCE",
                   help=".pgn, .pgn.zst, .pgn.bz2 or .pgn.gz files, folders, globs, or - for stdin")
    p.add_argument("--out", required=True, help="dataset folder to write")
    p.add_argument("--elo-cap", type=int, default=None,
                   help="keep games with max(WhiteElo, BlackElo) <= N (games without both "
                        "ratings are then dropped)")
    p.add_argument("--elo-floor", type=int, default=None,
                   help="keep games with min(WhiteElo, BlackElo) >= M")
    p.add_argument("--time-controls", default=",".join(_DEFAULT.time_controls),
                   help="comma list of classes to keep (default: all). ultrabullet is its own "
                        "class; unknown = no or unparsable TimeControl (OTB files)")
    p.add_argument("--drop-terminations", default=",".join(_DEFAULT.drop_terminations),
                   help="comma list of Termination values to drop ('' keeps all; default "
                        f"{','.join(_DEFAULT.drop_terminations)})")
    p.add_argument("--min-plies", type=int, default=_DEFAULT.min_plies,
                   help=f"drop games shorter than this (default {_DEFAULT.min_plies})")
    p.add_argument("--include-unrated", action="store_true",
                   help="keep games whose Event starts with Casual/Unrated")
    p.add_argument("--include-variants", action="store_true",
                   help="do not drop Variant/FEN games (they will mostly fail the replay)")
    p.add_argument("--include-bots", action="store_true", help="keep BOT players' games")
    p.add_argument("--no-dedupe", action="store_true", help="do not drop duplicate games")
    p.add_argument("--move-checker", choices=("auto", "python-chess"), default=_DEFAULT.engine,
                   help="auto: the compiled SAN resolver when numba is installed, python-chess "
                        "as the reference")
    p.add_argument("--boards", action="store_true",
                   help="also store the board after every move (boards.u8, 114 bytes a token)")
    p.add_argument("--val-fraction", type=float, default=DEFAULT_VAL_FRACTION,
                   help=f"share of games in val (default {DEFAULT_VAL_FRACTION})")
    p.add_argument("--holdout", type=float, default=_DEFAULT.holdout, metavar="F",
                   help="hold out this share of the games that pass the filters, drawn by a "
                        "seeded hash of the game, into DIR/holdout.pgn (default 0: none)")
    p.add_argument("--holdout-seed", type=int, default=_DEFAULT.holdout_seed,
                   help="seed of the held-out draw (default 0)")
    p.add_argument("--workers", type=int, default=None,
                   help="parser processes (default: one per CPU; 0 = in this process)")
    p.add_argument("--limit", type=int, default=None, help="stop after N kept games")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out folder")


def _csv(s: str) -> tuple[str, ...]:
    return tuple(x.strip() for x in s.split(",") if x.strip())


def main(args: argparse.Namespace) -> int:
    ingest(args.sources, args.out, elo_cap=args.elo_cap, elo_floor=args.elo_floor,
           boards=args.boards, workers=args.workers, val_fraction=args.val_fraction,
           limit=args.limit, overwrite=args.overwrite,
           command=command_line(),
           time_controls=tuple(c.lower() for c in _csv(args.time_controls)),
           drop_terminations=_csv(args.drop_terminations), min_plies=args.min_plies,
           rated_only=not args.include_unrated, standard_only=not args.include_variants,
           no_bots=not args.include_bots, dedupe=not args.no_dedupe,
           holdout=args.holdout, holdout_seed=args.holdout_seed, engine=args.move_checker)
    return 0
