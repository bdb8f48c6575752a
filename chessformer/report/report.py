"""``chessformer report``: report.html and report.md for evaluated training runs.

    chessformer report runs/demo                      # writes runs/demo/report/report.{html,md}
    chessformer report runs/cap1000 runs/cap1500 --out reports/caps --boot 2000

    >>> from chessformer.report.report import write_report
    >>> info = write_report([Path("runs/demo")], Path("runs/demo/report"))  # doctest: +SKIP
    >>> info["verdicts"][0].text                                          # doctest: +SKIP
    'transcends by +112 Elo, 95% CI [+41, +180]'

A RUN is a training run folder (``metrics.jsonl``, ``run.json``, ``eval/*/games.jsonl``) or an
evaluation folder itself. All games of all RUNs are rated in one joint fit
(:mod:`chessformer.rating.bradley_terry`), anchored as ``chessformer rate`` does
(:mod:`chessformer.rating.anchors`), so every model temperature, every expert and every
Stockfish rung sits on one scale.

The report holds: Elo versus temperature (log x axis, the paper's Figure 1 layout) with 95% bands,
one line per model and legality mode (each its own colour, line style and marker), a line at each
model's training cap and a line per reference expert (the best one highlighted); the model's
score per opponent and temperature as one colour-scaled grid (``score_grid.png``, a coloured table
in the HTML) with 95% intervals; every player's rating and role (model, ladder rung, training
expert...), with why Glicko-2 can differ from the joint fit; legal-move rate; game counts;
training curves with the base-move probe's reference line when logged; links to the PGN files; a
verdict per model line at the temperature its grid fixed in advance, and apart from it an
exploratory best-of-temperatures line (:mod:`chessformer.report.verdict`); a warning, with the
grid to use instead, for a player that won or lost every game (:mod:`chessformer.report.ranges`);
and the provenance (code versions and commands of the report, each evaluation and each run;
Stockfish version, ladder, checkpoint, data, seeds). Every file of a run is read through its
format module (:mod:`chessformer.formats`).

What a reviewer can check it by: the model's head-to-head score against every opponent beside
the fitted difference (the verdict needs both on the same side); the goodness of fit
(:mod:`chessformer.rating.fit_check`: residual per pair, chi-square p-value, a plot); intervals
that resample the ladder's own games (:class:`chessformer.rating.bootstrap.LadderGames`), with a
table of how much wider they became; the scale in words (a ladder whose anchors fail its own
check is its own scale); terminations per cell; and verdicts marked exploratory when anchors,
a ladder or the verdict temperature are given after the games, or not shown when a training
expert (matched by its specification's hash) was not played. The numbers go to ``report.json``
(:class:`chessformer.formats.report.ReportSummary`).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chessformer.core.protocol import VERDICT_TEMPERATURE
from chessformer.formats import dataset as dataset_format
from chessformer.formats import favor as favor_format
from chessformer.formats import games as games_format
from chessformer.formats import generated as generated_format
from chessformer.formats import ladder as ladder_format
from chessformer.formats import report as report_format
from chessformer.formats import run as run_format
from chessformer.formats.games import GameRecord
from chessformer.formats.run import RunRecord
from chessformer.rating.anchors import (
    AnchorChoice,
    resolve_anchors,
    scale_unanchored_reason,
    stockfish_versions,
)
from chessformer.rating.bootstrap import N_BOOT, BootstrapFit, LadderGames, Rating, bootstrap
from chessformer.rating.bradley_terry import (
    CENTRE,
    VIRTUAL_DRAWS,
    DrawModel,
    Prior,
    describe_prior,
    prior_for,
)
from chessformer.rating.collect import Results, collect_results, game_results
from chessformer.rating.counts import elo_from_score, head_to_head
from chessformer.rating.fit_check import Z_FLAG, FitCheck, fit_check
from chessformer.rating.graph import components
from chessformer.rating.ladder_fit import anchor_misfits, misfit_words
from chessformer.rating.table import table_rows
from chessformer.report.document import (
    WARNING,
    Section,
    render_html,
    render_markdown,
)
from chessformer.report.favor import favor_sections
from chessformer.report.plots import (
    plot_elo_vs_temperature,
    plot_fit_check,
    plot_score_grid,
    plot_training,
    score_colour,
)
from chessformer.report.ranges import ladder_rungs, range_warnings
from chessformer.report.verdict import (
    LEVEL,
    ModelLine,
    Verdict,
    compute_verdicts,
    elo_words,
    mark_exploratory,
    mark_not_shown,
    model_lines,
    training_experts,
)
from chessformer.utils import UserError, code_version, format_number, log, write_text_atomic

PLOT_ELO = "elo_vs_temperature.png"
PLOT_TRAINING = "training_curves.png"
PLOT_GRID = "score_grid.png"
PLOT_FIT = "goodness_of_fit.png"


# --------------------------------------------------------------------------------------------
# Gathering


@dataclass
class MoveStats:
    """Per player: model decisions (``model_moves``), illegal samples, games lost to forfeit.

    A decision draws samples until one is legal (raw mode: at most 5, then the game is forfeit),
    so samples = legal samples + illegal samples = (decisions - forfeits) + illegal.
    """

    model_moves: int = 0
    illegal: int = 0
    forfeits: int = 0

    @property
    def samples(self) -> int:
        return self.model_moves - self.forfeits + self.illegal

    @property
    def legal_rate(self) -> float:
        return 1.0 - self.illegal / self.samples if self.samples else math.nan


def move_stats(records: list[GameRecord]) -> dict[str, MoveStats]:
    """Sum ``model_moves`` and ``illegal`` per player over every game, finished or not."""
    out: dict[str, MoveStats] = defaultdict(MoveStats)
    for rec in records:
        loser = {"1-0": "black", "0-1": "white"}.get(rec.result)
        for side, name in rec.sides():
            st = out[name]
            st.model_moves += rec.model_moves[side]
            st.illegal += rec.illegal[side]
            if rec.termination == "forfeit_illegal" and loser == side:
                st.forfeits += 1
    return dict(out)


@dataclass
class RunInfo:
    """What a training run's own files say, for the cap, the curves and the provenance."""

    dir: Path
    run: RunRecord | None  # run.json
    data: Path | None  # the dataset it trained on
    cap: int | None  # the dataset's Elo cap (options.elo_cap of its manifest)
    n_games: Any  # the dataset's game count ("?" when unknown)
    checkpoint: str | None  # the checkpoint ``latest`` names
    metrics: list[run_format.MetricRow] = field(default_factory=list)

    @property
    def legal_softmax(self) -> bool:
        """Trained with the loss over legal moves only (its curves are the legal-move ones)."""
        return self.run is not None and self.run.legal_softmax


