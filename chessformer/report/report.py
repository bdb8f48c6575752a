"""``chessformer report``: report.html and report.md for evaluated training runs.

    chessformer report runs/demo                      # writes runs/demo/report/report.{html,md}
    chessformer report runs/cap1000 runs/cap1500 --out reports/caps --boot 2000

    >>> from chessformer.report.report import write_report
    >>> info = write_report([Path("runs/demo")], Path("runs/demo/report"))  # doctest: +SKIP
    >>> info["verdicts"][0]["text"]                                          # doctest: +SKIP
    'transcends by +112 Elo, 95% CI [+41, +180]'

A RUN is a training run folder (``metrics.jsonl``, ``run.json``, ``eval/*/games.jsonl``) or an
evaluation folder itself. All games of all RUNs are rated in one joint fit
(:mod:`chessformer.rating.bradley_terry`), anchored as ``chessformer rate`` does
(:mod:`chessformer.rating.anchors`), so every model temperature, every expert and every
Stockfish rung sits on one scale.

The report holds: Elo versus temperature (log x axis, the paper's Figure 1 layout) with 95% bands,
one line per model and legality mode, a dashed line at each model's training cap and a line per
rated expert (the best one highlighted); every player's rating; win/draw/loss per opponent and
temperature; legal-move rate; game counts; training curves; links to the PGN files; a verdict per
model line (:mod:`chessformer.report.verdict`); and the provenance (Stockfish version, ladder,
checkpoint, data, commands, seeds). Every file of a run is read through its format module
(:mod:`chessformer.formats`).
"""

from __future__ import annotations

import json
import math
import os
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chessformer.formats import dataset as dataset_format
from chessformer.formats import games as games_format
from chessformer.formats import ladder as ladder_format
from chessformer.formats import run as run_format
from chessformer.rating.anchors import AnchorChoice, resolve_anchors
from chessformer.rating.bootstrap import N_BOOT, BootstrapFit, Rating, bootstrap
from chessformer.rating.bradley_terry import CENTRE, VIRTUAL_DRAWS, DrawModel
from chessformer.rating.collect import Results, collect_results
from chessformer.rating.counts import outcome
from chessformer.rating.table import table_rows
from chessformer.report.document import Section, fmt_value, render_html, render_markdown
from chessformer.report.plots import plot_elo_vs_temperature, plot_training
from chessformer.report.verdict import ModelLine, compute_verdicts, model_lines, training_experts
from chessformer.utils import UserError, log, write_text_atomic

PLOT_ELO = "elo_vs_temperature.png"
PLOT_TRAINING = "training_curves.png"


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


def move_stats(records: list[dict[str, Any]]) -> dict[str, MoveStats]:
    """Sum ``model_moves`` and ``illegal`` per player over every game, finished or not."""
    out: dict[str, MoveStats] = defaultdict(MoveStats)
    for rec in records:
        for side in ("white", "black"):
            name = rec.get(side)
            if name is None:
                continue
            st = out[str(name)]
            st.model_moves += int((rec.get("model_moves") or {}).get(side, 0) or 0)
            st.illegal += int((rec.get("illegal") or {}).get(side, 0) or 0)
            loser = {"1-0": "black", "0-1": "white"}.get(rec.get("result", ""))
            if rec.get("termination") == "forfeit_illegal" and loser == side:
                st.forfeits += 1
    return dict(out)


@dataclass
class RunInfo:
    """What a training run's own files say, for the cap, the curves and the provenance."""

    dir: Path
    run: dict[str, Any]  # run.json
    data: Path | None  # the dataset it trained on
    cap: int | None  # the dataset's Elo cap (options.elo_cap of its manifest)
    n_games: Any  # the dataset's game count ("?" when unknown)
    checkpoint: str | None  # the checkpoint ``latest`` names
    metrics: list[dict[str, Any]] = field(default_factory=list)


