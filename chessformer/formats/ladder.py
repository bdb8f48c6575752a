"""A calibrated Stockfish ladder (written by ``calibrate``): ``ladder-<version>.json`` holds each
rung's name, settings and Elo on the paper's scale; the games it was fitted on lie beside it in
``ladder-<version>-games.jsonl`` (the :mod:`chessformer.formats.games` record format).
Shipped ladders live in the project's ``stockfish/`` folder (and inside an installed package).

While it plays, ``calibrate`` keeps a work folder (``runs/calibrate/<version>-<plan hash>/``):
one evaluation folder per worker shard, ``plan.json`` (the plan its games belong to: a resumed
run refuses another plan's games) and ``sessions.jsonl`` (one line per session that added games:
workers, CPU count, load average).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from chessformer.formats import json_line, read_jsonl_lines
from chessformer.formats import records as records_format
from chessformer.utils import in_checkout, resource_dir

#: The calibration work folder's files (see the module docstring).
WORK_PLAN = "plan.json"
WORK_SESSIONS = "sessions.jsonl"


def ladder_name(version: str) -> str:
    return f"ladder-{version}.json"


def games_beside(ladder: str | os.PathLike[str]) -> Path:
    """``ladder-V.json`` -> ``ladder-V-games.jsonl``."""
    ladder = Path(ladder)
    return ladder.with_name(f"{ladder.stem}-games.jsonl")


@dataclass(frozen=True, kw_only=True)
class LadderRung(records_format.Record):
    """One rung of a calibrated ladder: who it is and where the games put it."""

    #: the player's name in games and ratings (``stockfish skill=1 movetime_ms=100``)
    name: str
    #: the player spec's kind and settings (:mod:`chessformer.play.players`)
    kind: str
    settings: dict[str, Any]
    #: the fitted Elo and its 95% bootstrap interval (an anchor's interval has zero width)
    elo: float
    lo: float
    hi: float
    #: held at the paper's rating
    anchor: bool
    games: int
    wins: int
    draws: int
    losses: int
    #: points per game
    score: float


@dataclass(frozen=True, kw_only=True)
class PairScore(records_format.Record):
    """The games of one pair of rungs (names sorted): ``a``'s points and score."""

    a: str
    b: str
    games: int
    a_points: float
    a_score: float


@dataclass(frozen=True, kw_only=True)
class AnchorCheck(records_format.Record):
    """Where the games put one anchor when it is left out and the others hold the scale (None
    when they cannot place it)."""

    name: str
    #: the paper's rating of the anchor
    paper: float
    fitted: float | None
    lo: float | None
    hi: float | None


@dataclass(frozen=True, kw_only=True)
class FittedRating(records_format.Record):
    """A player's Elo and 95% interval in a fit."""

    name: str
    elo: float
    lo: float
    hi: float


@dataclass(frozen=True, kw_only=True)
class SingleAnchorFit(records_format.Record):
    """Every rating with the middle anchor alone holding the scale: the spacing the games give."""

    anchor: str
    elo: float
    #: bootstrap resamples
    bootstrap: int
    rungs: list[FittedRating]