def read_run(rd: Path) -> RunInfo:
    """A run's own files, each read once: run.json, its dataset's manifest, latest, metrics."""
    rec = run_format.read_run_record(rd)
    data = Path(rec.data) if rec is not None and rec.data else None
    n_games: Any = "?"
    cap = None
    if data is not None:
        try:
            manifest = dataset_format.read_manifest(data)
            n_games, cap = manifest.n_games, manifest.elo_cap
        except UserError as e:
            log.warning("%s; left out of the report", e)
    return RunInfo(rd, rec, data, cap, n_games, run_format.read_latest(rd),
                   run_format.read_metrics(rd))


@dataclass
class Rated:
    """Everything the report shows, computed once (the experiment reuses it)."""

    res: Results
    choice: AnchorChoice
    bf: BootstrapFit
    rows: list[dict[str, Any]]  # the ratings table
    ratings: dict[str, Rating]
    runs: dict[str, RunInfo]
    lines: list[ModelLine]
    experts: list[str]
    verdicts: list[Verdict]
    n_boot: int
    seed: int
    draw_model: str
    prior: Prior
    virtual_draws: float
    rungs: dict[str, float] = field(default_factory=dict)  # the ladder's {rung: Elo}
    warnings: list[str] = field(default_factory=list)  # players out of the opponents' range
    fit_check: FitCheck | None = None  # goodness of fit of the joint fit
    ladder: Path | None = None  # the ladder whose games the bootstrap resampled
    bf_fixed: BootstrapFit | None = None  # the same bootstrap with the rungs held fixed
    scale: str = ""  # what the Elo scale is, in words
    scale_misfit: bool = False  # the ladder's anchors fail its own check
    exploratory_reason: str | None = None  # a choice fixed in advance changed after the games
    expert_notes: list[str] = field(default_factory=list)  # how experts were matched

    @property
    def players(self) -> dict[str, dict[str, Any]]:
        return self.res.players

    def role(self, player: str) -> str:
        """What a player is, in words: model, ladder rung, training expert (of a model line's
        data), expert, Stockfish or random mover."""
        kind = self.players.get(player, {}).get("kind")
        if kind == "model":
            return "model"
        if player in self.rungs:
            return "ladder rung"
        if player in self.experts:
            return "training expert"
        return {"stockfish": "Stockfish", "random": "random mover"}.get(str(kind), str(kind))


def verdict_temperatures(res: Results, override: float | None = None) -> dict[str, float]:
    """Each model player's pre-registered verdict temperature: ``override`` if given, else its
    evaluation's grid setting ``verdict_temperature``, else :data:`VERDICT_TEMPERATURE`."""
    out: dict[str, float] = {}
    for f in res.files:
        ev = res.evals.get(f.parent)
        grid = ev.grid_settings if ev is not None else {}
        t = float(override if override is not None
                  else grid.get("verdict_temperature", VERDICT_TEMPERATURE))
        for rec in res.records_by_file[f]:
            for side, name in rec.sides():
                if rec.players[side].get("kind") == "model":
                    out.setdefault(name, t)
    return out


def training_specs(info: RunInfo | None) -> dict[str, str] | None:
    """``{expert name: spec hash}`` of the experts a run's training data was generated from (the
    ``generate`` summaries of its dataset's sources); None when a source has no summary."""
    if info is None or info.data is None:
        return None
    try:
        sources = dataset_format.read_manifest(info.data).sources or []
    except UserError:
        return None
    out: dict[str, str] = {}
    for src in sources:
        experts = generated_format.read_summary_experts(str(src.get("path", "")))
        if experts is None:
            return None
        out.update({str(e["name"]): generated_format.spec_hash(e) for e in experts})
    return out or None


def reference_experts(res: Results, lines: list[ModelLine], runs: dict[str, RunInfo],
                      rated_experts: set[str]) -> tuple[dict[str, list[str]], dict[str, str],
                                                        list[str]]:
    """Per model line: the rated experts of its own training data that games connect to it;
    per line, why its verdict cannot be shown (a training expert the evaluation did not play);
    and how the experts were matched, in words.

    Experts are matched by their full specification (:func:`spec_hash` of the ``generate``
    summary's entry against the arena's record of the player) where the training data has
    summaries, else by name (from the dataset's games.csv)."""
    group = {p: k for k, comp in enumerate(components(
        sorted(res.names()), [(g.white, g.black) for g in res.games])) for p in comp}
    played = {generated_format.spec_hash(s): p for p, s in res.players.items()
              if s.get("kind") == "expert"}
    out, blocked, notes = {}, {}, []
    for line in lines:
        info = runs.get(line.run) if line.run else None
        me = group.get(line.player_at(line.verdict_temperature) or line.points[0][1])
        specs = training_specs(info)
        if specs is None:
            experts = training_experts(rated_experts, info.data if info else None)
            notes.append(f"{line.name}: training experts matched by name (no generate summary "
                         "with their specifications beside the training data)")
        else:
            experts = sorted(played[h] for h in specs.values() if h in played
                             and played[h] in rated_experts)
            missing = [f"{n} (spec {h})" for n, h in sorted(specs.items()) if h not in played]
            notes.append(f"{line.name}: training experts matched by full specification (hash "
                         f"of the generate entry): {len(specs) - len(missing)} of {len(specs)} "
                         "played in the evaluation")
            if missing:
                blocked[line.name] = ("training expert(s) " + ", ".join(missing) + " of the "
                                      "model's data were not played by the evaluation with the "
                                      "same specification, so the reference set is incomplete")
        out[line.name] = [e for e in experts if group.get(e) == me]
    return out, blocked, notes


def scale_ladder(res: Results, choice: AnchorChoice) -> Path | None:
    """The ladder behind the anchors: the one chosen, or the one eval.json names when the
    anchors recorded there are its ratings."""
    if choice.ladder is not None:
        return choice.ladder
    for ev in res.evals.values():
        if choice.anchors and ev.ladder and Path(ev.ladder).is_file():
            elos = ladder_format.load_ladder(ev.ladder)
            if all(abs(elos.get(k, math.inf) - v) < 1e-6 for k, v in choice.anchors.items()):
                return Path(ev.ladder)
    return None


def ladder_games(path: Path) -> LadderGames | None:
    """A ladder's own games (the file beside it) and how it holds its scale; None without them."""
    games_file = ladder_format.games_beside(path)
    if not games_file.is_file():
        return None
    lad = ladder_format.read_ladder(path)
    games, _ = game_results(games_format.read_results(games_file), "ladder")
    return LadderGames(games, lad.anchors, lad.elos())


