"""Cloze queries and how well each expert, and the experts' majority vote, answers them.

    >>> qs = build_queries(graph, vocab, held_out, two_hop=300, seed=0)
    >>> acc = expert_accuracy(graph, expert, qs)             # [Q] expected accuracy
    >>> tags = query_tags(graph, experts, qs)                 # {"one_hop": bool [Q], ...}

Queries: every fact of the ground truth as a one-hop query ("the r of h is" -> t), and two-hop
chains ("the r2 of the r1 of h is" -> t): up to ``two_hop`` of the held-out chains (never written
whole by any expert) and as many that experts may have written (``seen``).

An expert answers from its own copy of the graph: the tails it holds for (h, r) (two hops: for
each bridge it holds, the tails the bridge has), one picked uniformly; with none it guesses
uniformly among the entities of the answer's type. Its score on a query is the chance that it is
right (the same expected accuracy the model's probabilities give, so both sit on one scale). The
*ensemble* is the explicit majority vote: each expert spreads one vote over its answers; the
answer with the most votes wins, ties split evenly.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from chessformer.kg.corpus import Vocab
from chessformer.kg.experts import Expert
from chessformer.kg.graph import RELATIONS, Graph

__all__ = ["Queries", "build_queries", "ensemble_accuracy", "expert_accuracy",
           "expert_answers", "held_out_chains", "query_tags"]


@dataclass
class Queries:
    """Parallel arrays: ``hops`` (1 or 2), ``head``, ``r1``, ``r2`` (-1 for one hop), ``bridge``
    (-1 for one hop), ``answer``, ``seen`` (two hops: may appear whole in the corpus), ``prefix``
    (token lists)."""

    hops: np.ndarray
    head: np.ndarray
    r1: np.ndarray
    r2: np.ndarray
    bridge: np.ndarray
    answer: np.ndarray
    seen: np.ndarray
    prefix: list[list[int]]

    def __len__(self) -> int:
        return len(self.hops)


def held_out_chains(graph: Graph, fraction: float, seed: int) -> set[tuple[int, int, int]]:
    """A random ``fraction`` of the graph's (head, r1, r2) chains, never written whole."""
    chains = graph.chains()
    rng = np.random.default_rng([seed, 0x40])
    pick = rng.random(len(chains)) < fraction
    return {(int(h), int(r1), int(r2)) for h, r1, _, r2, _ in chains[pick]}


def build_queries(graph: Graph, vocab: Vocab, held_out: set[tuple[int, int, int]], two_hop: int,
                  seed: int) -> Queries:
    rng = np.random.default_rng([seed, 0x51])
    chains = graph.chains()
    is_held = np.array([(int(h), int(r1), int(r2)) in held_out for h, r1, _, r2, _ in chains], bool)
    pick = []
    for mask in (is_held, ~is_held):
        idx = np.flatnonzero(mask)
        pick.append(rng.permutation(idx)[:two_hop])
    ch = chains[np.concatenate(pick)] if len(chains) else np.zeros((0, 5), np.int64)
    f = graph.facts
    n1, n2 = len(f), len(ch)
    return Queries(
        hops=np.r_[np.ones(n1, int), np.full(n2, 2)],
        head=np.r_[f[:, 0], ch[:, 0]],
        r1=np.r_[f[:, 1], ch[:, 1]],
        r2=np.r_[np.full(n1, -1), ch[:, 3]],
        bridge=np.r_[np.full(n1, -1), ch[:, 2]],
        answer=np.r_[f[:, 2], ch[:, 4]],
        seen=np.r_[np.ones(n1, bool), ~is_held[np.concatenate(pick)] if n2 else np.zeros(0, bool)],
        prefix=[vocab.one_hop(h, r) for h, r, _ in f]
        + [vocab.two_hop(h, r1, r2) for h, r1, _, r2, _ in ch],
    )