def read_run(rd: Path) -> RunInfo:
    data = run_format.run_dataset(rd)
    n_games: Any = "?"
    if data is not None:
        try:
            n_games = dataset_format.read_manifest(data).get("n_games", "?")
        except UserError as e:
            log.warning("%s; left out of the report", e)
    return RunInfo(rd, run_format.read_run_info_or_empty(rd), data, run_format.run_elo_cap(rd),
                   n_games, run_format.read_latest(rd), run_format.read_metrics(rd))


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
    verdicts: list[dict[str, Any]]
    n_boot: int
    seed: int
    draw_model: str
    virtual_draws: float

    @property
    def players(self) -> dict[str, dict[str, Any]]:
        return self.res.players


def rate_runs(runs: list[Path], *, n_boot: int = N_BOOT, seed: int = 0,
              anchors: dict[str, float] | None = None, ladder: str | None = None,
              draw_model: DrawModel = "half", virtual_draws: float = VIRTUAL_DRAWS) -> Rated:
    """Rate every game of ``runs`` jointly; read their training runs; decide the verdicts."""
    folders = [f for r in runs for f in games_format.find_eval_folders(r)]
    res = collect_results(folders)
    if not res.games:
        raise UserError(f"no finished games in {', '.join(map(str, res.files))}")
    choice = resolve_anchors(res, anchors, ladder)
    bf = bootstrap(res.games, choice.anchors, n_boot=n_boot, seed=seed,
                   draw_model=draw_model, virtual_draws=virtual_draws)
    ratings = {r.player: r for r in bf.ratings()}
    run_dirs = sorted({rd for f in folders if (rd := games_format.run_of(f)) is not None}
                      | {r for r in runs if run_format.is_run(r)})
    infos = {rd.name: read_run(rd) for rd in run_dirs}
    caps = {name: float(i.cap) for name, i in infos.items() if i.cap is not None}
    lines = model_lines(res.players, set(ratings), caps)
    rated_experts = {p for p, s in res.players.items()
                     if s.get("kind") == "expert" and p in ratings}
    experts = training_experts(rated_experts, [i.data for i in infos.values() if i.data],
                               choice.anchors)
    return Rated(res, choice, bf, table_rows(bf, choice.anchors, res.games), ratings, infos,
                 lines, experts, compute_verdicts(bf, lines, experts), n_boot, seed, draw_model,
                 virtual_draws)


# --------------------------------------------------------------------------------------------
# Sections


def verdict_section(r: Rated) -> Section:
    pars = []
    for v in r.verdicts:
        pars.append(f"**{v['line']}: {v['text']}**")
        if v.get("reference") is None:
            continue
        extra = (f"Best temperature T={v['temperature']:g} ({v['best_player']}: "
                 f"{v['elo']:.0f}, 95% CI [{v['elo_lo']:.0f}, {v['elo_hi']:.0f}]) against "
                 f"{v['reference_name']} ({v['reference_elo']:.0f}).")
        if v.get("p_superior") is not None:
            extra += (f" The model line is rated above the best expert in "
                      f"{100 * v['p_superior']:.1f}% of {r.n_boot} bootstrap resamples.")
        if v["reference"] == "cap":
            extra += (" No expert was rated in these games, so the reference is the training "
                      "cap, a Lichess rating from a different pool than this Stockfish-anchored "
                      "scale (as in the paper); its interval treats the cap as exact.")
        pars.append(extra)
    if not r.verdicts:
        pars.append("No model players were found in the games, so there is no verdict.")
    pars.append("Caveat: the best temperature is chosen after seeing the results, which favours "
                "the model: the interval is for that one temperature and does not correct for "
                "picking the best of several. A verdict decided by a margin near the interval's "
                "edge should be confirmed with fresh games at the chosen temperature.")
    return Section("Verdict", pars)