def scale_words(ladder: Path | None, anchors: dict[str, float]) -> tuple[str, bool]:
    """What the Elo scale is, in words, and whether the ladder's anchors fail its own check."""
    if not anchors:
        return (f"No anchors: the scale has no origin (centred at {CENTRE:.0f}); only differences "
                "between players mean anything.", False)
    if ladder is None:
        return ("The scale is held by anchors given without a ladder file; it is what those "
                "anchors say, checked against nothing here.", False)
    lad = ladder_format.read_ladder(ladder)
    if anchor_misfits(lad.anchor_check):
        return (f"The Elo scale is this ladder's own ({ladder}, Stockfish "
                f"{lad.stockfish_version}), not the paper's: its anchors fail its own check "
                f"(each left out in turn, the games put it outside its stated rating: "
                f"{misfit_words(lad.anchor_check)}), so the offset between this scale and the "
                "paper's is unknown. Absolute ratings, and any comparison with a training cap (a "
                "Lichess rating), hold on this ladder's scale only.", True)
    return (f"The scale is the paper's through ladder {ladder} (Stockfish "
            f"{lad.stockfish_version}); every anchor passes the ladder's leave-one-out check.",
            False)


def changed_after_games(res: Results, choice: AnchorChoice, anchors: dict[str, float] | None,
                        ladder: str | None, verdict_temperature: float | None) -> str | None:
    """Why the verdicts are exploratory: anchors, a ladder or a verdict temperature given to
    ``report`` that differ from what the evaluations fixed before their games (None: none)."""
    reasons = []
    if anchors or ladder:
        recorded: dict[str, float] = {}
        for ev in res.evals.values():
            recorded.update({k: float(v) for k, v in ev.anchors.items()})
        if choice.anchors != {k: v for k, v in recorded.items() if k in res.names()}:
            reasons.append("anchors changed after the games")
    if verdict_temperature is not None:
        fixed = {float(ev.grid_settings.get("verdict_temperature", VERDICT_TEMPERATURE))
                 for ev in res.evals.values()}
        if fixed != {float(verdict_temperature)}:
            reasons.append(f"verdict temperature {verdict_temperature:g} set after the games")
    return "; ".join(reasons) or None


def rate_runs(runs: list[Path], *, n_boot: int = N_BOOT, seed: int = 0,
              anchors: dict[str, float] | None = None, ladder: str | None = None,
              draw_model: DrawModel = "half", prior: Prior | None = None,
              virtual_draws: float = VIRTUAL_DRAWS,
              verdict_temperature: float | None = None) -> Rated:
    """Rate every game of ``runs`` jointly; read their training runs; decide the verdicts."""
    folders = [f for r in runs for f in games_format.find_eval_folders(r)]
    res = collect_results(folders)
    if not res.games:
        raise UserError(f"no finished games in {', '.join(map(str, res.files))}")
    choice = resolve_anchors(res, anchors, ladder)
    prior = prior_for(draw_model, prior)
    lad_path = scale_ladder(res, choice)
    lad_games = ladder_games(lad_path) if lad_path is not None else None
    kw: dict[str, Any] = dict(n_boot=n_boot, seed=seed, level=LEVEL, draw_model=draw_model,
                              prior=prior, virtual_draws=virtual_draws)
    bf = bootstrap(res.games, choice.anchors, ladder=lad_games, **kw)
    bf_fixed = bootstrap(res.games, choice.anchors, **kw) if bf.refitted else None
    ratings = {r.player: r for r in bf.ratings()}
    run_dirs = sorted({rd for f in folders if (rd := games_format.run_of(f)) is not None}
                      | {r for r in runs if run_format.is_run(r)})
    infos = {rd.name: read_run(rd) for rd in run_dirs}
    caps = {name: float(i.cap) for name, i in infos.items() if i.cap is not None}
    lines = model_lines(res.players, set(ratings), caps,
                        verdict_temperatures(res, verdict_temperature))
    rated_experts = {p for p, s in res.players.items()
                     if s.get("kind") == "expert" and p in ratings}
    experts, blocked, expert_notes = reference_experts(res, lines, infos, rated_experts)
    cap_blocked = scale_unanchored_reason(stockfish_versions(res), choice.anchors)
    verdicts = compute_verdicts(bf, lines, experts, cap_blocked, games=res.games)
    scale, misfit = scale_words(lad_path, choice.anchors)
    if misfit:  # a verdict against a cap stands behind the statement of the scale
        verdicts = [dataclasses.replace(v, text=v.text + " (on this ladder's own scale, whose "
                                        "offset to the paper's, and so to the cap, is unknown)")
                    if v.reference == "cap" else v for v in verdicts]
    verdicts = [mark_not_shown(v, blocked[v.line]) if v.line in blocked and v.word else v
                for v in verdicts]
    why = changed_after_games(res, choice, anchors, ladder, verdict_temperature)
    if why:
        verdicts = [mark_exploratory(v, why) for v in verdicts]
    plotted = sorted({e for es in experts.values() for e in es})
    rows = table_rows(bf, choice.anchors, res.games)
    return Rated(res, choice, bf, rows, ratings, infos, lines, plotted, verdicts, n_boot, seed,
                 draw_model, prior, virtual_draws, ladder_rungs(res, choice),
                 range_warnings(res, choice, rows), fit_check(res.games, bf.fit.ratings,
                                                              choice.anchors),
                 lad_path if bf.refitted else None, bf_fixed, scale, misfit, why, expert_notes)


# --------------------------------------------------------------------------------------------
# Sections


