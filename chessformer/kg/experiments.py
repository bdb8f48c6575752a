"""The knowledge-graph experiments: one TOML each (``evals/kg/``), one command, one report.

    chessformer kg run denoising --size tiny --out /tmp/kg-denoising
    >>> exp = load_experiment("denoising", "full")
    >>> summary, report = run_experiment(exp, Path("runs/kg/denoising"))  # doctest: +SKIP

An experiment names a graph, the queries, and one or more *arms*; an arm is a set of experts
(``[experts]``), the corpus they write (``[corpus]``) and a training recipe (``[train]``); an
arm's tables override the top-level ones key by key. For every arm: build the experts, write
their corpus, score every expert and their majority vote on the queries, then train ``seeds``
models (seeds 0, 1, ...) on the same corpus and score them at every temperature. The graph, the
experts and the corpus depend only on the experiment's ``seed``; the training seeds vary only
the model's initialisation and batch order.

The verdict is pre-registered in the TOML: ``verdict_temperature`` (0.001) and the query set
``verdict_on`` (a tag of :func:`chessformer.kg.queries.query_tags`): model accuracy at that
temperature minus the best expert's on that set (the best expert by its accuracy there), 95%
interval by bootstrap over training seeds and queries (:mod:`chessformer.kg.stats`).

Output folder: ``ARM/corpus.npy`` (token rows), ``ARM/writer.npy`` (each row's expert),
``ARM/corpus_sample.txt``, ``ARM/seed-S/`` (checkpoint, ``accuracy.npy`` [queries, temperatures],
``result.json``), ``summary.json``, ``report.md``, ``report.html`` and the figures. A seed whose ``result.json``
holds the same recipe is not trained again: an interrupted run goes on where it stopped.

Sizes: ``full`` is the TOML's top level; ``[size.tiny]`` overrides it (tables merge key by key).
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from chessformer.formats import kg as kg_format
from chessformer.kg.corpus import CorpusSpec, Vocab, write_corpus
from chessformer.kg.experts import ExpertSpec, make_experts
from chessformer.kg.graph import GraphSpec, build_graph
from chessformer.kg.queries import (
    Queries,
    build_queries,
    ensemble_accuracy,
    expert_accuracy,
    held_out_chains,
    query_tags,
)
from chessformer.kg.spec import Arm, ArmData, Experiment, World
from chessformer.kg.train import TrainSpec, query_accuracy, train_model
from chessformer.utils import (
    UserError,
    log,
    merge_tables,
    mp_context,
    pop_size,
    read_toml,
    write_text_atomic,
)

__all__ = ["KINDS", "SIZES", "Arm", "ArmData", "Experiment", "World", "build_arm", "build_world",
           "load_experiment", "run_experiment", "run_experiments"]

KINDS = ("denoising", "selection", "walk", "composition", "regularization")
SIZES = ("tiny", "full")
TABLES = {"graph": GraphSpec, "experts": ExpertSpec, "corpus": CorpusSpec, "train": TrainSpec}


def _spec(cls: type, table: Mapping[str, Any], where: str) -> Any:
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(table) - names)
    if unknown:
        raise UserError(f"{where}: unknown keys {unknown} (known: {sorted(names)})")
    return cls(**table)


def load_experiment(path: str | Path, size: str = "full") -> Experiment:
    """Read an experiment TOML (a bare name means ``evals/kg/<name>.toml``)."""
    p, raw = read_toml(path, folder="evals/kg", what="KG experiment")
    raw = merge_tables(raw, pop_size(raw, size, SIZES, p))
    kind = raw.get("kind")
    if kind not in KINDS:
        raise UserError(f"{p}: kind must be one of {', '.join(KINDS)}, not {kind!r}")
    temps = [float(t) for t in raw.get("temperatures", [])]
    vt = raw.get("verdict_temperature")
    if vt is None or float(vt) not in temps:
        raise UserError(f"{p}: verdict_temperature {vt!r} must be stated and be one of the "
                        f"temperatures {temps}")
    arms = []
    for a in raw.get("arm", [{"name": kind}]):
        a = dict(a)
        name = a.pop("name", None)
        if not name:
            raise UserError(f"{p}: every [[arm]] needs a name")
        label = a.pop("label", "")
        tables = {}
        for key, cls in TABLES.items():
            if key == "graph":
                continue
            tables[key] = _spec(cls, merge_tables(raw.get(key, {}), a.pop(key, {})), f"{p} arm {name} [{key}]")
        if a:
            raise UserError(f"{p}: arm {name}: unknown keys {sorted(a)}")
        arms.append(Arm(name=name, label=label, **tables))
    q = raw.get("queries", {})
    seeds = int(raw.get("seeds", 3))
    if seeds < 1:
        raise UserError(f"{p}: seeds must be at least 1")
    return Experiment(
        name=str(raw.get("name", p.stem)), kind=kind, size=size,
        graph=_spec(GraphSpec, raw.get("graph", {}), f"{p} [graph]"), arms=arms,
        temperatures=temps, verdict_temperature=float(vt),
        verdict_on=str(raw.get("verdict_on", "one_hop")), seeds=seeds,
        seed=int(raw.get("seed", 0)), two_hop_queries=int(q.get("two_hop", 300)),
        holdout=float(q.get("holdout", 0.5)), description=str(raw.get("description", "")),
        source=str(p))


# ---------------------------------------------------------------------------------------------
# Data: graph, experts, corpus, the experts' scores


def build_world(exp: Experiment) -> World:
    graph = build_graph(exp.graph, exp.seed)
    vocab = Vocab.for_graph(graph)
    held = held_out_chains(graph, exp.holdout, exp.seed)
    return World(graph, vocab, build_queries(graph, vocab, held, exp.two_hop_queries, exp.seed),
                 held)


def build_arm(exp: Experiment, world: World, arm: Arm, out: Path) -> ArmData:
    """Experts, their corpus (written to ``out/ARM/``) and their scores on the queries."""
    g = world.graph
    experts = make_experts(g, arm.experts, exp.seed)
    corpus = arm.corpus
    if corpus.paragraphs <= 0:  # one epoch: as many rows as training will read
        corpus = dataclasses.replace(corpus, paragraphs=arm.train.max_steps * arm.train.batch_size)
    rows, writer = write_corpus(g, experts, corpus, world.vocab, world.held_out, exp.seed)
    d = out / arm.name
    d.mkdir(parents=True, exist_ok=True)
    np.save(d / kg_format.CORPUS, rows)
    np.save(d / kg_format.WRITER, writer)  # the expert who wrote each row
    write_text_atomic(d / kg_format.CORPUS_SAMPLE,
                      "\n".join(world.vocab.decode(r) for r in rows[:30]) + "\n")
    qs = world.queries
    return ArmData(experts=experts, rows=rows,
                   expert_acc=np.stack([expert_accuracy(g, ex, qs) for ex in experts]),
                   ensemble_acc=ensemble_accuracy(g, experts, qs),
                   tags=query_tags(g, experts, qs))


# ---------------------------------------------------------------------------------------------
# Training jobs (one process each; the pool's workers split the cores)


def _recipe(exp: Experiment, arm: Arm, seed: int) -> dict[str, Any]:
    """What a seed's result depends on: a result with another recipe is trained again."""
    return {"experiment_seed": exp.seed, "seed": seed, "graph": dataclasses.asdict(exp.graph),
            "experts": dataclasses.asdict(arm.experts), "corpus": dataclasses.asdict(arm.corpus),
            "train": dataclasses.asdict(arm.train), "temperatures": exp.temperatures,
            "holdout": exp.holdout, "two_hop_queries": exp.two_hop_queries}


