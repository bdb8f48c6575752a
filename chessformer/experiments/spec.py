"""An experiment's description (``evals/experiments/<name>.toml``), read and checked.

An experiment names one or more *arms* (each a training set of expert games: an expert preset,
optionally some of its experts and other opening lines), ``seeds`` training seeds per arm (one
model each), one training preset, one evaluation grid (``[eval]``), the verdict temperature fixed
in advance (``verdict_temperature``), and a held-out *probe* set of positions.

Sizes: ``full`` is the TOML's top level; ``[size.small]`` / ``[size.tiny]`` override it (``games``
sets every arm's game count; other tables merge key by key, arrays replace).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chessformer.core.games import DEFAULT_MAX_PLIES
from chessformer.core.protocol import VERDICT_TEMPERATURE
from chessformer.utils import UserError, merge_tables, pop_size, read_toml

KINDS = ("diversity", "selection", "generalization")
SIZES = ("tiny", "small", "full")
#: Training seeds per arm: an arm's interval must cover training variance, not only game noise.
SEEDS = 3
#: The entropy measure's settings unless ``[entropy]`` overrides them (positions seen this often).
ENTROPY_DEFAULTS = {"min_count": 5}


@dataclass(frozen=True)
class Arm:
    """One training set: ``games`` games between the experts of ``experts`` (a preset)."""

    name: str
    experts: str
    games: int
    only: tuple[str, ...] | None = None
    openings: tuple[str, ...] | None = None  # replaces every expert's book


@dataclass
class Experiment:
    name: str
    kind: str
    size: str
    arms: list[Arm]
    train: dict[str, Any]
    eval: dict[str, Any]
    probe: dict[str, Any]
    entropy: dict[str, Any] = field(default_factory=lambda: dict(ENTROPY_DEFAULTS))
    cap: int = 1000
    max_plies: int = DEFAULT_MAX_PLIES
    seed: int = 0
    workers: int | None = None
    description: str = ""
    source: str = ""
    seeds: int = SEEDS  # training seeds per arm
    verdict_temperature: float = VERDICT_TEMPERATURE  # fixed before any game is played

    def train_seeds(self) -> list[int]:
        """The training seeds of every arm's models."""
        base = int(self.train.get("seed", self.seed))
        return [base + k for k in range(self.seeds)]


def load_experiment(path: str | Path, size: str = "full") -> Experiment:
    """Read an experiment TOML (a bare name means ``evals/experiments/<name>.toml``)."""
    p, raw = read_toml(path, folder="evals/experiments", what="experiment")
    over = pop_size(raw, size, SIZES, p)
    games = over.pop("games", None)
    if {"minutes", "max_steps"} & set(over.get("train", {})):  # the size's budget replaces the top's
        raw["train"] = {k: v for k, v in raw.get("train", {}).items()
                        if k not in ("minutes", "max_steps")}
    raw = merge_tables(raw, over)
    if games is not None:
        raw["arm"] = [{**a, "games": games} for a in raw.get("arm", [])]
    known = {"name", "kind", "description", "arm", "train", "eval", "probe", "entropy", "cap",
             "max_plies", "seed", "workers", "seeds", "verdict_temperature"}
    if unknown := set(raw) - known:
        raise UserError(f"{p}: unknown experiment settings {sorted(unknown)}")
    kind = raw.get("kind", raw.get("name", p.stem))
    if kind not in KINDS:
        raise UserError(f"{p}: kind must be one of {', '.join(KINDS)}, not {kind!r}")
    arms = []
    for i, a in enumerate(raw.get("arm", [])):
        if unknown := set(a) - {"name", "experts", "games", "only", "openings"}:
            raise UserError(f"{p}: arm {i + 1}: unknown settings {sorted(unknown)}")
        if "name" not in a or "experts" not in a or int(a.get("games", 0)) <= 0:
            raise UserError(f"{p}: arm {i + 1} needs a name, an experts preset and games > 0")
        arms.append(Arm(str(a["name"]), str(a["experts"]), int(a["games"]),
                        tuple(a["only"]) if "only" in a else None,
                        tuple(a["openings"]) if "openings" in a else None))
    if not arms or len({a.name for a in arms}) != len(arms):
        raise UserError(f"{p}: needs one or more [[arm]] tables with distinct names")
    train = dict(raw.get("train", {}))
    if "max_steps" in train:  # a step count replaces a time budget
        train.pop("minutes", None)
    if "preset" not in train:
        raise UserError(f"{p}: [train] needs a preset")
    ev = dict(raw.get("eval", {}))
    if not ev.get("opponent"):
        raise UserError(f"{p}: [eval] needs [[eval.opponent]] entries")
    probe = dict(raw.get("probe", {}))
    probe.setdefault("games", 0)
    # Settings the TOML leaves out keep the Experiment's field defaults (declared once, above).
    given = {k: convert(raw[k]) for k, convert in (
        ("cap", int), ("max_plies", int), ("seed", int), ("description", str), ("seeds", int),
        ("verdict_temperature", float)) if k in raw}
    exp = Experiment(str(raw.get("name", p.stem)), kind, size, arms, train, ev, probe,
                     {**ENTROPY_DEFAULTS, **raw.get("entropy", {})}, workers=raw.get("workers"),
                     source=str(p), **given)
    if exp.seeds < 1:
        raise UserError(f"{p}: seeds must be >= 1, got {exp.seeds}")
    if kind == "diversity" and probe.get("games") and "focus" not in probe:
        raise UserError(f"{p}: a diversity experiment's [probe] needs focus = EXPERT NAME")
    return exp
