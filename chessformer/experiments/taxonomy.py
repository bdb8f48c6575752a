"""``chessformer experiment``: the taxonomy's experiments on simulated experts, one command each.

    chessformer experiment diversity --size small --out runs/experiments/diversity-small
    chessformer experiment selection                 # full size, into runs/experiments/selection
    chessformer experiment evals/experiments/generalization.toml --size tiny --out /tmp/gen

An experiment (TOML in ``evals/experiments/``) names one or more *arms*, each a training set of
expert games (an expert preset, optionally some of its experts and other opening lines), one
training preset, one evaluation grid and a held-out *probe* set of positions. For every arm:
generate the games -> ingest them (with boards) -> train a model -> play it at several
temperatures against the experts and their explicit ensemble (the same grid for every model).
The games without a model (experts and ensemble against each other and the random mover) are
played once. Then ``OUT/report/`` (:func:`chessformer.report.report.write_report`: every model, expert,
ensemble and rung rated in one joint fit) and ``OUT/experiment.md`` / ``experiment.json``:

* ratings of each model's temperatures, the experts and the ensemble, with 95% intervals, and
  bootstrap differences (each model's best temperature minus the ensemble; arm against arm);
* the move entropy of each arm's training data over common positions (positions, by FEN without
  move counters, seen at least ``min_count`` times; the mean entropy of their move distribution):
  the paper's diversity measure;
* the per-move view on held-out positions, counts with Wilson 95% intervals: each model's argmax
  against Stockfish's depth-1 move, and against the experts' and the ensemble's expected
  agreement; then per kind of experiment:
  ``diversity``: the positions where the focus expert is blind to Stockfish's move, and whether a
  model copies the expert actually playing (its most likely move) or the pool's plurality move
  where the two differ (identifying the expert removes the averaging);
  ``selection``: the same inside each expert's region;
  ``generalization``: positions of games opened from the held-out lines.

Sizes: ``full`` is the TOML's top level; ``[size.small]`` / ``[size.tiny]`` override it (``games``
sets every arm's game count; other tables merge key by key, arrays replace). Every stage is
skipped when its output exists (the evaluation resumes game by game), so an interrupted run goes
on where it stopped; delete ``OUT`` to start again.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import chess
import chess.pgn
import numpy as np

from chessformer.rating.bootstrap import N_BOOT
from chessformer.report.document import md_table
from chessformer.utils import (
    UserError,
    log,
    progress,
    read_toml,
    write_json_atomic,
    write_text_atomic,
)

__all__ = ["Arm", "EntropyStats", "Experiment", "load_experiment", "move_entropy",
           "run_experiment", "wilson"]


KINDS = ("diversity", "selection", "generalization")
SIZES = ("tiny", "small", "full")


# ---------------------------------------------------------------------------------------------
# Description
# ---------------------------------------------------------------------------------------------

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
    entropy: dict[str, Any] = field(default_factory=lambda: {"min_count": 5})
    cap: int = 1000
    max_plies: int = 400
    seed: int = 0
    workers: int | None = None
    description: str = ""
    source: str = ""


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """Tables merge key by key; everything else (arrays included) is replaced."""
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, Mapping) and isinstance(out.get(k), dict) else v
    return out


def load_experiment(path: str | Path, size: str = "full") -> Experiment:
    """Read an experiment TOML (a bare name means ``evals/experiments/<name>.toml``)."""
    p, raw = read_toml(path, folder="evals/experiments", what="experiment")
    if size not in SIZES:
        raise UserError(f"--size must be one of {', '.join(SIZES)}, not {size!r}")
    sizes = raw.pop("size", {})
    if size != "full":
        if size not in sizes:
            raise UserError(f"{p}: no [size.{size}] table")
        over = dict(sizes[size])
        games = over.pop("games", None)
        if {"minutes", "max_steps"} & set(over.get("train", {})):  # the size's budget replaces the top's
            raw["train"] = {k: v for k, v in raw.get("train", {}).items()
                            if k not in ("minutes", "max_steps")}
        raw = _merge(raw, over)
        if games is not None:
            raw["arm"] = [{**a, "games": games} for a in raw.get("arm", [])]
    known = {"name", "kind", "description", "arm", "train", "eval", "probe", "entropy", "cap",
             "max_plies", "seed", "workers"}
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
    exp = Experiment(str(raw.get("name", p.stem)), kind, size, arms, train, ev, probe,
                     {"min_count": 5, **raw.get("entropy", {})}, int(raw.get("cap", 1000)),
                     int(raw.get("max_plies", 400)), int(raw.get("seed", 0)), raw.get("workers"),
                     str(raw.get("description", "")), str(p))
    if kind == "diversity" and probe.get("games") and "focus" not in probe:
        raise UserError(f"{p}: a diversity experiment's [probe] needs focus = EXPERT NAME")
    return exp


# ---------------------------------------------------------------------------------------------
# Pure measures
# ---------------------------------------------------------------------------------------------

def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion ``k / n`` (``(nan, nan)`` when n = 0)."""
    if n <= 0:
        return math.nan, math.nan
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return max(0.0, c - h), min(1.0, c + h)


