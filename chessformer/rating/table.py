"""The ratings table that ``rate`` prints (and writes as CSV) and ``report`` renders."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any, TextIO

from chessformer.rating.bootstrap import BootstrapFit
from chessformer.rating.counts import GameResult
from chessformer.rating.glicko import glicko2_ratings
from chessformer.utils import format_number


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
            "glicko2_spread": None if g is None else round(g.spread, 1),
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
        ival = "anchor" if r["anchor"] else f"[{format_number(r['lo'])}, {format_number(r['hi'])}]"
        wdl = f"{r['wins']}/{r['draws']}/{r['losses']}"
        gl = "" if r["glicko2"] is None else f"{r['glicko2']:.0f} ±{1.96 * r['glicko2_rd']:.0f}"
        mark = " *" if r["anchor"] else (" ~" if r["unanchored"] else "")
        mark += " !" if r["prior_only"] else ""
        print(f"{r['player']:<{width}}  {format_number(r['elo']):>6}  {ival:>13}  {r['games']:>5}  "
              f"{wdl:>13}  {r['score']:>5.3f}  {gl:>11}{mark}", file=out)


#: How far beyond a perfect score's bound the suggested rungs lie (Elo): spread, since the games
#: say only on which side of the bound the rating is.
RANGE_STEPS = (200, 400, 700)


def out_of_range(rows: Sequence[dict[str, Any]], games: Sequence[GameResult],
                 rungs: dict[str, float] | None = None,
                 grids: dict[str, list[float]] | None = None) -> list[str]:
    """Warnings for players outside the range of their opponents (won or lost every game).

    Such a rating is set by the prior, not measured. One warning per (direction, opponents):
    which grid of ``grids`` (name -> its ladder rungs' ratings) brackets them instead, and which
    rungs of the ladder ``rungs`` (name -> Elo) lie beyond the opponents they met.
    """
    elo = {r["player"]: r["elo"] for r in rows}
    groups: dict[tuple[bool, frozenset[str]], list[str]] = {}
    for r in rows:
        if not r["prior_only"]:
            continue
        met = frozenset(g.black if g.white == r["player"] else g.white for g in games
                        if r["player"] in (g.white, g.black))
        groups.setdefault((r["losses"] == r["games"], met), []).append(r["player"])
    notes = []
    for (lost, met), players in groups.items():
        bound_player = (min if lost else max)(met, key=lambda p: elo[p])
        bound = elo[bound_player]
        sign = -1 if lost else 1
        beyond = [(e, n) for n, e in (rungs or {}).items() if sign * (e - bound) > 0]
        # Rungs spread over the range beyond the bound (the rating could be anywhere there).
        picks = [min(beyond, key=lambda x: abs(x[0] - bound - sign * step))
                 for step in RANGE_STEPS] if beyond else []
        picks = sorted(set(picks), reverse=lost)
        # The grid reaching furthest beyond the bound brackets the most of that range.
        reach = {g: sign * (min(es) if lost else max(es)) for g, es in (grids or {}).items() if es}
        best = max((g for g in reach if reach[g] > sign * bound), key=reach.get, default=None)
        text = (f"{', '.join(players)}: {'lost' if lost else 'won'} every game, so the rating is "
                f"set by the prior, not measured: the opponents are all too "
                f"{'strong' if lost else 'weak'} ({'weakest' if lost else 'strongest'}: "
                f"{bound_player}, {format_number(bound)}). Evaluate against rungs rated "
                f"{'below' if lost else 'above'} {format_number(bound)}")
        if best is not None:
            text += f": the {best} grid (evals/{best}.toml)"
        if picks:
            text += ((", or " if best else ": ") + "a grid with ladder rungs such as "
                     + ", ".join(f"{n} ({format_number(e)})" for e, n in picks))
        notes.append(text + ".")
    return notes