def verdict_section(r: Rated) -> Section:
    pars = []
    for v in r.verdicts:
        pars.append(f"**{v.line}: {v.text}**")
        if v.reference is None:
            continue
        extra = (f"The temperature was fixed before the games (the grid's verdict_temperature); "
                 f"the model there ({v.player}: {v.elo:.0f}, 95% CI [{v.elo_lo:.0f}, "
                 f"{v.elo_hi:.0f}]) against {v.reference_name} "
                 f"({v.reference_elo:.0f}).")
        if v.reference == "expert":
            extra += (" The reference is the best-rated expert of the model's own training data "
                      "connected to it by games in the fit. The model is rated above it in "
                      f"{100 * v.p_superior:.1f}% of {r.n_boot} bootstrap resamples.")
        else:
            extra += (" No expert of the model's training data was rated in these games, so the "
                      "reference is the training cap, a Lichess rating from a different pool "
                      "than this Stockfish-anchored scale (as in the paper); its interval treats "
                      "the cap as exact.")
        pars.append(extra)
    if not r.verdicts:
        pars.append("No model players were found in the games, so there is no verdict.")
    pars.append(r.scale)
    if r.exploratory_reason:
        pars.append(WARNING + f"Exploratory: {r.exploratory_reason}. The evaluations fixed "
                    "their anchors and verdict temperature before their games; choosing them "
                    "after the games can pick what favours the model, so these verdicts are a "
                    "look, not a test.")
    pars += r.expert_notes
    pars.append("Head to head: the verdict also needs the model's direct score against the "
                "reference on the same side of 0.5 as the fitted difference is of 0 (else it is "
                "not shown); the table 'Head to head beside the fit' has every opponent.")
    pars += [WARNING + w for w in r.warnings]
    pars.append("Words: transcends (the whole 95% interval above 0), does not transcend (the "
                "whole interval below 0), not shown (the interval includes 0).")
    return Section("Verdict", pars)


def exploratory_section(r: Rated) -> Section | None:
    texts = [f"{v.line}: {v.exploratory.text}" for v in r.verdicts if v.exploratory]
    if not texts:
        return None
    return Section("Exploratory: the best temperature", texts + [
        ("Not a verdict: the temperature is picked after the games, which favours the model, so "
         "each temperature's interval is widened to a simultaneous one (Bonferroni over the k "
         "temperatures). A claim for the best temperature needs fresh games with it fixed in "
         "advance.")])


def plot_legend_words(r: Rated) -> str:
    """What the plot draws besides the model lines, in words (only what is drawn)."""
    words = [("Each model line (a model in one legality mode) has its own colour, line style and "
              "marker, nudged sideways a little so lines at one temperature do not hide each "
              "other.")]
    if any(line.cap is not None for line in r.lines):
        words.append("Long-dashed horizontal lines: the training caps (Lichess ratings, another "
                     "pool than this scale).")
    if r.experts:
        words.append("Dash-dot: the experts of the models' training data (the best one in red, "
                     "with its band).")
    return " ".join(words)


def plot_section(r: Rated) -> Section:
    anchor_words = ", ".join(f"{k} = {v:.0f}" for k, v in sorted(r.choice.anchors.items()))
    resampling = ("resampling colour-swapped pairs" if all(g.pair is not None for g in r.res.games)
                  else "resampling games")
    return Section("Elo versus temperature", [
        f"{len(r.res.games)} finished games rated jointly; {r.res.unfinished} unfinished games "
        f"left out. Anchors: {r.choice.source}" + (f" ({anchor_words})." if anchor_words else ".")
        + f" Bands are 95% percentile-bootstrap intervals ({r.n_boot} resamples, seed {r.seed}, "
        + resampling + "). " + plot_legend_words(r),
        f"Model: Bradley-Terry on the logistic Elo scale, draws as "
        f"{'half points' if r.draw_model == 'half' else 'a Davidson draw model'}; prior: "
        f"{describe_prior(r.prior, r.virtual_draws)}. "
        + (f"Ladder rungs are refitted in every resample from the ladder's own games "
           f"({r.ladder}), its anchors held as the ladder holds them, so the bands include the "
           "ladder's uncertainty (see 'Intervals with the ladder's uncertainty')."
           if r.ladder is not None else
           "Anchors are held exactly; their own uncertainty is not in these intervals (no "
           "ladder games to resample).") + " " + r.scale
        + (f" Players not connected to any anchor are centred at {CENTRE:.0f}."
           if r.bf.fit.unanchored else "")], image=PLOT_ELO)


def ratings_section(r: Rated) -> Section:
    rows = []
    for x in r.rows:
        glicko = ("" if x["glicko2"] is None
                  else f"{x['glicko2']:.0f} ± {1.96 * x['glicko2_rd']:.0f}"
                  + (f" (order: ± {x['glicko2_spread']:.0f})" if x.get("glicko2_spread") else ""))
        note = ("rated by the prior only" if x["prior_only"]
                else "not anchored" if x["unanchored"] else "")
        rows.append([x["player"], r.role(x["player"]), format_number(x["elo"]),
                     "anchor" if x["anchor"] and x["lo"] == x["hi"]
                     else f"[{format_number(x['lo'])}, {format_number(x['hi'])}]"
                     + (" (ladder's games)" if x["anchor"] else ""),
                     str(x["games"]), f"{x['wins']}/{x['draws']}/{x['losses']}",
                     f"{x['score']:.3f}", glicko, note])
    return Section("Ratings", [
        ("Every player in the joint fit, best first. A player that won or lost every game is "
         "rated by the prior only: its games bound its rating on one side, and its interval "
         "does not measure where it lies. Glicko-2 is a second number, the paper's: a player's "
         "games against the anchors (held at their ratings, RD 0) fed one by one from 1500 ± "
         "350, averaged over 32 seeded random orders of the games so that their order in the "
         "files does not change it (± 1.96 RD; 'order' is the standard deviation over the "
         "orders)."),
        ("Why Glicko-2 can rank players differently from the joint fit: it counts only a player's "
         "games against the anchors (games between unanchored players, such as the model against "
         "its training experts, do not enter it), and it starts every player at 1500 ± 350, so a "
         "player with few games against anchors stays near 1500. The joint fit uses every game of every player at once; the verdict reads the joint fit."),
        ("Roles: a ladder rung is a calibrated Stockfish setting (stockfish/ladder-<version>.json) "
         "held at its ladder rating; a training expert is a player of a model's own training "
         "data; Stockfish and expert players outside the ladder are rated like any other player.")]
        + [WARNING + w for w in r.warnings],
        ["player", "role", "Elo", "95% CI", "games", "W/D/L", "score", "Glicko-2", "note"], rows)


@dataclass
class ScoreGrid:
    """The model's results as one grid: a row per model line and temperature, a column per
    opponent (strongest first); a cell holds (wins, draws, losses) and the score's interval."""

    rows: list[tuple[ModelLine, float, str]]  # (line, temperature, player)
    opponents: list[str]
    cells: list[list[tuple[tuple[int, int, int], Any] | None]]  # None: they did not meet


def score_grid(r: Rated) -> ScoreGrid:
    rows = [(line, t, me) for line in r.lines for t, me in line.points]
    met = {me: {g.black if g.white == me else g.white for g in r.res.games
                if me in (g.white, g.black)} for _, _, me in rows}
    opponents = sorted(set().union(*met.values()) if met else set(),
                       key=lambda p: (-r.ratings[p].elo, p))
    cells = [[head_to_head(r.res.games, me, opp) if opp in met[me] else None
              for opp in opponents] for _, _, me in rows]
    return ScoreGrid(rows, opponents, cells)


