"""The report's figures: Elo versus temperature (the paper's Figure 1 layout) and training curves.

Matplotlib's object API only (no pyplot: no global backend state).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

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
        # A percentile interval need not contain the point estimate (a player that lost every
        # game: every resample agrees), so the bars are clipped at the point.
        ax.errorbar(xs, ys, yerr=[[max(0.0, y - a) for y, a in zip(ys, lo)],
                                  [max(0.0, b - y) for y, b in zip(ys, hi)]],
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
