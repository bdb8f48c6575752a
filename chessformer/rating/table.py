"""The ratings table that ``rate`` prints (and writes as CSV) and ``report`` renders."""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from chessformer.rating.bootstrap import BootstrapFit
from chessformer.rating.counts import GameResult
from chessformer.rating.glicko import glicko2_ratings


def fmt(x: float, signed: bool = False) -> str:
    """A rating as a whole number (``n/a`` when not finite)."""
    if not math.isfinite(x):
        return "n/a"
    return f"{x:+.0f}" if signed else f"{x:.0f}"


def table_rows(bf: BootstrapFit, glicko_fixed: dict[str, float] | None = None,
               games: Sequence[GameResult] | None = None) -> list[dict[str, Any]]:
    """One dict per player (best first): the table ``rate`` prints and ``--csv`` writes."""
    glicko = glicko2_ratings(games, glicko_fixed) if games and glicko_fixed else {}
    rows = []
    for r in bf.ratings():
        g = glicko.get(r.player)
        rows.append({
            "player": r.player, "elo": round(r.elo, 1), "lo": round(r.lo, 1), "hi": round(r.hi, 1),
            "games": r.games, "wins": r.wins, "draws": r.draws, "losses": r.losses,
            "score": round(r.score, 4), "anchor": r.anchor, "unanchored": r.unanchored,
            "prior_only": r.prior_only,
            "glicko2": None if g is None else round(g.rating, 1),
            "glicko2_rd": None if g is None else round(g.rd, 1),
        })
    return rows


def print_table(rows: list[dict[str, Any]], out: TextIO | None = None) -> None:
    out = out or sys.stdout  # looked up per call, so redirected stdout is honoured
    width = max([len("player")] + [len(r["player"]) for r in rows])
    head = (f"{'player':<{width}}  {'Elo':>6}  {'95% interval':>13}  {'games':>5}  "
            f"{'W/D/L':>13}  {'score':>5}  {'Glicko-2':>11}")
    print(head, file=out)
    print("-" * len(head), file=out)
    for r in rows:
        ival = "anchor" if r["anchor"] else f"[{fmt(r['lo'])}, {fmt(r['hi'])}]"
        wdl = f"{r['wins']}/{r['draws']}/{r['losses']}"
        gl = "" if r["glicko2"] is None else f"{r['glicko2']:.0f} ±{1.96 * r['glicko2_rd']:.0f}"
        mark = " *" if r["anchor"] else (" ~" if r["unanchored"] else "")
        mark += " !" if r["prior_only"] else ""
        print(f"{r['player']:<{width}}  {fmt(r['elo']):>6}  {ival:>13}  {r['games']:>5}  "
              f"{wdl:>13}  {r['score']:>5.3f}  {gl:>11}{mark}", file=out)
