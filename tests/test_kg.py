"""The knowledge-graph testbed: generator, experts' corruption, queries, scores, a tiny run."""

from __future__ import annotations

import json

import numpy as np
import pytest

from chessformer.kg.corpus import PAD, CorpusSpec, Vocab, write_corpus
from chessformer.kg.experts import ExpertSpec, corrupt, lp_confidences, make_experts
from chessformer.kg.graph import RELATIONS, GraphSpec, build_graph
from chessformer.kg.queries import (
    build_queries,
    ensemble_accuracy,
    expert_accuracy,
    held_out_chains,
    query_tags,
)
from chessformer.kg.stats import VERDICTS, bootstrap_mean, verdict_word
from chessformer.utils import UserError


@pytest.fixture(scope="module")
def graph():
    return build_graph(GraphSpec(clusters=8), seed=3)


def test_graph_is_functional_typed_and_seeded(graph):
    assert build_graph(GraphSpec(clusters=8), seed=3).facts.tolist() == graph.facts.tolist()
    pairs = {(h, r) for h, r, _ in graph.facts.tolist()}
    assert len(pairs) == len(graph.facts)  # one tail per (head, relation)
    for h, r, t in graph.facts:
        rel = RELATIONS[r]
        assert h != t
        assert h in graph.candidates(rel.head) and t in graph.candidates(rel.tail)
    assert len(set(graph.names)) == graph.n_entities
    # Every head entity of every relation has its fact.
    for r, rel in enumerate(RELATIONS):
        assert (graph.tail_of[graph.candidates(rel.head), r] >= 0).all()


def test_corruption_rate_matches_expertise(graph):
    """Error rate on each fact is 1 - max(c_head, c_tail): measured over 40 experts."""
    spec = ExpertSpec(strategy="denoising", n=40, confidence=0.6, coverage=0.5)
    experts = make_experts(graph, spec, seed=1)
    errors, expected = [], []
    for ex in experts:
        c = ex.expertise
        keep = np.maximum(c[graph.cluster[graph.facts[:, 0]]], c[graph.cluster[graph.facts[:, 2]]])
        errors.append(~ex.correct(graph))
        expected.append(1.0 - keep)
    errors, expected = np.concatenate(errors), np.concatenate(expected)
    for p in np.unique(expected):
        sel = expected == p
        n = sel.sum()
        rate = errors[sel].mean()
        assert abs(rate - p) <= 4 * np.sqrt(p * (1 - p) / n) + 1e-12, (p, rate, n)
    assert set(np.unique(expected)) == {0.4, 1.0}


def test_corruption_replaces_the_less_known_end_outside_expertise(graph):
    expertise = np.zeros(graph.n_clusters)
    expertise[0], expertise[1] = 0.5, 1.0  # cluster 1 known for certain: never a replacement
    ch = expertise[graph.cluster[graph.facts[:, 0]]]
    ct = expertise[graph.cluster[graph.facts[:, 2]]]
    keep = np.maximum(ch, ct)
    side = np.where(ct > ch, 1.0, np.where(ch > ct, 0.0, 0.5))
    draws = np.random.default_rng(0).random((len(graph.facts), 3))
    facts = corrupt(graph, keep, side, 1.0 - expertise[graph.cluster], draws)
    changed = (facts != graph.facts).any(axis=1)
    assert ((facts != graph.facts).sum(axis=1) <= 1).all()  # one end at most
    head_known = ch > ct
    # Facts whose head is the better known end keep their head; nothing enters cluster 1.
    assert (changed & head_known).any()
    assert (facts[changed & head_known, 0] == graph.facts[changed & head_known, 0]).all()
    replaced = np.where(facts[changed, 0] != graph.facts[changed, 0], facts[changed, 0],
                        facts[changed, 2])
    assert len(replaced) and (graph.cluster[replaced] != 1).all()
    assert not changed[keep == 1.0].any()


def test_shared_errors_are_the_same_errors(graph):
    experts = make_experts(graph, ExpertSpec(strategy="denoising", n=5, shared=True), seed=2)
    for ex in experts[1:]:
        assert np.array_equal(ex.facts, experts[0].facts)
    assert 0.5 < experts[0].correct(graph).mean() < 0.7
    independent = make_experts(graph, ExpertSpec(strategy="denoising", n=2), seed=2)
    assert not np.array_equal(independent[0].facts, independent[1].facts)