@dataclass(frozen=True)
class EntropyStats:
    """Move entropy (bits) over the positions seen at least ``min_count`` times."""

    min_count: int
    games: int
    positions: int  # distinct common positions
    visits: int  # moves played from them
    mean_bits: float  # mean over positions of the entropy of the move distribution there
    weighted_bits: float  # the same, weighted by visits

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def position_key(board: chess.Board) -> str:
    """FEN without the move counters (en passant only when a capture is legal)."""
    return board.epd()


def move_entropy(games: Iterable[Sequence[str]], min_count: int = 5,
                 max_plies: int | None = None) -> EntropyStats:
    """The paper's diversity measure: over positions (:func:`position_key`) reached at least
    ``min_count`` times, the mean Shannon entropy (bits) of the empirical next-move distribution."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    n_games = 0
    for moves in games:
        n_games += 1
        board = chess.Board()
        for uci in moves[:max_plies]:
            counts[position_key(board)][uci] += 1
            board.push_uci(uci)
    ents, weights = [], []
    for c in counts.values():
        n = sum(c.values())
        if n >= min_count:
            p = np.array(list(c.values()), dtype=float) / n
            ents.append(float(-(p * np.log2(p)).sum()))
            weights.append(n)
    if not ents:
        return EntropyStats(min_count, n_games, 0, 0, math.nan, math.nan)
    return EntropyStats(min_count, n_games, len(ents), int(sum(weights)), float(np.mean(ents)),
                        float(np.average(ents, weights=weights)))


# ---------------------------------------------------------------------------------------------
# The model's argmax on given games
# ---------------------------------------------------------------------------------------------

# ---------------------------------------------------------------------------------------------
# Held-out positions: Stockfish's move and every expert's distribution
# ---------------------------------------------------------------------------------------------

@dataclass
class Position:
    game: int
    ply: int
    mover: str  # the expert who played the move in the held-out game
    played: str
    sf: str  # Stockfish depth-1 move
    dists: dict[str, dict[str, float]]  # expert -> distribution
    inside: dict[str, bool]  # expert -> position inside its region
    hidden_sf: dict[str, bool]  # expert -> Stockfish's move is in its blind spot
    plurality: str  # the ensemble's moves
    mean: str


def read_pgn_games(path: Path) -> list[tuple[dict[str, str], list[str]]]:
    out = []
    with open(path, encoding="utf-8") as f:
        while (g := chess.pgn.read_game(f)) is not None:
            out.append((dict(g.headers), [m.uci() for m in g.mainline_moves()]))
    return out


def probe_positions(games: Sequence[tuple[dict[str, str], list[str]]], pool, max_plies: int,
                    stockfish: str | None = None, min_ply: int = 0) -> list[Position]:
    """Every position of ``games`` at plies ``min_ply .. max_plies - 1`` with what each expert of
    ``pool`` would play there (exact distributions) and Stockfish's depth-1 move."""
    from chessformer.play.engine import Limit
    from chessformer.play.ensemble import combine_distributions
    from chessformer.play.experts import Expert
    from chessformer.play.players import EnginePool

    out: list[Position] = []
    rng = np.random.default_rng(0)
    with EnginePool(stockfish) as engines:
        experts = {e.name: Expert(e, engines) for e in pool.experts}
        sf = engines.get({})
        bar = progress(total=len(games), desc="probe positions", unit="game")
        for gi, (headers, moves) in enumerate(games):
            board = chess.Board()
            for t, uci in enumerate(moves[:max_plies]):
                if t >= min_ply and not board.is_game_over():
                    best = sf.bestmove(moves[:t], Limit(depth=1))
                    assert best is not None
                    mv = chess.Move.from_uci(best)
                    dists = {n: e.move_distribution(board, moves[:t]) for n, e in experts.items()}
                    out.append(Position(
                        gi, t, headers["White" if t % 2 == 0 else "Black"], uci, best, dists,
                        {n: e.region.contains(board, moves[:t]) for n, e in experts.items()},
                        {n: e.blind_spot.hides(board, mv) for n, e in experts.items()},
                        combine_distributions(list(dists.values()), "plurality", rng),
                        combine_distributions(list(dists.values()), "mean", rng)))
                board.push_uci(uci)
            bar.update(1)
        bar.close()
    return out


