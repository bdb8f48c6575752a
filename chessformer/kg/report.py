"""report.md and report.html (self-contained) for one KG experiment, from its ``summary.json``.

    >>> info = write_report(exp, summary, Path("runs/kg/denoising"))   # doctest: +SKIP

The chess report's visual language: accuracy against temperature on a log axis, the model's mean
over training seeds with its 95% band, each expert a flat dash-dotted line (the best one crimson),
the experts' majority vote dashed; then the pre-registered verdict per arm, a table per query
set, the experts' own scores, and per kind of experiment its own table (each expert's region;
weight decay and model size).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from chessformer.formats.kg import KgSummary, KgTagRow
from chessformer.report.document import Section, render_html, render_markdown
from chessformer.report.verdict import DOES_NOT, NOT_SHOWN, TRANSCENDS
from chessformer.utils import format_number, write_text_atomic

__all__ = ["KIND_TEXT", "write_report"]

PLOT_ACCURACY = "accuracy_vs_temperature.png"
PLOT_TRAINING = "training_curves.png"

#: What each kind of experiment is built to show (the design, not its outcome).
KIND_TEXT = {
    "denoising": "Every expert is right on each fact with the same probability, errors drawn "
                 "independently: the plurality of their versions is right where each of them is "
                 "often wrong. A model that learns the distribution of what it read and samples at "
                 "low temperature picks the plurality, so it should beat every expert "
                 "(denoising). The shared-error arm keeps every expert's error rate but makes "
                 "them err together on the same facts with the same wrong answer: the data lose "
                 "their diversity and the plurality is no better than one expert.",
    "selection": "Each expert knows a few clusters for certain (confidences from the linear "
                 "program) and writes mostly about them; elsewhere it is confidently wrong. The "
                 "model should match each expert inside that expert's region and, knowing all "
                 "regions at once, beat every expert overall (skill selection).",
    "walk": "Each expert knows exactly the facts along a random walk (a connected region) and "
            "has every other fact scrambled. The query sets tell which facts the model recovers "
            "and by which route: facts known by one or several experts (selection and "
            "denoising), facts no expert knows (no route: chance), and two-hop chains never "
            "written whole, whose two facts one expert knows or only different experts know "
            "(composition).",
    "composition": "Two-hop questions (the r2 of the r1 of h) whose chain was never written "
                   "whole. Where both facts come from one expert, that expert can answer; where "
                   "they come from different experts only, no expert and no vote can, and the "
                   "model answers only if it composes two facts learned from different sources.",
    "regularization": "The same corpus (the denoising experts) under different weight decay "
                      "and model size: which recipe turns the plurality into the model's argmax "
                      "(the transcendence margin), and which composes two-hop chains.",
}


def _p(x: float | None, signed: bool = False) -> str:
    """An accuracy or a difference of accuracies: three decimals."""
    return format_number(x, 3, signed)


def _ci(lo: float, hi: float, signed: bool = False) -> str:
    return f"[{_p(lo, signed)}, {_p(hi, signed)}]"


def plot_accuracy(path: Path, summary: KgSummary) -> None:
    """One panel per arm: model line and band, experts flat, the vote dashed."""
    from matplotlib.figure import Figure  # no pyplot: no global backend state

    arms = summary.arms
    cols = min(len(arms), 2)
    rows = math.ceil(len(arms) / cols)
    fig = Figure(figsize=(6.2 * cols, 4.4 * rows), dpi=110)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    ticks = sorted(set(summary.temperatures))
    for ax, arm in zip(axes, arms):
        xs = [c.temperature for c in arm.curve]
        ys = [c.model for c in arm.curve]
        ax.plot(xs, ys, "-", marker="o", color="C0", label="model (mean of seeds)", zorder=3)
        ax.fill_between(xs, [c.lo for c in arm.curve], [c.hi for c in arm.curve],
                        color="C0", alpha=0.18)
        best = arm.verdict.best_expert
        for e in sorted(arm.experts, key=lambda e: -e.verdict_set):
            if e.name == best:
                ax.axhline(e.verdict_set, color="crimson", linewidth=2.2, linestyle="-.",
                           label=f"best expert: {e.name} ({e.verdict_set:.2f})")
            else:
                ax.axhline(e.verdict_set, color="0.55", linewidth=0.9, linestyle="-.")
        ax.plot([], [], color="0.55", linewidth=0.9, linestyle="-.", label="other experts")
        ax.axhline(arm.ensemble_verdict_set, color="black", linewidth=1.4, linestyle="--",
                   label=f"majority vote ({arm.ensemble_verdict_set:.2f})")
        ax.axvline(summary.verdict_temperature, color="0.3", linewidth=0.8, linestyle=":")
        ax.set_xscale("log")
        ax.set_xticks(ticks)
        ax.set_xticklabels([f"{t:g}" for t in ticks])
        ax.minorticks_off()
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel("sampling temperature (log scale)")
        ax.set_ylabel(f"accuracy on {summary.verdict_on}")
        v = arm.verdict
        ax.set_title(f"{arm.label}: {v.word} ({v.diff:+.3f})", fontsize=10)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7, loc="best")
    for ax in axes[len(arms):]:
        ax.set_visible(False)
    fig.suptitle(f"{summary.name}: accuracy against temperature (95% bands over seeds and "
                 "queries)", fontsize=11)
    fig.tight_layout()
    fig.savefig(path)


def plot_training(path: Path, summary: KgSummary) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 3.8), dpi=110)
    ax = fig.subplots()
    for k, arm in enumerate(summary.arms):
        for j, curve in enumerate(arm.curves):
            ax.plot([c.step for c in curve], [c.loss for c in curve], color=f"C{k % 10}",
                    alpha=0.8, label=arm.label if j == 0 else None)
    ax.set_xlabel("step")
    ax.set_ylabel("training loss (batch)")
    ax.set_yscale("log")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)


def _verdict_section(s: KgSummary) -> Section:
    paras = [(f"Pre-registered in {s.source}: model accuracy at temperature "
             f"{s.verdict_temperature:g} on the query set '{s.verdict_on}' minus the best "
             f"expert's on the same queries; 95% interval by bootstrap over {s.seeds} training "
             f"seeds and the queries ({s.n_boot} resamples). Three words: {TRANSCENDS} "
             f"(interval above 0), {DOES_NOT} (below 0), {NOT_SHOWN} (contains 0).")]
    rows = []
    for a in s.arms:
        v, e = a.verdict, a.vs_ensemble
        paras.append(f"**{a.label}: {v.word}** - model {_p(v.model)} against "
                     f"{v.best_expert} {_p(v.reference)}: {_p(v.diff, True)} "
                     f"{_ci(v.lo, v.hi, True)}; against the majority vote "
                     f"{_p(e.reference)}: {_p(e.diff, True)} {_ci(e.lo, e.hi, True)} "
                     f"({e.word}).")
        rows.append([a.label, str(v.n), f"{_p(v.model)} {_ci(v.model_lo, v.model_hi)}",
                     f"{v.best_expert} {_p(v.reference)}", _p(e.reference),
                     f"{_p(v.diff, True)} {_ci(v.lo, v.hi, True)}", v.word,
                     f"{_p(e.diff, True)} {_ci(e.lo, e.hi, True)}", e.word])
    return Section("Verdict", paras, ["arm", "queries", f"model at T={s.verdict_temperature:g}",
                                      "best expert", "majority vote", "model - best expert",
                                      "verdict", "model - vote", "vs vote"], rows)


def _tags_section(s: KgSummary) -> Section:
    rows = []
    for a in s.arms:
        for t in a.tags:
            rows.append([a.label, t.tag, str(t.n),
                         f"{_p(t.model)} {_ci(t.model_lo, t.model_hi)}",
                         f"{t.best_expert} {_p(t.reference)}", _p(t.ensemble),
                         f"{_p(t.diff, True)} {_ci(t.lo, t.hi, True)}", t.word])
    return Section("Query sets", [
        ("The model at the verdict temperature on every query set against the best expert on that "
        "set. known_by_N: one-hop facts N experts have right; two_hop/seen: chains experts may "
        "have written whole; two_hop/unseen: chains never written whole, split by who knows "
        "their two facts (one expert / different experts only / some fact nobody knows).")],
        ["arm", "query set", "n", "model [95%]", "best expert", "majority vote",
         "model - best expert", "verdict"], rows)


def _regions_section(s: KgSummary) -> Section | None:
    rows = [[a.label, r.expert, str(r.n), _p(r.reference),
             f"{_p(r.model)} {_ci(r.model_lo, r.model_hi)}",
             f"{_p(r.diff, True)} {_ci(r.lo, r.hi, True)}", r.word]
            for a in s.arms for r in a.regions]
    if not rows:
        return None
    return Section("Inside each expert's region", [
        ("One-hop facts each expert knows for certain (confidence 1 on the head's or the tail's "
         "cluster, or its walk): does the model match the expert there? (An expert scores below "
         "1 only where a corrupted statement about the head contradicts a fact it knows through "
         "the tail's cluster.)")],
        ["arm", "expert", "facts", "expert", "model [95%]", "model - expert", "verdict"], rows)


def _model_on(tags: dict[str, KgTagRow], tag: str) -> float | None:
    return tags[tag].model if tag in tags else None


def _regularization_section(s: KgSummary) -> Section:
    rows = []
    for a in s.arms:
        t = {x.tag: x for x in a.tags}
        v = a.verdict
        tr = a.train
        rows.append([a.label, f"{tr['weight_decay']:g}", f"{tr['n_layer']} x {tr['d_model']}",
                     f"{a.n_params:,}", f"{_p(v.diff, True)} {_ci(v.lo, v.hi, True)}",
                     v.word, _p(_model_on(t, "two_hop/seen")),
                     _p(_model_on(t, "two_hop/unseen")), f"{a.final_loss:.3f}"])
    return Section("Implicit regularization", [
        ("The transcendence margin (model minus best expert at the verdict temperature) and "
        "two-hop accuracy per recipe; parameters include the embedding table.")],
        ["arm", "weight decay", "layers x width", "parameters", "margin [95%]", "verdict",
         "two-hop seen", "two-hop unseen", "final loss"], rows)


def _experts_section(s: KgSummary) -> Section:
    rows = []
    for a in s.arms:
        for e in a.experts:
            rows.append([a.label, e.name, _p(e.facts_right), str(e.certain_facts),
                         _p(e.verdict_set), _p(e.one_hop), _p(e.two_hop_unseen)])
    return Section("Experts", [
        ("Each expert scored on the model's queries from its own copy of the graph (the chance "
        "that it answers right; with no answer it guesses among the entities of the right "
        "type). facts right: its copy against the ground truth.")],
        ["arm", "expert", "facts right", "certain facts", f"on {s.verdict_on}", "one-hop",
         "two-hop unseen"], rows)


def _training_section(s: KgSummary) -> Section:
    rows = []
    for a in s.arms:
        tr = a.train
        sps = a.steps_per_second
        cpu = [x for x in a.steps_per_cpu_second if x]
        rows.append([a.label, str(tr["max_steps"]), str(tr["batch_size"]), str(a.rows),
                     f"{a.n_params:,}", f"{sum(a.train_seconds) / len(sps):.0f}",
                     f"{sum(sps) / len(sps):.2f}",
                     f"{sum(cpu) / len(cpu):.2f}" if cpu else "n/a", str(a.threads),
                     f"{a.final_loss:.3f}"])
    g = s.graph
    return Section("Training and data", [
        (f"Graph: {g['entities']} entities in {g['clusters']} clusters, {g['facts']} facts, "
        f"{g['chains']} two-hop chains ({s.queries['holdout']:.0%} held out); "
        f"{s.queries['total']} queries. Seconds and steps/s are as measured on this machine "
        "while it ran whatever else it ran (a step count fixes the work, not the time); steps "
        "per CPU second is the rate of one idle core.")],
        ["arm", "steps", "batch", "corpus rows", "parameters", "seconds per seed", "steps/s",
         "steps per CPU s", "threads", "final loss"], rows, image=PLOT_TRAINING)


def write_report(exp: Any, summary: KgSummary, out: Path) -> dict[str, str]:
    """Write ``out/report.md``, ``out/report.html`` and their figures; returns their paths."""
    plot_accuracy(out / PLOT_ACCURACY, summary)
    plot_training(out / PLOT_TRAINING, summary)
    title = f"Knowledge-graph experiment: {summary.name} ({summary.size})"
    intro = Section("What it tests", [summary.description, KIND_TEXT[summary.kind]],
                    image=PLOT_ACCURACY)
    sections = [intro, _verdict_section(summary), _tags_section(summary)]
    if summary.kind == "regularization":
        sections.append(_regularization_section(summary))
    regions = _regions_section(summary)
    if regions is not None:
        sections.append(regions)
    sections += [_experts_section(summary), _training_section(summary)]
    write_text_atomic(out / "report.md", render_markdown(sections, title) + "\n")
    write_text_atomic(out / "report.html", render_html(sections, title, out))
    return {"md": str(out / "report.md"), "html": str(out / "report.html")}