@dataclass(frozen=True, kw_only=True)
class CalibratedLadder(records_format.Record):
    """``ladder-<version>.json``: a calibrated ladder (written by ``calibrate``).

    Schema version 1 (:attr:`SCHEMA`; no version key), written by every release so far.
    """

    SCHEMA: ClassVar[int] = 1
    OMIT_NONE: ClassVar[tuple[str, ...]] = ("warning",)

    #: written first, only when the anchors fail the leave-one-out check (``calibrate
    #: --allow-anchor-misfit``): which failed, and that the scale is this ladder's own
    warning: str | None = None
    stockfish_version: str
    stockfish_path: str
    #: UTC, ISO 8601, to the second
    created: str
    command: str
    #: the ladder TOML the rungs came from (``list`` for rungs given in Python)
    ladder_source: str
    #: ``{rung name: paper Elo}`` of the rungs held fixed
    anchors: dict[str, float]
    #: the games file beside it, its sha256, the finished games fitted and the unfinished ones
    games: str
    games_sha256: str
    n_games: int
    unfinished: int
    #: games per pair, workers, seed, span, openings, adjudication, bootstrap, draw model,
    #: prior, CPU count and the playing sessions
    settings: dict[str, Any]
    rungs: list[LadderRung]
    pairs: list[PairScore]
    anchor_check: list[AnchorCheck]
    single_anchor_fit: SingleAnchorFit | None
    #: how to read the ladder: the anchors' provenance, load, the fit
    notes: str

    def elos(self) -> dict[str, float]:
        """``{rung name: elo}``."""
        return {r.name: r.elo for r in self.rungs}


def read_ladder(path: str | os.PathLike[str]) -> CalibratedLadder:
    return CalibratedLadder.load(path, "ladder")


def write_ladder(path: str | os.PathLike[str], ladder: CalibratedLadder) -> None:
    ladder.save(path)


def load_ladder(path: str | os.PathLike[str]) -> dict[str, float]:
    """Anchors ``{rung name: elo}`` from a ladder file."""
    return read_ladder(path).elos()


@dataclass(frozen=True)
class WorkPlan(records_format.Record):
    """A calibrate work folder's ``plan.json``: the plan its games belong to."""

    #: the hash of the pairs, game counts, seed and workers (:func:`calibrate.plan_hash`)
    plan: str
    matches: int


@dataclass(frozen=True)
class PlayingSession(records_format.Record):
    """A line of ``sessions.jsonl``: one session that added games to a calibrate work folder (a
    loaded machine weakens the movetime rungs, so the ladder file reports them)."""

    #: UTC, ISO 8601, to the second
    started: str
    #: the games this session added
    games: int
    #: the 1-minute load average before and after (None where the system has none)
    load_average_start: float | None
    load_average_end: float | None


def read_work_plan(work: str | os.PathLike[str]) -> WorkPlan | None:
    path = Path(work) / WORK_PLAN
    return WorkPlan.load(path, "calibrate plan") if path.exists() else None


def write_work_plan(work: str | os.PathLike[str], plan: WorkPlan) -> None:
    plan.save(Path(work) / WORK_PLAN)


def append_session(work: str | os.PathLike[str], session: PlayingSession) -> None:
    with open(Path(work) / WORK_SESSIONS, "a", encoding="utf-8") as f:
        f.write(json_line(session.to_json()))


def read_sessions(work: str | os.PathLike[str]) -> list[PlayingSession]:
    path = Path(work) / WORK_SESSIONS
    return [PlayingSession.from_json(raw, f"{path}:{lineno}")
            for lineno, raw in read_jsonl_lines(path)]


def calibrated_dir() -> Path:
    """Where ``calibrate`` writes a new ladder: the checkout's ``stockfish/`` (versioned beside the
    code), or ``./stockfish/`` when chessformer is installed (never into site-packages)."""
    return resource_dir("stockfish") if in_checkout() else Path.cwd() / "stockfish"


def search_dirs() -> list[Path]:
    """Where ladders are looked for: the ones calibrated here, then the shipped ones."""
    dirs = [calibrated_dir(), resource_dir("stockfish")]
    return list(dict.fromkeys(dirs))


def find_ladder(version: str | None, folder: str | os.PathLike[str] | None = None) -> Path | None:
    """``ladder-<version>.json`` in ``folder`` (default: :func:`search_dirs`) if it exists; with
    no version, the only ladder there."""
    for d in [Path(folder)] if folder is not None else search_dirs():
        if version:
            p = d / ladder_name(version)
            if p.is_file():
                return p
            continue
        found = sorted(d.glob("ladder-*.json"))
        if len(found) == 1:
            return found[0]
    return None
