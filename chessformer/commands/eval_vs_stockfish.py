"""``chessformer eval-vs-stockfish``: the command line of :mod:`chessformer.play.arena`."""

from __future__ import annotations

import argparse
from pathlib import Path

from chessformer.core.protocol import LEVEL_NODES
from chessformer.formats.games import default_eval_dir, games_path
from chessformer.play.arena import parse_shard, run_eval
from chessformer.play.grid import OVERRIDABLE, load_grid, override_grid
from chessformer.utils import UserError, command_line


def _words(text: str | None) -> list[str]:
    return [x for x in (text or "").split(",") if x]


def _ints(text: str | None) -> list[int]:
    try:
        return [int(x) for x in _words(text)]
    except ValueError:
        raise UserError(f"expected comma-separated whole numbers, got {text!r}") from None


def _floats(text: str) -> list[float]:
    try:
        return [float(x) for x in text.split(",") if x]
    except ValueError:
        raise UserError(f"expected comma-separated numbers, got {text!r}") from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", help="training run folder (or checkpoint folder) to evaluate")
    parser.add_argument("--grid", default="fast", help="grid TOML file or a name in evals/ "
                        "(default: fast; evals/paper.toml is the paper's protocol)")
    parser.add_argument("--levels", help="Stockfish Skill Levels, e.g. 1,3,5 (replaces the grid's "
                        "opponents; uses --nodes or --movetime-ms)")
    parser.add_argument("--nodes", type=int, help=f"node limit for --levels (default {LEVEL_NODES})")
    parser.add_argument("--movetime-ms", type=int, help="time limit for --levels (paper: 100)")
    parser.add_argument("--experts", help="also play every expert of this preset (e.g. demo)")
    parser.add_argument("--temperatures", help="comma-separated sampling temperatures")
    parser.add_argument("--verdict-temperature", type=float,
                        help="the temperature the report's verdict reads (default: the grid's)")
    parser.add_argument("--legality", help="masked, raw or masked,raw")
    parser.add_argument("--games", type=int, help="games per cell (even)")
    parser.add_argument("--seed", type=int, help="grid seed")
    parser.add_argument("--out", help="output folder (default: MODEL/eval/<grid name>)")
    parser.add_argument("--label", help="name of the model in results (default: run folder name)")
    parser.add_argument("--shard", help="i/n: play only this shard of the grid (see `merge`)")
    parser.add_argument("--workers", type=int, help="Stockfish worker processes")
    parser.add_argument("--batch-size", type=int, help="games played at once")
    parser.add_argument("--max-plies", type=int, help="move cap before adjudication")
    parser.add_argument("--stockfish", help="Stockfish binary (default: search)")
    parser.add_argument("--device", default="cpu", help="torch device for the model")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads for the model (default 1: the engines use the rest)")
    parser.add_argument("--dtype", default="fp32", choices=["bf16", "fp32"],
                        help="model arithmetic while playing (default fp32: one-token decoding "
                             "steps are faster in fp32 than in bf16 on CPUs measured here)")


def main(args: argparse.Namespace) -> int:
    grid = override_grid(
        load_grid(args.grid), levels=_ints(args.levels) or None,
        nodes=args.nodes, movetime_ms=args.movetime_ms, experts=args.experts,
        temperatures=_floats(args.temperatures) if args.temperatures else None,
        legality=_words(args.legality) or None,
        **{k: getattr(args, k) for k in OVERRIDABLE if k not in ("temperatures", "legality")})
    if args.model is not None and not Path(args.model).exists():
        raise UserError(f"model {args.model} does not exist (train one with `chessformer train`)")
    out = args.out or (default_eval_dir(args.model, grid.name) if args.model else Path("runs/eval") / grid.name)
    command = command_line()
    summary = run_eval(grid, args.model, out, label=args.label, shard=parse_shard(args.shard),
                       stockfish=args.stockfish, device=args.device, dtype=args.dtype,
                       command=command, threads=args.threads)
    print(f"results: {games_path(out)} ({summary.games} games; "
          f"{summary.unfinished} unfinished)")
    return 0

