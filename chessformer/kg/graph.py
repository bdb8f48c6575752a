"""The ground truth: a seeded synthetic knowledge graph of typed entities in clusters.

    >>> from chessformer.kg.graph import GraphSpec, build_graph
    >>> g = build_graph(GraphSpec(clusters=4), seed=0)
    >>> h, r, t = g.facts[0]; g.names[h], RELATIONS[r].phrase, g.names[t]   # doctest: +SKIP
    ('Bakor', 'birthplace', 'Tuvim')

Entities are people, companies and cities; each cluster holds ``people`` + ``companies`` +
``cities`` of them (a community: most facts stay inside it, a fraction ``cross`` points to another
cluster). Every relation is *functional*: each entity of the relation's head type has exactly one
tail (so a cloze query "the r of h is" has one right answer), never itself. Names are generated,
one word each (one token each: the answer to a query is a single token, whose probability the
model gives exactly at every temperature).

A fact is a row ``(head, relation, tail)`` of ``Graph.facts``. Two-hop *chains* ``(h, r1, b, r2,
t)`` follow a fact from ``h`` to the bridge ``b`` and one of ``b``'s facts on to ``t``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

__all__ = ["ENTITY_TYPES", "RELATIONS", "Graph", "GraphSpec", "Relation", "build_graph"]

ENTITY_TYPES = ("person", "company", "city")


@dataclass(frozen=True)
class Relation:
    """A typed functional relation; ``phrase`` renders it: "the <phrase> of <head> is <tail> ."."""

    name: str
    phrase: str
    head: str
    tail: str


RELATIONS: tuple[Relation, ...] = (
    Relation("born_in", "birthplace", "person", "city"),
    Relation("works_for", "employer", "person", "company"),
    Relation("mentor", "mentor", "person", "person"),
    Relation("headquarters", "headquarters", "company", "city"),
    Relation("founder", "founder", "company", "person"),
    Relation("twin_city", "twin city", "city", "city"),
)


@dataclass(frozen=True)
class GraphSpec:
    """The graph's shape (the ``[graph]`` table of an experiment)."""

    clusters: int = 16
    people: int = 10      # per cluster
    companies: int = 4    # per cluster
    cities: int = 4       # per cluster
    cross: float = 0.15   # probability that a fact's tail lies in another cluster


_ONSETS = ("b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "br", "dr", "kr",
           "st", "tr", "sh")
_VOWELS = ("a", "e", "i", "o", "u", "ai", "ou")
_CODAS = ("", "n", "r", "s", "l", "k", "m")


def make_names(n: int, rng: np.random.Generator) -> list[str]:
    """``n`` distinct pronounceable capitalised names of two or three syllables."""
    names: list[str] = []
    seen: set[str] = set()
    while len(names) < n:
        syllables = int(rng.integers(2, 4))
        name = "".join(_ONSETS[rng.integers(len(_ONSETS))] + _VOWELS[rng.integers(len(_VOWELS))]
                       for _ in range(syllables)) + _CODAS[rng.integers(len(_CODAS))]
        name = name.capitalize()
        if name not in seen:
            seen.add(name)
            names.append(name)
    return names


@dataclass
class Graph:
    """Entities (``names``, ``etype`` index into ENTITY_TYPES, ``cluster``) and ``facts`` [n, 3]."""

    names: list[str]
    etype: np.ndarray    # [E] int
    cluster: np.ndarray  # [E] int
    facts: np.ndarray    # [F, 3] int: head, relation index, tail
    n_clusters: int

    @property
    def n_entities(self) -> int:
        return len(self.names)

    @cached_property
    def tail_of(self) -> np.ndarray:
        """[E, R] the tail of (entity, relation), -1 where the relation does not apply."""
        out = np.full((self.n_entities, len(RELATIONS)), -1, np.int64)
        out[self.facts[:, 0], self.facts[:, 1]] = self.facts[:, 2]
        return out

    @cached_property
    def fact_index(self) -> dict[tuple[int, int], int]:
        """(head, relation) -> row of ``facts``."""
        return {(int(h), int(r)): i for i, (h, r, _) in enumerate(self.facts)}

    def candidates(self, etype: str) -> np.ndarray:
        """The entities of one type: the ones a relation allows at that end."""
        return np.flatnonzero(self.etype == ENTITY_TYPES.index(etype))

    def chains(self) -> np.ndarray:
        """Every two-hop chain [n, 5]: (h, r1, b, r2, t) with (h, r1, b) and (b, r2, t) facts."""
        rows = []
        for h, r1, b in self.facts:
            for r2 in range(len(RELATIONS)):
                t = self.tail_of[b, r2]
                if t >= 0 and t != h:  # "the mentor of the mentor of X is X" is no question
                    rows.append((h, r1, b, r2, t))
        return np.asarray(rows, np.int64).reshape(-1, 5)


def build_graph(spec: GraphSpec, seed: int) -> Graph:
    """A graph of ``spec``'s shape; the same seed gives the same graph."""
    rng = np.random.default_rng([seed, 0x6B67])  # 'kg': the graph's own stream
    per = {"person": spec.people, "company": spec.companies, "city": spec.cities}
    etype, cluster = [], []
    for c in range(spec.clusters):
        for k, name in enumerate(ENTITY_TYPES):
            etype += [k] * per[name]
            cluster += [c] * per[name]
    etype_a, cluster_a = np.asarray(etype), np.asarray(cluster)
    names = make_names(len(etype), rng)
    by_type_cluster = {(k, c): np.flatnonzero((etype_a == k) & (cluster_a == c))
                       for k in range(len(ENTITY_TYPES)) for c in range(spec.clusters)}
    facts = []
    for r, rel in enumerate(RELATIONS):
        hk, tk = ENTITY_TYPES.index(rel.head), ENTITY_TYPES.index(rel.tail)
        for h in np.flatnonzero(etype_a == hk):
            c = cluster_a[h]
            if spec.clusters > 1 and rng.random() < spec.cross:
                c = (c + 1 + rng.integers(spec.clusters - 1)) % spec.clusters
            options = by_type_cluster[(tk, c)]
            options = options[options != h]
            facts.append((h, r, int(rng.choice(options))))
    return Graph(names=names, etype=etype_a, cluster=cluster_a,
                 facts=np.asarray(facts, np.int64), n_clusters=spec.clusters)