def _mode(d: Mapping[str, float]) -> str:
    top = max(d.values())
    return min(m for m, p in d.items() if p >= top - 1e-12)


def _rate(k: int, n: int) -> dict[str, Any]:
    lo, hi = wilson(k, n)
    return {"k": k, "n": n, "rate": k / n if n else math.nan, "lo": lo, "hi": hi}


def agreement_rows(positions: Sequence[Position], argmax: Mapping[str, Mapping[tuple[int, int], str]],
                   experts: Sequence[str]) -> dict[str, Any]:
    """How often each model's argmax, the ensemble and (in expectation) each expert play
    Stockfish's move over ``positions``."""
    n = len(positions)
    models = {arm: _rate(sum(am.get((p.game, p.ply)) == p.sf for p in positions), n)
              for arm, am in argmax.items()}
    return {
        "positions": n, "models": models,
        "ensemble_plurality": _rate(sum(p.plurality == p.sf for p in positions), n),
        "ensemble_mean": _rate(sum(p.mean == p.sf for p in positions), n),
        "experts_expected": {e: (float(np.mean([p.dists[e].get(p.sf, 0.0) for p in positions]))
                                 if n else math.nan) for e in experts},
    }


def identification(positions: Sequence[Position], argmax: Mapping[str, Mapping[tuple[int, int], str]]
                   ) -> dict[str, Any]:
    """Where the expert who played differs from the pool's plurality move: does each model copy
    the acting expert's most likely move or the plurality move?"""
    sel = [p for p in positions if p.mover in p.dists and _mode(p.dists[p.mover]) != p.plurality]
    out: dict[str, Any] = {"positions": len(sel), "models": {}}
    for arm, am in argmax.items():
        got = [am.get((p.game, p.ply)) for p in sel]
        out["models"][arm] = {
            "acting_expert": _rate(sum(g == _mode(p.dists[p.mover]) for g, p in zip(got, sel)), len(sel)),
            "plurality": _rate(sum(g == p.plurality for g, p in zip(got, sel)), len(sel)),
        }
    return out


# ---------------------------------------------------------------------------------------------
# Running
# ---------------------------------------------------------------------------------------------

class Stages:
    """Times the stages run now (``experiment.json``'s ``seconds``)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextlib.contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        t0 = time.perf_counter()
        yield
        self.seconds[name] = round(self.seconds.get(name, 0.0) + time.perf_counter() - t0, 1)


def eval_grids(exp: Experiment, workers: int | None):
    """The model grid and (when the experiment lists matches) the model-free grid, built from the
    experiment's ``[eval]`` table; first, so that a bad grid fails before hours of work."""
    from chessformer.play.grid import grid_from_table

    ev = dict(exp.eval)
    openings = list(ev.pop("openings", None) or [])
    ev.setdefault("seed", exp.seed)
    if workers:
        ev["workers"] = workers
    matches = ev.pop("match", [])
    where = f"{exp.source} [eval]"
    model_grid = grid_from_table({"name": exp.name, **ev, "openings": openings}, where)
    match_grid = None
    if matches:
        mg = {k: v for k, v in ev.items() if k != "opponent"}
        match_grid = grid_from_table({"name": f"{exp.name}-matches", **mg, "match": matches,
                                      "openings": openings}, where)
    return model_grid, match_grid, openings


