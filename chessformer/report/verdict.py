"""Verdicts: is a model line rated above the experts it learned from? (Pure: ratings in, words out.)

A *model line* is one model in one legality mode over its temperatures. The verdict is the best
temperature's rating minus the best training expert's (or minus the training cap when no expert
was rated), with a 95% interval from the same bootstrap resamples. Choosing the best temperature
after seeing the results favours the model; the report says so next to the verdict.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chessformer.formats import dataset as dataset_format
from chessformer.rating.bootstrap import BootstrapFit
from chessformer.utils import log


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


def model_lines(players: dict[str, dict], rated: set[str], caps: dict[str, float]
                ) -> list[ModelLine]:
    """The model lines of the rated model players; ``caps`` maps run names to training caps."""
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


def training_experts(rated: set[str], datasets: list[Path], anchors: dict[str, float],
                     ) -> list[str]:
    """The rated experts a model learned from: the verdict's reference.

    An expert-kind player can also be a ladder rung (Stockfish with random-move noise), which
    is no reference for transcendence. The experts are those named as White or Black in a
    run's training data (``games.csv``); where no run says, every rated expert that is not held
    as an anchor.
    """
    trained: set[str] = set()
    for data in datasets:
        path = Path(data) / dataset_format.GAMES_CSV
        if not path.is_file():
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