def grid_row_label(line: ModelLine, t: float) -> str:
    return f"{line.name} T={t:g}" + (" (fixed)" if t == line.verdict_temperature else "")


def opponent_label(r: Rated, player: str) -> str:
    return f"{player}\n{r.role(player)}, {format_number(r.ratings[player].elo)}"


def plot_grid(r: Rated, grid: ScoreGrid, path: Path) -> None:
    plot_score_grid(
        path, [grid_row_label(line, t) for line, t, _ in grid.rows],
        [opponent_label(r, p) for p in grid.opponents],
        [[None if c is None else c[1].score for c in row] for row in grid.cells],
        [["" if c is None else f"{c[1].score:.2f}\n{c[0][0]}/{c[0][1]}/{c[0][2]}" for c in row]
         for row in grid.cells])


def score_grid_section(r: Rated, grid: ScoreGrid) -> Section:
    rows, colours = [], []
    for (line, t, _), cells in zip(grid.rows, grid.cells):
        rows.append([grid_row_label(line, t)] + [
            "" if c is None else (f"{c[1].score:.2f}\n{c[0][0]}/{c[0][1]}/{c[0][2]} of "
                                  f"{sum(c[0])}\n[{c[1].lo:.2f}, {c[1].hi:.2f}]")
            for c in cells])
        colours.append([None] + [None if c is None else score_colour(c[1].score) for c in cells])
    return Section("Results per opponent and temperature", [
        ("The model's score (wins + draws / 2 per game) against each opponent, coloured from red "
         "(lost every game) through yellow (0.5) to green (won every game); below it wins/draws/"
         "losses and a 95% interval of the score (over colour-swapped pairs, which share an "
         "opening, when every game is in one). Columns: opponents, strongest first, with what "
         "they are (a ladder rung: a calibrated Stockfish setting held at its ladder rating; a "
         "training expert: a player of the model's own training data) and their Elo in the "
         "joint fit. A head-to-head score and the joint fit can disagree: the fit weighs every "
         "game of both players against every opponent, so a model can out-score an expert head "
         "to head and still be rated below it when the rest of their games say so (or when few "
         "games were decisive).")],
        ["model, temperature"] + [opponent_label(r, p) for p in grid.opponents], rows,
        image=PLOT_GRID, colours=colours, image_in_html=False)


def head_to_head_rows(r: Rated) -> list[report_format.HeadToHead]:
    """Every model line at its fixed temperature against each opponent it played: the direct
    score (95% interval over colour-swapped pairs), the Elo it implies, the fitted difference."""
    out = []
    refs = {v.line: v.reference_name for v in r.verdicts}
    for line in r.lines:
        me = line.player_at(line.verdict_temperature)
        if me is None:
            continue
        opps = sorted({g.black if g.white == me else g.white for g in r.res.games
                       if me in (g.white, g.black)}, key=lambda p: (-r.ratings[p].elo, p))
        for opp in opps:
            wdl, si = head_to_head(r.res.games, me, opp)
            d = r.bf.difference(me, opp)
            e_lo, e_hi = elo_from_score(si.lo), elo_from_score(si.hi)
            out.append(report_format.HeadToHead(
                line=line.name, player=me, temperature=line.verdict_temperature, opponent=opp,
                role=r.role(opp), reference=refs.get(line.name) == opp, games=sum(wdl),
                wins=wdl[0], draws=wdl[1], losses=wdl[2], score=si.score, score_lo=si.lo,
                score_hi=si.hi, elo=report_format.finite(elo_from_score(si.score)),
                elo_lo=report_format.finite(e_lo), elo_hi=report_format.finite(e_hi),
                fitted=d.diff, fitted_lo=d.lo, fitted_hi=d.hi,
                same_sign=(si.score - 0.5) * d.diff > 0 or (si.score == 0.5 and d.diff == 0),
                # a perfect score bounds the difference on one side only (no interval)
                disagrees=si.score not in (0.0, 1.0) and (e_hi < d.lo or e_lo > d.hi)))
    return out


def head_to_head_section(r: Rated, rows: list[report_format.HeadToHead]) -> Section | None:
    if not rows:
        return None
    table = []

    for h in rows:
        def e(x: float | None, score: float = h.score) -> str:
            return ("+inf" if score >= 0.5 else "-inf") if x is None else elo_words(x)

        table.append([f"{h.line} T={h.temperature:g}", h.opponent + (" (reference)"
                                                                     if h.reference else ""),
                      h.role, f"{h.wins}/{h.draws}/{h.losses}",
                      f"{h.score:.2f} [{h.score_lo:.2f}, {h.score_hi:.2f}]",
                      f"{e(h.elo)} [{e(h.elo_lo)}, {e(h.elo_hi)}]",
                      f"{h.fitted:+.0f} [{h.fitted_lo:+.0f}, {h.fitted_hi:+.0f}]",
                      "yes" if h.same_sign else "NO",
                      "n/a (won or lost all)" if h.score in (0.0, 1.0)
                      else "DISAGREE" if h.disagrees else "overlap"])
    n_bad = sum(h.disagrees for h in rows)
    return Section("Head to head beside the fit", [
        ("The model at its fixed temperature against each opponent: its direct score with a 95% "
         "interval over colour-swapped pairs (pentanomial, as fishtest), the Elo difference that "
         "score implies on the logistic scale (and its interval's ends mapped the same way), "
         "and beside it the joint fit's difference with its bootstrap interval. 'same sign': "
         "both on the same side of even. 'DISAGREE': the two intervals do not overlap, which "
         "one rating per player cannot explain (see the goodness of fit)."),
        (f"{n_bad} of {len(rows)} opponents disagree beyond both intervals." if n_bad else
         f"The head-to-head and fitted intervals overlap for all {len(rows)} opponents.")],
        ["model", "opponent", "role", "W/D/L", "score [95%]", "Elo from score [95%]",
         "fitted Elo diff [95%]", "same sign", "intervals"], table)


def fit_summary(r: Rated) -> report_format.GoodnessOfFit:
    fc = r.fit_check
    assert fc is not None

    def row(x: report_format.PairFit) -> report_format.PairFit:
        return dataclasses.replace(x, observed=round(x.observed, 4),
                                   predicted=round(x.predicted, 4), z=round(x.z, 3))

    return report_format.GoodnessOfFit(chi2=round(fc.chi2, 3), df=fc.df, p_value=fc.p_value,
                                       z_flag=Z_FLAG, pairs=[row(x) for x in fc.pairs],
                                       flagged=[row(x) for x in fc.flagged])


