"""The experts' text: a word vocabulary, sentences per relation, paragraphs about sampled entities.

    >>> vocab = Vocab.for_graph(graph)
    >>> rows = write_corpus(graph, experts, CorpusSpec(), vocab, held_out, seed=0)  # [N, L] uint16

Every fact renders as "the <phrase> of <head> is <tail> ." and every two-hop chain as "the
<phrase r2> of the <phrase r1> of <head> is <tail> ." (one token per word and per name). A
paragraph is ``<bos>`` and the shuffled sentences an expert's copy of the graph holds about one
entity (``paragraph = "entity"``: the facts it heads and the facts it is the tail of, as the
authors' default; ``"entity_out"``: only those it heads), each two-hop chain the expert can follow
from the entity added with probability ``two_hop_rate`` unless its (head, r1, r2) is *held out*
(never written whole, for the composition queries). Sentences that would overflow ``block_size``
tokens are left out (the order is random, so no fact is always the one dropped); the rest of a row
is ``<pad>``. Rows are shuffled across experts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from chessformer.kg.experts import Expert
from chessformer.kg.graph import RELATIONS, Graph
from chessformer.utils import UserError

__all__ = ["BOS", "PAD", "CorpusSpec", "Vocab", "write_corpus"]

PAD, BOS = 0, 1
_WORDS = ("<pad>", "<bos>", "the", "of", "is", ".")
PARAGRAPHS = ("entity", "entity_out")


@dataclass(frozen=True)
class CorpusSpec:
    """The ``[corpus]`` table of an experiment."""

    paragraphs: int = 20000     # rows in all, shared equally by the experts
    block_size: int = 64        # tokens per row
    paragraph: str = "entity"
    two_hop_rate: float = 0.3   # chance that an eligible two-hop sentence is written

    def __post_init__(self) -> None:
        if self.paragraph not in PARAGRAPHS:
            raise UserError(f"corpus.paragraph must be one of {', '.join(PARAGRAPHS)}, "
                            f"not {self.paragraph!r}")


@dataclass
class Vocab:
    """Words and entity names -> token ids; entity ``e`` is token ``first_entity + e``."""

    words: list[str]
    first_entity: int

    def __post_init__(self) -> None:
        self.index = {w: i for i, w in enumerate(self.words)}
        self.dot, self.is_ = self.index["."], self.index["is"]

    @classmethod
    def for_graph(cls, graph: Graph) -> Vocab:
        words = list(_WORDS)
        for rel in RELATIONS:
            words += [w for w in rel.phrase.split() if w not in words]
        return cls(words=words + list(graph.names), first_entity=len(words))

    def __len__(self) -> int:
        return len(self.words)

    def ids(self, text: str) -> list[int]:
        return [self.index[w] for w in text.split()]

    def decode(self, ids: np.ndarray | list[int]) -> str:
        return " ".join(self.words[i] for i in ids if i != PAD)

    def one_hop(self, h: int, r: int) -> list[int]:
        """The tokens of "the <phrase r> of <h> is" (a query; the answer token follows)."""
        return self.ids(f"the {RELATIONS[r].phrase} of") + [self.first_entity + h, self.is_]

    def two_hop(self, h: int, r1: int, r2: int) -> list[int]:
        return (self.ids(f"the {RELATIONS[r2].phrase} of the {RELATIONS[r1].phrase} of")
                + [self.first_entity + h, self.is_])

    def entity(self, e: int) -> int:
        return self.first_entity + e


def _index(facts: np.ndarray, col: int, n: int) -> list[np.ndarray]:
    """Rows of ``facts`` per entity in column ``col``."""
    order = np.argsort(facts[:, col], kind="stable")
    bounds = np.searchsorted(facts[order, col], np.arange(n + 1))
    return [order[bounds[e]:bounds[e + 1]] for e in range(n)]


def _paragraph(x: int, facts: np.ndarray, out_rows: list[np.ndarray], in_rows: list[np.ndarray],
               spec: CorpusSpec, vocab: Vocab, held_out: set[tuple[int, int, int]],
               rng: np.random.Generator) -> np.ndarray:
    sentences = []
    rows = list(out_rows[x]) + (list(in_rows[x]) if spec.paragraph == "entity" else [])
    for i in rows:
        h, r, t = facts[i]
        sentences.append(vocab.one_hop(h, r) + [vocab.entity(t), vocab.dot])
    for i in out_rows[x]:
        _, r1, b = facts[i]
        for j in out_rows[b]:
            _, r2, t = facts[j]
            if t != x and (x, r1, r2) not in held_out and rng.random() < spec.two_hop_rate:
                sentences.append(vocab.two_hop(x, r1, r2) + [vocab.entity(t), vocab.dot])
    row = np.full(spec.block_size, PAD, np.uint16)
    row[0] = BOS
    at = 1
    for k in rng.permutation(len(sentences)):
        s = sentences[k]
        if at + len(s) <= spec.block_size:
            row[at:at + len(s)] = s
            at += len(s)
    return row


def write_corpus(graph: Graph, experts: list[Expert], spec: CorpusSpec, vocab: Vocab,
                 held_out: set[tuple[int, int, int]], seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(rows [N, block_size] uint16, writer [N]: the expert index of each row), shuffled."""
    rng = np.random.default_rng([seed, 0xC0])
    per = spec.paragraphs // len(experts)
    rows, writer = [], []
    for k, ex in enumerate(experts):
        out_rows = _index(ex.facts, 0, graph.n_entities)
        in_rows = _index(ex.facts, 2, graph.n_entities)
        p = ex.weights / ex.weights.sum()
        for x in rng.choice(graph.n_entities, size=per, p=p):
            rows.append(_paragraph(int(x), ex.facts, out_rows, in_rows, spec, vocab, held_out, rng))
            writer.append(k)
    order = rng.permutation(len(rows))
    return np.stack(rows)[order], np.asarray(writer, np.int16)[order]
