"""``chessformer rate``: anchored Elo ratings with 95% intervals for every player in some games.

    chessformer rate runs/demo/eval/main                       # an evaluation folder
    chessformer rate a/games.jsonl b/games.jsonl --anchor "stockfish skill=1"=1554 --boot 2000
    chessformer rate runs/demo/eval/main --ladder auto --csv ratings.csv

RESULTS are arena ``games.jsonl`` files or folders holding one (an evaluation folder with its
``eval.json``). All games are fitted jointly (:mod:`chessformer.rating.bradley_terry`, intervals
by :mod:`chessformer.rating.bootstrap`); each distinct player name is its own player, so each
model temperature and legality mode gets its own rating. Anchors: see
:mod:`chessformer.rating.anchors`.
"""

from __future__ import annotations

import argparse
import csv

from chessformer.rating.anchors import parse_anchor, resolve_anchors
from chessformer.rating.bootstrap import N_BOOT, bootstrap
from chessformer.rating.bradley_terry import CENTRE, PRIOR, VIRTUAL_DRAWS, prior_for
from chessformer.rating.collect import collect_results
from chessformer.rating.table import print_table, table_rows
from chessformer.report.ranges import range_warnings
from chessformer.utils import UserError, atomic_path, log


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("results", nargs="+", metavar="RESULTS",
                        help="games.jsonl files or evaluation folders holding one")
    parser.add_argument("--anchor", action="append", default=[], metavar="NAME=ELO",
                        help="hold a player's rating fixed (repeatable)")
    parser.add_argument("--ladder", metavar="PATH|auto",
                        help="anchor every ladder rung found in the games; 'auto' picks "
                        "stockfish/ladder-<version>.json for the games' Stockfish version")
    parser.add_argument("--boot", type=int, default=N_BOOT,
                        help=f"bootstrap resamples for the 95%% intervals (default {N_BOOT})")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    parser.add_argument("--draw-model", choices=["half", "davidson"], default="half",
                        help="draws as half points (default) or Davidson's draw model")
    parser.add_argument("--prior", choices=["jeffreys", "draws"],
                        help=f"prior keeping perfect scores finite (default {PRIOR}; Davidson's "
                        "model: draws)")
    parser.add_argument("--virtual-draws", type=float, default=VIRTUAL_DRAWS,
                        help="with --prior draws: virtual draws per pair of players that met "
                        f"(default {VIRTUAL_DRAWS:g})")
    parser.add_argument("--csv", metavar="OUT", help="also write the table as CSV")


def main(args: argparse.Namespace) -> int:
    res = collect_results(args.results)
    if not res.games:
        raise UserError(f"no finished games in {', '.join(map(str, res.files))} "
                        f"({res.unfinished} unfinished)")
    cli = dict(parse_anchor(a) for a in args.anchor)
    choice = resolve_anchors(res, cli, args.ladder)
    if args.boot < 1:
        raise UserError("--boot must be at least 1")
    try:
        prior = prior_for(args.draw_model, args.prior)
    except ValueError as e:
        raise UserError(f"--prior {args.prior}: {e}") from None
    bf = bootstrap(res.games, choice.anchors, n_boot=args.boot, seed=args.seed,
                   draw_model=args.draw_model, prior=prior, virtual_draws=args.virtual_draws)
    rows = table_rows(bf, choice.anchors, res.games)
    print(f"{len(res.games)} finished games, {res.unfinished} unfinished (left out); "
          f"anchors: {choice.source}; {args.boot} bootstrap resamples, seed {args.seed}")
    print_table(rows)
    notes = ["* anchor (held fixed)"]
    if any(r["unanchored"] for r in rows):
        notes.append(f"~ not connected to any anchor: centred at {CENTRE:.0f}, differences only")
    if any(r["prior_only"] for r in rows):
        notes.append("! won or lost every game: rated by the prior only")
    notes.append("Glicko-2: all games against the anchors (RD 0) as one rating period (±1.96 RD)")
    print("  ".join(notes))
    for warning in range_warnings(res, choice, rows):
        print(f"warning: {warning}")
    if args.csv:
        with atomic_path(args.csv) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
        log.info("wrote %s", args.csv)
    return 0
