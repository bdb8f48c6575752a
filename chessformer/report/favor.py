"""The favor analysis on a page: its sections (for ``favor.html`` and the run's report), its
plot, and the boards of the states with the largest gains (pure: a :class:`FavorResult` in,
sections, PNG and SVG out)."""

from __future__ import annotations

import html
from pathlib import Path

import chess
import chess.svg

from chessformer.formats.favor import FavorResult, FavorState
from chessformer.report.document import Section
from chessformer.utils import format_number

__all__ = ["board_svg", "favor_sections", "plot_favor"]

#: Arrow colours: the model's low-temperature move, the experts' most likely, Stockfish's best.
ARROWS = {"model": "#0072B2", "experts": "#E69F00", "stockfish": "#009E73"}


def _pts(x: float | None) -> str:
    return "n/a" if x is None else format_number(100 * x, 2, signed=True)


def _pct(x: float | None) -> str:
    return "n/a" if x is None else format_number(100 * x, 1)


def favor_sections(r: FavorResult, image: str | None, boards: list[str] | None = None,
                   *, link: str | None = None) -> list[Section]:
    """The table, the histogram and groups, and (with ``boards``: inline SVGs) the top states."""
    low = min(r.temperatures)
    sc = r.scorer
    opp = f"against {r.opponent}" if r.opponent else "against every opponent"
    intro = (f"The states the model visited in its evaluation games at T = "
             f"{r.verdict_temperature:g} ({opp}): {r.states} sampled of {r.states_total} "
             f"(from {r.games} of {r.games_total} games, seed {r.seed}). In each, the model's "
             f"exact move distribution at each temperature and each training expert's "
             f"(simulated experts' move_distribution) are scored by {sc['engine']} at "
             f"{sc['search']}: every legal move scored, its expected score = win + draw/2 "
             f"for the side to move, through python-chess's WDL model. Expected scores and gains in points (100 = a whole game); gain = the "
             f"per-state difference from the model at T = 1; intervals: 95% bootstrap, "
             f"resampling games ({r.n_boot} resamples). top-k: the probability that the move "
             f"is among Stockfish's k best. The paper (Zhang et al. 2024, Table 1): +2.17 points "
             f"at T = 0.001 and +1.01 at T = 0.75 over T = 1; top-1/3/5 29.6/54.3/66.9% at "
             f"T = 0.001 against 22.6/44.0/56.3% at T = 1.")
    rows = [[x.player, format_number(100 * x.expected, 2),
             f"[{100 * x.expected_lo:.2f}, {100 * x.expected_hi:.2f}]",
             "0 (reference)" if x.temperature == 1.0 else _pts(x.gain),
             "" if x.temperature == 1.0 else f"[{_pts(x.gain_lo)}, {_pts(x.gain_hi)}]",
             _pct(x.top1), _pct(x.top3), _pct(x.top5)] for x in r.table]
    table = Section("Where the model gains: expected score by temperature", [intro],
                    ["player", "expected score", "95% CI", "gain over T=1", "95% CI",
                     "top-1 %", "top-3 %", "top-5 %"], rows,
                    links=[("the whole favor analysis", link)] if link else None)
    conc = "; ".join(f"{c.group} of states: n/a" if c.value is None else
                     f"{c.group} of states: {_pct(c.value)}% of the gain "
                     f"[{_pct(c.lo)}, {_pct(c.hi)}]" for c in r.concentration)
    total = next((x for x in r.table if x.temperature == low), None)
    words = [f"Each state's gain of T = {low:g} over T = 1, binned: the share of states per bin "
             f"(95% interval, games resampled). Total gain {_pts(total.gain) if total else 'n/a'} "
             f"points a state. Concentration (share of the summed gain carried by the states with "
             f"the largest gains): {conc}; a share above 100% means the other states' gains "
             f"sum below zero." + (" (A share is n/a where the summed gain is not positive.)"
                                   if any(c.value is None for c in r.concentration) else "")]
    hist = Section(f"Per-state gain at T = {low:g} over T = 1", words,
                   ["gain (points)", "states", "share %", "95% CI"],
                   [[f"[{100 * b.lo:+.1f}, {100 * b.hi:+.1f})", str(b.states), _pct(b.share),
                     f"[{_pct(b.share_lo)}, {_pct(b.share_hi)}]"] for b in r.histogram],
                   image=image)
    groups = [[f"phase: {g.group}", str(g.states), _pts(g.value), f"[{_pts(g.lo)}, {_pts(g.hi)}]"]
              for g in r.by_phase]
    groups += [[f"experts' entropy: {g.group}", str(g.states), _pts(g.value),
                f"[{_pts(g.lo)}, {_pts(g.hi)}]"] for g in r.by_entropy]
    grp = Section(f"Gain at T = {low:g} by game phase and by the experts' disagreement",
                  ["Phase as the simulated experts' regions define it (endgame: non-pawn material "
                   "<= 26; opening: the first 20 plies with material >= 54). Disagreement: the "
                   "entropy in bits of the equal mixture of the training experts' move "
                   "distributions, in three bands of equal counts."
                   + ("" if r.experts else " No training expert's distribution is known here, "
                      "so there is no entropy row.")],
                  ["states", "n", "mean gain (points)", "95% CI"], groups)
    out = [table, hist, grp]
    if r.top_states:
        par = (f"The {len(r.top_states)} states where T = {low:g} gains most over T = 1. Arrows: "
               f"blue the model's most likely move, orange the experts' most likely, green "
               f"Stockfish's best.")
        rows = [[f"{s.game} ply {s.ply}", _pts(s.gain),
                 f"{s.model_move} ({100 * s.model_p_low:.0f}% at T={low:g}, "
                 f"{100 * s.model_p_one:.0f}% at T=1)",
                 "n/a" if s.experts_move is None else
                 f"{s.experts_move} ({100 * (s.experts_p or 0):.0f}%)", s.best_move,
                 ", ".join(f"{m} {100 * v:.0f}" for m, v in s.scores.items())]
                for s in r.top_states]
        body = None
        if boards:
            cells = "".join(
                f'<figure style="display:inline-block;margin:0 1em 1em 0;width:300px">{svg}'
                f"<figcaption>{html.escape(row[0])}: gain {html.escape(row[1])}<br>"
                f"model {html.escape(row[2])}<br>experts {html.escape(row[3])}<br>"
                f"Stockfish {html.escape(row[4])}</figcaption></figure>"
                for svg, row in zip(boards, rows))
            body = f"<div>{cells}</div>"
        out.append(Section("States with the largest gains", [par],
                           ["state", "gain", "model", "experts", "Stockfish best",
                            "expected score of each (points)"], rows, html=body))
    return out