def test_lp_confidences_optimum():
    c = lp_confidences(np.array([20, 10, 30, 10]), 35)
    assert np.isclose((c * [20, 10, 30, 10]).sum(), 35)
    assert c.tolist() == [0.75, 1.0, 0.0, 1.0]  # smallest clusters filled first
    assert lp_confidences(np.array([10, 10]), 100).tolist() == [1.0, 1.0]


def test_selection_and_walk_experts(graph):
    sel = make_experts(graph, ExpertSpec(strategy="selection", n=3, entities=72, knowledge=54),
                       seed=0)
    sizes = np.bincount(graph.cluster)
    for ex in sel:
        assert np.isclose((sizes * ex.expertise).sum(), 54)
        assert ex.correct(graph)[ex.region_facts(graph)].all()
    walk = make_experts(graph, ExpertSpec(strategy="walk", n=3, facts=50), seed=0)
    for ex in walk:
        assert ex.region.sum() == 50
        right = ex.correct(graph)
        assert right[ex.region].all() and not right[~ex.region].any()  # the rest scrambled
    # No scrambled fact lands on a region's entity: each expert answers its region right.
    qs = build_queries(graph, Vocab.for_graph(graph), set(), two_hop=0, seed=0)
    for ex in walk:
        assert np.allclose(expert_accuracy(graph, ex, qs)[ex.region_facts(graph)], 1.0)
    for ex in sel:  # (a fact known through its tail alone may have a contradiction on its head)
        head_certain = ex.expertise[graph.cluster[graph.facts[:, 0]]] == 1.0
        assert head_certain.any()
        assert np.allclose(expert_accuracy(graph, ex, qs)[head_certain], 1.0)


def test_queries_and_expert_scores(graph):
    vocab = Vocab.for_graph(graph)
    held = held_out_chains(graph, 0.5, seed=0)
    qs = build_queries(graph, vocab, held, two_hop=50, seed=0)
    one = qs.hops == 1
    assert one.sum() == len(graph.facts)
    h, r, t = graph.facts[0]
    assert vocab.decode(qs.prefix[0]) == f"the {RELATIONS[r].phrase} of {graph.names[h]} is"
    assert qs.answer[0] == t
    for k in np.flatnonzero(~one):
        b = graph.tail_of[qs.head[k], qs.r1[k]]
        assert qs.bridge[k] == b and qs.answer[k] == graph.tail_of[b, qs.r2[k]]
        assert qs.seen[k] == ((int(qs.head[k]), int(qs.r1[k]), int(qs.r2[k])) not in held)
    assert (~qs.seen).sum() == 50 and (qs.seen & ~one).sum() == 50
    # An expert holding the ground truth is right everywhere; so is a vote of such experts.
    truthful = make_experts(graph, ExpertSpec(strategy="denoising", n=2, confidence=1.0), seed=0)
    assert np.allclose(expert_accuracy(graph, truthful[0], qs), 1.0)
    assert np.allclose(ensemble_accuracy(graph, truthful, qs), 1.0)
    tags = query_tags(graph, truthful, qs)
    assert tags["one_hop/known_by_2+"].sum() == len(graph.facts)
    assert tags["two_hop/unseen/one_expert"].sum() == 50


def test_ensemble_is_the_plurality(graph):
    vocab = Vocab.for_graph(graph)
    qs = build_queries(graph, vocab, set(), two_hop=0, seed=0)
    experts = make_experts(graph, ExpertSpec(strategy="denoising", n=9, confidence=0.6), seed=4)
    acc = np.stack([expert_accuracy(graph, ex, qs) for ex in experts])
    vote = ensemble_accuracy(graph, experts, qs)
    assert acc.mean(axis=1).max() < 0.7
    assert vote.mean() > 0.95


def test_corpus_never_writes_held_out_chains_whole(graph):
    vocab = Vocab.for_graph(graph)
    held = held_out_chains(graph, 0.5, seed=0)
    experts = make_experts(graph, ExpertSpec(strategy="denoising", n=2, confidence=1.0), seed=0)
    rows, writer = write_corpus(graph, experts, CorpusSpec(paragraphs=400, two_hop_rate=1.0),
                                vocab, held, seed=0)
    assert rows.shape == (400, 64) and set(writer.tolist()) == {0, 1}
    assert (rows[:, 0] == 1).all()
    text = " ".join(vocab.decode(r[r != PAD]) for r in rows)
    written = set()
    for s in text.replace("<bos>", "").split(" ."):
        w = s.split()
        if w.count("of") == 2:  # the r2 of the r1 of h is t
            at = w.index("of")
            r2 = " ".join(w[1:at])
            r1 = " ".join(w[at + 2:w.index("of", at + 1)])
            written.add((w[-3], r1, r2))
    phrase = {rel.phrase: k for k, rel in enumerate(RELATIONS)}
    keys = {(graph.names.index(h), phrase[r1], phrase[r2]) for h, r1, r2 in written}
    assert keys and not keys & held