def plot_section(r: Rated) -> Section:
    anchor_words = ", ".join(f"{k} = {v:.0f}" for k, v in sorted(r.choice.anchors.items()))
    resampling = ("resampling colour-swapped pairs" if all(g.pair is not None for g in r.res.games)
                  else "resampling games")
    return Section("Elo versus temperature", [
        f"{len(r.res.games)} finished games rated jointly; {r.res.unfinished} unfinished games "
        f"left out. Anchors: {r.choice.source}" + (f" ({anchor_words})." if anchor_words else ".")
        + f" Bands are 95% percentile-bootstrap intervals ({r.n_boot} resamples, seed {r.seed}, "
        + resampling + "). Dashed lines: training caps; dash-dot: rated experts "
        "(the best one in red, with its band).",
        f"Model: Bradley-Terry on the logistic Elo scale, draws as "
        f"{'half points' if r.draw_model == 'half' else 'a Davidson draw model'}; prior: "
        f"{r.virtual_draws:g} virtual draw(s) per pair of players that met (keeps perfect scores "
        f"finite). Anchors are held exactly; their own uncertainty is not propagated."
        + (f" Players not connected to any anchor are centred at {CENTRE:.0f}."
           if r.bf.fit.unanchored else "")], image=PLOT_ELO)


def ratings_section(r: Rated) -> Section:
    rows = []
    for x in r.rows:
        s = r.players.get(x["player"], {})
        glicko = ("" if x["glicko2"] is None
                  else f"{x['glicko2']:.0f} ± {1.96 * x['glicko2_rd']:.0f}")
        rows.append([x["player"], str(s.get("kind", "?")), fmt_value(x["elo"]),
                     "anchor" if x["anchor"] else f"[{fmt_value(x['lo'])}, {fmt_value(x['hi'])}]",
                     str(x["games"]), f"{x['wins']}/{x['draws']}/{x['losses']}",
                     f"{x['score']:.3f}", glicko])
    return Section("Ratings", [
        "Every player in the joint fit, best first. Glicko-2 is a second number computed the "
        "paper's way: game by game against the anchors at fixed ratings with RD 0 (± 1.96 RD)."],
        ["player", "kind", "Elo", "95% CI", "games", "W/D/L", "score", "Glicko-2"], rows)


def wdl_section(r: Rated) -> Section:
    wdl: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    model_players = {p for line in r.lines for _, p in line.points}
    for g in r.res.games:
        for me, opp, s in ((g.white, g.black, g.score), (g.black, g.white, 1.0 - g.score)):
            if me in model_players:
                wdl[(me, opp)][outcome(s)] += 1
    temp_of = {p: t for line in r.lines for t, p in line.points}
    line_of = {p: line.name for line in r.lines for _, p in line.points}
    rows = []
    for (me, opp), (w, d, l_) in sorted(wdl.items(), key=lambda kv: (
            line_of[kv[0][0]], temp_of[kv[0][0]], -r.ratings[kv[0][1]].elo)):
        n = w + d + l_
        rows.append([line_of[me], f"{temp_of[me]:g}", opp, fmt_value(r.ratings[opp].elo), str(n),
                     str(w), str(d), str(l_), f"{(w + 0.5 * d) / n:.3f}"])
    return Section("Win/draw/loss per opponent and temperature", [],
                   ["model", "T", "opponent", "opp. Elo", "games", "W", "D", "L", "score"], rows)


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
        "1 − illegal samples / model samples, over every game (finished or not). In 'masked' "
        "mode illegal moves are masked before sampling, so the rate is 100% by construction; "
        "'raw' mode shows what the model proposes."],
        ["model", "T", "samples", "illegal samples", "legal rate", "forfeits"], rows)


def _rel(target: Path, start: Path) -> str:
    return Path(os.path.relpath(target.resolve(), start.resolve())).as_posix()


