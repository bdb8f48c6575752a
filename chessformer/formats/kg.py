"""A knowledge-graph experiment's folder (written and read by :mod:`chessformer.kg.experiments`).

    OUT/ARM/corpus.npy               the arm's training rows (token ids), one paragraph a row
    OUT/ARM/writer.npy               the expert who wrote each row
    OUT/ARM/corpus_sample.txt        the first rows as text
    OUT/ARM/seed-K/accuracy.npy      the model's accuracy per query and temperature
    OUT/ARM/seed-K/result.json       the recipe it was trained with, timings, the loss curve
    OUT/summary.json                 verdicts and curves of every arm (the report reads it)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from chessformer.formats import records as records_format

__all__ = ["ACCURACY", "CORPUS", "CORPUS_SAMPLE", "RESULT", "SUMMARY", "WRITER", "KgArmSummary",
           "KgComparison", "KgCurvePoint", "KgExpertRow", "KgLossPoint", "KgRegionRow",
           "KgSeedResult", "KgSummary", "KgTagRow", "KgVerdict", "read_seed_result",
           "read_summary", "write_seed_result", "write_summary"]

CORPUS = "corpus.npy"
WRITER = "writer.npy"
CORPUS_SAMPLE = "corpus_sample.txt"
ACCURACY = "accuracy.npy"
RESULT = "result.json"
SUMMARY = "summary.json"


@dataclass(frozen=True, kw_only=True)
class KgLossPoint(records_format.Record):
    """One logged training step of a KG model."""

    step: int
    #: the batch's training loss, and the step's learning rate
    loss: float
    lr: float


@dataclass(frozen=True, kw_only=True)
class KgSeedResult(records_format.Record):
    """``ARM/seed-K/result.json``: one trained model (its accuracies are ``accuracy.npy``).

    Schema version 1 (:attr:`SCHEMA`; no version key). ``cpu_seconds`` and
    ``steps_per_cpu_second`` were added by a later release (absent: not recorded).
    """

    SCHEMA: ClassVar[int] = 1
    OMIT_NONE: ClassVar[tuple[str, ...]] = ("cpu_seconds", "steps_per_cpu_second")

    #: what the result depends on: a result with another recipe is trained again
    recipe: dict[str, Any]
    #: wall seconds of the training, and torch's thread count
    train_seconds: float
    threads: int
    #: process CPU seconds (they do not grow with the machine's load as wall seconds do)
    cpu_seconds: float | None = None
    steps_per_second: float
    #: steps per CPU second: the rate of one idle core
    steps_per_cpu_second: float | None = None
    n_params: int
    curve: list[KgLossPoint]


@dataclass(frozen=True, kw_only=True)
class KgCurvePoint(records_format.Record):
    """The model's mean accuracy at one temperature, with its 95% interval."""

    temperature: float
    model: float
    lo: float
    hi: float


@dataclass(frozen=True, kw_only=True)
class KgComparison(records_format.Record):
    """The model at the verdict temperature against a reference on ``n`` queries: both
    accuracies, the difference with its 95% interval (seeds and queries), and its verdict word."""

    #: the queries compared
    n: int
    #: the model's mean accuracy over seeds, with its 95% interval
    model: float
    model_lo: float
    model_hi: float
    #: the reference's accuracy (NaN on no queries)
    reference: float

    #: model minus reference, with its 95% interval
    diff: float
    lo: float
    hi: float
    #: ``transcends``, ``does not transcend`` or ``not shown``
    word: str


@dataclass(frozen=True, kw_only=True)
class KgVerdict(KgComparison):
    """The pre-registered verdict: the model against the best expert on the verdict's queries."""

    best_expert: str


@dataclass(frozen=True, kw_only=True)
class KgTagRow(KgComparison):
    """The model against the best expert on one named query set."""

    tag: str
    best_expert: str
    #: the majority vote's accuracy there
    ensemble: float


@dataclass(frozen=True, kw_only=True)
class KgRegionRow(KgComparison):
    """The model against one expert on the one-hop facts that expert knows for certain."""

    expert: str


@dataclass(frozen=True, kw_only=True)
class KgExpertRow(records_format.Record):
    """One expert's own scores."""

    name: str
    #: its copy of the graph against the ground truth, and the facts it knows for certain
    facts_right: float
    certain_facts: int
    #: its accuracy on the verdict's queries, on one-hop and on unseen two-hop queries
    verdict_set: float
    one_hop: float
    two_hop_unseen: float | None
    #: its per-cluster confidences (selection experts), rounded
    expertise: list[float] | None


@dataclass(frozen=True, kw_only=True)
class KgArmSummary(records_format.Record):
    """One arm of a KG experiment: its recipe, curves, verdicts and training cost."""

    name: str
    label: str
    #: the arm's expert, corpus and training specifications, as the TOML gave them
    experts_spec: dict[str, Any]
    corpus: dict[str, Any]
    train: dict[str, Any]
    #: corpus rows (paragraphs)
    rows: int

    #: the model's accuracy against temperature on the verdict's queries, and each expert's
    curve: list[KgCurvePoint]
    experts: list[KgExpertRow]
    #: the majority vote's accuracy on the verdict's queries
    ensemble_verdict_set: float

    #: the pre-registered verdict
    verdict: KgVerdict
    #: the model against the majority vote on the verdict's queries
    vs_ensemble: KgComparison

    #: the model against the best expert on each query set, and inside each expert's region
    tags: list[KgTagRow]
    regions: list[KgRegionRow]

    n_params: int
    #: per seed: wall seconds, steps per second, CPU seconds, steps per CPU second
    train_seconds: list[float]
    steps_per_second: list[float]
    cpu_seconds: list[float | None]
    steps_per_cpu_second: list[float | None]

    threads: int | None
    #: the mean over seeds of the last logged loss, and each seed's loss curve
    final_loss: float
    curves: list[list[KgLossPoint]]


@dataclass(frozen=True, kw_only=True)
class KgSummary(records_format.Record):
    """``summary.json``: a KG experiment's numbers (the report is made from it).

    Schema version 1 (:attr:`SCHEMA`; no version key), written by every release so far.
    """

    SCHEMA: ClassVar[int] = 1
    OMIT_NONE: ClassVar[tuple[str, ...]] = ("wall_seconds_all",)

    name: str
    kind: str
    size: str
    description: str
    source: str
    #: the experiment's seed, and the training seeds per arm
    seed: int
    seeds: int
    temperatures: list[float]
    #: the pre-registered verdict: its temperature and query set
    verdict_temperature: float
    verdict_on: str
    n_boot: int
    #: the graph's specification with its counts (entities, facts, chains)
    graph: dict[str, Any]
    #: ``{"total", "holdout"}``
    queries: dict[str, Any]
    arms: list[KgArmSummary]
    #: seconds from the start of the ``kg run`` that made it (all its experiments)
    wall_seconds_all: float | None = None


def read_seed_result(run_dir: str | os.PathLike[str]) -> KgSeedResult | None:
    """A seed's ``result.json``; None if it has none (or a damaged one, with a warning)."""
    return KgSeedResult.load_if_any(Path(run_dir) / RESULT, "KG seed result")


def write_seed_result(run_dir: str | os.PathLike[str], result: KgSeedResult) -> None:
    result.save(Path(run_dir) / RESULT)


def read_summary(out: str | os.PathLike[str]) -> KgSummary:
    return KgSummary.load(Path(out) / SUMMARY, "KG summary")


def write_summary(out: str | os.PathLike[str], summary: KgSummary) -> None:
    summary.save(Path(out) / SUMMARY)
