"""The favor analysis's files (written by ``analyze favor``; read by ``report``).

    OUT/favor.json        :class:`FavorResult`: the table per temperature and expert, the
                          per-state gain histogram, the gain's concentration, phase, entropy
    OUT/favor.csv         one row per sampled state (:data:`CSV_COLUMNS`)
    OUT/favor.md, .html   the page; OUT/favor_gain.png its plot; OUT/favor-board-K.svg boards
    OUT/scores.jsonl      the position scorer's cache (:mod:`chessformer.formats.scores`)

``report --out OUT`` adds a section from ``OUT/favor.json`` when one is there.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from chessformer.formats import records as records_format
from chessformer.utils import write_csv_atomic

FAVOR_JSON = "favor.json"
FAVOR_CSV = "favor.csv"
FAVOR_MD = "favor.md"
FAVOR_HTML = "favor.html"
FAVOR_PLOT = "favor_gain.png"

CSV_COLUMNS = ("game", "ply", "phase", "fen", "best", "best_score", "experts_entropy")


def board_svg_name(k: int) -> str:
    return f"favor-board-{k}.svg"


@dataclass(frozen=True, kw_only=True)
class FavorRow(records_format.Record):
    """One player's line of the table: a model temperature, a training expert, or Stockfish."""

    #: ``model T=<t>``, the expert's name, or ``stockfish best``
    player: str
    kind: str
    #: the model's temperature (None for the others)
    temperature: float | None
    #: mean expected score (for the side to move) of its move distribution over the states,
    #: with a 95% bootstrap interval clustered by game
    expected: float
    expected_lo: float
    expected_hi: float
    #: the mean per-state difference from the model at T = 1, with its interval
    gain: float
    gain_lo: float
    gain_hi: float
    #: the probability that its move is Stockfish's best move, or among its 3 or 5 best
    top1: float
    top3: float
    top5: float


@dataclass(frozen=True, kw_only=True)
class FavorBin(records_format.Record):
    """One bar of the per-state gain histogram (gain of the lowest temperature over T = 1)."""

    lo: float
    hi: float
    #: states in the bin, and their share of all states with its 95% interval
    states: int
    share: float
    share_lo: float
    share_hi: float


@dataclass(frozen=True, kw_only=True)
class FavorGroup(records_format.Record):
    """The lowest temperature's mean gain over T = 1 in a group of states."""

    #: a game phase (opening, middlegame, endgame), an entropy band, or ``top 5%`` of states
    group: str
    states: int
    #: mean gain (or, for a concentration row, the share of the total gain) and its interval;
    #: None for an empty group (or a summed gain that is not positive)
    value: float | None
    lo: float | None
    hi: float | None


@dataclass(frozen=True, kw_only=True)
class FavorState(records_format.Record):
    """One of the states with the largest gains (drawn as a board on the page)."""

    game: str
    ply: int
    fen: str
    gain: float
    #: the lowest temperature's most likely move and its probabilities at the lowest
    #: temperature and at T = 1
    model_move: str
    model_p_low: float
    model_p_one: float
    #: the training experts' most likely move (their equal mixture) and its probability there
    experts_move: str | None
    experts_p: float | None
    #: Stockfish's best move, and the expected score of each of those three moves
    best_move: str
    scores: dict[str, float]


@dataclass(frozen=True, kw_only=True)
class FavorResult(records_format.Record):
    """``favor.json``: where the model's low temperature gains over T = 1, state by state.

    Schema version 1 (:attr:`SCHEMA`; no version key).
    """

    SCHEMA: ClassVar[int] = 1

    #: the run and the evaluation folders whose games were read
    run: str
    evals: list[str]
    #: the model games read: at this temperature, against this opponent (None: all)
    verdict_temperature: float
    opponent: str | None
    #: model states in those games, and how many games they come from
    states_total: int
    games_total: int
    #: the sampled states and their games (the tables are over these)
    states: int
    games: int
    seed: int
    #: the temperatures of the table (the grid's, and 1); the lowest is the histogram's
    temperatures: list[float]
    #: the training experts whose move distributions enter (names as in the games)
    experts: list[str]
    #: the scorer: engine name, nodes per position, positions scored now and from the cache,
    #: positions per second per engine process, wall seconds
    scorer: dict[str, Any]
    table: list[FavorRow]
    histogram: list[FavorBin]
    #: share of the total gain carried by the top 1%, 5% and 10% of states
    concentration: list[FavorGroup]
    by_phase: list[FavorGroup]
    #: by the entropy (bits) of the training experts' mixture in the state, in three bands
    by_entropy: list[FavorGroup]
    top_states: list[FavorState]
    n_boot: int
    command: str
    code_version: str
    #: UTC, ISO 8601, to the second
    created: str
    seconds: float


def favor_path(folder: str | os.PathLike[str]) -> Path:
    return Path(folder) / FAVOR_JSON


def has_favor(folder: str | os.PathLike[str]) -> bool:
    return favor_path(folder).is_file()


def read_favor(folder: str | os.PathLike[str]) -> FavorResult:
    path = favor_path(folder)
    return FavorResult.load(path, "favor analysis")


def write_favor(folder: str | os.PathLike[str], result: FavorResult) -> None:
    result.save(favor_path(folder))


def write_favor_csv(folder: str | os.PathLike[str], columns: Sequence[str],
                    rows: Sequence[Sequence[Any]]) -> None:
    write_csv_atomic(Path(folder) / FAVOR_CSV, columns, rows)