def _train_job(job: tuple[Path, Path, Queries, int, int, TrainSpec, int, list[float], dict, int]
               ) -> str:
    corpus_path, run_dir, qs, n_tokens, first_entity, spec, seed, temps, recipe, threads = job
    import torch

    torch.set_num_threads(threads)
    rows = np.load(corpus_path)
    t0, c0 = time.perf_counter(), time.process_time()
    model, curve = train_model(rows, n_tokens, spec, seed, out=run_dir)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    acc = query_accuracy(model, qs, first_entity, temps)
    np.save(run_dir / kg_format.ACCURACY, acc)
    kg_format.write_seed_result(run_dir, kg_format.KgSeedResult(
        recipe=recipe, train_seconds=round(seconds, 2), threads=threads,
        # CPU seconds do not grow with the machine's load as wall seconds do: steps per CPU
        # second (one thread) is the idle-core rate this run's work would have.
        cpu_seconds=round(cpu, 2), steps_per_second=round(spec.max_steps / seconds, 3),
        steps_per_cpu_second=round(spec.max_steps / max(cpu, 1e-9), 3),
        n_params=model.num_params(), curve=[kg_format.KgLossPoint(**c) for c in curve]))
    return str(run_dir)


def _done(run_dir: Path, recipe: dict[str, Any]) -> bool:
    result = kg_format.read_seed_result(run_dir)
    return result is not None and result.recipe == json.loads(json.dumps(recipe)) and (
        run_dir / kg_format.ACCURACY).is_file()


