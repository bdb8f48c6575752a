"""From per-query accuracies to the numbers of a KG report (``summary.json``).

    >>> summary = summarize(exp, world, data, models, n_boot=1000)

Per arm: the model's accuracy against temperature on the verdict's query set (mean over seeds,
95% interval), the experts' and the majority vote's accuracy there, the pre-registered verdict
(model at ``verdict_temperature`` minus the best expert) and the same difference against the
vote; the same numbers on every named query set (:func:`chessformer.kg.queries.query_tags`);
inside each expert's certain region, the model against that expert; the training cost.
All intervals: :func:`chessformer.kg.stats.bootstrap_mean` with one fixed generator, so a summary
is reproducible.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from chessformer.formats.kg import (
    KgArmSummary,
    KgComparison,
    KgCurvePoint,
    KgExpertRow,
    KgRegionRow,
    KgSeedResult,
    KgSummary,
    KgTagRow,
    KgVerdict,
)
from chessformer.kg.spec import Arm, ArmData, Experiment, World
from chessformer.kg.stats import bootstrap_mean, verdict_word

__all__ = ["summarize"]


def _compare(model: np.ndarray, ref: np.ndarray, n_boot: int, rng: np.random.Generator
             ) -> dict[str, Any]:
    """Model [S, Q] (at one temperature) against a reference [Q]: means, difference, verdict
    (the fields of a :class:`~chessformer.formats.kg.KgComparison`)."""
    m, mlo, mhi = bootstrap_mean(model, n_boot=n_boot, rng=rng)
    d, dlo, dhi = bootstrap_mean(model, ref=ref, n_boot=n_boot, rng=rng)
    return {"n": int(model.shape[1]), "model": m, "model_lo": mlo, "model_hi": mhi,
            "reference": float(ref.mean()) if len(ref) else float("nan"),
            "diff": d, "lo": dlo, "hi": dhi, "word": verdict_word(dlo, dhi)}


def _best(expert_acc: np.ndarray, mask: np.ndarray) -> int:
    return int(np.argmax(expert_acc[:, mask].mean(axis=1)))


def _arm_summary(exp: Experiment, world: World, arm: Arm, data: ArmData, acc: np.ndarray,
                 results: list[KgSeedResult], n_boot: int) -> KgArmSummary:
    rng = np.random.default_rng(20250)
    ti = exp.temperatures.index(exp.verdict_temperature)
    if exp.verdict_on not in data.tags:
        from chessformer.utils import UserError
        raise UserError(f"{exp.source}: verdict_on {exp.verdict_on!r} is not a query set "
                        f"({', '.join(data.tags)})")
    vmask = data.tags[exp.verdict_on]
    best = _best(data.expert_acc, vmask)
    curve = []
    for k, t in enumerate(exp.temperatures):
        m, lo, hi = bootstrap_mean(acc[:, vmask, k], n_boot=n_boot, rng=rng)
        curve.append(KgCurvePoint(temperature=t, model=m, lo=lo, hi=hi))
    verdict = KgVerdict(**_compare(acc[:, vmask, ti], data.expert_acc[best, vmask], n_boot, rng),
                        best_expert=data.experts[best].name)
    vs_ens = KgComparison(**_compare(acc[:, vmask, ti], data.ensemble_acc[vmask], n_boot, rng))
    tags = []
    for tag, mask in data.tags.items():
        if not mask.any():
            continue
        b = _best(data.expert_acc, mask)
        row = _compare(acc[:, mask, ti], data.expert_acc[b, mask], n_boot, rng)
        tags.append(KgTagRow(**row, tag=tag, best_expert=data.experts[b].name,
                             ensemble=float(data.ensemble_acc[mask].mean())))
    one = world.queries.hops == 1
    regions = []
    for k, ex in enumerate(data.experts):
        region = np.zeros(len(world.queries), bool)
        region[np.flatnonzero(one)] = ex.region_facts(world.graph)  # one-hop queries = facts
        if region.any():
            row = _compare(acc[:, region, ti], data.expert_acc[k, region], n_boot, rng)
            regions.append(KgRegionRow(**row, expert=ex.name))
    experts = []
    unseen = data.tags["two_hop/unseen"]
    for k, ex in enumerate(data.experts):
        experts.append(KgExpertRow(
            name=ex.name, facts_right=float(ex.correct(world.graph).mean()),
            certain_facts=int(ex.region_facts(world.graph).sum()),
            verdict_set=float(data.expert_acc[k, vmask].mean()),
            one_hop=float(data.expert_acc[k, one].mean()),
            two_hop_unseen=float(data.expert_acc[k, unseen].mean()) if unseen.any() else None,
            expertise=(None if ex.expertise is None
                       else [round(float(c), 3) for c in ex.expertise])))
    return KgArmSummary(
        name=arm.name, label=arm.label or arm.name,
        experts_spec=dataclasses.asdict(arm.experts), corpus=dataclasses.asdict(arm.corpus),
        train=dataclasses.asdict(arm.train), rows=len(data.rows),
        curve=curve, experts=experts,
        ensemble_verdict_set=float(data.ensemble_acc[vmask].mean()),
        verdict=verdict, vs_ensemble=vs_ens, tags=tags, regions=regions,
        n_params=results[0].n_params,
        train_seconds=[r.train_seconds for r in results],
        steps_per_second=[r.steps_per_second for r in results],
        cpu_seconds=[r.cpu_seconds for r in results],
        steps_per_cpu_second=[r.steps_per_cpu_second for r in results],
        threads=results[0].threads,
        final_loss=float(np.mean([r.curve[-1].loss for r in results])),
        curves=[r.curve for r in results])


def summarize(exp: Experiment, world: World, data: dict[str, ArmData],
              models: dict[str, tuple[np.ndarray, list[KgSeedResult]]], *, n_boot: int = 1000
              ) -> KgSummary:
    """The experiment's numbers."""
    g = world.graph
    return KgSummary(
        name=exp.name, kind=exp.kind, size=exp.size, description=exp.description,
        source=exp.source, seed=exp.seed, seeds=exp.seeds,
        temperatures=exp.temperatures, verdict_temperature=exp.verdict_temperature,
        verdict_on=exp.verdict_on, n_boot=n_boot,
        graph={**dataclasses.asdict(exp.graph), "entities": g.n_entities,
               "facts": len(g.facts), "chains": len(g.chains())},
        queries={"total": len(world.queries), "holdout": exp.holdout},
        arms=[_arm_summary(exp, world, arm, data[arm.name], *models[arm.name], n_boot)
              for arm in exp.arms])
