"""``chessformer report``: report.html and report.md for evaluated training runs.

    chessformer report runs/demo                      # writes runs/demo/report/report.{html,md}
    chessformer report runs/cap1000 runs/cap1500 --out reports/caps --boot 2000

    >>> from chessformer.report.report import write_report
    >>> info = write_report([Path("runs/demo")], Path("runs/demo/report"))  # doctest: +SKIP
    >>> info["verdicts"][0]["text"]                                          # doctest: +SKIP
    'transcends by +112 Elo, 95% CI [+41, +180]'

A RUN is a training run folder (``metrics.jsonl``, ``run.json``, ``eval/*/games.jsonl``) or an
evaluation folder itself. All games of all RUNs are rated in one joint fit
(:mod:`chessformer.rating.elo`), anchored as ``chessformer rate`` does, so every model temperature,
every expert and every Stockfish rung sits on one scale.

The report holds: Elo versus temperature (log x axis, the paper's Figure 1 layout) with 95% bands,
one line per model and legality mode, a dashed line at each model's training cap and a line per
rated expert (the best one highlighted); every player's rating; win/draw/loss per opponent and
temperature; legal-move rate; game counts; training curves; links to the PGN files; a verdict per
model line; and the provenance (Stockfish version, ladder, checkpoint, data, commands, seeds).

The verdict is the best temperature's rating minus the best expert's (or minus the training cap
when no expert was rated), with a 95% interval from the same bootstrap resamples. Choosing the best
temperature after seeing the results favours the model; the report says so next to the verdict.
"""

from __future__ import annotations

import base64
import csv
import html
import json
import math
import os
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chessformer.rating.results import (
    AnchorChoice,
    Results,
    collect_results,
    resolve_anchors,
    table_rows,
)
from chessformer.rating.elo import CENTRE, VIRTUAL_DRAWS, BootstrapFit, bootstrap
from chessformer.utils import UserError, log, write_text_atomic

PLOT_ELO = "elo_vs_temperature.png"
PLOT_TRAINING = "training_curves.png"


# --------------------------------------------------------------------------------------------
# Gathering


def find_eval_folders(run: Path) -> list[Path]:
    """Evaluation folders of a RUN (its ``eval/*/``), or RUN itself if it holds games.jsonl."""
    if (run / "games.jsonl").is_file():
        return [run]
    found = sorted(p.parent for p in (run / "eval").glob("*/games.jsonl"))
    if not found:
        raise UserError(f"{run}: no evaluation results (expected {run}/eval/<grid>/games.jsonl); "
                        "run `chessformer eval-vs-stockfish` first")
    return found


def run_of(folder: Path) -> Path | None:
    """The training run an evaluation folder belongs to (RUN/eval/<grid>/ -> RUN)."""
    cand = folder.parent.parent
    return cand if (cand / "run.json").is_file() or (cand / "metrics.jsonl").is_file() else None


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except json.JSONDecodeError as e:
        log.warning("%s: not valid JSON (%s); left out of the report", path, e)
        return {}


def read_metrics(path: Path) -> list[dict[str, Any]]:
    rows = []
    if not path.is_file():
        return rows
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            log.warning("%s:%d: not valid JSON; skipped", path, lineno)
    return rows


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


def move_stats(files: list[Path]) -> dict[str, MoveStats]:
    """Sum ``model_moves`` and ``illegal`` per player over every game, finished or not."""
    out: dict[str, MoveStats] = defaultdict(MoveStats)
    for path in files:
        with open(path, encoding="utf-8") as f:
            for line in f:
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError:
                    continue
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
class ModelLine:
    """One curve of the plot: a model (label) in one legality mode over temperatures."""

    label: str
    legality: str
    cap: float | None
    points: list[tuple[float, str]]  # (temperature, player name), sorted by temperature

    @property
    def name(self) -> str:
        return f"{self.label} ({self.legality})"