def board_svg(s: FavorState, size: int = 300) -> str:
    """The state's board from the side to move, with the three moves as arrows."""
    board = chess.Board(s.fen)
    arrows = []
    for move, colour in ((s.best_move, ARROWS["stockfish"]), (s.experts_move, ARROWS["experts"]),
                         (s.model_move, ARROWS["model"])):
        if move:
            m = chess.Move.from_uci(move)
            arrows.append(chess.svg.Arrow(m.from_square, m.to_square, color=colour))
    return chess.svg.board(board, arrows=arrows, size=size, orientation=board.turn)


def plot_favor(path: Path, r: FavorResult) -> None:
    """The per-state gain histogram (share of states per bin, with intervals)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 3.6))
    ax = fig.add_subplot(1, 1, 1)
    labels = [f"{100 * b.lo:+.1f}..{100 * b.hi:+.1f}" for b in r.histogram]
    share = [100 * b.share for b in r.histogram]
    err = [[100 * (b.share - b.share_lo) for b in r.histogram],
           [100 * (b.share_hi - b.share) for b in r.histogram]]
    colours = ["#D55E00" if b.hi <= 0 and b.lo < -0.005 else
               "#009E73" if b.lo >= 0.005 else "#999999" for b in r.histogram]
    ax.bar(range(len(share)), share, yerr=err, color=colours, capsize=3)
    ax.set_xticks(range(len(share)), labels, rotation=35, ha="right", fontsize=8)
    ax.set_ylabel("% of states")
    low = min(r.temperatures)
    ax.set_xlabel(f"gain of T = {low:g} over T = 1 (points of expected score)")
    ax.set_title(f"Per-state gain ({r.states} states, {r.games} games)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
