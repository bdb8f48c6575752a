"""Which ratings hold the Elo scale: anchors from the command line, a ladder, or ``eval.json``.

Precedence (:func:`resolve_anchors`): ``--anchor`` and/or ``--ladder`` when given; else the
``anchors`` recorded in the folders' ``eval.json``; else the ladder file their ``eval.json``
names; else none, and the mean rating is centred at :data:`~chessformer.rating.bradley_terry.CENTRE`
(only differences mean anything). Ladders are read through :mod:`chessformer.formats.ladder`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from chessformer.formats import ladder as ladder_format
from chessformer.rating.bradley_terry import CENTRE
from chessformer.rating.collect import Results
from chessformer.utils import UserError

#: The paper's Stockfish anchors (Zhang et al. 2024): Skill Level 1..5 at 0.1 s a move (SF 16.1).
#: The shipped ladder (``evals/ladder.toml``) holds its own copy as anchors; this is the published
#: reference that ladder and the rating tests are checked against, for users comparing with the paper.
PAPER_STOCKFISH_ELO = {1: 1554.0, 2: 1759.0, 3: 1867.0, 4: 2006.0, 5: 2148.0}


@dataclass
class AnchorChoice:
    anchors: dict[str, float]
    source: str  # in words, for the table header and the report
    ladder: Path | None = None


def stockfish_versions(res: Results) -> set[str]:
    """The Stockfish versions the folders' ``eval.json`` files record."""
    return {v for e in res.evals.values() if (v := e.stockfish_version)}


def _ladder_path(ladder: str, res: Results) -> Path:
    if ladder != "auto":
        path = Path(ladder)
        if not path.is_file():
            raise UserError(f"--ladder {ladder}: no such file")
        return path
    versions = stockfish_versions(res)
    if len(versions) > 1:
        raise UserError(f"games come from several Stockfish versions {sorted(versions)}; "
                        "give --ladder PATH")
    path = ladder_format.find_ladder(next(iter(versions), None))
    if path is None:
        where = " or ".join(f"{d}/" for d in ladder_format.search_dirs())
        raise UserError(f"--ladder auto: no ladder file for Stockfish {versions or '?'} "
                        f"in {where} (run `chessformer calibrate`)")
    return path


def _eval_anchors(res: Results) -> dict[str, float]:
    merged: dict[str, float] = {}
    for folder, ev in res.evals.items():
        for name, elo in ev.anchors.items():
            if name in merged and abs(merged[name] - float(elo)) > 1e-9:
                raise UserError(f"{folder}/eval.json anchors {name!r} at {elo}, another evaluation "
                                f"at {merged[name]}: give --anchor explicitly")
            merged[name] = float(elo)
    return merged


def resolve_anchors(res: Results, cli: dict[str, float] | None = None,
                    ladder: str | None = None) -> AnchorChoice:
    """Pick the anchors by the precedence in the module docstring; check they are consistent."""
    cli = dict(cli or {})
    names = res.names()
    if ladder:
        path = _ladder_path(ladder, res)
        lad = ladder_format.load_ladder(path)
        used = {k: v for k, v in lad.items() if k in names}
        used.update(cli)
        if not used:
            raise UserError(f"no rung of ladder {path} plays in these games "
                            f"(rungs: {', '.join(sorted(lad)[:5])}...)")
        return AnchorChoice(used, f"ladder {path}" + (" and --anchor" if cli else ""), path)
    if cli:
        return AnchorChoice(cli, "--anchor")
    if merged := _eval_anchors(res):
        return AnchorChoice(merged, "eval.json anchors")
    for ev in res.evals.values():
        lp = ev.ladder
        if lp and Path(lp).is_file():
            used = {k: v for k, v in ladder_format.load_ladder(lp).items() if k in names}
            if used:
                return AnchorChoice(used, f"ladder {lp} (named in eval.json)", Path(lp))
    return AnchorChoice({}, f"none: mean rating centred at {CENTRE:.0f}")


def parse_anchor(text: str) -> tuple[str, float]:
    """``NAME=ELO`` (the name may itself contain '=') -> ``(name, elo)``."""
    name, sep, value = text.rpartition("=")
    try:
        if not sep or not name:
            raise ValueError
        return name, float(value)
    except ValueError:
        raise UserError(f"--anchor {text!r}: expected NAME=ELO, e.g. 'stockfish skill=1'=1554") \
            from None


def scale_unanchored_reason(versions: set[str], anchors: dict[str, float],
                            ladder_dir: Path | None = None) -> str | None:
    """Why a fit with ``anchors`` is not on the paper's Elo scale (None when it is anchored).

    ``versions``: the Stockfish versions the games were played with; a version without a
    calibrated ladder in ``ladder_dir`` (default: :func:`chessformer.formats.ladder.search_dirs`)
    is named.
    """
    if anchors:
        return None
    missing = sorted(v for v in versions if ladder_format.find_ladder(v, ladder_dir) is None)
    where = " or ".join(f"{d}/" for d in ([ladder_dir] if ladder_dir is not None
                                          else ladder_format.search_dirs()))
    if missing or not versions:
        return (f"no calibrated ladder for Stockfish {', '.join(missing) or '(version unknown)'} "
                f"in {where}, so no player is held at a rating on the paper's Elo scale "
                "(`chessformer calibrate` makes one; `chessformer calibrate --dry-run` says how "
                "long it takes)")
    return ("no rung of the calibrated ladder played in these games, so no player is held at a "
            "rating on the paper's Elo scale")
