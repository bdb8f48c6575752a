"""A taxonomy experiment's folder (written by :mod:`chessformer.experiments.taxonomy`).

    OUT/experiment.json   the arms, their models' ratings and verdicts, probe and entropy, timings
    OUT/experiment.md     the same as a page (:mod:`chessformer.experiments.markdown`)

Beside them, each arm's PGN, dataset and run folders, and ``OUT/report/`` (the ``report``
command's output over every model).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from chessformer.formats import records as records_format
from chessformer.utils import write_text_atomic

__all__ = ["EXPERIMENT_JSON", "EXPERIMENT_MD", "ArmInfo", "ArmRating", "Difference",
           "EntropyStats", "ExperimentRatings", "ExperimentReport", "ExperimentResult",
           "RatedPlayer", "read_experiment", "write_experiment"]

EXPERIMENT_JSON = "experiment.json"
EXPERIMENT_MD = "experiment.md"


@dataclass(frozen=True, kw_only=True)
class ArmInfo(records_format.Record):
    """What one arm trained on and which models it made."""

    #: the expert pool's name, the games generated from it, and the files they went to
    experts: str
    games: int
    pgn: str
    dataset: str
    #: the training seeds, and each seed's run folder
    seeds: list[int]
    runs: list[str]


@dataclass(frozen=True, kw_only=True)
class RatedPlayer(records_format.Record):
    """A player's Elo and interval on the report's scale (``temperature``: a model's only)."""

    OMIT_NONE: ClassVar[tuple[str, ...]] = ("temperature",)

    player: str
    #: ``model``, ``expert``, ``ensemble``, ... (the player's kind in the games)
    kind: str | None
    elo: float
    lo: float
    hi: float
    #: rated by the prior only (no finished game ties it to the others)
    prior_only: bool
    temperature: float | None = None


@dataclass(frozen=True, kw_only=True)
class ArmRating(records_format.Record):
    """An arm at one temperature: the mean over its training seeds' models."""

    temperature: float
    elo: float
    lo: float
    hi: float
    seeds: int


@dataclass(frozen=True, kw_only=True)
class Difference(records_format.Record):
    """``a`` minus ``b`` in Elo, with its interval (games and training seeds resampled)."""

    a: str
    b: str
    diff: float
    lo: float
    hi: float


@dataclass(frozen=True, kw_only=True)
class ExperimentRatings(records_format.Record):
    """Every model, arm, expert and ensemble on one scale, and the differences that matter."""

    anchors: dict[str, float]
    anchor_source: str
    #: finished games fitted
    games: int
    #: each model label's rows, one per temperature
    models: dict[str, list[RatedPlayer]]
    arms: dict[str, list[ArmRating]]
    #: the experts and ensembles, best first
    others: list[RatedPlayer]
    #: each arm at the verdict temperature minus each ensemble, and arm against arm
    differences: list[Difference]
    n_boot: int
    #: the intervals' level (0.95)
    level: float
    verdict_temperature: float
    #: training seeds per arm
    seeds: dict[str, int]
    note: str


@dataclass(frozen=True)
class EntropyStats(records_format.Record):
    """Move entropy (bits) over the positions seen at least ``min_count`` times."""

    min_count: int
    games: int
    #: distinct common positions, and the moves played from them
    positions: int
    visits: int
    #: the mean over positions of the entropy of the moves played there, and weighted by visits
    mean_bits: float
    weighted_bits: float


@dataclass(frozen=True, kw_only=True)
class ExperimentReport(records_format.Record):
    """The ``report`` over every model: its pages and its verdict lines."""

    md: str
    html: str
    verdicts: list[str]
    exploratory: list[str]


@dataclass(frozen=True, kw_only=True)
class ExperimentResult(records_format.Record):
    """``experiment.json``: a taxonomy experiment's result.

    Schema version 1 (:attr:`SCHEMA`; no version key), written by every release so far.
    """

    SCHEMA: ClassVar[int] = 1

    experiment: str
    #: ``diversity``, ``selection`` or ``generalization``
    kind: str
    size: str
    #: the experiment's TOML, and its description
    source: str
    description: str
    #: the temperature the verdicts were fixed at, before the games
    verdict_temperature: float
    arms: dict[str, ArmInfo]
    #: the training options every arm shares (the TOML's ``[train]``)
    train: dict[str, Any]
    #: the openings the evaluation games start from (None: the grid's own)
    eval_openings: list[str] | None
    ratings: ExperimentRatings
    #: each arm's training data's move entropy
    entropy: dict[str, EntropyStats]
    #: the per-move view on held-out positions (:mod:`chessformer.experiments.probe`'s tables;
    #: empty without a probe)
    probe: dict[str, Any]
    report: ExperimentReport
    #: seconds of each stage run this time
    seconds: dict[str, float]


def read_experiment(folder: str | os.PathLike[str]) -> ExperimentResult:
    return ExperimentResult.load(Path(folder) / EXPERIMENT_JSON, "experiment result")


def write_experiment(folder: str | os.PathLike[str], result: ExperimentResult,
                     page: str) -> None:
    """``experiment.json`` and its page ``experiment.md``."""
    result.save(Path(folder) / EXPERIMENT_JSON)
    write_text_atomic(Path(folder) / EXPERIMENT_MD, page)