def pending_jobs(exp: Experiment, world: World, out: Path) -> list[tuple]:
    """The (arm, seed) trainings of one experiment not done yet, as ``_train_job`` arguments."""
    jobs = []
    for arm in exp.arms:
        for seed in range(exp.seeds):
            run_dir = out / arm.name / f"seed-{seed}"
            recipe = _recipe(exp, arm, seed)
            if not _done(run_dir, recipe):
                jobs.append((out / arm.name / kg_format.CORPUS, run_dir, world.queries,
                             len(world.vocab), world.vocab.first_entity, arm.train, seed,
                             exp.temperatures, recipe, 1))
    return jobs


def train_jobs(jobs: list[tuple], workers: int) -> None:
    """Run ``jobs`` ``workers`` at a time (one pool for all, so no core idles between arms or
    experiments), each on ``cores // workers`` threads."""
    if not jobs:
        return
    cores = os.cpu_count() or 1
    workers = max(1, min(workers, len(jobs)))
    threads = max(1, cores // workers)
    jobs = [j[:-1] + (threads,) for j in jobs]
    log.info("training %d models, %d at a time, %d thread(s) each", len(jobs), workers, threads)
    if workers == 1:
        for j in jobs:
            log.info("trained %s", _train_job(j))
        return
    with mp_context().Pool(workers) as pool:
        for done in pool.imap_unordered(_train_job, jobs):
            log.info("trained %s", done)


def load_model_accuracy(exp: Experiment, arm: Arm, out: Path
                        ) -> tuple[np.ndarray, list[kg_format.KgSeedResult]]:
    """([seeds, Q, T] accuracies, per-seed result.json) of one arm."""
    accs, results = [], []
    for seed in range(exp.seeds):
        d = out / arm.name / f"seed-{seed}"
        accs.append(np.load(d / kg_format.ACCURACY))
        result = kg_format.read_seed_result(d)
        if result is None:
            raise UserError(f"{d}: no {kg_format.RESULT} (the seed's training did not finish)")
        results.append(result)
    return np.stack(accs), results


def prepare(exp: Experiment, out: Path) -> tuple[World, dict[str, ArmData]]:
    """The world and every arm's data (corpora written under ``out``)."""
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    world = build_world(exp)
    data = {arm.name: build_arm(exp, world, arm, out) for arm in exp.arms}
    log.info("%s: data ready in %.1fs (%d entities, %d facts, %d queries)", exp.name,
             time.perf_counter() - t0, world.graph.n_entities, len(world.graph.facts),
             len(world.queries))
    return world, data


def run_experiments(runs: list[tuple[Experiment, Path]], *, workers: int = 2,
                    n_boot: int = 1000) -> list[tuple[kg_format.KgSummary, dict[str, str]]]:
    """Data of every experiment, then all their trainings in one pool, then per experiment its
    ``summary.json`` and report; returns each experiment's summary and report paths
    (``{"md", "html"}``)."""
    from chessformer.kg.analysis import summarize
    from chessformer.kg.report import write_report

    t0 = time.perf_counter()
    prepared = [prepare(exp, out) for exp, out in runs]
    train_jobs([j for (exp, out), (world, _) in zip(runs, prepared)
                for j in pending_jobs(exp, world, out)], workers)
    done = []
    for (exp, out), (world, data) in zip(runs, prepared):
        models = {arm.name: load_model_accuracy(exp, arm, out) for arm in exp.arms}
        summary = dataclasses.replace(summarize(exp, world, data, models, n_boot=n_boot),
                                      wall_seconds_all=round(time.perf_counter() - t0, 1))
        kg_format.write_summary(out, summary)
        done.append((summary, write_report(exp, summary, out)))
    return done


def run_experiment(exp: Experiment, out: Path, *, workers: int = 2, n_boot: int = 1000
                   ) -> tuple[kg_format.KgSummary, dict[str, str]]:
    """Data, training, scores, ``summary.json`` and the report of one experiment."""
    return run_experiments([(exp, out)], workers=workers, n_boot=n_boot)[0]
