"""The ``chessformer`` command: one subcommand per pipeline stage.

    chessformer doctor
    chessformer --help

Each subcommand lives in its own module, which provides ``add_arguments(parser)`` and
``main(args) -> int``; modules are imported only when their command runs, so ``chessformer doctor``
works even when torch is broken.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from chessformer.utils import UserError, log, setup_logging

#: name -> (module, one-line help). Order is the order of the pipeline.
COMMANDS: dict[str, tuple[str, str]] = {
    "doctor": ("chessformer.commands.doctor", "check Stockfish, torch and the chess package"),
    "download": ("chessformer.commands.download", "fetch a Lichess monthly dump (resumable, sha256-checked)"),
    "generate": ("chessformer.commands.generate", "play games between simulated experts into PGN"),
    "ingest": ("chessformer.commands.ingest", "filter PGN by Elo cap and tokenize it into a dataset"),
    "boards": ("chessformer.commands.boards", "add packed boards to a dataset ingested without --boards"),
    "train": ("chessformer.commands.train", "train a move transformer on a dataset"),
    "eval-vs-stockfish": ("chessformer.commands.eval_vs_stockfish", "play a model against Stockfish/experts over a grid"),
    "merge": ("chessformer.commands.merge", "join the results of sharded evaluations"),
    "uci": ("chessformer.commands.uci", "run a trained model as a UCI engine (for GUIs, lichess-bot)"),
    "rate": ("chessformer.commands.rate", "fit anchored Elo ratings with 95% intervals to game results"),
    "calibrate": ("chessformer.commands.calibrate", "rate a ladder of Stockfish settings on one scale"),
    "report": ("chessformer.commands.report", "write report.html and report.md for evaluated runs"),
    "analyze": ("chessformer.commands.analyze", "move-level analyses of evaluated runs: favor (where the low temperature gains)"),
    "experiment": ("chessformer.commands.experiment", "run a taxonomy experiment: diversity, selection, generalization"),
    "kg": ("chessformer.commands.kg", "knowledge-graph testbed: experts, corpus, model, verdicts, report"),
}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chessformer",
        description="Transcendence benchmark: rating-capped games -> move transformer -> "
        "games against Stockfish -> ratings -> report.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module, help_) in COMMANDS.items():
        # argparse %-formats help strings: "95% intervals" would read "% i" as a format.
        p = sub.add_parser(name, help=help_.replace("%", "%%"), description=help_)
        if only == name:
            mod = importlib.import_module(module)
            mod.add_arguments(p)
            p.set_defaults(_module=module)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # Import only the module of the command being run (cheap --help for the rest).
    command = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(only=command if command in COMMANDS else None)
    args = parser.parse_args(argv)
    setup_logging(args.verbose)
    mod = importlib.import_module(args._module)
    try:
        return int(mod.main(args) or 0)
    except UserError as e:
        log.error("error: %s", e)
        return 2
    except KeyboardInterrupt:
        log.error("interrupted")
        return 130
    except BrokenPipeError:  # `chessformer rate ... | head`
        sys.stderr.close()
        return 0


def uci_main() -> int:
    """``chessformer-uci``: ``chessformer uci`` as one command (for GUIs)."""
    return main(["uci", *sys.argv[1:]])


if __name__ == "__main__":
    sys.exit(main())
