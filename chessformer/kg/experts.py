"""Simulated experts: each holds its own corrupted copy of the graph and writes about what it knows.

    >>> experts = make_experts(graph, ExpertSpec(strategy="denoising", n=8), seed=0)
    >>> experts[0].facts[i]          # the expert's version of ground-truth fact i   # doctest: +SKIP

An expert has an *expertise vector* over clusters. Its copy of fact ``(h, r, t)`` is corrupted with
probability ``1 - max(c[cluster h], c[cluster t])``: the end in the less known cluster (either, on
a tie) is replaced by another entity of the type the relation allows, drawn with weight ``1 - c``
of the candidate's cluster (favouring entities outside its expertise), never the original entity
and never the other end. So an expert's error rate on a fact is exactly ``1 - max(c_head,
c_tail)``. The strategies (the authors' ``kg/dataset_generator.py``):

``denoising``
    Every expert has the same confidence (0.6) on a random set of ``coverage`` of the clusters:
    errors are independent across experts, so the plurality of their versions is right.
    ``shared = true`` (the data-diversity ablation) keeps every expertise vector and error
    probability but makes the experts err *together*: one draw per fact decides for all of them,
    and every expert that errs writes the same wrong version (drawn once, uniformly).
``selection``
    Each expert picks clusters holding about ``entities`` entities and gets confidences from the
    linear program  max sum_i c_i  s.t.  sum_i |C_i| c_i = knowledge, 0 <= c_i <= 1  (a fixed amount
    of knowledge, concentrated: the optimum fills the smallest clusters to 1 first, which is what
    :func:`lp_confidences` computes exactly).
``walk``
    Each expert knows the facts of a random walk of ``facts`` distinct facts (a connected region)
    exactly; every other fact is scrambled (head or tail, replaced by an entity the walk does not
    touch: with weight ``1 - c`` as above, the region's entities having ``c = 1``).

A head replacement gives the new head a second tail for the relation (every relation is
functional), so an expert can hold a fact right and a contradicting statement beside it; weights
``1 - c`` keep such statements off the entities it is certain about.

An expert writes about the entities it knows: it samples an entity with weight ``floor +``
its confidence in the entity's cluster (``walk``: ``floor + 1`` inside its region).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from chessformer.kg.graph import ENTITY_TYPES, RELATIONS, Graph
from chessformer.utils import UserError

__all__ = ["STRATEGIES", "Expert", "ExpertSpec", "corrupt", "lp_confidences", "make_experts"]

STRATEGIES = ("denoising", "selection", "walk")


@dataclass(frozen=True)
class ExpertSpec:
    """The ``[experts]`` table of an experiment."""

    strategy: str = "denoising"
    n: int = 8
    confidence: float = 0.6   # denoising
    coverage: float = 1.0     # denoising: fraction of clusters each expert has confidence on
    shared: bool = False      # denoising: experts share their errors (the diversity ablation)
    entities: int = 80        # selection: entities in the clusters an expert picks
    knowledge: int = 60       # selection: sum of |C_i| c_i, the amount an expert knows
    facts: int = 120          # walk: facts in each expert's region
    floor: float = 0.1        # sampling weight of an entity the expert does not know

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise UserError(f"experts.strategy must be one of {', '.join(STRATEGIES)}, "
                            f"not {self.strategy!r}")
        if self.n < 1:
            raise UserError(f"experts.n must be at least 1, not {self.n}")


@dataclass
class Expert:
    """``facts[i]`` is the expert's version of ground-truth fact ``i``; ``weights`` over entities."""

    name: str
    facts: np.ndarray
    weights: np.ndarray
    expertise: np.ndarray | None = None  # [clusters]; None for walk experts
    region: np.ndarray | None = None      # walk: [F] bool, the facts it knows exactly

    def region_facts(self, graph: Graph) -> np.ndarray:
        """[F] bool: the facts it knows for certain (confidence 1, or its walk)."""
        if self.region is not None:
            return self.region
        if self.expertise is None:
            return np.zeros(len(graph.facts), bool)
        c = np.maximum(self.expertise[graph.cluster[graph.facts[:, 0]]],
                       self.expertise[graph.cluster[graph.facts[:, 2]]])
        return c >= 1.0 - 1e-9

    def correct(self, graph: Graph) -> np.ndarray:
        """[F] bool: which facts this expert's copy has right."""
        return (self.facts == graph.facts).all(axis=1)


def corrupt(graph: Graph, keep: np.ndarray, head_side: np.ndarray, repl_weight: np.ndarray,
            draws: np.ndarray) -> np.ndarray:
    """A copy of ``graph.facts`` with fact ``i`` corrupted with probability ``1 - keep[i]``.

    ``head_side[i]``: probability that a corruption replaces the head (else the tail);
    ``repl_weight`` [E]: weight of each entity as a replacement (all zero among the candidates
    means uniform); ``draws`` [F, 3] uniforms (err?, which side?, which entity?), so that experts
    given the same draws err on the same facts with the same replacement.
    """
    facts = graph.facts.copy()
    by_type = {k: graph.candidates(k) for k in ENTITY_TYPES}
    for i in np.flatnonzero(draws[:, 0] < 1.0 - keep):
        h, r, t = facts[i]
        side = 0 if draws[i, 1] < head_side[i] else 2
        rel = RELATIONS[r]
        cand = by_type[rel.head if side == 0 else rel.tail]
        cand = cand[(cand != h) & (cand != t)]
        w = repl_weight[cand].astype(np.float64)
        if w.sum() <= 0:
            w = np.ones(len(cand))
        cdf = np.cumsum(w) / w.sum()
        facts[i, side] = cand[min(int(np.searchsorted(cdf, draws[i, 2], side="right")),
                                  len(cand) - 1)]
    return facts