def _model_lines(players: dict[str, dict], rated: set[str], caps: dict[str, float]
                 ) -> list[ModelLine]:
    groups: dict[tuple[str, str], list[tuple[float, str]]] = defaultdict(list)
    cap_of: dict[str, float | None] = {}
    for name, s in players.items():
        if s.get("kind") != "model" or name not in rated:
            continue
        label = str(s.get("label") or s.get("run") or "model")
        try:
            temp = float(s.get("temperature"))
        except (TypeError, ValueError):
            log.warning("model player %r has no temperature; left out of the plot", name)
            continue
        groups[(label, str(s.get("legality") or "masked"))].append((temp, name))
        cap = s.get("cap")
        if cap is not None:
            cap_of[label] = float(cap)
        elif s.get("run") and Path(str(s["run"])).name in caps:  # run dir name or path
            cap_of.setdefault(label, caps[Path(str(s["run"])).name])
    lines = []
    for (label, legality), pts in sorted(groups.items()):
        cap = cap_of.get(label, caps.get(label))
        lines.append(ModelLine(label, legality, cap, sorted(pts)))
    return lines


# --------------------------------------------------------------------------------------------
# Verdicts (pure: ratings in, words out)


def verdict_text(diff: float, lo: float, hi: float, reference: str) -> tuple[bool, str]:
    """The verdict sentence; transcends only when the whole interval is above zero."""
    if lo > 0:
        return True, f"transcends by {diff:+.0f} Elo, 95% CI [{lo:+.0f}, {hi:+.0f}]"
    where = ("the interval includes zero" if hi >= 0 else "the whole interval is below zero")
    return False, (f"does not transcend: {diff:+.0f} Elo against {reference}, "
                   f"95% CI [{lo:+.0f}, {hi:+.0f}] ({where})")


def compute_verdicts(bf: BootstrapFit, lines: list[ModelLine], experts: list[str]
                     ) -> list[dict[str, Any]]:
    """Per model line: best temperature minus best expert (or the cap), with its interval."""
    ratings = {r.player: r for r in bf.ratings()}
    best_expert = max(experts, key=lambda p: ratings[p].elo) if experts else None
    out = []
    for line in lines:
        best_t, best = max(line.points, key=lambda tp: ratings[tp[1]].elo)
        r = ratings[best]
        v: dict[str, Any] = {"model": line.label, "legality": line.legality, "line": line.name,
                             "best_player": best, "temperature": best_t, "elo": r.elo,
                             "elo_lo": r.lo, "elo_hi": r.hi, "n_temperatures": len(line.points)}
        if best_expert is not None:
            d = bf.difference(best, best_expert)
            e = ratings[best_expert]
            v.update(reference="expert", reference_name=best_expert, reference_elo=e.elo,
                     diff=d.diff, lo=d.lo, hi=d.hi, p_superior=bf.prob_superior(best, best_expert))
            ref_words = f"{best_expert} ({e.elo:.0f})"
        elif line.cap is not None:
            # The cap is a Lichess rating from another pool: a constant here, as in the paper.
            v.update(reference="cap", reference_name=f"training cap {line.cap:.0f}",
                     reference_elo=line.cap, diff=r.elo - line.cap, lo=r.lo - line.cap,
                     hi=r.hi - line.cap, p_superior=None)
            ref_words = f"the training cap {line.cap:.0f}"
        else:
            v.update(reference=None, transcends=None,
                     text="no verdict: no expert was rated and the training cap is unknown")
            out.append(v)
            continue
        v["transcends"], v["text"] = verdict_text(v["diff"], v["lo"], v["hi"], ref_words)
        out.append(v)
    return out


# --------------------------------------------------------------------------------------------
# Plots


def _temp_axis(temps: list[float]) -> tuple[dict[float, float], list[float], list[str]]:
    """Map temperatures to log-axis positions; T = 0 (argmax) sits a bit left of the smallest."""
    pos = sorted({t for t in temps if t > 0})
    zero_at = (pos[0] / 4.0) if pos else 1e-3
    mapping = {t: (t if t > 0 else zero_at) for t in temps}
    ticks = sorted(set(mapping.values()))
    labels = [("0" if any(t <= 0 and mapping[t] == x for t in temps) else f"{x:g}") for x in ticks]
    return mapping, ticks, labels


