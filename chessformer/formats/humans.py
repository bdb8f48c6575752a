"""The human-games analysis's files (written by ``analyze humans``).

    OUT/humans.json       :class:`HumansResult`: per rating bin of the player to move, the
                          model's move matching, log-loss, and the expected score of its moves at
                          each temperature against the human's move in the same position
    OUT/humans.csv        one row per sampled position (:data:`CSV_COLUMNS`, then one expected
                          score column per temperature)
    OUT/humans.md         the table; OUT/humans.png its plot
    OUT/scores.jsonl      the position scorer's cache (:mod:`chessformer.formats.scores`)
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from chessformer.formats import records as records_format
from chessformer.utils import write_csv_atomic

HUMANS_JSON = "humans.json"
HUMANS_CSV = "humans.csv"
HUMANS_MD = "humans.md"
HUMANS_PLOT = "humans.png"

CSV_COLUMNS = ("source", "game", "ply", "rating", "bin", "fen", "human_move", "model_top1",
               "human_p", "human_rank", "human_score", "best_score")


@dataclass(frozen=True, kw_only=True)
class HumansGain(records_format.Record):
    """The model at one temperature, in one rating bin."""

    temperature: float
    #: mean expected score (for the side to move) of the model's exact move distribution
    expected: float
    expected_lo: float
    expected_hi: float
    #: the mean per-position difference from the human's move (the gain over the humans)
    gain: float
    gain_lo: float
    gain_hi: float


@dataclass(frozen=True, kw_only=True)
class HumansBin(records_format.Record):
    """One rating bin of the player to move (or ``all``). Every interval is a 95% bootstrap
    interval resampling whole games; a value of an empty bin is None."""

    #: ``1500-1599`` (ratings lo <= r < hi), or ``all``
    bin: str
    lo: int | None
    hi: int | None
    positions: int
    games: int
    #: the share of positions where the model's most likely move (argmax at T = 1) is the
    #: human's move, and where the human's move is among its 3 most likely
    top1: float | None
    top1_lo: float | None
    top1_hi: float | None
    top3: float | None
    top3_lo: float | None
    top3_hi: float | None
    #: mean -ln p(human's move) under the model at T = 1 (nats)
    log_loss: float | None
    log_loss_lo: float | None
    log_loss_hi: float | None
    #: mean expected score of the human's move, and of Stockfish's best move
    human: float | None
    human_lo: float | None
    human_hi: float | None
    best: float | None
    model: list[HumansGain]


@dataclass(frozen=True, kw_only=True)
class HumansResult(records_format.Record):
    """``humans.json``: a model against real players' own moves, per rating bin.

    Schema version 1 (:attr:`SCHEMA`; no version key).
    """

    SCHEMA: ClassVar[int] = 1

    #: the model's run, and the PGN files read
    run: str
    sources: list[str]
    #: the run's training dataset the games were checked against (None: not recorded), and
    #: the games of that dataset
    dataset: str | None
    dataset_games: int
    #: games read; skipped (not from the standard start, or no move), with no rated mover
    games_read: int
    games_skipped: int
    #: games with at least one position that passed the filters
    games_used: int
    #: the filters: opening plies skipped, the mover's least clock (seconds; None: off), the
    #: positions they removed, and how many moves had a clock at all
    skip_plies: int
    min_clock: float | None
    positions_low_clock: int
    moves_with_clock: int
    #: positions that passed every filter, and the seeded uniform sample of them analysed
    positions_total: int
    positions: int
    games: int
    seed: int
    #: the bins: ``{"width": 100}`` or ``{"edges": [...]}``
    bins_spec: dict[str, Any]
    temperatures: list[float]
    #: the scorer: engine, limit, positions scored now and from the cache, positions per second
    #: per engine process, wall seconds
    scorer: dict[str, Any]
    #: the model's input mode (both read each game's moves from its start)
    input_mode: str
    bins: list[HumansBin]
    total: HumansBin
    n_boot: int
    command: str
    code_version: str
    #: UTC, ISO 8601, to the second
    created: str
    seconds: float


def humans_path(folder: str | os.PathLike[str]) -> Path:
    return Path(folder) / HUMANS_JSON


def read_humans(folder: str | os.PathLike[str]) -> HumansResult:
    return HumansResult.load(humans_path(folder), "human-games analysis")


def write_humans(folder: str | os.PathLike[str], result: HumansResult) -> None:
    result.save(humans_path(folder))


def write_humans_csv(folder: str | os.PathLike[str], columns: Sequence[str],
                     rows: Sequence[Sequence[Any]]) -> None:
    write_csv_atomic(Path(folder) / HUMANS_CSV, columns, rows)
