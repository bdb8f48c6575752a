"""``chessformer experiment``: the command line of :mod:`chessformer.experiments.taxonomy`."""

from __future__ import annotations

import argparse
from pathlib import Path

from chessformer.experiments.spec import SIZES, load_experiment
from chessformer.experiments.taxonomy import run_experiment
from chessformer.formats import experiment as experiment_format
from chessformer.rating.bootstrap import N_BOOT


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", help="experiment: diversity, selection, generalization, or a TOML "
                        "file (see evals/experiments/)")
    parser.add_argument("--size", default="full", choices=SIZES,
                        help="tiny (a test, under a minute), small (1-3 minutes) or full (the "
                             "TOML's top level; 25 to 40 minutes on 2 CPU cores)")
    parser.add_argument("--out", help="output folder (default: runs/experiments/<name>[-<size>])")
    parser.add_argument("--workers", type=int, help="worker processes for generation and games")
    parser.add_argument("--boot", type=int, default=N_BOOT,
                        help=f"bootstrap resamples (default {N_BOOT})")
    parser.add_argument("--stockfish", help="Stockfish binary (default: search)")


def main(args: argparse.Namespace) -> int:
    exp = load_experiment(args.name, args.size)
    out = Path(args.out or f"runs/experiments/{exp.name}" + ("" if args.size == "full" else f"-{args.size}"))
    result = run_experiment(exp, out, stockfish=args.stockfish, workers=args.workers, n_boot=args.boot)
    print(out / experiment_format.EXPERIMENT_MD)
    print(result.report.html)
    return 0