def _arm_pool(arm: Arm):
    from chessformer.play.presets import load_experts, subset_pool

    return subset_pool(load_experts(arm.experts), arm.only, arm.openings, name=f"{arm.experts}:{arm.name}")


def _dataset_games(path: Path, max_games: int) -> list[list[str]]:
    from chessformer.core.tokenizer import detokenize
    from chessformer.data.dataset import GameDataset

    ds = GameDataset.open(path)
    idx = ds.split_indices("train")[:max_games]
    return [detokenize(ds.game_tokens(int(i))) for i in idx]


def prepare_arm(exp: Experiment, arm: Arm, out: Path, stage: Stages, *,
                stockfish: str | None, workers: int | None) -> dict[str, Any]:
    """Generate, ingest and train one arm (each step skipped when its output exists)."""
    from chessformer.data.ingest import ingest
    from chessformer.formats import dataset as dataset_format
    from chessformer.formats import run as run_format
    from chessformer.play.generate import generate
    from chessformer.training.train import train

    pool = _arm_pool(arm)
    pgn = out / "data" / f"{arm.name}.pgn"
    if not pgn.with_suffix(".pgn.json").exists() or not pgn.exists():
        with stage(f"generate {arm.name}"):
            generate(pool, arm.games, pgn, seed=exp.seed, workers=workers,
                     max_plies=exp.max_plies, stockfish=stockfish)
    ds = out / "datasets" / arm.name
    if not dataset_format.manifest_path(ds).exists():
        with stage(f"ingest {arm.name}"):
            ingest([str(pgn)], ds, elo_cap=exp.cap, boards=True, overwrite=True,
                   workers=min(2, workers or 2))
    run = out / "runs" / arm.name
    if not run_format.is_finished(run):
        opts = {k: v for k, v in exp.train.items() if k != "preset"}
        opts.setdefault("seed", exp.seed)
        with stage(f"train {arm.name}"):
            train(ds, run, exp.train["preset"], **opts)
    return {"pool": pool, "pgn": pgn, "dataset": ds, "run": run}


def play_evaluations(exp: Experiment, arms: Mapping[str, Mapping[str, Any]], model_grid,
                     match_grid, out: Path, stage: Stages, *, stockfish: str | None) -> list[Path]:
    """Every arm's model against the grid, then the model-free matches; the folders to rate."""
    from chessformer.formats import games as games_format
    from chessformer.play.arena import run_eval

    command = f"chessformer experiment {exp.source} --size {exp.size} --out {out}"
    folders = []
    for name, a in arms.items():
        with stage(f"eval {name}"):
            run_eval(model_grid, a["run"], games_format.default_eval_dir(a["run"], exp.name),
                     label=name, stockfish=stockfish, command=command)
        folders.append(a["run"])
    if match_grid is not None:
        with stage("eval matches"):
            run_eval(match_grid, None, out / "matches", stockfish=stockfish, command=command)
        folders.append(out / "matches")
    return folders