def fit_section(r: Rated, image: bool) -> Section:
    fc = r.fit_check
    assert fc is not None
    worst = sorted(fc.pairs, key=lambda x: -abs(x.z))[:12]
    rows = [[f"{x.a} vs {x.b}", str(x.games), f"{x.wins}/{x.draws}/{x.losses}",
             f"{x.observed:.3f}", f"{x.predicted:.3f}", f"{x.z:+.2f}"] for x in worst]
    p = "n/a (no degrees of freedom)" if fc.p_value is None else f"{fc.p_value:.3g}"
    verdict = ("" if fc.p_value is None else
               " The fit does not describe these games (p < 0.01): one rating per player cannot "
               "reproduce every pair's score, so a fitted difference can differ from the "
               "head-to-head score; read the head-to-head table beside it."
               if fc.p_value < 0.01 else " No evidence of misfit at the 1% level.")
    flagged = ", ".join(f"{x.a} vs {x.b} (z {x.z:+.1f})" for x in fc.flagged) or "none"
    return Section("Goodness of fit", [
        ("Per pair of players with games: the observed score of the first (names sorted), the "
         "score the joint fit predicts, and the standardized residual z = (points - n p) / "
         "sqrt(n v), v = p(1 - p) - (draw share)/4. The test: X² = Σ z² against a chi-square "
         "with pairs - free ratings degrees of freedom (games of a colour-swapped pair are "
         "treated as independent, which errs toward flagging). Simulated, the p-value is close "
         "to uniform for pools drawn from the model and below 0.01 for a rock-paper-scissors "
         "pool (tests/test_fit_check.py)."),
        f"X² = {fc.chi2:.1f} on {fc.df} degrees of freedom over {len(fc.pairs)} pairs: "
        f"p = {p}.{verdict}",
        f"Pairs with |z| > {Z_FLAG:g}: {flagged}. The table shows the {len(worst)} largest |z|."],
        ["pair", "games", "W/D/L (first)", "observed", "predicted", "z"], rows,
        image=PLOT_FIT if image else None)


def widening_rows(r: Rated) -> list[report_format.IntervalWidth]:
    if r.bf_fixed is None:
        return []
    out = []
    fixed = {x.player: x for x in r.bf_fixed.ratings()}
    for v in r.verdicts:
        if v.player is None:
            continue
        a, b = fixed[v.player], r.ratings[v.player]
        out.append(report_format.IntervalWidth(what=f"rating of {v.player}", fixed_lo=a.lo,
                                               fixed_hi=a.hi, ladder_lo=b.lo, ladder_hi=b.hi))
        if v.reference == "expert" and v.reference_name:
            a2 = r.bf_fixed.difference(v.player, v.reference_name)
            b2 = r.bf.difference(v.player, v.reference_name)
            out.append(report_format.IntervalWidth(
                what=f"{v.player} minus {v.reference_name} (the verdict)", fixed_lo=a2.lo,
                fixed_hi=a2.hi, ladder_lo=b2.lo, ladder_hi=b2.hi))
    for name in sorted(set(r.rungs) & set(r.ratings)):
        if name in r.bf.refitted:
            b = r.ratings[name]
            out.append(report_format.IntervalWidth(what=f"rating of rung {name}",
                                                   fixed_lo=b.elo, fixed_hi=b.elo,
                                                   ladder_lo=b.lo, ladder_hi=b.hi))
    return out


def widening_section(r: Rated, rows: list[report_format.IntervalWidth]) -> Section | None:
    if not rows:
        return None
    table = [[w.what, f"[{w.fixed_lo:.0f}, {w.fixed_hi:.0f}]", f"{w.fixed_hi - w.fixed_lo:.0f}",
              f"[{w.ladder_lo:.0f}, {w.ladder_hi:.0f}]", f"{w.ladder_hi - w.ladder_lo:.0f}",
              "" if w.fixed_hi == w.fixed_lo
              else f"x{(w.ladder_hi - w.ladder_lo) / (w.fixed_hi - w.fixed_lo):.2f}"]
             for w in rows]
    return Section("Intervals with the ladder's uncertainty", [
        (f"Every interval in this report resamples the ladder's own games ({r.ladder}) with the "
         "evaluation's, so the rungs are refitted in each resample (the ladder's anchors held as "
         "it holds them) instead of fixed at their points. The same resamples of the evaluation "
         "with the rungs fixed give the left-hand intervals: how much wider each became. The "
         "verdict's rule is unchanged (the whole interval of the difference above 0); "
         "differences between players that both lean on the rungs widen little, absolute "
         "ratings widen most.")],
        ["interval", "rungs fixed", "width", "ladder resampled", "width", "ratio"], table)


#: The termination names of :mod:`chessformer.core.games` and the arena, by column.
TERMINATIONS = {"checkmate": "checkmate", "stalemate": "stalemate",
                "threefold_repetition": "threefold_repetition", "fifty_moves": "fifty_moves",
                "insufficient_material": "insufficient_material", "adjudicated": "adjudicated",
                "move_cap": "move_cap", "forfeit_illegal": "forfeit"}


def termination_rows(r: Rated) -> list[report_format.Terminations]:
    """Per cell of every evaluation: its games by how they ended (finished or not)."""
    cells: dict[str, list[GameRecord]] = defaultdict(list)
    for rec in r.res.records:
        cells[rec.cell].append(rec)
    out = []
    for cell, recs in sorted(cells.items()):
        counts = dict.fromkeys(TERMINATIONS.values(), 0)
        other: dict[str, int] = defaultdict(int)
        for rec in recs:
            key = TERMINATIONS.get(str(rec.termination))
            if key is None:
                other[str(rec.termination)] += 1
            else:
                counts[key] += 1
        out.append(report_format.Terminations(
            cell=cell, games=len(recs), **counts, other=dict(other),
            adjudicated_plies=sorted(rec.plies for rec in recs
                                     if rec.termination == "adjudicated")))
    return out


