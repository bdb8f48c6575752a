"""The report's figures: Elo versus temperature (the paper's Figure 1 layout), the score grid
(a heatmap whose colours the HTML table shares: :func:`score_colour`) and training curves.

Matplotlib's object API only (no pyplot: no global backend state).
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any

from chessformer.formats.run import MetricRow, TrainRow, ValRow
from chessformer.rating.bootstrap import BootstrapFit
from chessformer.report.verdict import ModelLine


def _temp_axis(temps: list[float]) -> tuple[dict[float, float], list[float], list[str]]:
    """Map temperatures to log-axis positions; T = 0 (argmax) sits a bit left of the smallest."""
    pos = sorted({t for t in temps if t > 0})
    zero_at = (pos[0] / 4.0) if pos else 1e-3
    mapping = {t: (t if t > 0 else zero_at) for t in temps}
    ticks = sorted(set(mapping.values()))
    labels = [("0" if any(t <= 0 and mapping[t] == x for t in temps) else f"{x:g}") for x in ticks]
    return mapping, ticks, labels


#: Per model line: a colour, a line style and a marker, so lines differ in all three (and in
#: grey print). Colour-blind-safe colours (Okabe-Ito).
COLOURS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000",
           "#F0E442"]
LINESTYLES = ["-", "--", ":", "-."]
MARKERS = ["o", "s", "^", "D", "v", "P"]
#: The colour map of the score grid, in the PNG and the HTML table alike (0 red, 1 green).
SCORE_CMAP = "RdYlGn"


def line_style(k: int) -> dict[str, str]:
    """Matplotlib keywords of the k-th line: consecutive lines differ in colour, line style and
    marker alike; no two of the first 24 lines share all three."""
    return {"color": COLOURS[k % len(COLOURS)], "linestyle": LINESTYLES[k % len(LINESTYLES)],
            "marker": MARKERS[k % len(MARKERS)]}


def score_cmap() -> Any:
    """:data:`SCORE_CMAP` without its darkest 10% at either end (text stays readable)."""
    import numpy as np
    from matplotlib import colormaps
    from matplotlib.colors import ListedColormap

    return ListedColormap(colormaps[SCORE_CMAP](np.linspace(0.1, 0.9, 256)))


def score_colour(score: float) -> str:
    """The ``#rrggbb`` colour of a score in [0, 1] on :func:`score_cmap` (HTML = PNG)."""
    from matplotlib.colors import to_hex

    return to_hex(score_cmap()(min(1.0, max(0.0, score))))


