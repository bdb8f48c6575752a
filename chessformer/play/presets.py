"""Expert presets: the TOML files of ``data/experts/``, read and validated into player specs.

    >>> from chessformer.play.presets import load_experts
    >>> pool = load_experts("demo")            # data/experts/demo.toml
    >>> [e.name for e in pool.experts]         # doctest: +SKIP

A preset is a list of ``[[expert]]`` tables (see :mod:`chessformer.play.experts` for what each
setting means) and an optional ``[pool]`` table (``name``, ``description``). Every table is
validated here, once, into a :class:`~chessformer.play.spec.PlayerSpec` of kind ``expert``:
a malformed one is a one-line :class:`~chessformer.utils.UserError` naming the file and expert.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from chessformer.core.games import check_line
from chessformer.play.experts import DEFAULT_OUTSIDE_NOISE, TAXONOMY_KEYS, BlindSpot, Region
from chessformer.play.spec import PlayerSpec, check_uci
from chessformer.utils import UserError, read_toml

#: An expert's base move: Stockfish's, any UCI engine's, the greedy capture, or a random move.
BASE_KINDS = ("stockfish", "uci", "greedy-capture", "random")

__all__ = ["BASE_KINDS", "ExpertPool", "check_expert", "check_noise", "load_experts", "subset_pool"]


@dataclass(frozen=True)
class ExpertPool:
    name: str
    experts: tuple[PlayerSpec, ...]
    source: str = ""
    description: str = ""


def check_noise(noise: dict[str, Any], where: str, name: str, key: str = "noise") -> None:
    """A ``noise`` (or ``outside_noise``) table of expert ``name``: UserError if malformed."""
    if noise.get("kind") not in ("none", "epsilon", "boltzmann"):
        raise UserError(f"{where}: expert {name!r}: {key}.kind must be none, epsilon or "
                        f"boltzmann, not {noise.get('kind')!r}")
    if noise["kind"] == "epsilon" and not 0 <= float(noise.get("epsilon", -1)) <= 1:
        raise UserError(f"{where}: expert {name!r}: {key}.epsilon must be in [0, 1]")
    if noise["kind"] == "boltzmann" and float(noise.get("temperature_cp", 0)) <= 0:
        raise UserError(f"{where}: expert {name!r}: {key}.temperature_cp must be > 0")


def check_expert(raw: Mapping[str, Any], where: str) -> PlayerSpec:
    """The player of one ``[[expert]]`` table (the format of ``data/experts/``), validated;
    defaults filled in (base: Stockfish depth 1; noise and openings: none)."""
    if "name" not in raw:
        raise UserError(f"{where}: every [[expert]] needs a name")
    name = raw["name"]
    base = dict(raw.get("base", {"kind": "stockfish", "depth": 1}))
    noise = dict(raw.get("noise", {"kind": "none"}))
    openings = dict(raw.get("openings", {"kind": "none"}))
    if base.get("kind") not in BASE_KINDS:
        raise UserError(f"{where}: expert {raw['name']!r}: base.kind must be one of "
                        f"{', '.join(BASE_KINDS)}, not {base.get('kind')!r}")
    if base["kind"] == "uci":  # any UCI engine's move (a node, depth or time limit required)
        base = {"kind": "uci", **check_uci(base, f"{where}: expert {name!r}: base")}
    if base["kind"] in ("stockfish", "greedy-capture") and not any(k in base for k in ("nodes", "depth", "movetime_ms")):
        base["depth"] = 1
    check_noise(noise, where, name)
    if openings.get("kind") not in ("none", "book"):
        raise UserError(f"{where}: expert {raw['name']!r}: openings.kind must be none or book")
    for line in openings.get("lines", []):
        check_line(line, f"{where}: expert {raw['name']!r}: illegal book line")
    if "weights" in openings and len(openings["weights"]) != len(openings.get("lines", [])):
        raise UserError(f"{where}: expert {name!r}: openings.weights needs one weight per line")
    # Taxonomy features: validated here, stored only when given (older presets keep their
    # settings, and so their PGN headers, unchanged).
    taxonomy: dict[str, Any] = {}
    if "blind_spot" in raw:
        taxonomy["blind_spot"] = BlindSpot.check(dict(raw["blind_spot"]), f"{where}: expert {name!r}")
    region = None
    if "region" in raw:
        taxonomy["region"] = dict(raw["region"])
        region = Region.from_settings(taxonomy["region"], f"{where}: expert {name!r}")
    if "outside_noise" in raw:
        if region is None:
            raise UserError(f"{where}: expert {name!r}: outside_noise needs a region")
        taxonomy["outside_noise"] = dict(raw["outside_noise"])
        check_noise(taxonomy["outside_noise"], where, name, "outside_noise")
    elif region is not None:
        taxonomy["outside_noise"] = dict(DEFAULT_OUTSIDE_NOISE)
    if "repertoire" in raw:
        rep = dict(raw["repertoire"])
        if region is None or region.kind != "opening":
            raise UserError(f"{where}: expert {name!r}: repertoire weights book lines that lead "
                            "into the expert's region, so it needs region.kind = \"opening\"")
        if float(rep.get("weight", 0)) <= 0 or set(rep) - {"weight"}:
            raise UserError(f"{where}: expert {name!r}: repertoire must be {{ weight = W }}, W > 0")
        if openings["kind"] != "book":
            raise UserError(f"{where}: expert {name!r}: repertoire needs an openings book")
        taxonomy["repertoire"] = rep
    known = {"name", "nominal_elo", "base", "noise", "openings", "description", *TAXONOMY_KEYS}
    extra = {k: v for k, v in raw.items() if k not in known}
    settings = {"nominal_elo": raw.get("nominal_elo"), "base": base, "noise": noise,
                "openings": openings, **taxonomy, **extra}
    return PlayerSpec(str(raw["name"]), "expert", settings)


def load_experts(path: str | os.PathLike[str]) -> ExpertPool:
    """Read an expert preset (TOML); a bare name means ``data/experts/<name>.toml``."""
    p, raw = read_toml(path, folder="data/experts", what="expert preset")
    experts = [check_expert(e, str(p)) for e in raw.get("expert", [])]
    if not experts:
        raise UserError(f"{p}: no [[expert]] entries")
    names = [e.name for e in experts]
    if len(set(names)) != len(names):
        raise UserError(f"{p}: expert names must be unique, got {names}")
    pool = raw.get("pool", {})
    return ExpertPool(pool.get("name", p.stem), tuple(experts), str(p), pool.get("description", ""))


def subset_pool(pool: ExpertPool, only: Sequence[str] | None = None,
                openings: Sequence[str] | None = None, weights: Sequence[float] | None = None,
                name: str | None = None) -> ExpertPool:
    """Some experts of ``pool`` (``only``), optionally with every book replaced by ``openings``."""
    experts = [e for e in pool.experts if only is None or e.name in only]
    if only is not None and len(experts) != len(set(only)):
        missing = set(only) - {e.name for e in experts}
        raise UserError(f"expert preset {pool.name}: no experts named {sorted(missing)}")
    if openings is not None:
        book: dict[str, Any] = {"kind": "book", "lines": list(openings)}
        if weights is not None:
            book["weights"] = list(weights)
        experts = [check_expert({"name": e.name, **{k: v for k, v in e.settings.items()
                                                     if k != "openings" and v is not None},
                                  "openings": book}, f"{pool.name} with new openings")
                   for e in experts]
    return replace(pool, name=name or pool.name, experts=tuple(experts))