def terminations_section(rows: list[report_format.Terminations]) -> Section:
    def plies(t: report_format.Terminations) -> str:
        if not t.adjudicated_plies:
            return ""
        p = t.adjudicated_plies
        return f"{p[0]}" if len(p) == 1 else f"{p[0]}-{p[-1]} (median {p[len(p) // 2]})"

    table = [[t.cell, str(t.games), str(t.checkmate), str(t.stalemate),
              str(t.threefold_repetition), str(t.fifty_moves), str(t.insufficient_material),
              str(t.adjudicated), plies(t), str(t.move_cap), str(t.forfeit),
              ", ".join(f"{k} {v}" for k, v in sorted(t.other.items()))] for t in rows]
    total = {k: sum(getattr(t, k) for t in rows) for k in
             ("games", "checkmate", "adjudicated", "move_cap", "forfeit")}
    return Section("Terminations", [
        ("How each cell's games ended: mate, stalemate, threefold repetition, fifty moves, "
         "insufficient material (all ended by the arena at once), adjudicated at the ply cap by "
         "the engine's evaluation (with the plies at which they were stopped), stopped at the "
         "move cap unscored (left out of the ratings), or forfeit (a raw-mode model with no "
         "legal move)."),
        (f"Of {total['games']} games: {total['checkmate']} mates, {total['adjudicated']} "
         f"adjudicated, {total['move_cap']} at the move cap, {total['forfeit']} forfeits.")],
        ["cell", "games", "mate", "stalemate", "repetition", "fifty-move", "insufficient",
         "adjudicated", "adjudicated at ply", "move cap", "forfeit", "other"], table)


def legal_section(r: Rated) -> Section:
    stats = move_stats(r.res.records)
    rows = []
    for line in r.lines:
        for t, p in line.points:
            st = stats.get(p, MoveStats())
            rows.append([line.name, f"{t:g}", str(st.samples), str(st.illegal),
                         "n/a" if not st.samples else f"{100 * st.legal_rate:.2f}%",
                         str(st.forfeits)])
    return Section("Legal-move rate", [
        ("1 − illegal samples / model samples, over every game (finished or not). In 'masked' "
         "mode illegal moves are masked before sampling, so the rate is 100% by construction; "
         "'raw' mode shows what the model proposes.")],
        ["model", "T", "samples", "illegal samples", "legal rate", "forfeits"], rows)


def training_section(r: Rated) -> Section:
    probe = any(isinstance(m, run_format.ValRow) and m.probe_model_base is not None
                for i in r.runs.values() for m in i.metrics)
    pars = [("From metrics.jsonl: training and validation loss; validation top-1 agreement (the "
             "argmax is the move played in the data) and legal-move rate of the argmax move; "
             "for a run trained with the loss over legal moves only (--legal-softmax), the "
             "validation loss and top-1 over legal moves, and no legal-move rate (it plays "
             "with legality masked).")]
    if probe:
        pars.append("Right: how often the model's legal argmax plays the simulated experts' base "
                    "move (Stockfish depth 1) on the validation positions, beside the reference "
                    "line of how often the experts themselves played it (dotted). Top-1 against "
                    "noisy experts is capped near the experts' own rate; a model above the dotted "
                    "line plays the base move more often than its experts did: the denoising "
                    "that transcendence needs.")
    else:
        pars.append("No base-move probe in metrics.jsonl (`chessformer train --base-move-probe`, "
                    "for data from simulated experts), so there is no reference line for top-1.")
    return Section("Training curves", pars, image=PLOT_TRAINING)


def _rel(target: Path, start: Path) -> str:
    return Path(os.path.relpath(target.resolve(), start.resolve())).as_posix()


def games_section(r: Rated, out: Path) -> Section:
    rows = []
    for f in r.res.files:
        ev = r.res.evals.get(f.parent)
        rows.append([ev.grid if ev else f.parent.name, str(r.res.finished_by_file.get(f, 0)),
                     str(r.res.unfinished_by_file.get(f, 0))])
    rows.append(["total", str(r.res.finished), str(r.res.unfinished)])
    links = []
    for f in r.res.files:
        pgn = games_format.pgn_path(f.parent)
        links.append((f"{f.parent.name}: games.pgn" if pgn.is_file()
                      else f"{f.parent.name}: games.jsonl (no PGN found)",
                      _rel(pgn if pgn.is_file() else f, out)))
    return Section("Games", [
        "Unfinished games (result '*') are counted here and left out of the ratings."],
        ["evaluation", "finished", "unfinished"], rows, links=links)


def command_words(command: Any) -> str:
    """A recorded command as one line (older run.json files hold an argv list)."""
    import shlex

    if isinstance(command, (list, tuple)):
        return shlex.join(str(x) for x in command)
    return str(command) if command else "?"


def version_words(version: Any) -> str:
    return f"chessformer {version}" if version else "code version not recorded"


def provenance_section(r: Rated, command: str) -> Section:
    prov, rows = [f"This report: {version_words(code_version())}; command: {command}"], []
    for f in r.res.files:
        ev = r.res.evals.get(f.parent)
        if ev is None:  # a games.jsonl given alone
            rows.append([f.parent.name, "?", "?", "?", "None", "?", '"?"', "? → ?"])
            prov.append(f"Evaluation {f.parent.name}: {version_words(None)}; command: ?")
            continue
        rows.append([f.parent.name, ev.code_version, str(ev.stockfish.get("version", "?")),
                     str(ev.stockfish.get("path", "?")), str(ev.ladder),
                     str(ev.model_run), json.dumps(ev.seed),
                     f"{ev.started} → {ev.finished or '?'}"])
        prov.append(f"Evaluation {f.parent.name}: {version_words(ev.code_version)}; "
                    f"command: {command_words(ev.command)}")
    if r.choice.ladder is not None:
        lad = ladder_format.read_ladder(r.choice.ladder)
        prov.append(f"Ladder {r.choice.ladder}: Stockfish {lad.stockfish_version}, "
                    f"fitted on {lad.games}.")
    for name, info in sorted(r.runs.items()):
        prov.append(f"Run {name}: checkpoint {info.checkpoint or '?'}; "
                    f"data {info.data or '?'} (elo_cap {info.cap if info.cap is not None else '?'}, "
                    f"{info.n_games} games); "
                    f"{version_words(info.run.code_version if info.run else None)}; "
                    f"command: {command_words(info.run.command if info.run else None)}")
    prov.append(f"Report: {r.n_boot} bootstrap resamples, seed {r.seed}.")
    return Section("Provenance", prov,
                   ["evaluation", "code version", "Stockfish", "binary", "ladder", "model run",
                    "seeds", "started → finished"], rows)


# --------------------------------------------------------------------------------------------
# The report


