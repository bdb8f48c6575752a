"""The types the KG experiments share (:mod:`.experiments` builds them, :mod:`.analysis` reads
them): an experiment, its arms, the world every arm shares and each arm's data."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from chessformer.kg.corpus import CorpusSpec, Vocab
from chessformer.kg.experts import Expert, ExpertSpec
from chessformer.kg.graph import Graph, GraphSpec
from chessformer.kg.queries import Queries
from chessformer.kg.train import TrainSpec

__all__ = ["Arm", "ArmData", "Experiment", "World"]


@dataclass(frozen=True)
class Arm:
    name: str
    experts: ExpertSpec
    corpus: CorpusSpec
    train: TrainSpec
    label: str = ""


@dataclass
class Experiment:
    name: str
    kind: str
    size: str
    graph: GraphSpec
    arms: list[Arm]
    temperatures: list[float]
    verdict_temperature: float
    verdict_on: str
    seeds: int = 3
    seed: int = 0
    two_hop_queries: int = 300
    holdout: float = 0.5
    description: str = ""
    source: str = ""


@dataclass
class World:
    """What every arm shares: the graph, the vocabulary and the queries."""

    graph: Graph
    vocab: Vocab
    queries: Queries
    held_out: set[tuple[int, int, int]]  # (head, r1, r2) chains never written whole


@dataclass
class ArmData:
    experts: list[Expert]
    rows: np.ndarray
    expert_acc: np.ndarray    # [X, Q]
    ensemble_acc: np.ndarray  # [Q]
    tags: dict[str, np.ndarray]
