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

    from chessformer.analysis import humans

    h = sub.add_parser("humans", help="move matching and gain over real players' moves, per "
                       "rating bin, on held-out games")
    h.add_argument("--model", required=True, type=Path, metavar="RUN", help="a training run")
    h.add_argument("--games", required=True, nargs="+", type=Path, metavar="PGN",
                   help="held-out games (.pgn, .pgn.zst, .pgn.gz, .pgn.bz2), none of them in "
                   "the run's training data (e.g. the dataset's holdout.pgn: ingest --holdout)")
    h.add_argument("--out", type=Path, metavar="DIR",
                   help="output folder (default RUN/humans): humans.json, humans.csv, "
                   "humans.md, humans.png and the scorer's cache")
    g = h.add_mutually_exclusive_group()
    g.add_argument("--bins", metavar="EDGES",
                   help="rating bin edges, e.g. 1000,1200,1400,1600,1800 (lo <= rating < hi)")
    g.add_argument("--bin-width", type=int, default=100, help="bin width (default 100)")
    h.add_argument("--skip-plies", type=int, default=humans.DEFAULT_SKIP_PLIES,
                   help=f"opening plies left out (default {humans.DEFAULT_SKIP_PLIES})")
    h.add_argument("--min-clock", type=float, default=humans.DEFAULT_MIN_CLOCK, metavar="S",
                   help="leave out moves where the mover had under S seconds (%%clk comments; "
                   f"default {humans.DEFAULT_MIN_CLOCK:g}, 0: keep all)")
    h.add_argument("--positions", type=int, default=humans.DEFAULT_POSITIONS,
                   help=f"positions sampled (default {humans.DEFAULT_POSITIONS:,})")
    h.add_argument("--temperatures", metavar="T,T,...",
                   help="the model's temperatures (default "
                   f"{','.join(f'{t:g}' for t in humans.DEFAULT_TEMPERATURES)}; 1 is always added)")
    h.add_argument("--dataset", type=Path, metavar="DIR",
                   help="the run's training dataset, where run.json's path is not here")
    h.add_argument("--nodes", type=int, default=DEFAULT_NODES,
                   help=f"Stockfish nodes per move, or per position with --search multipv "
                   f"(default {DEFAULT_NODES:,})")
    h.add_argument("--search", choices=MODES, default=DEFAULT_MODE,
                   help=f"one search per legal move, or one MultiPV search (default {DEFAULT_MODE})")
    h.add_argument("--workers", type=int, default=2, help="engine processes (default 2)")
    h.add_argument("--cache", type=Path, metavar="PATH",
                   help="the scorer's cache (default OUT/scores.jsonl)")
    h.add_argument("--boot", type=int, default=N_BOOT, help=f"bootstrap resamples (default {N_BOOT})")
    h.add_argument("--seed", type=int, default=0, help="position sample and bootstrap seed")


def _temperatures(text: str | None) -> list[float] | None:
    if not text:
        return None
    try:
        return [float(t) for t in text.split(",")]
    except ValueError:
        raise UserError(f"--temperatures: not numbers: {text!r}") from None


def main(args: argparse.Namespace) -> int:
    if args.analysis == "humans":
        return _humans(args)
    if args.states < 1:
        raise UserError("--states must be at least 1")
    if args.boot < 1:
        raise UserError("--boot must be at least 1")
    temps = _temperatures(args.temperatures)
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


def _humans(args: argparse.Namespace) -> int:
    from chessformer.analysis.humans import Bins, humans_analysis
    from chessformer.formats import humans as humans_format
    from chessformer.report.humans import table

    if args.boot < 1:
        raise UserError("--boot must be at least 1")
    bins = Bins(width=args.bin_width)
    if args.bins:
        try:
            bins = Bins(width=None, edges=tuple(int(e) for e in args.bins.split(",")))
        except ValueError:
            raise UserError(f"--bins: not whole numbers: {args.bins!r}") from None
    out = args.out or args.model / "humans"
    r, _ = humans_analysis(args.model, args.games, out, bins=bins, skip_plies=args.skip_plies,
                           min_clock=args.min_clock or None, positions=args.positions,
                           temperatures=_temperatures(args.temperatures), nodes=args.nodes,
                           mode=args.search, processes=args.workers, cache=args.cache,
                           seed=args.seed, n_boot=args.boot, dataset=args.dataset,
                           command=command_line())
    headers, rows = table(r)
    widths = [max(len(x) for x in col) for col in zip(headers, *rows)]
    for line in [headers, *rows]:
        print("  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip())
    print(f"{r.positions} positions of {r.positions_total} from {r.games} games; scored now "
          f"{r.scorer['scored_now']}, from the cache {r.scorer['from_cache']}; {r.seconds:.0f} s")
    print(out / humans_format.HUMANS_MD)
    return 0