def plot_elo_vs_temperature(path: Path, bf: BootstrapFit, lines: list[ModelLine],
                            experts: list[str], title: str) -> None:
    """One line per model line with its 95% band; lines at the same temperature are dodged a
    little sideways so overlapping ones stay visible; the legend sits outside the axes."""
    from matplotlib.figure import Figure  # no pyplot: no global backend state

    ratings = {r.player: r for r in bf.ratings()}
    fig = Figure(figsize=(11, 5.5), dpi=110)
    ax = fig.subplots()
    temps = [t for line in lines for t, _ in line.points]
    mapping, ticks, labels = _temp_axis(temps)
    label_colour: dict[str, str] = {}
    for k, line in enumerate(lines):
        style = line_style(k)
        c = style["color"]
        label_colour.setdefault(line.label, c)
        dodge = 1.0 + 0.05 * (k - (len(lines) - 1) / 2)  # multiplicative: the x axis is log
        xs = [mapping[t] * dodge for t, _ in line.points]
        ys = [ratings[p].elo for _, p in line.points]
        lo = [ratings[p].lo for _, p in line.points]
        hi = [ratings[p].hi for _, p in line.points]
        ax.plot(xs, ys, **style, markersize=6, linewidth=1.8, label=line.name, zorder=3)
        # Error bars too, so a line with a single temperature still shows its interval.
        # A percentile interval need not contain the point estimate (a player that lost every
        # game: every resample agrees), so the bars are clipped at the point.
        ax.errorbar(xs, ys, yerr=[[max(0.0, y - a) for y, a in zip(ys, lo)],
                                  [max(0.0, b - y) for y, b in zip(ys, hi)]],
                    fmt="none", ecolor=c, elinewidth=1, capsize=3, alpha=0.7)
        ax.fill_between(xs, lo, hi, color=c, alpha=0.12)
    for label, c in label_colour.items():
        cap = next((ln.cap for ln in lines if ln.label == label and ln.cap is not None), None)
        if cap is not None:
            ax.axhline(cap, color=c, linestyle=(0, (6, 3)), linewidth=1.2,
                       label=f"{label} training cap ({cap:.0f})")
    best = max(experts, key=lambda p: ratings[p].elo) if experts else None
    for e in sorted(experts, key=lambda p: -ratings[p].elo):
        r = ratings[e]
        if e == best:
            ax.axhline(r.elo, color="crimson", linewidth=2.2, linestyle="-.",
                       label=f"best expert: {e} ({r.elo:.0f})")
            ax.axhspan(r.lo, r.hi, color="crimson", alpha=0.08)
        else:
            ax.axhline(r.elo, color="0.45", linewidth=1.0, linestyle=(0, (3, 1, 1, 1)),
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
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    fig.savefig(path, bbox_inches="tight")


def plot_score_grid(path: Path, rows: list[str], columns: list[str],
                    scores: list[list[float | None]], notes: list[list[str]]) -> None:
    """A heatmap of scores (rows: model line and temperature; columns: opponents), each cell
    annotated with ``notes``; empty cells (pairs that did not meet) stay blank."""
    import numpy as np
    from matplotlib.colors import Normalize
    from matplotlib.figure import Figure

    values = np.array([[np.nan if v is None else v for v in r] for r in scores], float)
    fig = Figure(figsize=(max(6.0, 1.5 * len(columns) + 3.0), max(2.5, 0.5 * len(rows) + 1.8)),
                 dpi=110)
    ax = fig.subplots()
    image = ax.imshow(np.ma.masked_invalid(values), cmap=score_cmap(), norm=Normalize(0.0, 1.0),
                      aspect="auto")
    for i, row in enumerate(notes):
        for j, text in enumerate(row):
            if text:
                ax.text(j, i, text, ha="center", va="center", fontsize=8)
    ax.set_xticks(range(len(columns)))
    ax.set_xticklabels(columns, fontsize=8, rotation=20, ha="right")
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels(rows, fontsize=8)
    ax.set_title("model's score per opponent and temperature")
    bar = fig.colorbar(image, ax=ax, fraction=0.04, pad=0.02, ticks=[0.0, 0.5, 1.0])
    bar.ax.set_yticklabels(["0 (lost all)", "0.5", "1 (won all)"], fontsize=8)
    fig.savefig(path, bbox_inches="tight")


def _value(row: MetricRow, key: str) -> float | None:
    """A curve's value in a metrics row: ``train_loss`` is a train row's loss, the rest are
    validation fields (None where the row has none)."""
    if isinstance(row, TrainRow):
        return row.loss if key == "train_loss" else None
    return None if key == "train_loss" else getattr(row, key)


def plot_training(path: Path, metrics: dict[str, list[MetricRow]],
                  legal_softmax: Collection[str] = ()) -> bool:
    """Losses, validation accuracies and (when logged) the base-move probe against step, one line
    style per run; False if no metrics.

    Runs named in ``legal_softmax`` trained with the loss over legal moves only: their validation
    loss and top-1 are the ones over legal moves (``val_legal_loss``, ``val_legal_top1``; over
    all moves the untrained illegal logits make them meaningless), and they have no legal-move
    rate (such a model plays with legality masked).

    The probe (``probe_model_base``: how often the model's legal argmax is the simulated experts'
    base move) gets its own panel with the experts' own rate (``probe_experts_base``) as a
    horizontal reference line; runs without it (e.g. Lichess data) get two panels.
    """
    from matplotlib.figure import Figure

    if not any(metrics.values()):
        return False
    runs = dict(sorted(metrics.items()))
    probe = any(isinstance(r, ValRow) and r.probe_model_base is not None
                for rows in runs.values() for r in rows)
    fig = Figure(figsize=(15 if probe else 11, 4.2), dpi=110)
    axes = fig.subplots(1, 3 if probe else 2)
    ax_loss, ax_acc = axes[0], axes[1]
    for k, (run, rows) in enumerate(runs.items()):
        c, marker = COLOURS[k % len(COLOURS)], MARKERS[k % len(MARKERS)]
        if run in legal_softmax:
            panels = [("train_loss", ax_loss, "-", "train (legal moves)"),
                      ("val_legal_loss", ax_loss, "--", "val (legal moves)"),
                      ("val_legal_top1", ax_acc, "-", "top-1 (legal moves)")]
        else:
            panels = [("train_loss", ax_loss, "-", "train"), ("val_loss", ax_loss, "--", "val"),
                      ("val_top1", ax_acc, "-", "top-1"), ("val_legal", ax_acc, "--", "legal")]
        if probe:
            panels.append(("probe_model_base", axes[2], "-", "model"))
        for key, ax, style, what in panels:
            pts = [(r.step, _value(r, key)) for r in rows if _value(r, key) is not None]
            if pts:
                ax.plot(*zip(*pts), style, color=c, marker=marker if key != "train_loss" else None,
                        markersize=4, label=f"{run} {what}")
        experts = [r.probe_experts_base for r in rows
                   if isinstance(r, ValRow) and r.probe_experts_base is not None]
        if probe and experts:
            axes[2].axhline(experts[-1], color=c, linestyle=":", linewidth=1.6,
                            label=f"{run} experts ({experts[-1]:.3f})")
    ax_loss.set_ylabel("cross-entropy")
    ax_loss.set_title("loss")
    ax_acc.set_ylabel("fraction")
    ax_acc.set_title("validation top-1 and legal-move rate")
    if probe:
        axes[2].set_ylabel("fraction of positions")
        axes[2].set_title("plays the experts' base move")
    for ax in axes:
        ax.set_xlabel("step")
        ax.grid(True, alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=2)
    fig.savefig(path, bbox_inches="tight")
    return True


def plot_fit_check(path: Path, observed: list[float], predicted: list[float], games: list[int],
                   flagged: list[bool], labels: list[str]) -> None:
    """Observed against fitted score, one point per pair of players (area ~ games), the pairs
    with |z| > 3 in red and named; the diagonal is a perfect fit."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.5, 5.0), dpi=110)
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1], color="0.5", linewidth=0.8, linestyle="--")
    for o, p, n, f, lab in zip(observed, predicted, games, flagged, labels):
        ax.scatter([p], [o], s=8 + 2 * n, color="#D55E00" if f else "#0072B2", alpha=0.6)
        if f:
            ax.annotate(lab, (p, o), fontsize=6, xytext=(3, 3), textcoords="offset points")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("score the fit predicts (first player of the pair)")
    ax.set_ylabel("observed score")
    ax.set_title("goodness of fit: each pair of players (red: |z| > 3)")
    fig.savefig(path, bbox_inches="tight")
