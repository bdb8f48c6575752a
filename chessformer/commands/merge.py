"""``chessformer merge``: the command line of :mod:`chessformer.play.merge`."""

from __future__ import annotations

import argparse
from pathlib import Path

from chessformer.play.merge import (
    merge,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("shards", nargs="+", type=Path, help="evaluation folders of the shards")
    parser.add_argument("--out", type=Path, required=True, help="merged evaluation folder")


def main(args: argparse.Namespace) -> int:
    merge(args.shards, args.out)
    return 0