def test_bootstrap_and_verdict_words():
    rng = np.random.default_rng(0)
    acc = np.full((3, 100), 0.9)
    d, lo, hi = bootstrap_mean(acc, ref=np.full(100, 0.5), rng=rng)
    assert np.isclose(d, 0.4) and verdict_word(lo, hi) == "transcends"
    noisy = rng.random((3, 200))
    d, lo, hi = bootstrap_mean(noisy, ref=noisy.mean(axis=0), rng=rng)
    assert verdict_word(lo, hi) == "not shown" and lo < d < hi
    assert verdict_word(-0.2, -0.1) == "does not transcend"
    assert set(VERDICTS) == {"transcends", "does not transcend", "not shown"}


def test_bad_experiment_is_a_user_error(tmp_path):
    from chessformer.kg.experiments import load_experiment

    p = tmp_path / "bad.toml"
    p.write_text('kind = "denoising"\ntemperatures = [0.001, 1.0]\nverdict_temperature = 0.001\n'
                 '[experts]\nconfidance = 0.6\n')
    with pytest.raises(UserError, match="confidance"):
        load_experiment(p)
    p.write_text('kind = "denoising"\ntemperatures = [0.1, 1.0]\n')
    with pytest.raises(UserError, match="verdict_temperature"):
        load_experiment(p)


def test_tiny_end_to_end(tmp_path):
    """`chessformer kg run denoising --size tiny`: corpus, 3 seeds, scores, report."""
    from chessformer.cli import main

    out = tmp_path / "kg"
    assert main(["kg", "run", "denoising", "--size", "tiny", "--out", str(out), "--boot", "200",
                 "--workers", "1"]) == 0
    from chessformer.formats import kg as kg_format

    summary = kg_format.read_summary(out)
    # summary.json and result.json are typed records that write back the same JSON
    assert summary.to_json() == json.loads((out / "summary.json").read_text())
    seed = out / "independent" / "seed-0"
    assert kg_format.read_seed_result(seed).to_json() == json.loads((seed / "result.json").read_text())
    assert [a.name for a in summary.arms] == ["independent", "shared"]
    for arm in summary.arms:
        assert arm.verdict.word in VERDICTS
        assert len(arm.curve) == len(summary.temperatures)
        assert all(0.0 <= c.lo <= c.model <= c.hi <= 1.0 for c in arm.curve)
        acc = np.load(out / arm.name / "seed-2" / "accuracy.npy")
        assert acc.shape == (summary.queries["total"], len(summary.temperatures))
        assert (out / arm.name / "seed-0" / "latest").is_file()
    md = (out / "report.md").read_text()
    assert "## Verdict" in md and "majority vote" in md
    assert (out / "report.html").read_text().count("data:image/png;base64") == 2
    # A second run trains nothing again and gives the same verdicts.
    mtime = (out / "independent" / "seed-0" / "accuracy.npy").stat().st_mtime_ns
    assert main(["kg", "run", "denoising", "--size", "tiny", "--out", str(out), "--boot", "200",
                 "--workers", "1"]) == 0
    assert (out / "independent" / "seed-0" / "accuracy.npy").stat().st_mtime_ns == mtime
    again = kg_format.read_summary(out)
    assert [a.verdict for a in again.arms] == [a.verdict for a in summary.arms]
    # a renamed key in a seed's result.json is one line naming the file and the key
    raw = json.loads((seed / "result.json").read_text())
    raw["seconds"] = raw.pop("train_seconds")
    (seed / "result.json").write_text(json.dumps(raw))
    with pytest.raises(UserError, match=r"result.json: unknown field 'seconds'"):
        kg_format.read_seed_result(seed)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["selection", "walk", "composition", "regularization"])
def test_every_experiment_runs_tiny(tmp_path, name):
    from chessformer.kg.experiments import load_experiment, run_experiment

    exp = load_experiment(name, "tiny")
    summary, _ = run_experiment(exp, tmp_path / name, workers=1, n_boot=100)
    assert all(a.verdict.word in VERDICTS for a in summary.arms)
    md = (tmp_path / name / "report.md").read_text()
    if name in ("selection", "walk", "composition"):
        assert "## Inside each expert's region" in md
    if name == "regularization":
        assert "## Implicit regularization" in md and len(summary.arms) == 4
