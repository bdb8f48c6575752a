"""``chessformer experiment``: the taxonomy's experiments on simulated experts, one command each.

    chessformer experiment diversity --size small --out runs/experiments/diversity-small
    chessformer experiment selection                 # full size, into runs/experiments/selection
    chessformer experiment evals/experiments/generalization.toml --size tiny --out /tmp/gen

An experiment (:mod:`chessformer.experiments.spec`, TOML in ``evals/experiments/``) names arms
(training sets of expert games), training seeds per arm, a training preset, an evaluation grid,
the verdict temperature fixed in advance and a held-out probe. For every arm: generate the games ->
ingest them (with boards) -> train one model per seed -> play each against the experts and their
explicit ensemble at several temperatures (the same grid for every model). The games without a
model (experts and ensemble against each other and the random mover) are played once. Then
``OUT/report/`` (:func:`chessformer.report.report.write_report`: every model, expert, ensemble and
rung rated in one joint fit, verdicts at the fixed temperature) and ``OUT/experiment.md`` /
``experiment.json`` (:mod:`chessformer.experiments.markdown`):

* ratings by arm (the mean over its seeds) with intervals over games and seeds, and differences:
  each arm at the fixed temperature against the ensemble, arm against arm
  (:mod:`chessformer.experiments.arms`);
* the move entropy of each arm's training data (:mod:`chessformer.experiments.entropy`);
* the per-move view on held-out positions (:mod:`chessformer.experiments.probe`): each arm's
  argmax against Stockfish's depth-1 move, the experts' and the ensemble's expected agreement,
  intervals clustered by game and paired between arms, and the overlap of the probe positions
  with each arm's training positions; then per kind of experiment:
  ``diversity``: the positions where the focus expert is blind to Stockfish's move, and whether a
  model copies the expert actually playing (its most likely move) or the pool's plurality move
  where the two differ (identifying the expert removes the averaging);
  ``selection``: the same inside each expert's region;
  ``generalization``: positions of games opened from the held-out lines.

Every stage is skipped when its output exists (the evaluation resumes game by game), so an
interrupted run goes on where it stopped; delete ``OUT`` to start again.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from chessformer.experiments.arms import experiment_ratings
from chessformer.experiments.entropy import move_entropy
from chessformer.experiments.markdown import experiment_markdown
from chessformer.experiments.probe import (
    agreement_rows,
    identification,
    probe_positions,
    read_pgn_games,
    training_keys,
    training_overlap,
)
from chessformer.experiments.spec import Arm, Experiment
from chessformer.formats import experiment as experiment_format
from chessformer.formats import generated as generated_format
from chessformer.rating.bootstrap import N_BOOT
from chessformer.utils import UserError, log

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
    ev.setdefault("verdict_temperature", exp.verdict_temperature)  # recorded in eval.json
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


def _dataset_games(path: Path, max_games: int | None) -> list[list[str]]:
    """The moves of (at most ``max_games`` of) a dataset's training games."""
    from chessformer.core.tokenizer import detokenize
    from chessformer.data.dataset import GameDataset

    ds = GameDataset.open(path)
    idx = ds.split_indices("train")[:max_games]
    return [detokenize(ds.game_tokens(int(i))) for i in idx]


def model_label(arm: Arm, k: int) -> str:
    """The label (and run folder name) of an arm's model of the ``k``-th training seed."""
    return f"{arm.name}-s{k}"


def experiment_command(exp: Experiment, out: Path) -> str:
    """The command every stage of an experiment records as its own (run.json, eval.json)."""
    return f"chessformer experiment {exp.source} --size {exp.size} --out {out}"


def prepare_arm(exp: Experiment, arm: Arm, out: Path, stage: Stages, *,
                stockfish: str | None, workers: int | None) -> dict[str, Any]:
    """Generate and ingest one arm's games, train one model per seed (each step skipped when its
    output exists)."""
    from chessformer.data.ingest import ingest
    from chessformer.formats import dataset as dataset_format
    from chessformer.formats import run as run_format
    from chessformer.play.generate import generate
    from chessformer.training.train import train

    pool = _arm_pool(arm)
    pgn = out / "data" / f"{arm.name}.pgn"
    if not generated_format.is_complete(pgn):
        with stage(f"generate {arm.name}"):
            generate(pool, arm.games, pgn, seed=exp.seed, workers=workers,
                     max_plies=exp.max_plies, stockfish=stockfish)
    ds = out / "datasets" / arm.name
    if not dataset_format.manifest_path(ds).exists():
        with stage(f"ingest {arm.name}"):
            ingest([str(pgn)], ds, elo_cap=exp.cap, boards=True, overwrite=True,
                   workers=min(2, workers or 2), command=experiment_command(exp, out))
    runs = {}
    for k, seed in enumerate(exp.train_seeds()):
        label = model_label(arm, k)
        run = out / "runs" / label
        if not run_format.is_finished(run):
            opts = {key: v for key, v in exp.train.items() if key != "preset"}
            with stage(f"train {label}"):
                train(ds, run, exp.train["preset"], command=experiment_command(exp, out),
                      **{**opts, "seed": seed})
        runs[label] = run
    return {"pool": pool, "pgn": pgn, "dataset": ds, "runs": runs, "seeds": exp.train_seeds()}