def arm_entropy(exp: Experiment, arms: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The move entropy of each arm's training data."""
    ent = exp.entropy
    return {name: move_entropy(_dataset_games(a["dataset"], int(ent.get("max_games", 5000))),
                               int(ent["min_count"]), ent.get("max_plies")).to_json()
            for name, a in arms.items()}


def run_probe(exp: Experiment, arms: Mapping[str, Mapping[str, Any]], out: Path, stage: Stages,
              *, stockfish: str | None, workers: int | None) -> dict[str, Any]:
    """The per-move view on held-out positions (empty when the experiment has no probe)."""
    from chessformer.model.inference import argmax_moves
    from chessformer.model.transformer import load_model
    from chessformer.play.generate import generate
    from chessformer.play.presets import load_experts, subset_pool

    pr = exp.probe
    if int(pr.get("games", 0)) <= 0:
        return {}
    base = load_experts(pr.get("experts", exp.arms[-1].experts))
    game_pool = subset_pool(base, pr.get("only"), pr.get("openings"), name=f"{base.name}:probe")
    probe_pool = subset_pool(base, pr.get("only"))  # the experts as they are, for their laws
    ppgn = out / "probe" / "heldout.pgn"
    max_plies = int(pr.get("max_plies", 200))
    seed = int(pr.get("seed", exp.seed + 1000))
    if not ppgn.with_suffix(".pgn.json").exists() or not ppgn.exists():
        with stage("generate probe"):
            generate(game_pool, int(pr["games"]), ppgn, seed=seed, workers=workers,
                     max_plies=max_plies, stockfish=stockfish)
    games = read_pgn_games(ppgn)
    min_ply = int(pr.get("min_ply", 0))
    with stage("probe experts"):
        positions = probe_positions(games, probe_pool, max_plies, stockfish, min_ply)
    argmax: dict[str, dict[tuple[int, int], str]] = {}
    with stage("probe models"):
        for name, a in arms.items():
            am = argmax_moves(load_model(a["run"]), [m for _, m in games], max_plies)
            argmax[name] = {(g, t): mv for g, row in enumerate(am) for t, mv in enumerate(row)}
    names = [e.name for e in probe_pool.experts]
    probe = {"games": len(games), "max_plies": max_plies, "min_ply": min_ply,
             "openings": pr.get("openings"), "seed": seed,
             "all": agreement_rows(positions, argmax, names),
             "identification": identification(positions, argmax)}
    if exp.kind == "diversity":
        focus = str(pr["focus"])
        if focus not in names:
            raise UserError(f"{exp.source}: probe.focus {focus!r} is not an expert of {base.name}")
        probe["focus"] = focus
        probe["blind"] = agreement_rows([p for p in positions if p.hidden_sf[focus]], argmax,
                                        names)
    elif exp.kind == "selection":
        probe["regions"] = {e: agreement_rows([p for p in positions if p.inside[e]], argmax, names)
                            for e in names}
    return probe


def run_experiment(exp: Experiment, out: str | Path, *, stockfish: str | None = None,
                   workers: int | None = None, n_boot: int = N_BOOT) -> dict[str, Any]:
    """Run (or resume) every stage of ``exp`` into ``out``; returns what experiment.json holds."""
    from chessformer.report.report import write_report

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    workers = workers or exp.workers
    stage = Stages()
    log.info("experiment %s (%s, size %s) -> %s", exp.name, exp.kind, exp.size, out)
    model_grid, match_grid, eval_openings = eval_grids(exp, workers)
    arms = {arm.name: prepare_arm(exp, arm, out, stage, stockfish=stockfish, workers=workers)
            for arm in exp.arms}
    folders = play_evaluations(exp, arms, model_grid, match_grid, out, stage,
                               stockfish=stockfish)
    with stage("report and ratings"):
        report = write_report(folders, out / "report", n_boot=n_boot, seed=exp.seed,
                              title=f"Experiment {exp.name} ({exp.kind}, size {exp.size})")
        ratings = experiment_ratings(report["rated"])
    with stage("entropy"):
        entropy = arm_entropy(exp, arms)
    probe = run_probe(exp, arms, out, stage, stockfish=stockfish, workers=workers)
    result = {"experiment": exp.name, "kind": exp.kind, "size": exp.size, "source": exp.source,
              "description": exp.description,
              "arms": {arm.name: {"experts": arms[arm.name]["pool"].name, "games": arm.games,
                                  "pgn": str(arms[arm.name]["pgn"]),
                                  "dataset": str(arms[arm.name]["dataset"]),
                                  "run": str(arms[arm.name]["run"])} for arm in exp.arms},
              "train": exp.train, "eval_openings": eval_openings or None, "ratings": ratings,
              "entropy": entropy, "probe": probe,
              "report": {"md": str(report["md"]), "html": str(report["html"]),
                         "verdicts": [v["text"] for v in report["verdicts"]]},
              "seconds": stage.seconds}
    write_json_atomic(out / "experiment.json", result)
    write_text_atomic(out / "experiment.md", experiment_markdown(result))
    log.info("wrote %s and %s", out / "experiment.md", out / "report" / "report.html")
    return result


def experiment_ratings(rated) -> dict[str, Any]:
    """Ratings and differences on the report's scale (its games, anchors and resamples)."""
    bf, players = rated.bf, rated.players
    ratings = rated.ratings

    def row(p: str) -> dict[str, Any]:
        r = ratings[p]
        return {"player": p, "kind": players.get(p, {}).get("kind"), "elo": r.elo, "lo": r.lo, "hi": r.hi}

    models: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for p, s in players.items():
        if s.get("kind") == "model" and p in ratings:
            models[str(s.get("label"))].append({**row(p), "temperature": float(s["temperature"])})
    for rows in models.values():
        rows.sort(key=lambda r: r["temperature"])
    others = [row(p) for p, s in players.items() if s.get("kind") in ("expert", "ensemble") and p in ratings]
    ensembles = [r["player"] for r in others if r["kind"] == "ensemble"]
    diffs = []
    best = {m: max(rows, key=lambda r: r["elo"]) for m, rows in models.items()}
    for m, b in best.items():
        for e in ensembles:
            d = bf.difference(b["player"], e)
            diffs.append({"a": b["player"], "b": e, "diff": d.diff, "lo": d.lo, "hi": d.hi})
    labels = list(models)
    for i, m1 in enumerate(labels):
        for m2 in labels[i + 1:]:
            for r1 in models[m1]:
                r2 = next((r for r in models[m2] if r["temperature"] == r1["temperature"]), None)
                if r2 is not None:
                    d = bf.difference(r1["player"], r2["player"])
                    diffs.append({"a": r1["player"], "b": r2["player"], "diff": d.diff, "lo": d.lo,
                                  "hi": d.hi})
    return {"anchors": rated.choice.anchors, "anchor_source": rated.choice.source,
            "games": len(rated.res.games), "models": dict(models),
            "others": sorted(others, key=lambda r: -r["elo"]), "differences": diffs,
            "n_boot": rated.n_boot}


# ---------------------------------------------------------------------------------------------
# experiment.md (pure: the result dict in, Markdown out)
# ---------------------------------------------------------------------------------------------

def _pct(r: Mapping[str, Any]) -> str:
    if not r["n"]:
        return "n/a (0 positions)"
    return f"{100 * r['rate']:.1f}% ({r['k']}/{r['n']}) [{100 * r['lo']:.1f}, {100 * r['hi']:.1f}]"


def _agreement_md(block: Mapping[str, Any], what: str) -> list[str]:
    rows = [[f"model {arm}", _pct(r)] for arm, r in block["models"].items()]
    rows.append(["ensemble (plurality)", _pct(block["ensemble_plurality"])])
    rows.append(["ensemble (mean)", _pct(block["ensemble_mean"])])
    rows += [[f"expert {e} (expected)", "n/a" if math.isnan(v) else f"{100 * v:.1f}%"]
             for e, v in block["experts_expected"].items()]
    return [f"{what}: {block['positions']} positions.", ""] + md_table(
        ["player", "plays Stockfish's depth-1 move: % (k/n) [95% CI]"], rows)


def experiment_markdown(r: Mapping[str, Any]) -> str:
    md = [f"# Experiment {r['experiment']} ({r['kind']}, size {r['size']})", ""]
    if r.get("description"):
        md += [r["description"], ""]
    md += ["Arms (one model each; same training preset and evaluation grid):", ""]
    md += md_table(["arm", "experts", "games", "dataset"],
                 [[n, a["experts"], str(a["games"]), a["dataset"]] for n, a in r["arms"].items()])
    md += [f"Training: {json.dumps(r['train'])}. Full report (joint ratings, W/D/L, plots): "
           f"{r['report']['md']}.", ""]
    if r.get("eval_openings"):
        md += ["Evaluation games open with: " + "; ".join(r["eval_openings"]) + ".", ""]
    # Ratings
    rt = r["ratings"]
    md += ["## Ratings (one scale)", "",
           f"{rt['games']} games rated jointly; anchors: {rt['anchor_source']} "
           f"({json.dumps(rt['anchors'])}); 95% bootstrap intervals ({rt['n_boot']} resamples).", ""]
    rows = [[f"{m} T={x['temperature']:g}", f"{x['elo']:.0f}", f"[{x['lo']:.0f}, {x['hi']:.0f}]"]
            for m, xs in rt["models"].items() for x in xs]
    rows += [[f"{x['player']} ({x['kind']})", f"{x['elo']:.0f}", f"[{x['lo']:.0f}, {x['hi']:.0f}]"]
             for x in rt["others"]]
    md += md_table(["player", "Elo", "95% CI"], rows)
    if rt["differences"]:
        md += ["Differences (same bootstrap resamples; the best temperature is picked after the "
               "fact, which favours the model):", ""]
        md += md_table(["a", "b", "a - b", "95% CI"],
                     [[d["a"], d["b"], f"{d['diff']:+.0f}", f"[{d['lo']:+.0f}, {d['hi']:+.0f}]"]
                      for d in rt["differences"]])
    md += ["Report verdicts (best temperature against the best expert): "
           + "; ".join(r["report"]["verdicts"]) + ".", ""]
    # Entropy
    md += ["## Diversity of the training data", "",
           "Move entropy over common positions (FEN without move counters, seen at least "
           f"{next(iter(r['entropy'].values()))['min_count']} times in the training games): the "
           "mean over those positions of the entropy (bits) of the moves played there, and the "
           "same weighted by visits.", ""]
    md += md_table(["arm", "games read", "common positions", "moves from them", "mean entropy (bits)",
                  "visit-weighted (bits)"],
                 [[n, str(e["games"]), str(e["positions"]), str(e["visits"]), f"{e['mean_bits']:.3f}",
                   f"{e['weighted_bits']:.3f}"] for n, e in r["entropy"].items()])
    # Probe
    p = r.get("probe") or {}
    if p:
        md += ["## Per move, on held-out positions", "",
               f"{p['games']} held-out games (seed {p['seed']}) between the experts"
               + (f", opened with {'; '.join(p['openings'])}" if p.get("openings") else "")
               + f"; positions at plies {p['min_ply']}..{p['max_plies'] - 1} (and within each "
               "model's context). A model's move is its argmax over legal moves given the game so "
               "far; an expert's is its expected agreement (the probability it gives Stockfish's "
               "move); 95% Wilson intervals.", ""]
        md += _agreement_md(p["all"], "All held-out positions")
        if r["kind"] == "diversity":
            md += [f"### Positions where {p['focus']} is blind to Stockfish's move", ""]
            md += _agreement_md(p["blind"], f"Stockfish's move lands in {p['focus']}'s blind spot")
        if r["kind"] == "selection":
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
        md += md_table(["model", "= acting expert's move", "= plurality move"],
                     [[arm, _pct(x["acting_expert"]), _pct(x["plurality"])]
                      for arm, x in idf["models"].items()])
    md += ["## Finding", ""] + finding_lines(r)
    if r.get("seconds"):
        md += ["Time of the stages run now (s): "
               + ", ".join(f"{k} {v:g}" for k, v in r["seconds"].items()) + ".", ""]
    return "\n".join(md) + "\n"


def finding_lines(r: Mapping[str, Any]) -> list[str]:
    """Plain sentences stating what the numbers say, whichever way they come out."""
    out = []
    for d in r["ratings"]["differences"]:
        sign = ("above" if d["lo"] > 0 else "below" if d["hi"] < 0 else "not distinguishable from")
        out.append(f"- {d['a']} is {sign} {d['b']}: {d['diff']:+.0f} Elo, 95% CI "
                   f"[{d['lo']:+.0f}, {d['hi']:+.0f}].")
    p = r.get("probe") or {}
    blocks = []
    if r["kind"] == "diversity" and p.get("blind"):
        blocks.append((f"on {p['focus']}'s blind positions", p["blind"]))
    if p.get("all"):
        blocks.append(("on all held-out positions", p["all"]))
    for where, b in blocks:
        arms = list(b["models"].items())
        for i, (a1, x1) in enumerate(arms):
            for a2, x2 in arms[i + 1:]:
                if not (x1["n"] and x2["n"]):
                    continue
                sep = ("separated" if x1["lo"] > x2["hi"] or x2["lo"] > x1["hi"]
                       else "overlapping")
                out.append(f"- Stockfish's move {where}: model {a1} {_pct(x1)} vs model {a2} "
                           f"{_pct(x2)} ({sep} intervals).")
    for arm, x in (p.get("identification") or {}).get("models", {}).items():
        a, pl = x["acting_expert"], x["plurality"]
        if a["n"]:
            which = ("copies the acting expert more often than the plurality"
                     if a["lo"] > pl["hi"] else
                     "follows the plurality more often than the acting expert"
                     if pl["lo"] > a["hi"] else "does not clearly favour either")
            out.append(f"- Model {arm} {which} where they differ ({_pct(a)} vs {_pct(pl)}).")
    return out + [""] if out else ["- (no comparisons at this size)", ""]


# ---------------------------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------------------------