def plot_elo_vs_temperature(path: Path, bf: BootstrapFit, lines: list[ModelLine],
                            experts: list[str], title: str) -> None:
    from matplotlib.figure import Figure  # no pyplot: no global backend state

    ratings = {r.player: r for r in bf.ratings()}
    fig = Figure(figsize=(9, 5.5), dpi=110)
    ax = fig.subplots()
    temps = [t for line in lines for t, _ in line.points]
    mapping, ticks, labels = _temp_axis(temps)
    colours = [f"C{k}" for k in range(10)]
    label_colour: dict[str, str] = {}
    for line in lines:
        c = label_colour.setdefault(line.label, colours[len(label_colour) % len(colours)])
        xs = [mapping[t] for t, _ in line.points]
        ys = [ratings[p].elo for _, p in line.points]
        lo = [ratings[p].lo for _, p in line.points]
        hi = [ratings[p].hi for _, p in line.points]
        style = "-" if line.legality == "masked" else ":"
        ax.plot(xs, ys, style, marker="o", color=c, label=line.name, zorder=3)
        # Error bars too, so a line with a single temperature still shows its interval.
        ax.errorbar(xs, ys, yerr=[[y - a for y, a in zip(ys, lo)], [b - y for y, b in zip(ys, hi)]],
                    fmt="none", ecolor=c, elinewidth=1, capsize=3, alpha=0.7)
        ax.fill_between(xs, lo, hi, color=c, alpha=0.15 if line.legality == "masked" else 0.08)
    for label, c in label_colour.items():
        cap = next((ln.cap for ln in lines if ln.label == label and ln.cap is not None), None)
        if cap is not None:
            ax.axhline(cap, color=c, linestyle="--", linewidth=1.2,
                       label=f"{label} training cap ({cap:.0f})")
    best = max(experts, key=lambda p: ratings[p].elo) if experts else None
    for e in sorted(experts, key=lambda p: -ratings[p].elo):
        r = ratings[e]
        if e == best:
            ax.axhline(r.elo, color="crimson", linewidth=2.2, linestyle="-.",
                       label=f"best expert: {e} ({r.elo:.0f})")
            ax.axhspan(r.lo, r.hi, color="crimson", alpha=0.08)
        else:
            ax.axhline(r.elo, color="0.45", linewidth=1.0, linestyle="-.",
                       label=f"expert: {e} ({r.elo:.0f})")
    if ticks:
        ax.set_xscale("log")
        ax.set_xticks(ticks)
        ax.set_xticklabels(labels)
        ax.minorticks_off()
        ax.set_xlim(ticks[0] / 1.6, ticks[-1] * 1.6)
    ax.set_xlabel("sampling temperature (log scale)")
    ax.set_ylabel("Elo (anchored, 95% bootstrap band)")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    fig.savefig(path)


