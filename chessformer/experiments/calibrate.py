"""``chessformer calibrate``: rate a ladder of Stockfish settings and other opponents on one scale.

    chessformer calibrate          # evals/ladder.toml -> stockfish/ladder-<version>.json
    chessformer calibrate --games-per-pair 40 --workers 2
    chessformer calibrate --ladder my-ladder.toml --out /tmp/ladder.json --dry-run

The ladder (default ``evals/ladder.toml``) lists rungs weakest first: the uniform random mover,
experts that play a random move with probability epsilon (else Stockfish at depth 1: they bridge
random play to Stockfish's weakest Skill Level, which beats the random mover every game), Stockfish
at node-limited Skill Levels, and the transcendence paper's Skill Level 1/3/5 at 0.1 s a move,
held at the paper's ratings (1554, 1867, 2148). Each rung plays the ``span`` rungs after it (a chain
plus longer steps: well connected but cheap) and any extra ``[[pair]]`` listed; games between two
anchors are skipped, since they change nothing in an anchored fit. Every rung must be connected by
games to an anchor, or the ladder is refused before a game is played.

The games are played by the arena (:func:`chessformer.play.arena.run_eval`) in ``--workers`` shard
processes with one engine searching at a time each, so at most ``workers`` engines run at once
(keep it <= cores: 0.1 s rungs weaken when engines outnumber cores). They go to ``--work``
(default ``runs/calibrate/<version>-<plan hash>/``), appended as each game ends: a killed run,
started again with the same arguments, resumes where it stopped. One joint maximum-likelihood fit
(:func:`chessformer.rating.bootstrap.bootstrap`, 95% intervals by bootstrap over colour-swapped pairs) gives
every rung's rating. Written:

``stockfish/ladder-<version>.json``
    version, path, command, anchors, every rung (name exactly as the arena names the player,
    settings, Elo, interval, games, score), every pair's score, a leave-one-anchor-out check of
    the anchors, the fit with the middle anchor alone, and notes on the caveats;
``stockfish/ladder-<version>-games.jsonl``
    the games it was fitted on (arena records), kept beside it.

Evaluation (``eval-vs-stockfish``, ``rate --ladder auto``, ``report``) finds the ladder for the
Stockfish version it runs and holds every rung it plays at the rung's rating.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import sys
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from chessformer.core.games import DEFAULT_MAX_PLIES
from chessformer.formats import games as games_format
from chessformer.formats import ladder as ladder_format
from chessformer.formats.games import GameRecord
from chessformer.play.grid import ADJUDICATION_KINDS, DEFAULT_ADJUDICATION
from chessformer.play.players import PlayerSpec, parse_players
from chessformer.rating.bootstrap import N_BOOT, BootstrapFit, bootstrap
from chessformer.rating.bradley_terry import PRIOR, describe_prior
from chessformer.rating.collect import game_results
from chessformer.rating.counts import GameResult
from chessformer.rating.ladder_fit import (
    anchor_check,
    anchor_misfits,
    anchor_verdict,
    check_connected,
    misfit_words,
    pair_scores,
    single_anchor_fit,
)
from chessformer.utils import (
    UserError,
    log,
    mp_context,
    read_toml,
    sha256_file,
)

__all__ = ["Ladder", "Rung", "calibrate", "ladder_pairs", "load_ladder_toml", "plan_grid"]


DEFAULT_LADDER = "ladder"  # evals/ladder.toml among the shipped configs
#: Engines searching at once unless told otherwise (keep it at most the CPU cores).
DEFAULT_WORKERS = 2
#: Measured on Stockfish 15.1 games between ladder rungs (median 93-103 plies): for time estimates.
TYPICAL_PLIES = 95
#: Measured cost of a game with no time-limited player on the shared 2-core machine (seconds).
FAST_GAME_S = 0.4

ANCHOR_CAVEAT = (
    "The anchors are the transcendence paper's ratings of Stockfish Skill Level 1/3/5 at 0.1 s a "
    "move (1554, 1867, 2148; Zhang et al. 2024), measured with Stockfish 16.1. Skill Levels play "
    "differently between Stockfish versions, so on Stockfish {version} the anchors are an "
    "assumption, not a measurement: 'anchor_check' shows where each anchor lands when it is left "
    "out and the other anchors hold the scale. Movetime-limited engines weaken when more engines "
    "than cores search at once: this ladder ran {workers} engine(s) at a time on {cpus} core(s), "
    "and the machine was shared with other jobs (1-minute load average {load} while playing), "
    "so its 0.1 s rungs may be weaker than on an idle machine; node- and depth-limited rungs are "
    "unaffected by load. Stockfish below Skill Level 20 draws its "
    "weakening from a clock-seeded generator, so games do not replay move for move."
)


# ---------------------------------------------------------------------------------------------
# The ladder
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Rung:
    """A player on the ladder; ``anchor`` is its rating held fixed in the fit (None: fitted)."""

    spec: PlayerSpec
    anchor: float | None = None

    @property
    def name(self) -> str:
        return self.spec.name


@dataclass
class Ladder:
    """Rungs (weakest first) and which pairs of them play.

    Pairs: every rung against the ``span`` rungs after it, plus ``pairs`` (names); pairs of two
    anchors only when ``anchor_pairs`` (they do not move an anchored fit).
    """

    rungs: list[Rung]
    span: int = 2
    pairs: list[tuple[str, str]] = field(default_factory=list)
    anchor_pairs: bool = False
    games_per_pair: int = 40
    fast_games_per_pair: int | None = None  # pairs with no time-limited rung (None: as above)
    opening_plies: int = 4
    max_plies: int = DEFAULT_MAX_PLIES
    adjudication: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_ADJUDICATION))
    seed: int = 0
    batch_size: int = 8
    source: str = ""

    @property
    def anchors(self) -> dict[str, float]:
        return {r.name: float(r.anchor) for r in self.rungs if r.anchor is not None}


def load_ladder_toml(path: str | os.PathLike[str] = DEFAULT_LADDER) -> Ladder:
    """Read a ladder TOML (see ``evals/ladder.toml``); a bare name means ``evals/<name>.toml``."""
    p, raw = read_toml(path, folder="evals", what="ladder")
    ladder = Ladder(rungs=[], source=str(p))
    simple = {"span", "anchor_pairs", "games_per_pair", "fast_games_per_pair", "opening_plies",
              "max_plies",
              "adjudication", "seed", "batch_size"}
    for key, value in raw.items():
        if key in simple:
            setattr(ladder, key, value)
        elif key not in ("rung", "pair", "name", "description"):
            raise UserError(f"{p}: unknown ladder setting {key!r}")
    for i, r in enumerate(raw.get("rung", [])):
        where = f"{p}: rung {i + 1}"
        r = dict(r)
        anchor = r.pop("anchor", None)
        if anchor is not None and not isinstance(anchor, (int, float)):
            raise UserError(f"{where}: anchor must be a number (an Elo rating), got {anchor!r}")
        specs = parse_players(r, where)
        if anchor is not None and len(specs) != 1:
            raise UserError(f"{where}: an anchor needs a rung of exactly one player")
        ladder.rungs += [Rung(s, None if anchor is None else float(anchor)) for s in specs]
    for i, pr in enumerate(raw.get("pair", [])):
        players = pr.get("players", [])
        if len(players) != 2 or not all(isinstance(x, str) for x in players):
            raise UserError(f"{p}: pair {i + 1}: players must be two rung names")
        ladder.pairs.append((players[0], players[1]))
    validate_ladder(ladder)
    return ladder


def validate_ladder(ladder: Ladder) -> None:
    where = ladder.source or "ladder"
    names = [r.name for r in ladder.rungs]
    if len(names) < 2:
        raise UserError(f"{where}: a ladder needs two or more rungs, got {len(names)}")
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise UserError(f"{where}: rung names must be unique, repeated: {dup}")
    for a, b in ladder.pairs:
        for n in (a, b):
            if n not in names:
                raise UserError(f"{where}: pair ({a!r}, {b!r}) names {n!r}, which is not a rung "
                                f"(rungs: {', '.join(names)})")
        if a == b:
            raise UserError(f"{where}: pair ({a!r}, {b!r}) pits a rung against itself")
    for r in ladder.rungs:
        if r.spec.kind == "model":
            raise UserError(f"{where}: rung {r.name!r}: a model cannot be a ladder rung")
    if ladder.span < 0:
        raise UserError(f"{where}: span must be >= 0, got {ladder.span}")
    if ladder.adjudication.get("kind") not in ADJUDICATION_KINDS:
        raise UserError(f"{where}: adjudication.kind must be stockfish or unfinished")


def ladder_pairs(ladder: Ladder) -> list[tuple[Rung, Rung]]:
    """The pairs that play, in a fixed order: the ``span`` chain, then the listed extra pairs."""
    by_name = {r.name: r for r in ladder.rungs}
    out: list[tuple[Rung, Rung]] = []
    seen: set[frozenset[str]] = set()

    def add(a: Rung, b: Rung) -> None:
        key = frozenset((a.name, b.name))
        both_anchors = a.anchor is not None and b.anchor is not None
        if key in seen or (both_anchors and not ladder.anchor_pairs):
            return
        seen.add(key)
        out.append((a, b))

    for i, a in enumerate(ladder.rungs):
        for b in ladder.rungs[i + 1: i + 1 + ladder.span]:
            add(a, b)
    for x, y in ladder.pairs:
        add(by_name[x], by_name[y])
    return out


# ---------------------------------------------------------------------------------------------
# The plan: an arena grid of model-free matches
# ---------------------------------------------------------------------------------------------

def _movetime_ms(spec: PlayerSpec) -> float:
    """Time per move of a time-limited player (an expert's base search included), else 0."""
    s = spec.settings
    return float(s.get("movetime_ms") or (s.get("base") or {}).get("movetime_ms") or 0)


def _timed(spec: PlayerSpec) -> bool:
    return _movetime_ms(spec) > 0


def plan_grid(ladder: Ladder, games_per_pair: int, *, fast_games_per_pair: int | None = None,
              seed: int = 0) -> Any:
    """An arena :class:`~chessformer.play.arena.Grid` with one two-player ``[[match]]`` per pair.

    ``fast_games_per_pair`` (default ``games_per_pair``) is for pairs with no time-limited
    player, whose games cost milliseconds a move instead of 0.1 s.
    """
    from chessformer.play.grid import Grid

    fast = games_per_pair if fast_games_per_pair is None else fast_games_per_pair
    for what, n in (("games per pair", games_per_pair), ("fast games per pair", fast)):
        if n <= 0 or n % 2:
            raise UserError(f"{what} must be a positive even number (colour-swapped pairs), "
                            f"got {n}")
    pairs = ladder_pairs(ladder)
    check_connected([r.name for r in ladder.rungs], ladder.anchors,
                    [(a.name, b.name) for a, b in pairs], ladder.source or "ladder")
    matches = [([a.spec, b.spec], games_per_pair if _timed(a.spec) or _timed(b.spec) else fast)
               for a, b in pairs]
    return Grid(name="ladder", opponents=[], temperatures=[1.0], legality=["masked"],
                games=2, matches=matches, opening_plies=ladder.opening_plies,
                max_plies=ladder.max_plies, adjudication=dict(ladder.adjudication),
                anchors=ladder.anchors, seed=seed, batch_size=ladder.batch_size, workers=1,
                source=ladder.source)


def estimate_seconds(grid: Any, workers: int) -> float:
    """Rough wall time: time-limited moves dominate; ``workers`` shards play at once."""
    total = 0.0
    for players, games in grid.matches:
        per_game = FAST_GAME_S + sum(TYPICAL_PLIES / 2 * _movetime_ms(p) / 1000 for p in players)
        total += games * per_game
    return total / max(workers, 1)


def plan_hash(grid: Any, workers: int) -> str:
    """Identifies the games a work folder holds (task numbering depends on all of this)."""
    plan = {"matches": [[[p.to_json() for p in ps], g] for ps, g in grid.matches],
            "opening_plies": grid.opening_plies, "max_plies": grid.max_plies,
            "adjudication": grid.adjudication, "seed": grid.seed, "batch_size": grid.batch_size,
            "shards": workers}
    return hashlib.sha256(json.dumps(plan, sort_keys=True).encode()).hexdigest()[:10]


# ---------------------------------------------------------------------------------------------
# The fit and the ladder file (pure)
# ---------------------------------------------------------------------------------------------

def ladder_rungs(ladder: Ladder, bf: BootstrapFit) -> list[ladder_format.LadderRung]:
    """The ladder file's ``rungs`` in ladder order; rungs without finished games are left out."""
    by_player = {r.player: r for r in bf.ratings()}
    out = []
    for rung in ladder.rungs:
        r = by_player.get(rung.name)
        if r is None:
            log.warning("calibrate: rung %r finished no game; left out of the ladder", rung.name)
            continue
        out.append(ladder_format.LadderRung(
            name=rung.name, kind=rung.spec.kind, settings=dict(rung.spec.settings),
            elo=round(r.elo, 1), lo=round(r.lo, 1), hi=round(r.hi, 1),
            anchor=rung.anchor is not None, games=r.games, wins=r.wins, draws=r.draws,
            losses=r.losses, score=round(r.score, 4)))
    return out


# ---------------------------------------------------------------------------------------------
# Playing (thin I/O shell around the arena)
# ---------------------------------------------------------------------------------------------

def _play_shard(grid: Any, out: str, shard: tuple[int, int], stockfish: str, command: str) -> int:
    from chessformer.play.arena import run_eval

    summary = run_eval(grid, None, out, shard=shard, stockfish=stockfish, command=command)
    return summary.games


def play(grid: Any, work: Path, workers: int, stockfish: str, command: str,
         ) -> tuple[list[GameRecord], list[ladder_format.PlayingSession]]:
    """Play every game of ``grid`` (resuming) in ``workers`` shard processes.

    Returns every game record (by index) and the playing sessions so far (``work/sessions.jsonl``:
    when, how many games, the load average before and after: the load weakens 0.1 s rungs).

    Shards, not arena workers: within one arena wave every game is at the same ply, and the arena
    keeps White's and Black's players in different workers, so between two engines only one of
    two workers searches at a time. One worker per shard process keeps ``workers`` engines busy.
    """
    from chessformer.play.tasks import build_tasks

    # Task numbers (and so resuming) depend on the whole plan: never mix two plans' games.
    plan = ladder_format.WorkPlan(plan_hash(grid, workers), len(grid.matches))
    old = ladder_format.read_work_plan(work)
    if old is not None:
        if old.plan != plan.plan:
            raise UserError(f"{work} holds the games of another plan ({old.plan}, this one "
                            f"is {plan.plan}: other pairs, game counts, seed or workers); "
                            "delete it or pass another --work")
    else:
        if work.exists() and any(work.iterdir()):
            raise UserError(f"{work} is not empty and is not a calibrate work folder; pass another "
                            "--work")
        ladder_format.write_work_plan(work, plan)
    shards = [(i, workers) for i in range(workers)]
    outs = [work / f"shard-{i}" for i in range(workers)]
    before = sum(len(games_format.read_results(o)) for o in outs)
    load_start, started = _loadavg(), datetime.now(timezone.utc).isoformat(timespec="seconds")
    if workers == 1:
        _play_shard(grid, str(outs[0]), shards[0], stockfish, command)
    else:
        with ProcessPoolExecutor(max_workers=workers, mp_context=mp_context()) as pool:
            futures = [pool.submit(_play_shard, grid, str(o), s, stockfish, command)
                       for o, s in zip(outs, shards)]
            for f in futures:
                f.result()  # re-raises a shard's error (UserError included) here
    records = [r for o in outs for r in games_format.read_results(o)]
    if len(records) > before:
        ladder_format.append_session(work, ladder_format.PlayingSession(
            started, len(records) - before, load_start, _loadavg()))
    sessions = ladder_format.read_sessions(work)
    expected = len(build_tasks(grid))
    if len({r.index for r in records}) != expected:
        raise UserError(f"{work}: expected {expected} games, found {len(records)}: delete the "
                        "folder or pass another --work")
    return sorted(records, key=lambda r: r.index), sessions


def _loadavg() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def _display_path(path: Path) -> str:
    """Relative to the repository root when inside it (the ladder file says where its games are)."""
    try:
        return str(path.resolve().relative_to(ladder_format.calibrated_dir().parent))
    except ValueError:
        return str(path.resolve())


def as_ladder(rungs: Ladder | Sequence[Rung] | str | os.PathLike[str] | None) -> Ladder:
    """A :class:`Ladder` from a ladder, a list of rungs (span 2), a TOML path or None (default)."""
    if rungs is None or isinstance(rungs, (str, os.PathLike)):
        ladder = load_ladder_toml(DEFAULT_LADDER if rungs is None else rungs)
    elif isinstance(rungs, Ladder):
        ladder = rungs
    else:
        ladder = Ladder(rungs=[r if isinstance(r, Rung) else Rung(r) for r in rungs])
    validate_ladder(ladder)
    return ladder


def finished_games(records: Sequence[GameRecord], games_path: Path, ladder: Ladder,
                   ) -> tuple[list[GameResult], int]:
    """The finished games (and the count of unfinished ones); refused unless every rung that
    finished a game is tied to an anchor by finished games."""
    games, unfinished = game_results(records, str(games_path))
    if not games:
        raise UserError(f"{games_path}: no finished games to fit ({unfinished} unfinished)")
    played = {g.white for g in games} | {g.black for g in games}
    check_connected(sorted(played), {k: v for k, v in ladder.anchors.items() if k in played},
                    [(g.white, g.black) for g in games], f"{games_path} (finished games)")
    return games, unfinished


def ladder_notes(version: str, workers: int, sessions: Sequence[ladder_format.PlayingSession],
                 check: Sequence[ladder_format.AnchorCheck], n_boot: int, seed: int,
                 unfinished: int) -> str:
    """The ladder file's ``notes``: the anchors' caveat, the anchor check and the fit."""
    loads = [x for s in sessions for x in (s.load_average_start, s.load_average_end)
             if x is not None]
    notes = ANCHOR_CAVEAT.format(version=version, workers=workers, cpus=os.cpu_count(),
                                 load=f"{min(loads):g}-{max(loads):g}" if loads else "unknown")
    notes += (" " + anchor_verdict(check)) if check else ""
    notes += (f" Fit: Bradley-Terry on the logistic Elo scale, draws as half points, "
              f"{describe_prior(PRIOR)}; 95% intervals from {n_boot} bootstrap resamples of "
              f"colour-swapped game pairs (seed {seed}); anchors held fixed (zero-width intervals, "
              f"their own uncertainty not propagated). {unfinished} unfinished game(s) left out.")
    return notes


def ladder_document(ladder: Ladder, games: Sequence[GameResult], bf: BootstrapFit, *,
                    version: str, stockfish: str, command: str, games_path: Path,
                    unfinished: int, settings: dict[str, Any],
                    sessions: list[ladder_format.PlayingSession], n_boot: int,
                    seed: int) -> ladder_format.CalibratedLadder:
    """The ladder file's content (see the module docstring)."""
    check = anchor_check(games, ladder.anchors, seed=seed)
    return ladder_format.CalibratedLadder(
        stockfish_version=version,
        stockfish_path=stockfish,
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        command=command,
        ladder_source=_display_path(Path(ladder.source)) if ladder.source else "list",
        anchors=ladder.anchors,
        games=_display_path(games_path),
        games_sha256=sha256_file(games_path),
        n_games=len(games),
        unfinished=unfinished,
        settings={**settings, "span": ladder.span, "opening_plies": ladder.opening_plies,
                  "max_plies": ladder.max_plies, "adjudication": ladder.adjudication,
                  "bootstrap": n_boot, "draw_model": "half", "prior": PRIOR,
                  "cpus": os.cpu_count(),
                  "playing_sessions": [s.to_json() for s in sessions]},
        rungs=ladder_rungs(ladder, bf),
        pairs=pair_scores(games),
        anchor_check=check,
        single_anchor_fit=single_anchor_fit(games, ladder.anchors, seed=seed),
        notes=ladder_notes(version, settings["workers"], sessions, check, n_boot, seed,
                           unfinished),
    )


def calibrate(out_json: str | os.PathLike[str] | None = None, *, games_per_pair: int,
              rungs: Ladder | Sequence[Rung] | str | os.PathLike[str] | None = None,
              workers: int = DEFAULT_WORKERS, seed: int = 0, stockfish: str | None = None,
              fast_games_per_pair: int | None = None, work: str | os.PathLike[str] | None = None,
              n_boot: int = N_BOOT, command: str = "",
              allow_anchor_misfit: bool = False) -> ladder_format.CalibratedLadder:
    """Play the ladder's games, fit one anchored Elo scale, write the ladder file; returns it.

    A ladder whose anchors fail the leave-one-out check (:func:`anchor_misfits`) is not written
    (a :class:`UserError` naming the failed anchors; the games stay beside it and in the work
    folder, so a rerun resumes) unless ``allow_anchor_misfit``, when its first key,
    ``warning``, says which failed and that its scale is its own.

    ``rungs``: a :class:`Ladder`, a list of :class:`Rung` (every rung plays the next two), a
    ladder TOML path, or None for ``evals/ladder.toml``. ``out_json`` defaults to
    ``stockfish/ladder-<version>.json``; the games go beside it as ``<stem>-games.jsonl``.
    """
    from chessformer.core.engine import require_stockfish, stockfish_version

    ladder = as_ladder(rungs)
    if fast_games_per_pair is None:
        fast_games_per_pair = ladder.fast_games_per_pair
    if workers < 1:
        raise UserError(f"workers must be >= 1, got {workers}")
    grid = plan_grid(ladder, games_per_pair, fast_games_per_pair=fast_games_per_pair, seed=seed)
    sf = str(require_stockfish(stockfish))
    version = stockfish_version(sf)
    out = (Path(out_json) if out_json is not None
           else ladder_format.calibrated_dir() / ladder_format.ladder_name(version))
    games_path = ladder_format.games_beside(out)
    work_dir = Path(work) if work is not None else (
        Path("runs") / "calibrate" / f"{version}-{plan_hash(grid, workers)}")
    command = command or (f"calibrate({str(out)!r}, games_per_pair={games_per_pair}, "
                          f"fast_games_per_pair={fast_games_per_pair}, workers={workers}, "
                          f"seed={seed}, rungs={ladder.source or 'list'!r})")
    n_games = sum(g for _, g in grid.matches)
    log.info("calibrate: %d rungs, %d pairs, %d games on Stockfish %s (%s), about %.0f min with "
             "%d workers; games in %s", len(ladder.rungs), len(grid.matches), n_games, version, sf,
             estimate_seconds(grid, workers) / 60, workers, work_dir)
    records, sessions = play(grid, work_dir, workers, sf, command)
    games_format.write_results(games_path, records)
    games, unfinished = finished_games(records, games_path, ladder)
    bf = bootstrap(games, ladder.anchors, n_boot=n_boot, seed=seed)
    settings = {"games_per_pair": games_per_pair,
                "fast_games_per_pair": fast_games_per_pair or games_per_pair,
                "workers": workers, "seed": seed}
    ladder_doc = ladder_document(ladder, games, bf, version=version, stockfish=sf,
                                 command=command, games_path=games_path, unfinished=unfinished,
                                 settings=settings, sessions=sessions, n_boot=n_boot, seed=seed)
    if anchor_misfits(ladder_doc.anchor_check):
        failed = misfit_words(ladder_doc.anchor_check)
        if not allow_anchor_misfit:
            raise UserError(f"{out}: not written: the anchors fail the leave-one-out check "
                            f"({failed}); pass --allow-anchor-misfit to write it anyway (it "
                            "will say so first)")
        ladder_doc = dataclasses.replace(ladder_doc, warning=(
            f"ANCHOR CHECK FAILED: {failed}. This ladder's scale is its own; its offset to the "
            "paper's scale is unknown."))
    ladder_format.write_ladder(out, ladder_doc)
    log.info("calibrate: wrote %s (%d games in %s)", out, len(games), games_path)
    return ladder_doc


# ---------------------------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------------------------

def print_ladder(ladder: ladder_format.CalibratedLadder, file: Any = None) -> None:
    file = file or sys.stdout
    rows = ladder.rungs
    width = max(len("rung"), *(len(r.name) for r in rows))
    print(f"{'rung':<{width}}  {'Elo':>6}  {'95% interval':>14}  {'games':>5}  {'score':>5}",
          file=file)
    for r in rows:
        ival = "anchor" if r.anchor else f"[{r.lo:.0f}, {r.hi:.0f}]"
        print(f"{r.name:<{width}}  {r.elo:>6.0f}  {ival:>14}  {r.games:>5}  {r.score:>5.3f}",
              file=file)
    for c in ladder.anchor_check:
        if c.fitted is not None:
            print(f"anchor check: {c.name} paper {c.paper:.0f}, fitted without it "
                  f"{c.fitted:.0f} [{c.lo:.0f}, {c.hi:.0f}]", file=file)
