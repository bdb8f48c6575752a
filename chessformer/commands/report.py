"""``chessformer report``: the command line of :mod:`chessformer.report.report`."""

from __future__ import annotations

import argparse
from pathlib import Path

from chessformer.rating.anchors import parse_anchor
from chessformer.rating.bootstrap import N_BOOT
from chessformer.report.report import write_report
from chessformer.utils import UserError, command_line


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("runs", nargs="+", metavar="RUN", type=Path,
                        help="training run folders (with eval/*/games.jsonl) or evaluation folders")
    parser.add_argument("--out", type=Path, metavar="DIR",
                        help="output folder (default: RUN/report for one RUN, else ./report)")
    parser.add_argument("--title", help="report title")
    parser.add_argument("--boot", type=int, default=N_BOOT,
                        help=f"bootstrap resamples (default {N_BOOT})")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    parser.add_argument("--anchor", action="append", default=[], metavar="NAME=ELO",
                        help="hold a player's rating fixed (repeatable; default: eval.json anchors)")
    parser.add_argument("--ladder", metavar="PATH|auto", help="anchor to a Stockfish ladder file")


def main(args: argparse.Namespace) -> int:
    out = args.out or (args.runs[0] / "report" if len(args.runs) == 1 else Path("report"))
    if args.boot < 1:
        raise UserError("--boot must be at least 1")
    info = write_report(args.runs, out, title=args.title, n_boot=args.boot, seed=args.seed,
                        anchors=dict(parse_anchor(a) for a in args.anchor) or None,
                        ladder=args.ladder, command=command_line())
    print(info["html"])
    print(info["md"])
    for v in info["verdicts"]:
        print(f"verdict {v.line}: {v.text}")
    for v in info["verdicts"]:
        if v.exploratory:
            print(f"  (not a verdict) {v.line}: {v.exploratory.text}")
    for warning in info["rated"].warnings:
        print(f"warning: {warning}")
    return 0
