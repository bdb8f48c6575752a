"""``chessformer rate``: anchored Elo ratings with 95% intervals for every player in some games.

    chessformer rate runs/demo/eval/main                       # an evaluation folder
    chessformer rate a/games.jsonl b/games.jsonl --anchor "stockfish skill=1"=1554 --boot 2000
    chessformer rate runs/demo/eval/main --ladder auto --csv ratings.csv

RESULTS are arena ``games.jsonl`` files or folders holding one (an evaluation folder with its
``eval.json``). All games are fitted jointly (see :mod:`chessformer.rating.elo`); each distinct player
name is its own player, so each model temperature and legality mode gets its own rating.

Anchors, first that applies: ``--anchor`` and/or ``--ladder`` when given; else the ``anchors`` of
the folders' ``eval.json``; else the ladder file their ``eval.json`` names; else none, and the
mean rating is centred at 1500 (only differences mean anything).
"""

from __future__ import annotations

import json
import math
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from chessformer.rating.elo import (
    CENTRE,
    BootstrapFit,
    GameFileSummary,
    GameResult,
    glicko2_ratings,
    load_ladder,
    read_games,
)
from chessformer.utils import ROOT, UserError, log

#: Where ``calibrate`` writes ladders, relative to the repository root / working directory.
LADDER_DIR = ROOT / "stockfish"


@dataclass
class Results:
    """Games read from RESULTS plus what their evaluation folders say about them."""

    games: list[GameResult]
    summary: GameFileSummary
    files: list[Path]
    evals: dict[Path, dict[str, Any]] = field(default_factory=dict)  # folder -> eval.json
    unfinished_by_file: dict[Path, int] = field(default_factory=dict)
    finished_by_file: dict[Path, int] = field(default_factory=dict)


def collect_results(paths: list[str | os.PathLike[str]]) -> Results:
    """Read every games.jsonl (given directly or as a folder) and any eval.json beside it."""
    files: list[Path] = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            path = path / "games.jsonl"
        if not path.is_file():
            raise UserError(f"{p}: no games.jsonl found (give a games.jsonl file or an evaluation "
                            "folder holding one)")
        files.append(path)
    summary = GameFileSummary()
    res = Results([], summary, files)
    for path in files:
        before_u, before_f = summary.unfinished, summary.finished
        res.games.extend(read_games([path], summary))
        res.unfinished_by_file[path] = summary.unfinished - before_u
        res.finished_by_file[path] = summary.finished - before_f
        ev = path.parent / "eval.json"
        if ev.is_file():
            try:
                res.evals[path.parent] = json.loads(ev.read_text(encoding="utf-8"))
            except json.JSONDecodeError as e:
                raise UserError(f"{ev}: not valid JSON: {e}") from e
    for bad in summary.bad_lines[:5]:
        log.warning("skipped bad line %s", bad)
    if len(summary.bad_lines) > 5:
        log.warning("... and %d more bad lines", len(summary.bad_lines) - 5)
    return res


def find_ladder(version: str | None, root: Path = LADDER_DIR) -> Path | None:
    """``stockfish/ladder-<version>.json`` for the given Stockfish version, if it exists."""
    if version:
        p = root / f"ladder-{version}.json"
        return p if p.is_file() else None
    found = sorted(root.glob("ladder-*.json"))
    return found[0] if len(found) == 1 else None


@dataclass
class AnchorChoice:
    anchors: dict[str, float]
    source: str  # in words, for the table header and the report
    ladder: Path | None = None


def resolve_anchors(res: Results, cli: dict[str, float] | None = None,
                    ladder: str | None = None) -> AnchorChoice:
    """Pick the anchors by the precedence in the module docstring; check they are consistent."""
    cli = dict(cli or {})
    names = {g.white for g in res.games} | {g.black for g in res.games}
    if ladder:
        if ladder == "auto":
            versions = {str((e.get("stockfish") or {}).get("version"))
                        for e in res.evals.values() if (e.get("stockfish") or {}).get("version")}
            if len(versions) > 1:
                raise UserError(f"games come from several Stockfish versions {sorted(versions)}; "
                                "give --ladder PATH")
            path = find_ladder(next(iter(versions), None))
            if path is None:
                raise UserError(f"--ladder auto: no ladder file for Stockfish {versions or '?'} "
                                f"in {LADDER_DIR}/ (run `chessformer calibrate`)")
        else:
            path = Path(ladder)
            if not path.is_file():
                raise UserError(f"--ladder {ladder}: no such file")
        try:
            lad = load_ladder(path)
        except (ValueError, json.JSONDecodeError) as e:
            raise UserError(str(e)) from e
        used = {k: v for k, v in lad.items() if k in names}
        used.update(cli)
        if not used:
            raise UserError(f"no rung of ladder {path} plays in these games "
                            f"(rungs: {', '.join(sorted(lad)[:5])}...)")
        return AnchorChoice(used, f"ladder {path}" + (" and --anchor" if cli else ""), path)
    if cli:
        return AnchorChoice(cli, "--anchor")
    merged: dict[str, float] = {}
    for folder, ev in res.evals.items():
        for name, elo in (ev.get("anchors") or {}).items():
            if name in merged and abs(merged[name] - float(elo)) > 1e-9:
                raise UserError(f"{folder}/eval.json anchors {name!r} at {elo}, another evaluation "
                                f"at {merged[name]}: give --anchor explicitly")
            merged[name] = float(elo)
    if merged:
        return AnchorChoice(merged, "eval.json anchors")
    for ev in res.evals.values():
        lp = ev.get("ladder")
        if lp and Path(lp).is_file():
            lad = load_ladder(lp)
            used = {k: v for k, v in lad.items() if k in names}
            if used:
                return AnchorChoice(used, f"ladder {lp} (named in eval.json)", Path(lp))
    return AnchorChoice({}, f"none: mean rating centred at {CENTRE:.0f}")


def parse_anchor(text: str) -> tuple[str, float]:
    name, sep, value = text.rpartition("=")
    try:
        if not sep or not name:
            raise ValueError
        return name, float(value)
    except ValueError:
        raise UserError(f"--anchor {text!r}: expected NAME=ELO, e.g. 'stockfish skill=1'=1554") \
            from None


def fmt(x: float, signed: bool = False) -> str:
    if not math.isfinite(x):
        return "n/a"
    return f"{x:+.0f}" if signed else f"{x:.0f}"


def table_rows(bf: BootstrapFit, glicko_fixed: dict[str, float] | None = None,
               games: list[GameResult] | None = None) -> list[dict[str, Any]]:
    """One dict per player (best first): the table ``rate`` prints and ``--csv`` writes."""
    glicko = glicko2_ratings(games, glicko_fixed) if games and glicko_fixed else {}
    rows = []
    for r in bf.ratings():
        g = glicko.get(r.player)
        rows.append({
            "player": r.player, "elo": round(r.elo, 1), "lo": round(r.lo, 1), "hi": round(r.hi, 1),
            "games": r.games, "wins": r.wins, "draws": r.draws, "losses": r.losses,
            "score": round(r.score, 4), "anchor": r.anchor, "unanchored": r.unanchored,
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
        print(f"{r['player']:<{width}}  {fmt(r['elo']):>6}  {ival:>13}  {r['games']:>5}  "
              f"{wdl:>13}  {r['score']:>5.3f}  {gl:>11}{mark}", file=out)