def lp_confidences(sizes: np.ndarray, knowledge: float) -> np.ndarray:
    """The optimum of  max sum c_i  s.t.  sum sizes_i c_i = knowledge, 0 <= c_i <= 1.

    A fractional knapsack with value 1 and weight ``sizes_i`` per unit: filling the smallest
    clusters to 1 first is optimal (with equal sizes every vertex is; this picks the first).
    """
    c = np.zeros(len(sizes))
    left = float(knowledge)
    for i in np.argsort(sizes, kind="stable"):
        take = min(1.0, left / sizes[i]) if sizes[i] > 0 else 0.0
        c[i] = take
        left -= take * sizes[i]
        if left <= 1e-12:
            break
    return c


def _cluster_expert(graph: Graph, name: str, expertise: np.ndarray, draws: np.ndarray,
                    floor: float, uniform_replacement: bool = False) -> Expert:
    ch = expertise[graph.cluster[graph.facts[:, 0]]]
    ct = expertise[graph.cluster[graph.facts[:, 2]]]
    keep = np.maximum(ch, ct)
    head_side = np.where(ct > ch, 1.0, np.where(ch > ct, 0.0, 0.5))
    repl = np.ones(graph.n_entities) if uniform_replacement else 1.0 - expertise[graph.cluster]
    facts = corrupt(graph, keep, head_side, repl, draws)
    return Expert(name=name, facts=facts, weights=floor + expertise[graph.cluster],
                  expertise=expertise)


def _pick_clusters(graph: Graph, entities: int, rng: np.random.Generator) -> list[int]:
    """Shuffled clusters, each taken while the total stays within ``entities`` (the authors')."""
    sizes = np.bincount(graph.cluster, minlength=graph.n_clusters)
    picked, total = [], 0
    for c in rng.permutation(graph.n_clusters):
        if total + sizes[c] <= entities:
            picked.append(int(c))
            total += sizes[c]
        if total >= entities:
            break
    return picked


def random_walk_region(graph: Graph, n_facts: int, rng: np.random.Generator) -> np.ndarray:
    """[F] bool: the distinct facts crossed by a walk (either direction) from a random entity."""
    incident: list[list[int]] = [[] for _ in range(graph.n_entities)]
    for i, (h, _, t) in enumerate(graph.facts):
        incident[h].append(i)
        incident[t].append(i)
    region = np.zeros(len(graph.facts), bool)
    node = int(rng.integers(graph.n_entities))
    target = min(n_facts, len(graph.facts))
    while region.sum() < target:
        i = incident[node][rng.integers(len(incident[node]))]
        region[i] = True
        h, _, t = graph.facts[i]
        node = int(t if node == h else h)
    return region


def make_experts(graph: Graph, spec: ExpertSpec, seed: int) -> list[Expert]:
    """``spec.n`` experts of ``spec.strategy`` over ``graph``; the same seed gives the same ones."""
    rng = np.random.default_rng([seed, 0xE8])
    n_f = len(graph.facts)
    shared_draws = rng.random((n_f, 3))
    experts = []
    for k in range(spec.n):
        name = f"expert-{k}"
        draws = shared_draws if spec.shared else rng.random((n_f, 3))
        if spec.strategy == "denoising":
            n_cov = max(1, round(spec.coverage * graph.n_clusters))
            expertise = np.zeros(graph.n_clusters)
            expertise[rng.permutation(graph.n_clusters)[:n_cov]] = spec.confidence
            experts.append(_cluster_expert(graph, name, expertise, draws, spec.floor,
                                           uniform_replacement=spec.shared))
        elif spec.strategy == "selection":
            picked = _pick_clusters(graph, spec.entities, rng)
            sizes = np.bincount(graph.cluster, minlength=graph.n_clusters)[picked]
            expertise = np.zeros(graph.n_clusters)
            expertise[picked] = lp_confidences(sizes, spec.knowledge)
            experts.append(_cluster_expert(graph, name, expertise, draws, spec.floor))
        else:  # walk
            region = random_walk_region(graph, spec.facts, rng)
            keep = region.astype(np.float64)
            touched = np.zeros(graph.n_entities)
            touched[graph.facts[region][:, [0, 2]].ravel()] = 1.0
            # Replacements come from outside the region (its expertise), so that no scrambled
            # fact lands on a known entity: what it knows, it knows without contradiction.
            facts = corrupt(graph, keep, np.full(n_f, 0.5), 1.0 - touched, draws)
            experts.append(Expert(name=name, facts=facts, weights=spec.floor + touched,
                                  region=region))
    return experts