def favor_report_sections(runs: list[Path], out: Path) -> list[Section]:
    """The favor analysis's sections when ``out`` holds a ``favor.json`` of one of ``runs``
    (``chessformer analyze favor RUN --out OUT``, run before the report)."""
    if not favor_format.has_favor(out):
        return []
    fav = favor_format.read_favor(out)
    mine = {Path(x).resolve() for x in runs}
    if Path(fav.run).resolve() not in mine:
        log.warning("%s is the favor analysis of %s, not of %s; left out of the report",
                    favor_format.favor_path(out), fav.run, ", ".join(map(str, runs)))
        return []
    image = favor_format.FAVOR_PLOT if (out / favor_format.FAVOR_PLOT).is_file() else None
    boards = [p.read_text(encoding="utf-8") for k in range(1, len(fav.top_states) + 1)
              if (p := out / favor_format.board_svg_name(k)).is_file()]
    page = favor_format.FAVOR_HTML if (out / favor_format.FAVOR_HTML).is_file() else None
    return favor_sections(fav, image, boards if len(boards) == len(fav.top_states) else None,
                          link=page)


def humans_report_sections(runs: list[Path], out: Path) -> list[Section]:
    """The human-games analysis's section when ``out`` holds a ``humans.json`` of one of
    ``runs`` (``chessformer analyze humans --model RUN --out OUT``, run before the report)."""
    from chessformer.formats import humans as humans_format
    from chessformer.report.humans import humans_sections

    if not humans_format.humans_path(out).is_file():
        return []
    r = humans_format.read_humans(out)
    if Path(r.run).resolve() not in {Path(x).resolve() for x in runs}:
        log.warning("%s is the human-games analysis of %s, not of %s; left out of the report",
                    humans_format.humans_path(out), r.run, ", ".join(map(str, runs)))
        return []
    image = humans_format.HUMANS_PLOT if (out / humans_format.HUMANS_PLOT).is_file() else None
    return humans_sections(r, image)


def verdict_json(v: Verdict) -> dict[str, Any]:
    """A verdict's fields as JSON (non-finite numbers as null; the exploratory line nested)."""
    def plain(x: Any) -> Any:
        if isinstance(x, float):
            return report_format.finite(x)
        if isinstance(x, dict):
            return {k: plain(y) for k, y in x.items()}
        return x

    return plain(dataclasses.asdict(v))


def write_report(runs: list[Path], out: Path, *, title: str | None = None, n_boot: int = N_BOOT,
                 seed: int = 0, anchors: dict[str, float] | None = None,
                 ladder: str | None = None, draw_model: DrawModel = "half",
                 prior: Prior | None = None, virtual_draws: float = VIRTUAL_DRAWS,
                 verdict_temperature: float | None = None,
                 command: str | None = None) -> dict[str, Any]:
    """Rate every game of ``runs`` jointly and write report.html, report.md and PNGs to ``out``.

    ``command``: the command line to record in the provenance (default: the ``chessformer
    report`` call these arguments amount to).

    ``verdict_temperature`` overrides the evaluations' pre-registered temperature. Returns
    ``{"html", "md", "plots", "verdicts", "ratings", "anchors", "games", "unfinished", "rated"}``
    (``rated``: the :class:`Rated` behind it); each verdict dict (see
    :func:`chessformer.report.verdict.line_verdict`) has ``text`` (the headline, at
    ``temperature``, fixed in advance), ``word``, ``transcends``, ``diff``, ``lo``, ``hi``,
    ``player``, ``reference`` ("expert" | "cap" | None), ``reference_name`` and
    ``exploratory`` (the best of the temperatures, or None).
    """
    runs = [Path(x) for x in runs]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    r = rate_runs(runs, n_boot=n_boot, seed=seed, anchors=anchors, ladder=ladder,
                  draw_model=draw_model, prior=prior, virtual_draws=virtual_draws,
                  verdict_temperature=verdict_temperature)
    title = title or "Transcendence report: " + ", ".join(x.name for x in runs)
    plots = {"elo": out / PLOT_ELO}
    plot_elo_vs_temperature(plots["elo"], r.bf, r.lines, r.experts,
                            "Elo versus sampling temperature")
    legal = {name for name, i in r.runs.items() if i.legal_softmax}
    if plot_training(out / PLOT_TRAINING, {name: i.metrics for name, i in r.runs.items()}, legal):
        plots["training"] = out / PLOT_TRAINING
    grid = score_grid(r)
    if grid.rows and grid.opponents:
        plots["grid"] = out / PLOT_GRID
        plot_grid(r, grid, plots["grid"])
    h2h = head_to_head_rows(r)
    widening = widening_rows(r)
    terminations = termination_rows(r)
    assert r.fit_check is not None
    if r.fit_check.pairs:
        plots["fit"] = out / PLOT_FIT
        plot_fit_check(plots["fit"], [x.observed for x in r.fit_check.pairs],
                       [x.predicted for x in r.fit_check.pairs],
                       [x.games for x in r.fit_check.pairs],
                       [abs(x.z) > Z_FLAG for x in r.fit_check.pairs],
                       [f"{x.a} vs {x.b}" for x in r.fit_check.pairs])
    sections = [verdict_section(r)]
    if (explore := exploratory_section(r)) is not None:
        sections.append(explore)
    sections.append(plot_section(r))
    if "grid" in plots:
        sections.append(score_grid_section(r, grid))
    sections += [s for s in (head_to_head_section(r, h2h), widening_section(r, widening))
                 if s is not None]
    sections.append(fit_section(r, "fit" in plots))
    sections += favor_report_sections(runs, out)
    sections += humans_report_sections(runs, out)
    sections += [ratings_section(r), terminations_section(terminations), legal_section(r),
                 games_section(r, out)]
    if "training" in plots:
        sections.append(training_section(r))
    command = command or "chessformer report " + " ".join(str(x) for x in runs)
    sections.append(provenance_section(r, command))
    md_path, html_path = out / "report.md", out / "report.html"
    write_text_atomic(md_path, render_markdown(sections, title))
    write_text_atomic(html_path, render_html(sections, title, out))
    json_path = report_format.write_report_summary(out, report_format.ReportSummary(
        code_version=code_version(), command=command, anchors=dict(r.choice.anchors),
        anchors_source=r.choice.source, ladder=None if r.ladder is None else str(r.ladder),
        scale=r.scale, exploratory=r.exploratory_reason,
        verdicts=[verdict_json(v) for v in r.verdicts], head_to_head=h2h,
        goodness_of_fit=fit_summary(r), widening=widening, terminations=terminations))
    log.info("wrote %s, %s and %s", html_path, md_path, json_path)
    return {"html": html_path, "md": md_path, "json": json_path, "plots": plots,
            "verdicts": r.verdicts,
            "ratings": r.rows, "anchors": r.choice.anchors, "games": len(r.res.games),
            "unfinished": r.res.unfinished, "rated": r}
