"""The explicit ensemble of experts: the "ensembling" reference a low-temperature model approaches.

An ensemble player (arena kind ``ensemble``: ``{ kind = "ensemble", preset = P, rule =
"plurality"|"mean" }``, built by :func:`ensemble_spec`) asks every member expert for its exact
move distribution (:meth:`chessformer.play.experts.Expert.move_distribution`) and plays the
plurality of their most likely moves, or the argmax of the averaged distribution
(:func:`combine_distributions`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import chess
import numpy as np

from chessformer.play.experts import Expert
from chessformer.play.presets import load_experts
from chessformer.play.spec import EnginePool, PlayerSpec
from chessformer.utils import UserError

__all__ = ["ENSEMBLE_RULES", "Ensemble", "combine_distributions", "ensemble_spec"]

ENSEMBLE_RULES = ("plurality", "mean")


def combine_distributions(dists: Sequence[Mapping[str, float]], rule: str,
                          rng: np.random.Generator) -> str:
    """The ensemble's move: ``plurality`` of the experts' most likely moves (an expert whose
    distribution has k tied modes gives each 1/k of a vote; ties between moves go to the larger
    summed probability), or the argmax of the ``mean`` distribution. Remaining ties: ``rng``."""
    if rule not in ENSEMBLE_RULES:
        raise ValueError(f"ensemble rule must be one of {ENSEMBLE_RULES}, not {rule!r}")
    mass: Counter[str] = Counter()
    votes: Counter[str] = Counter()
    for d in dists:
        top = max(d.values())
        modes = [m for m, p in d.items() if p >= top - 1e-12]
        for m in modes:
            votes[m] += 1.0 / len(modes)
        for m, p in d.items():
            mass[m] += p
    key = (lambda m: (round(votes[m], 9), round(mass[m], 12))) if rule == "plurality" \
        else (lambda m: round(mass[m], 12))
    best = max(key(m) for m in mass)
    tied = sorted(m for m in mass if key(m) == best)
    return tied[0] if len(tied) == 1 else tied[int(rng.integers(len(tied)))]


class Ensemble:
    """Asks every member expert for its move distribution and combines them (see
    :func:`combine_distributions`): the "ensembling" reference a low-temperature model approaches."""

    def __init__(self, spec: PlayerSpec, pool: EnginePool) -> None:
        self.spec = spec
        self.rule = str(spec.settings.get("rule", "plurality"))
        members = spec.settings.get("members") or []
        if not members:
            raise ValueError(f"ensemble {spec.name!r} has no members")
        self.members = [Expert(PlayerSpec(str(m["name"]), "expert",
                                          {k: v for k, v in m.items() if k not in ("name", "kind")}),
                               pool) for m in members]

    def distributions(self, board: chess.Board, moves: Sequence[str]) -> list[dict[str, float]]:
        return [e.move_distribution(board, moves) for e in self.members]

    def choose(self, board: chess.Board, moves: Sequence[str], rng: np.random.Generator) -> chess.Move:
        return chess.Move.from_uci(combine_distributions(self.distributions(board, moves),
                                                         self.rule, rng))


def ensemble_spec(raw: Mapping[str, Any]) -> PlayerSpec:
    """The player of an ``{ kind = "ensemble", preset = P, rule = "plurality"|"mean" }`` entry
    (optional ``only = [names]``, ``name``). Its settings hold the members' full settings, so the
    spec alone rebuilds it in another process and every game record says what it was."""
    where = f"ensemble opponent {dict(raw)}"
    if unknown := set(raw) - {"kind", "preset", "rule", "only", "name"}:
        raise UserError(f"{where}: unknown settings {sorted(unknown)}")
    rule = str(raw.get("rule", "plurality"))
    if rule not in ENSEMBLE_RULES:
        raise UserError(f"{where}: rule must be plurality or mean, not {rule!r}")
    pool = load_experts(raw.get("preset", "demo"))
    only = raw.get("only")
    members = [e for e in pool.experts if only is None or e.name in only]
    if not members:
        raise UserError(f"{where}: no expert of preset {pool.name!r} is selected")
    name = raw.get("name") or f"ensemble {pool.name} {rule}" + (f" ({'+'.join(only)})" if only else "")
    return PlayerSpec(str(name), "ensemble", {"preset": pool.name, "rule": rule,
                                              "members": [e.to_json() for e in members]})
