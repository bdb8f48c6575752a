"""``chessformer analyze favor RUN``: the command line of :mod:`chessformer.analysis.favor`."""

from __future__ import annotations

import argparse
from pathlib import Path

from chessformer.analysis.favor import DEFAULT_STATES, N_BOOT, favor_analysis
from chessformer.analysis.scorer import DEFAULT_MODE, DEFAULT_NODES, MODES
from chessformer.formats import favor as favor_format
from chessformer.utils import UserError, command_line


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="analysis", metavar="ANALYSIS", required=True)
    p = sub.add_parser("favor", help="where the low temperature gains over T=1, state by state "
                       "(the paper's Table 1 and histogram)")
    p.add_argument("run", metavar="RUN", type=Path,
                   help="a training run with eval/*/games.jsonl, or one evaluation folder")
    p.add_argument("--out", type=Path, metavar="DIR",
                   help="output folder (default RUN/favor): favor.json, favor.csv, favor.html, "
                   "favor.md, the plot, the boards, and the scorer's cache")
    p.add_argument("--states", type=int, default=DEFAULT_STATES,
                   help=f"model states sampled (default {DEFAULT_STATES}: about 5 minutes on "
                   "2 cores)")
    p.add_argument("--opponent", metavar="NAME",
                   help="only the games against this opponent (default: all)")
    p.add_argument("--temperature", type=float, metavar="T",
                   help="the model games read (default: the grid's verdict temperature)")
    p.add_argument("--temperatures", metavar="T,T,...",
                   help="the table's temperatures (default: the grid's; 1 is always added)")
    p.add_argument("--nodes", type=int, default=DEFAULT_NODES,
                   help=f"Stockfish nodes per position, or per move with --search per-move "
                   f"(default {DEFAULT_NODES:,})")
    p.add_argument("--search", choices=MODES, default=DEFAULT_MODE,
                   help=f"one MultiPV search a position, or one search per legal move "
                   f"(default {DEFAULT_MODE})")
    p.add_argument("--workers", type=int, default=2, help="engine processes (default 2)")
    p.add_argument("--cache", type=Path, metavar="PATH",
                   help="the scorer's cache (default OUT/scores.jsonl)")
    p.add_argument("--boot", type=int, default=N_BOOT, help=f"bootstrap resamples (default {N_BOOT})")
    p.add_argument("--seed", type=int, default=0, help="state sample and bootstrap seed")


def main(args: argparse.Namespace) -> int:
    if args.states < 1:
        raise UserError("--states must be at least 1")
    if args.boot < 1:
        raise UserError("--boot must be at least 1")
    temps = None
    if args.temperatures:
        try:
            temps = [float(t) for t in args.temperatures.split(",")]
        except ValueError:
            raise UserError(f"--temperatures: not numbers: {args.temperatures!r}") from None
    if not args.run.exists():
        raise UserError(f"{args.run}: no such run or evaluation folder")
    out = args.out or args.run / "favor"
    r, _ = favor_analysis(args.run, out, states=args.states, opponent=args.opponent,
                          temperature=args.temperature, temperatures=temps, nodes=args.nodes, mode=args.search,
                          processes=args.workers, cache=args.cache, seed=args.seed,
                          n_boot=args.boot, command=command_line())
    for x in r.table:
        print(f"{x.player:28s} expected {100 * x.expected:6.2f}  gain over T=1 "
              f"{100 * x.gain:+6.2f} [{100 * x.gain_lo:+.2f}, {100 * x.gain_hi:+.2f}]  "
              f"top-1/3/5 {100 * x.top1:.1f}/{100 * x.top3:.1f}/{100 * x.top5:.1f}%")
    print("gain carried by " + ", ".join(f"the {c.group} of states: {100 * c.value:.1f}%"
                                          for c in r.concentration))
    print(f"{r.states} states from {r.games} games; scored now {r.scorer['scored_now']}, "
          f"from the cache {r.scorer['from_cache']}")
    print(out / favor_format.FAVOR_HTML)
    return 0