def expert_answers(graph: Graph, expert: Expert, qs: Queries) -> list[dict[int, float] | None]:
    """Per query the expert's answer distribution, or None where it must guess."""
    tails: dict[tuple[int, int], list[int]] = defaultdict(list)
    for h, r, t in expert.facts:
        tails[(int(h), int(r))].append(int(t))
    out: list[dict[int, float] | None] = []
    for k in range(len(qs)):
        first = tails.get((int(qs.head[k]), int(qs.r1[k])), [])
        if qs.hops[k] == 1:
            ends = [[t] for t in first]
        else:
            ends = [tails.get((b, int(qs.r2[k])), []) for b in first]
        dist: dict[int, float] = defaultdict(float)
        for group in ends:
            for t in group:  # each bridge equally likely, then each of its tails
                dist[t] += 1.0 / (len(ends) * len(group))
        out.append(dict(dist) if dist else None)
    return out


def _guess(graph: Graph, qs: Queries, k: int) -> float:
    rel = RELATIONS[qs.r1[k] if qs.hops[k] == 1 else qs.r2[k]]
    return 1.0 / len(graph.candidates(rel.tail))


def expert_accuracy(graph: Graph, expert: Expert, qs: Queries) -> np.ndarray:
    """[Q] the chance that the expert answers each query right."""
    answers = expert_answers(graph, expert, qs)
    return np.array([(_guess(graph, qs, k) if a is None else a.get(int(qs.answer[k]), 0.0))
                     for k, a in enumerate(answers)])


def ensemble_accuracy(graph: Graph, experts: list[Expert], qs: Queries) -> np.ndarray:
    """[Q] the majority vote's chance of being right (ties split evenly)."""
    all_answers = [expert_answers(graph, ex, qs) for ex in experts]
    acc = np.zeros(len(qs))
    for k in range(len(qs)):
        votes: dict[int, float] = defaultdict(float)
        for answers in all_answers:
            for t, p in (answers[k] or {}).items():
                votes[t] += p
        if not votes:  # every expert guesses
            acc[k] = _guess(graph, qs, k)
            continue
        top = max(votes.values())
        winners = [t for t, v in votes.items() if v >= top - 1e-9]
        acc[k] = (int(qs.answer[k]) in winners) / len(winners)
    return acc


def query_tags(graph: Graph, experts: list[Expert], qs: Queries) -> dict[str, np.ndarray]:
    """Named query subsets: hops, seen/unseen two-hop chains, and who knows the facts.

    ``one_hop/known_by_0``: facts no expert has right (``_1``: one expert, ``_2+``: several).
    ``two_hop/unseen/one_expert``: a held-out chain whose two facts one expert has right;
    ``.../across_experts``: both facts are known, but by different experts only;
    ``.../unknown_hop``: some fact of the chain no expert has right.
    """
    knows = np.stack([ex.correct(graph) for ex in experts])  # [X, F]
    one = qs.hops == 1
    n_know = np.zeros(len(qs), int)
    same = np.zeros(len(qs), bool)
    cross = np.zeros(len(qs), bool)
    for k in range(len(qs)):
        f1 = graph.fact_index[(int(qs.head[k]), int(qs.r1[k]))]
        if qs.hops[k] == 1:
            n_know[k] = knows[:, f1].sum()
            continue
        f2 = graph.fact_index[(int(qs.bridge[k]), int(qs.r2[k]))]
        k1, k2 = knows[:, f1], knows[:, f2]
        same[k] = (k1 & k2).any()
        cross[k] = k1.any() and k2.any() and not same[k]
    two, seen = qs.hops == 2, qs.seen
    return {
        "one_hop": one,
        "one_hop/known_by_0": one & (n_know == 0),
        "one_hop/known_by_1": one & (n_know == 1),
        "one_hop/known_by_2+": one & (n_know >= 2),
        "two_hop/seen": two & seen,
        "two_hop/unseen": two & ~seen,
        "two_hop/unseen/one_expert": two & ~seen & same,
        "two_hop/unseen/across_experts": two & ~seen & cross,
        "two_hop/unseen/unknown_hop": two & ~seen & ~same & ~cross,
    }