def play_evaluations(exp: Experiment, arms: Mapping[str, Mapping[str, Any]], model_grid,
                     match_grid, out: Path, stage: Stages, *, stockfish: str | None) -> list[Path]:
    """Every model against the grid, then the model-free matches; the folders to rate."""
    from chessformer.formats import games as games_format
    from chessformer.play.arena import run_eval

    command = experiment_command(exp, out)
    folders = []
    for a in arms.values():
        for label, run in a["runs"].items():
            with stage(f"eval {label}"):
                run_eval(model_grid, run, games_format.default_eval_dir(run, exp.name),
                         label=label, stockfish=stockfish, command=command)
            folders.append(run)
    if match_grid is not None:
        with stage("eval matches"):
            run_eval(match_grid, None, out / "matches", stockfish=stockfish, command=command)
        folders.append(out / "matches")
    return folders


def arm_entropy(exp: Experiment, arms: Mapping[str, Mapping[str, Any]],
                ) -> dict[str, experiment_format.EntropyStats]:
    """The move entropy of each arm's training data."""
    ent = exp.entropy
    return {name: move_entropy(_dataset_games(a["dataset"], int(ent.get("max_games", 5000))),
                               int(ent["min_count"]), ent.get("max_plies"))
            for name, a in arms.items()}


def run_probe(exp: Experiment, arms: Mapping[str, Mapping[str, Any]], out: Path, stage: Stages,
              *, stockfish: str | None, workers: int | None) -> dict[str, Any]:
    """The per-move view on held-out positions (empty when the experiment has no probe)."""
    from chessformer.model.checkpoint import load_model
    from chessformer.model.inference import argmax_moves
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
    if not generated_format.is_complete(ppgn):
        with stage("generate probe"):
            generate(game_pool, int(pr["games"]), ppgn, seed=seed, workers=workers,
                     max_plies=max_plies, stockfish=stockfish)
    games = read_pgn_games(ppgn)
    min_ply = int(pr.get("min_ply", 0))
    with stage("probe experts"):
        positions = probe_positions(games, probe_pool, max_plies, stockfish, min_ply)
    argmax: dict[str, list[dict[tuple[int, int], str]]] = {}
    with stage("probe models"):
        for name, a in arms.items():
            argmax[name] = []
            for run in a["runs"].values():
                am = argmax_moves(load_model(run), [m for _, m in games], max_plies)
                argmax[name].append({(g, t): mv for g, row in enumerate(am)
                                     for t, mv in enumerate(row)})
    with stage("probe overlap"):
        keys = {name: training_keys(_dataset_games(a["dataset"], None), max_plies)
                for name, a in arms.items()}
    names = [e.name for e in probe_pool.experts]
    unseen = [p for p in positions if not any(p.key in k for k in keys.values())]
    probe = {"games": len(games), "max_plies": max_plies, "min_ply": min_ply,
             "openings": pr.get("openings"), "seed": seed,
             "overlap": {name: training_overlap(positions, k) for name, k in keys.items()},
             "all": agreement_rows(positions, argmax, names, seed=seed),
             "unseen": agreement_rows(unseen, argmax, names, seed=seed),
             "identification": identification(positions, argmax, seed=seed)}
    if exp.kind == "diversity":
        focus = str(pr["focus"])
        if focus not in names:
            raise UserError(f"{exp.source}: probe.focus {focus!r} is not an expert of {base.name}")
        probe["focus"] = focus
        probe["blind"] = agreement_rows([p for p in positions if p.hidden_sf[focus]], argmax,
                                        names, seed=seed)
    elif exp.kind == "selection":
        probe["regions"] = {e: agreement_rows([p for p in positions if p.inside[e]], argmax, names,
                                              seed=seed) for e in names}
    return probe


def run_experiment(exp: Experiment, out: str | Path, *, stockfish: str | None = None,
                   workers: int | None = None, n_boot: int = N_BOOT,
                   ) -> experiment_format.ExperimentResult:
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
                              title=f"Experiment {exp.name} ({exp.kind}, size {exp.size})",
                              verdict_temperature=exp.verdict_temperature)
        ratings = experiment_ratings(report["rated"], {n: list(a["runs"]) for n, a in arms.items()},
                                     exp.verdict_temperature, exp.seed)
    with stage("entropy"):
        entropy = arm_entropy(exp, arms)
    probe = run_probe(exp, arms, out, stage, stockfish=stockfish, workers=workers)
    verdicts = report["verdicts"]
    result = experiment_format.ExperimentResult(
        experiment=exp.name, kind=exp.kind, size=exp.size, source=exp.source,
        description=exp.description, verdict_temperature=exp.verdict_temperature,
        arms={arm.name: experiment_format.ArmInfo(
            experts=arms[arm.name]["pool"].name, games=arm.games, pgn=str(arms[arm.name]["pgn"]),
            dataset=str(arms[arm.name]["dataset"]), seeds=arms[arm.name]["seeds"],
            runs=[str(r) for r in arms[arm.name]["runs"].values()]) for arm in exp.arms},
        train=exp.train, eval_openings=eval_openings or None, ratings=ratings,
        entropy=entropy, probe=probe,
        report=experiment_format.ExperimentReport(
            md=str(report["md"]), html=str(report["html"]),
            verdicts=[f"{v.line}: {v.text}" for v in verdicts],
            exploratory=[f"{v.line}: {v.exploratory.text}" for v in verdicts if v.exploratory]),
        seconds=stage.seconds)
    experiment_format.write_experiment(out, result, experiment_markdown(result))
    log.info("wrote %s and %s", out / experiment_format.EXPERIMENT_MD, out / "report" / "report.html")
    return result
