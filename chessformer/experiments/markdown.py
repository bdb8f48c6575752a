"""``experiment.md``: the result of :func:`chessformer.experiments.taxonomy.run_experiment` in
words and tables (pure: the :class:`~chessformer.formats.experiment.ExperimentResult` in,
Markdown out; its ``probe`` tables are plain mappings)."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from chessformer.formats.experiment import ExperimentRatings, ExperimentResult
from chessformer.report.document import md_table


def _pct(r: Mapping[str, Any]) -> str:
    """A rate with its clustered 95% interval, in percent."""
    if not r["n"]:
        return "n/a (0 positions)"
    return f"{100 * r['rate']:.1f}% [{100 * r['lo']:.1f}, {100 * r['hi']:.1f}]"


def _points(d: Mapping[str, Any]) -> str:
    """A paired difference of rates, in percentage points."""
    if not math.isfinite(d["diff"]):
        return "n/a"
    return f"{100 * d['diff']:+.1f} points [{100 * d['lo']:+.1f}, {100 * d['hi']:+.1f}]"


def _word(lo: float, hi: float, above: str, below: str, neither: str) -> str:
    return above if lo > 0 else below if hi < 0 else neither


def _agreement_md(block: Mapping[str, Any], what: str) -> list[str]:
    rows = [[f"model {arm} (mean of {r['seeds']} seeds)", _pct(r)]
            for arm, r in block["models"].items()]
    rows.append(["ensemble (plurality)", _pct(block["ensemble_plurality"])])
    rows.append(["ensemble (mean)", _pct(block["ensemble_mean"])])
    rows += [[f"expert {e} (expected)", _pct(v)] for e, v in block["experts_expected"].items()]
    out = [f"{what}: {block['positions']} positions from {block['games']} games.", ""]
    out += md_table(["player", "plays Stockfish's depth-1 move: % [95% CI]"], rows)
    if block["differences"]:
        out += md_table(["arm a", "arm b", "a - b (same positions)"],
                        [[d["a"], d["b"], _points(d)] for d in block["differences"]])
    return out


def _ratings_md(rt: ExperimentRatings) -> list[str]:
    md = ["## Ratings (one scale)", "",
          f"{rt.games} games rated jointly; anchors: {rt.anchor_source} "
          f"({json.dumps(rt.anchors)}); 95% bootstrap intervals ({rt.n_boot} resamples). "
          f"An arm is the mean of its {', '.join(map(str, sorted(set(rt.seeds.values()))))} "
          "training seeds' models; its intervals come from a two-stage bootstrap over game pairs "
          "and training seeds, so they cover both.", ""]
    rows = [[f"arm {a} T={x.temperature:g}", f"{x.elo:.0f}", f"[{x.lo:.0f}, {x.hi:.0f}]"]
            for a, xs in rt.arms.items() for x in xs]
    rows += [[f"{m} T={x.temperature:g}", f"{x.elo:.0f}", f"[{x.lo:.0f}, {x.hi:.0f}]"
              + (" (prior only)" if x.prior_only else "")]
             for m, xs in rt.models.items() for x in xs]
    rows += [[f"{x.player} ({x.kind})", f"{x.elo:.0f}", f"[{x.lo:.0f}, {x.hi:.0f}]"]
             for x in rt.others]
    md += md_table(["player", "Elo", "95% CI"], rows)
    if rt.differences:
        md += [f"Differences (arm against the ensemble at T={rt.verdict_temperature:g}, the "
               "temperature fixed in advance; arm against arm at each temperature):", ""]
        md += md_table(["a", "b", "a - b", "95% CI"],
                       [[d.a, d.b, f"{d.diff:+.0f}", f"[{d.lo:+.0f}, {d.hi:+.0f}]"]
                        for d in rt.differences])
    return md


def _probe_md(r: ExperimentResult) -> list[str]:
    p = r.probe
    md = ["## Per move, on held-out positions", "",
          f"{p['games']} held-out games (seed {p['seed']}) between the experts"
          + (f", opened with {'; '.join(p['openings'])}" if p.get("openings") else "")
          + f"; positions at plies {p['min_ply']}..{p['max_plies'] - 1} (and within each "
          "model's context). A model's move is its argmax over legal moves given the game so "
          "far (an arm: the mean over its seeds' models); an expert's is its expected agreement "
          "(the probability it gives Stockfish's move). 95% intervals: bootstrap over held-out "
          "games (positions of one game are not independent) and training seeds; arm against "
          "arm is paired on the same positions.", ""]
    ov = p.get("overlap") or {}
    if ov:
        md += ["Overlap with the training data: the share of these positions that occur in each "
               "arm's training games (by FEN without move counters); a model may have seen "
               "them.", ""]
        md += md_table(["arm", "positions seen in training", "share"],
                       [[a, f"{o['seen']}/{o['positions']}",
                         "n/a" if not o["positions"] else f"{100 * o['share']:.1f}%"]
                        for a, o in ov.items()])
    md += _agreement_md(p["all"], "All held-out positions")
    if p.get("unseen"):
        md += _agreement_md(p["unseen"], "Held-out positions that occur in no arm's training data")
    if r.kind == "diversity":
        md += [f"### Positions where {p['focus']} is blind to Stockfish's move", ""]
        md += _agreement_md(p["blind"], f"Stockfish's move lands in {p['focus']}'s blind spot")
    if r.kind == "selection":
        for e, block in p["regions"].items():
            md += [f"### Inside {e}'s region", ""]
            md += _agreement_md(block, f"Positions inside {e}'s region")
    idf = p["identification"]
    md += ["### Does a model identify the expert who is playing?", "",
           f"On the {idf['positions']} held-out positions where the expert who played has a "
           "most likely move different from the pool's plurality move: how often each model's "
           "argmax is the acting expert's move (the model has identified the expert and copies "
           "it, which removes the averaging) or the plurality move (it averages)."
           + (" Few such positions: the experts' most likely moves rarely differ here (this "
              "view is made for experts with different systematic weaknesses, as in the "
              "diversity experiment)." if idf["positions"] < 30 else ""), ""]
    md += md_table(["model", "= acting expert's move", "= plurality move", "difference"],
                   [[arm, _pct(x["acting_expert"]), _pct(x["plurality"]), _points(x["difference"])]
                    for arm, x in idf["models"].items()])
    return md


def experiment_markdown(r: ExperimentResult) -> str:
    md = [f"# Experiment {r.experiment} ({r.kind}, size {r.size})", ""]
    if r.description:
        md += [r.description, ""]
    md += ["Arms (same training preset and evaluation grid; one model per training seed):", ""]
    md += md_table(["arm", "experts", "games", "training seeds", "dataset"],
                   [[n, a.experts, str(a.games), ", ".join(map(str, a.seeds)), a.dataset]
                    for n, a in r.arms.items()])
    md += [f"Training: {json.dumps(r.train)}. Full report (joint ratings, head to head, plots): "
           f"{r.report.md}.", ""]
    if r.eval_openings:
        md += ["Evaluation games open with: " + "; ".join(r.eval_openings) + ".", ""]
    md += _ratings_md(r.ratings)
    md += [f"Report verdicts (each model at T={r.verdict_temperature:g}, fixed in advance, "
           "against the best expert of its training data):", ""]
    md += [f"- {v}" for v in r.report.verdicts] + [""]
    if r.report.exploratory:
        md += ["Exploratory, not verdicts (best of the temperatures, simultaneous intervals):", ""]
        md += [f"- {v}" for v in r.report.exploratory] + [""]
    md += ["## Diversity of the training data", "",
           "Move entropy over common positions (FEN without move counters, seen at least "
           f"{next(iter(r.entropy.values())).min_count} times in the training games): the "
           "mean over those positions of the entropy (bits) of the moves played there, and the "
           "same weighted by visits.", ""]
    md += md_table(["arm", "games read", "common positions", "moves from them",
                    "mean entropy (bits)", "visit-weighted (bits)"],
                   [[n, str(e.games), str(e.positions), str(e.visits), f"{e.mean_bits:.3f}",
                     f"{e.weighted_bits:.3f}"] for n, e in r.entropy.items()])
    if r.probe:
        md += _probe_md(r)
    md += ["## Finding", ""] + finding_lines(r)
    if r.seconds:
        md += ["Time of the stages run now (s): "
               + ", ".join(f"{k} {v:g}" for k, v in r.seconds.items()) + ".", ""]
    return "\n".join(md) + "\n"


def finding_lines(r: ExperimentResult) -> list[str]:
    """Plain sentences stating what the numbers say, whichever way they come out."""
    out = []
    for d in r.ratings.differences:
        sign = _word(d.lo, d.hi, "above", "below", "not distinguishable from")
        out.append(f"- {d.a} is {sign} {d.b}: {d.diff:+.0f} Elo, 95% CI "
                   f"[{d.lo:+.0f}, {d.hi:+.0f}] (games and training seeds).")
    p = r.probe
    blocks = []
    if r.kind == "diversity" and p.get("blind"):
        blocks.append((f"on {p['focus']}'s blind positions", p["blind"]))
    if p.get("all"):
        blocks.append(("on all held-out positions", p["all"]))
    for where, b in blocks:
        for d in b["differences"]:
            if not math.isfinite(d["diff"]):
                continue
            sign = _word(d["lo"], d["hi"], "more often than", "less often than",
                         "not distinguishably more or less often than")
            out.append(f"- Stockfish's move {where}: model {d['a']} plays it {sign} model "
                       f"{d['b']}: {_points(d)} (paired on the same positions).")
    for arm, x in (p.get("identification") or {}).get("models", {}).items():
        d = x["difference"]
        if x["acting_expert"]["n"]:
            which = _word(d["lo"], d["hi"], "copies the acting expert more often than the plurality",
                          "follows the plurality more often than the acting expert",
                          "does not clearly favour either")
            out.append(f"- Model {arm} {which} where they differ ({_pct(x['acting_expert'])} vs "
                       f"{_pct(x['plurality'])}; difference {_points(d)}).")
    return out + [""] if out else ["- (no comparisons at this size)", ""]
