"""Position scorer benchmark: scored positions per second per engine process, and how stable
each limit's scores are against ten times as many nodes (what chose the default limit).

    python bench/bench_scorer.py                       # the table of docs/results.md
    python bench/bench_scorer.py --quick               # the default limit only, 30 positions
    python bench/bench_scorer.py --pgn games.pgn --positions 100 --limits per-move:1000
    python bench/bench_scorer.py --humans-only          # analyze humans' scoring, 2 processes

Positions: one random ply (seeded) of each of the first games with 20+ plies of the PGN (default
../shared/data/lichess_2016-05_excerpt.pgn, real Lichess games). Each limit is scored by one
engine process, from an empty cache in a temporary folder, and compared with the same search
at 10x the nodes (``chessformer.analysis.scorer.stability``). Then ``analyze humans``' own
scoring: its position sampler (``chessformer.analysis.humans.read_positions``: every move after
ply 10 with a rated player to move, a seeded sample) on the same PGN, scored at the default limit
by the command's default 2 engine processes; the line gives positions per second of wall time
(what ``analyze humans`` spends scoring) and per process. Always exits 0 and prints what it
measured.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DEFAULT_PGN = Path(__file__).resolve().parents[2] / "shared" / "data" / "lichess_2016-05_excerpt.pgn"
LIMITS = ["multipv:2000", "multipv:5000", "multipv:10000", "multipv:20000", "per-move:200",
          "per-move:500", "per-move:1000"]


def positions(pgn: Path, n: int, seed: int = 0) -> list[str]:
    import chess.pgn

    rng = random.Random(seed)
    out: list[str] = []
    with open(pgn, encoding="utf-8", errors="replace") as f:
        while len(out) < n:
            game = chess.pgn.read_game(f)
            if game is None:
                break
            moves = list(game.mainline_moves())
            if len(moves) < 20:
                continue
            k = rng.randint(8, len(moves) - 2)
            board = game.board()
            for m in moves[:k]:
                board.push(m)
            if not board.is_game_over():
                out.append(board.fen())
    return out


def main() -> int:
    from chessformer.analysis.scorer import DEFAULT_MODE, DEFAULT_NODES

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pgn", type=Path, default=DEFAULT_PGN)
    ap.add_argument("--positions", type=int, default=100)
    ap.add_argument("--limits", nargs="+", default=LIMITS, metavar="MODE:NODES")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--humans-only", action="store_true",
                    help="only the analyze humans line")
    args = ap.parse_args()
    if args.quick:
        args.positions, args.limits = 30, [f"{DEFAULT_MODE}:{DEFAULT_NODES}"]
    if not args.pgn.is_file():
        print(f"no PGN at {args.pgn}: pass --pgn")
        return 0
    if not args.humans_only:
        stability_table(args)
    humans_line(args.pgn, args.positions)
    return 0


def humans_line(pgn: Path, n: int) -> None:
    """Scored positions per second of ``analyze humans``' scoring, on its own sample."""
    import chess

    from chessformer.analysis.humans import Bins, read_positions
    from chessformer.analysis.scorer import Scorer

    sample, _ = read_positions([pgn], Bins(), sample=n, seed=0)
    fens = []
    for p in sample:
        board = chess.Board()
        for m in p.moves[:p.ply]:
            board.push_uci(m)
        fens.append(board.fen())
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        with Scorer(Path(tmp), processes=2) as s:
            s.score(fens)
            wall = time.perf_counter() - t0
            print(f"analyze humans' scoring: {s.stats.scored_now} positions of {pgn.name} "
                  f"({s.describe()}), 2 engine processes: {s.stats.scored_now / wall:.2f} "
                  f"positions/s of wall time, {s.stats.per_second_per_process:.2f} per process "
                  f"({wall:.0f} s)", flush=True)


def stability_table(args: argparse.Namespace) -> None:
    from chessformer.analysis.scorer import Scorer, stability

    fens = positions(args.pgn, args.positions)
    print(f"{len(fens)} positions from {args.pgn.name}; one engine process per limit")
    print(f"{'search':>18} {'pos/s/proc':>10} {'vs 10x':>8} {'same best':>9} {'best in top 3':>13} "
          f"{'spearman':>8} {'|diff| a move':>13} {'|diff| uniform':>14} {'regret':>7}")
    with tempfile.TemporaryDirectory() as tmp:
        for spec in args.limits:
            mode, nodes = spec.split(":")
            t0 = time.perf_counter()
            with Scorer(Path(tmp) / f"{mode}-{nodes}", nodes=int(nodes), mode=mode,
                        processes=1) as s:
                low = s.score(fens)
                rate = s.stats.per_second_per_process
            line = f"{mode + ' ' + nodes:>18} {rate:>10.2f}"
            if not args.quick:
                with Scorer(Path(tmp) / f"{mode}-{nodes}-x10", nodes=10 * int(nodes), mode=mode,
                            processes=1) as s:
                    high = s.score(fens)
                    rate10 = s.stats.per_second_per_process
                st = stability(low, high)
                line += (f" {rate10:>8.2f} {st['same_best']:>9.2f} {st['best_in_top3']:>13.2f} "
                         f"{st['spearman']:>8.3f} {100 * st['mean_abs_diff']:>13.2f} "
                         f"{100 * st['uniform_abs_diff']:>14.2f} {100 * st['best_regret']:>7.2f}")
            print(line + f"   ({time.perf_counter() - t0:.0f} s)", flush=True)
    print("pos/s/proc: positions scored per second by one engine process (vs 10x: at 10x the "
          "nodes); diffs and regret in points of expected score (100 = a game)")


if __name__ == "__main__":
    sys.exit(main())
