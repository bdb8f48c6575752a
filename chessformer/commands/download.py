"""``chessformer download``: the command line of :mod:`chessformer.data.download`."""

from __future__ import annotations

import argparse

from chessformer.data.download import (
    DEFAULT_BASE_URL,
    download_lichess,
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("source", choices=["lichess"], help="the database to fetch from")
    p.add_argument("month", help="YYYY-MM, e.g. 2024-01")
    p.add_argument("--variant", default="standard", help="Lichess variant folder (standard)")
    p.add_argument("--out", default="data/lichess", help="folder to save into")
    p.add_argument("--base-url", default=DEFAULT_BASE_URL, help="mirror or test server")
    p.add_argument("--no-verify", action="store_true", help="skip the sha256 check")


def main(args: argparse.Namespace) -> int:
    download_lichess(args.month, variant=args.variant, out=args.out, base_url=args.base_url,
                     verify=not args.no_verify)
    return 0

