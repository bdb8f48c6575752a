"""``chessformer kg``: the knowledge-graph testbed (:mod:`chessformer.kg`).

    chessformer kg run denoising --size tiny --out /tmp/kg-denoising
    chessformer kg run evals/kg/selection.toml          # full size, into runs/kg/selection
    chessformer kg list
"""

from __future__ import annotations

import argparse
from pathlib import Path

from chessformer.utils import resource_dir


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from chessformer.kg.experiments import SIZES

    sub = parser.add_subparsers(dest="kg_command", metavar="ACTION", required=True)
    run = sub.add_parser("run", help="generate, train, score and report one experiment",
                         description="generate the graph and experts, write their corpus, train "
                         "the seeds, score model, experts and majority vote, write the report")
    run.add_argument("experiments", nargs="+", metavar="EXPERIMENT",
                     help="names in evals/kg/ (denoising, selection, walk, composition, "
                     "regularization) or TOML files; several run one after the other")
    run.add_argument("--size", default="full", choices=SIZES,
                     help="tiny (the tests' size, seconds) or full (the TOML's top level)")
    run.add_argument("--out", help="output folder (default: runs/kg/<name>[-<size>]); with several "
                     "experiments, the folder that holds one per experiment")
    run.add_argument("--workers", type=int, default=2,
                     help="models trained at once, each on cores/workers threads (default 2)")
    run.add_argument("--boot", type=int, default=1000, help="bootstrap resamples (default 1000)")
    sub.add_parser("list", help="list the experiments in evals/kg/")


def main(args: argparse.Namespace) -> int:
    from chessformer.kg.experiments import load_experiment, run_experiments

    if args.kg_command == "list":
        for p in sorted(resource_dir("evals/kg").glob("*.toml")):  # the checkout's or the wheel's
            print(p.stem)
        return 0
    exps = [load_experiment(name, args.size) for name in args.experiments]  # all checked first
    suffix = "" if args.size == "full" else f"-{args.size}"
    if args.out and len(exps) == 1:
        runs = [(exps[0], Path(args.out))]
    else:
        runs = [(exp, Path(args.out or "runs/kg") / f"{exp.name}{suffix}") for exp in exps]
    for summary, report in run_experiments(runs, workers=args.workers, n_boot=args.boot):
        for arm in summary.arms:
            v = arm.verdict
            print(f"{summary.name}/{arm.name}: {v.word} ({v.diff:+.3f} "
                  f"[{v.lo:+.3f}, {v.hi:+.3f}] against {v.best_expert})")
        print(report["md"])
    return 0