def plot_training(path: Path, metrics: dict[str, list[dict[str, Any]]]) -> bool:
    """Losses and validation accuracies against step, one line per run; False if no metrics."""
    from matplotlib.figure import Figure

    if not any(metrics.values()):
        return False
    fig = Figure(figsize=(10, 4), dpi=110)
    ax_loss, ax_acc = fig.subplots(1, 2)
    for k, (run, rows) in enumerate(sorted(metrics.items())):
        c = f"C{k % 10}"
        # train.py logs {"type": "train", "loss": ...}; older or other logs say train_loss.
        rows = [{**r, "train_loss": r["loss"]} if r.get("type") == "train" and "loss" in r else r
                for r in rows]
        for key, ax, style in (("train_loss", ax_loss, "-"), ("val_loss", ax_loss, "--"),
                               ("val_top1", ax_acc, "-"), ("val_legal", ax_acc, "--")):
            pts = [(r["step"], r[key]) for r in rows
                   if "step" in r and isinstance(r.get(key), (int, float))]
            if pts:
                ax.plot(*zip(*pts), style, color=c, label=f"{run} {key}")
    ax_loss.set_xlabel("step")
    ax_loss.set_ylabel("cross-entropy")
    ax_loss.set_title("loss")
    ax_acc.set_xlabel("step")
    ax_acc.set_ylabel("fraction")
    ax_acc.set_title("validation top-1 and legal-move rate")
    for ax in (ax_loss, ax_acc):
        ax.grid(True, alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    return True


# --------------------------------------------------------------------------------------------
# Tables and documents


def _f(x: Any, nd: int = 0, signed: bool = False) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "n/a"
    if isinstance(x, float):
        return f"{x:+.{nd}f}" if signed else f"{x:.{nd}f}"
    return str(x)


@dataclass
class Section:
    title: str
    paragraphs: list[str]  # plain text (escaped for HTML)
    headers: list[str] | None = None
    rows: list[list[str]] | None = None
    image: str | None = None  # file name beside the report
    links: list[tuple[str, str]] | None = None  # (text, relative href)


def _md(sections: list[Section], title: str) -> str:
    out = [f"# {title}", ""]
    for s in sections:
        out += [f"## {s.title}", ""]
        for p in s.paragraphs:
            out += [p, ""]
        if s.image:
            out += [f"![{s.title}]({s.image})", ""]
        if s.headers and s.rows is not None:
            out.append("| " + " | ".join(s.headers) + " |")
            out.append("|" + "---|" * len(s.headers))
            for r in s.rows:
                out.append("| " + " | ".join(c.replace("|", "\\|") for c in r) + " |")
            out.append("")
        for text, href in s.links or []:
            out.append(f"- [{text}]({href.replace(' ', '%20')})")
        if s.links:
            out.append("")
    return "\n".join(out)


_CSS = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em;
       color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
th { background: #f3f3f3; } td:first-child, th:first-child { text-align: left; }
img { max-width: 100%; } .verdict { font-size: 1.1em; font-weight: 600; }
code { background: #f5f5f5; padding: 0 3px; }
"""


def _html(sections: list[Section], title: str, out_dir: Path) -> str:
    e = html.escape
    out = ["<!DOCTYPE html>", "<html lang=\"en\"><head><meta charset=\"utf-8\">",
           f"<title>{e(title)}</title><style>{_CSS}</style></head><body>", f"<h1>{e(title)}</h1>"]
    for s in sections:
        out.append(f"<h2>{e(s.title)}</h2>")
        for p in s.paragraphs:
            cls = ' class="verdict"' if s.title == "Verdict" and p.startswith("**") else ""
            out.append(f"<p{cls}>{e(p.replace('**', ''))}</p>")
        if s.image:
            data = base64.b64encode((out_dir / s.image).read_bytes()).decode("ascii")
            out.append(f'<img alt="{e(s.title)}" src="data:image/png;base64,{data}">')
        if s.headers and s.rows is not None:
            out.append("<table><thead><tr>" + "".join(f"<th>{e(h)}</th>" for h in s.headers)
                       + "</tr></thead><tbody>")
            for r in s.rows:
                out.append("<tr>" + "".join(f"<td>{e(c)}</td>" for c in r) + "</tr>")
            out.append("</tbody></table>")
        if s.links:
            out.append("<ul>" + "".join(f'<li><a href="{e(h)}">{e(t)}</a></li>'
                                        for t, h in s.links) + "</ul>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def _rel(target: Path, start: Path) -> str:
    return Path(os.path.relpath(target.resolve(), start.resolve())).as_posix()


# --------------------------------------------------------------------------------------------
# The report


def _training_experts(rated: set[str], run_info: dict[str, dict[str, Any]],
                      anchors: dict[str, float]) -> list[str]:
    """The rated experts a model learned from: the verdict's reference.

    An expert-kind player can also be a ladder rung (Stockfish with random-move noise), which
    is no reference for transcendence. The experts are those named as White or Black in a
    run's training data (``games.csv``); where no run says, every rated expert that is not held
    as an anchor.
    """
    trained: set[str] = set()
    for info in run_info.values():
        data = info.get("data")
        path = Path(data) / "games.csv" if data else None
        if path is None or not path.is_file():
            continue
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            for row in reader:
                for side in ("white", "black"):
                    if row.get(side) in rated:
                        trained.add(row[side])
                if trained == rated:
                    break
    if trained:
        return sorted(trained)
    return sorted(p for p in rated if p not in anchors)


def write_report(runs: list[Path], out: Path, *, title: str | None = None, n_boot: int = 1000,
                 seed: int = 0, anchors: dict[str, float] | None = None,
                 ladder: str | None = None, draw_model: str = "half",
                 virtual_draws: float = VIRTUAL_DRAWS) -> dict[str, Any]:
    """Rate every game of ``runs`` jointly and write report.html, report.md and PNGs to ``out``.

    Returns ``{"html", "md", "plots", "verdicts", "ratings", "anchors", "games", "unfinished"}``;
    each verdict dict has ``text``, ``transcends``, ``diff``, ``lo``, ``hi``, ``best_player``,
    ``temperature``, ``reference`` ("expert" | "cap" | None) and ``reference_name``.
    """
    runs = [Path(r) for r in runs]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    folders = [f for r in runs for f in find_eval_folders(r)]
    res: Results = collect_results(folders)
    if not res.games:
        raise UserError(f"no finished games in {', '.join(map(str, res.files))}")
    choice: AnchorChoice = resolve_anchors(res, anchors, ladder)
    bf = bootstrap(res.games, choice.anchors, n_boot=n_boot, seed=seed,
                   draw_model=draw_model, virtual_draws=virtual_draws)  # type: ignore[arg-type]
    rows = table_rows(bf, choice.anchors, res.games)
    ratings = {r.player: r for r in bf.ratings()}
    players = res.summary.players

    # Runs: metrics, run.json, data manifest (for the cap and provenance).
    run_dirs = sorted({rd for f in folders if (rd := run_of(f)) is not None}
                      | {r for r in runs if (r / "run.json").is_file()})
    run_info: dict[str, dict[str, Any]] = {}
    caps: dict[str, float] = {}
    metrics: dict[str, list[dict[str, Any]]] = {}
    for rd in run_dirs:
        rj = _read_json(rd / "run.json")
        data = rj.get("data") or (rj.get("config") or {}).get("data")
        manifest: dict[str, Any] = {}
        if data:
            mp = Path(data)
            mp = mp / "manifest.json" if mp.suffix != ".json" else mp
            manifest = _read_json(mp)
        if manifest.get("elo_cap") is not None:
            caps[rd.name] = float(manifest["elo_cap"])
        run_info[rd.name] = {"dir": rd, "run": rj, "manifest": manifest, "data": data,
                             "final": _read_json(rd / "final_metrics.json")}
        metrics[rd.name] = read_metrics(rd / "metrics.jsonl")

    lines = _model_lines(players, set(ratings), caps)
    rated_experts = {p for p, s in players.items() if s.get("kind") == "expert" and p in ratings}
    experts = _training_experts(rated_experts, run_info, choice.anchors)
    verdicts = compute_verdicts(bf, lines, experts)
    title = title or "Transcendence report: " + ", ".join(r.name for r in runs)

    plots = {"elo": out / PLOT_ELO}
    plot_elo_vs_temperature(plots["elo"], bf, lines, experts, "Elo versus sampling temperature")
    if plot_training(out / PLOT_TRAINING, metrics):
        plots["training"] = out / PLOT_TRAINING
    stats = move_stats(res.files)

    sections: list[Section] = []
    n_unf = res.summary.unfinished
    # -- verdict
    vpars = []
    for v in verdicts:
        vpars.append(f"**{v['line']}: {v['text']}**")
        if v.get("reference") is not None:
            extra = (f"Best temperature T={v['temperature']:g} ({v['best_player']}: "
                     f"{v['elo']:.0f}, 95% CI [{v['elo_lo']:.0f}, {v['elo_hi']:.0f}]) against "
                     f"{v['reference_name']} ({v['reference_elo']:.0f}).")
            if v.get("p_superior") is not None:
                extra += (f" The model line is rated above the best expert in "
                          f"{100 * v['p_superior']:.1f}% of {n_boot} bootstrap resamples.")
            if v["reference"] == "cap":
                extra += (" No expert was rated in these games, so the reference is the training "
                          "cap, a Lichess rating from a different pool than this Stockfish-anchored "
                          "scale (as in the paper); its interval treats the cap as exact.")
            vpars.append(extra)
    if not verdicts:
        vpars.append("No model players were found in the games, so there is no verdict.")
    vpars.append("Caveat: the best temperature is chosen after seeing the results, which favours "
                 "the model: the interval is for that one temperature and does not correct for "
                 "picking the best of several. A verdict decided by a margin near the interval's "
                 "edge should be confirmed with fresh games at the chosen temperature.")
    sections.append(Section("Verdict", vpars))
    # -- plot
    anchor_words = ", ".join(f"{k} = {v:.0f}" for k, v in sorted(choice.anchors.items()))
    sections.append(Section("Elo versus temperature", [
        f"{len(res.games)} finished games rated jointly; {n_unf} unfinished games left out. "
        f"Anchors: {choice.source}" + (f" ({anchor_words})." if anchor_words else ".")
        + f" Bands are 95% percentile-bootstrap intervals ({n_boot} resamples, seed {seed}, "
        + ("resampling colour-swapped pairs" if all(g.pair is not None for g in res.games)
           else "resampling games") + "). Dashed lines: training caps; dash-dot: rated experts "
        "(the best one in red, with its band).",
        f"Model: Bradley-Terry on the logistic Elo scale, draws as "
        f"{'half points' if draw_model == 'half' else 'a Davidson draw model'}; prior: "
        f"{virtual_draws:g} virtual draw(s) per pair of players that met (keeps perfect scores "
        f"finite). Anchors are held exactly; their own uncertainty is not propagated."
        + (f" Players not connected to any anchor are centred at {CENTRE:.0f}."
           if bf.fit.unanchored else "")], image=PLOT_ELO))
    # -- ratings table
    rrows = []
    for r in rows:
        s = players.get(r["player"], {})
        rrows.append([r["player"], str(s.get("kind", "?")),
                      _f(r["elo"]), "anchor" if r["anchor"] else f"[{_f(r['lo'])}, {_f(r['hi'])}]",
                      str(r["games"]), f"{r['wins']}/{r['draws']}/{r['losses']}",
                      f"{r['score']:.3f}",
                      "" if r["glicko2"] is None else f"{r['glicko2']:.0f} ± {1.96 * r['glicko2_rd']:.0f}"])
    sections.append(Section("Ratings", [
        "Every player in the joint fit, best first. Glicko-2 is a second number computed the "
        "paper's way: game by game against the anchors at fixed ratings with RD 0 (± 1.96 RD)."],
        ["player", "kind", "Elo", "95% CI", "games", "W/D/L", "score", "Glicko-2"], rrows))
    # -- W/D/L per opponent and temperature
    wdl: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    model_players = {p for line in lines for _, p in line.points}
    for g in res.games:
        for me, opp, s in ((g.white, g.black, g.score), (g.black, g.white, 1.0 - g.score)):
            if me in model_players:
                wdl[(me, opp)][0 if s == 1.0 else (1 if s == 0.5 else 2)] += 1
    temp_of = {p: t for line in lines for t, p in line.points}
    line_of = {p: line.name for line in lines for _, p in line.points}
    wrows = []
    for (me, opp), (w, d, l_) in sorted(wdl.items(), key=lambda kv: (line_of[kv[0][0]],
                                        temp_of[kv[0][0]], -ratings[kv[0][1]].elo)):
        n = w + d + l_
        wrows.append([line_of[me], f"{temp_of[me]:g}", opp, _f(ratings[opp].elo), str(n),
                      str(w), str(d), str(l_), f"{(w + 0.5 * d) / n:.3f}"])
    sections.append(Section("Win/draw/loss per opponent and temperature", [],
                            ["model", "T", "opponent", "opp. Elo", "games", "W", "D", "L",
                             "score"], wrows))
    # -- legal-move rate
    lrows = []
    for line in lines:
        for t, p in line.points:
            st = stats.get(p, MoveStats())
            lrows.append([line.name, f"{t:g}", str(st.samples), str(st.illegal),
                          "n/a" if not st.samples else f"{100 * st.legal_rate:.2f}%",
                          str(st.forfeits)])
    sections.append(Section("Legal-move rate", [
        "1 − illegal samples / model samples, over every game (finished or not). In 'masked' "
        "mode illegal moves are masked before sampling, so the rate is 100% by construction; "
        "'raw' mode shows what the model proposes."],
        ["model", "T", "samples", "illegal samples", "legal rate", "forfeits"], lrows))
    # -- games
    grows = []
    for f in res.files:
        ev = res.evals.get(f.parent, {})
        grows.append([str(ev.get("grid", f.parent.name)), str(res.finished_by_file.get(f, 0)),
                      str(res.unfinished_by_file.get(f, 0))])
    grows.append(["total", str(res.summary.finished), str(n_unf)])
    links = []
    for f in res.files:
        pgn = f.parent / "games.pgn"
        links.append((f"{f.parent.name}: games.pgn" if pgn.is_file()
                      else f"{f.parent.name}: games.jsonl (no PGN found)",
                      _rel(pgn if pgn.is_file() else f, out)))
    sections.append(Section("Games", [
        "Unfinished games (result '*') are counted here and left out of the ratings."],
        ["evaluation", "finished", "unfinished"], grows, links=links))
    # -- training
    if "training" in plots:
        sections.append(Section("Training curves", [
            "From metrics.jsonl: training and validation loss; validation top-1 agreement and "
            "legal-move rate of the argmax move."], image=PLOT_TRAINING))
    # -- provenance
    prov = []
    prows = []
    for f in res.files:
        ev = res.evals.get(f.parent, {})
        sf = ev.get("stockfish") or {}
        prows.append([f.parent.name, str(sf.get("version", "?")), str(sf.get("path", "?")),
                      str(ev.get("ladder")), str(ev.get("model_run", "?")),
                      json.dumps(ev.get("seeds", ev.get("seed", "?"))),
                      f"{ev.get('started', '?')} → {ev.get('finished', '?')}"])
        if ev.get("command"):
            prov.append(f"{f.parent.name} command: {ev['command']}")
    if choice.ladder is not None:
        lad = _read_json(choice.ladder)
        prov.append(f"Ladder {choice.ladder}: Stockfish {lad.get('stockfish_version', '?')}, "
                    f"fitted on {lad.get('games', '?')}.")
    for name, info in sorted(run_info.items()):
        rj, man = info["run"], info["manifest"]
        ckpts = sorted(p.name for p in Path(info["dir"]).glob("*")
                       if p.suffix in (".pt", ".safetensors", ".ckpt"))
        prov.append(f"Run {name}: checkpoint {', '.join(ckpts) or rj.get('checkpoint', '?')}; "
                    f"data {info['data'] or '?'} (elo_cap {man.get('elo_cap', '?')}, "
                    f"{man.get('n_games', '?')} games); command: {rj.get('command', '?')}")
    prov.append(f"Report: {n_boot} bootstrap resamples, seed {seed}; command: chessformer report "
                + " ".join(str(r) for r in runs))
    sections.append(Section("Provenance", prov,
                            ["evaluation", "Stockfish", "binary", "ladder", "model run", "seeds",
                             "started → finished"], prows))

    md_path, html_path = out / "report.md", out / "report.html"
    write_text_atomic(md_path, _md(sections, title))
    write_text_atomic(html_path, _html(sections, title, out))
    log.info("wrote %s and %s", html_path, md_path)
    for v in verdicts:
        log.info("%s: %s", v["line"], v["text"])
    return {"html": html_path, "md": md_path, "plots": plots, "verdicts": verdicts,
            "ratings": rows, "anchors": choice.anchors, "games": len(res.games),
            "unfinished": n_unf}