def games_section(r: Rated, out: Path) -> Section:
    rows = []
    for f in r.res.files:
        ev = r.res.evals.get(f.parent, {})
        rows.append([str(ev.get("grid", f.parent.name)), str(r.res.finished_by_file.get(f, 0)),
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


def provenance_section(r: Rated, runs: list[Path]) -> Section:
    prov, rows = [], []
    for f in r.res.files:
        ev = r.res.evals.get(f.parent, {})
        sf = ev.get("stockfish") or {}
        rows.append([f.parent.name, str(sf.get("version", "?")), str(sf.get("path", "?")),
                     str(ev.get("ladder")), str(ev.get("model_run", "?")),
                     json.dumps(ev.get("seeds", ev.get("seed", "?"))),
                     f"{ev.get('started', '?')} → {ev.get('finished', '?')}"])
        if ev.get("command"):
            prov.append(f"{f.parent.name} command: {ev['command']}")
    if r.choice.ladder is not None:
        lad = ladder_format.read_ladder(r.choice.ladder)
        prov.append(f"Ladder {r.choice.ladder}: Stockfish {lad.get('stockfish_version', '?')}, "
                    f"fitted on {lad.get('games', '?')}.")
    for name, info in sorted(r.runs.items()):
        prov.append(f"Run {name}: checkpoint {info.checkpoint or '?'}; "
                    f"data {info.data or '?'} (elo_cap {info.cap if info.cap is not None else '?'}, "
                    f"{info.n_games} games); command: {info.run.get('command', '?')}")
    prov.append(f"Report: {r.n_boot} bootstrap resamples, seed {r.seed}; command: chessformer "
                "report " + " ".join(str(x) for x in runs))
    return Section("Provenance", prov,
                   ["evaluation", "Stockfish", "binary", "ladder", "model run", "seeds",
                    "started → finished"], rows)


# --------------------------------------------------------------------------------------------
# The report


def write_report(runs: list[Path], out: Path, *, title: str | None = None, n_boot: int = N_BOOT,
                 seed: int = 0, anchors: dict[str, float] | None = None,
                 ladder: str | None = None, draw_model: DrawModel = "half",
                 virtual_draws: float = VIRTUAL_DRAWS) -> dict[str, Any]:
    """Rate every game of ``runs`` jointly and write report.html, report.md and PNGs to ``out``.

    Returns ``{"html", "md", "plots", "verdicts", "ratings", "anchors", "games", "unfinished",
    "rated"}`` (``rated``: the :class:`Rated` behind it); each verdict dict has ``text``,
    ``transcends``, ``diff``, ``lo``, ``hi``, ``best_player``, ``temperature``, ``reference``
    ("expert" | "cap" | None) and ``reference_name``.
    """
    runs = [Path(x) for x in runs]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    r = rate_runs(runs, n_boot=n_boot, seed=seed, anchors=anchors, ladder=ladder,
                  draw_model=draw_model, virtual_draws=virtual_draws)
    title = title or "Transcendence report: " + ", ".join(x.name for x in runs)
    plots = {"elo": out / PLOT_ELO}
    plot_elo_vs_temperature(plots["elo"], r.bf, r.lines, r.experts,
                            "Elo versus sampling temperature")
    if plot_training(out / PLOT_TRAINING, {name: i.metrics for name, i in r.runs.items()}):
        plots["training"] = out / PLOT_TRAINING
    sections = [verdict_section(r), plot_section(r), ratings_section(r), wdl_section(r),
                legal_section(r), games_section(r, out)]
    if "training" in plots:
        sections.append(Section("Training curves", [
            "From metrics.jsonl: training and validation loss; validation top-1 agreement and "
            "legal-move rate of the argmax move."], image=PLOT_TRAINING))
    sections.append(provenance_section(r, runs))
    md_path, html_path = out / "report.md", out / "report.html"
    write_text_atomic(md_path, render_markdown(sections, title))
    write_text_atomic(html_path, render_html(sections, title, out))
    log.info("wrote %s and %s", html_path, md_path)
    for v in r.verdicts:
        log.info("%s: %s", v["line"], v["text"])
    return {"html": html_path, "md": md_path, "plots": plots, "verdicts": r.verdicts,
            "ratings": r.rows, "anchors": r.choice.anchors, "games": len(r.res.games),
            "unfinished": r.res.unfinished, "rated": r}
