"""``analyze favor``: where a model's low temperature gains over T = 1, state by state (Zhang et
al. 2024, section 4.2 and Table 1, on the states the model visits in its evaluation games).

1. The states: every position where the model was to move in its evaluation games at the
   verdict temperature (after the grid's opening plies), against one opponent or all; a seeded
   uniform sample of ``states`` of them.
2. The model's exact move distribution there at each temperature (the grid's and 1): the
   decoder reads each game's moves up to the state, as the arena did (never a bare FEN), and
   the softmax over legal moves is taken at each temperature (``masked``; ``raw`` sampling
   conditioned on a legal move is the same distribution).
3. Each training expert's distribution (``Expert.move_distribution``: the simulated experts of
   the run's data that also played in the evaluation).
4. Stockfish's expected score of every legal move (:mod:`chessformer.analysis.scorer`); a
   player's expected score in a state is the expectation over its distribution, exactly.

Intervals are 95% bootstrap intervals resampling whole games (states of one game are not
independent).
"""

from __future__ import annotations

import math
import os
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import chess
import numpy as np

from chessformer.analysis.scorer import DEFAULT_MODE, DEFAULT_NODES, Scorer
from chessformer.core import tokenizer as tok
from chessformer.core.boards import encode_board
from chessformer.core.protocol import VERDICT_TEMPERATURE
from chessformer.formats import dataset as dataset_format
from chessformer.formats import favor as favor_format
from chessformer.formats import games as games_format
from chessformer.formats import run as run_format
from chessformer.formats.favor import FavorBin, FavorGroup, FavorResult, FavorRow, FavorState
from chessformer.formats.games import GameRecord
from chessformer.model.inference import BatchDecoder, ModelSettings, move_probabilities
from chessformer.play.experts import PHASES, Expert, game_phase
from chessformer.play.spec import EnginePool, PlayerSpec
from chessformer.utils import UserError, code_version, log, progress, writable_folder

__all__ = ["DEFAULT_STATES", "Boot", "State", "expected_under", "favor_analysis", "json_value",
           "model_distributions"]

#: States sampled by default: about 5 minutes on 2 shared cores at the default node limit.
DEFAULT_STATES = 1000
N_BOOT = 1000
TOP_K = (1, 3, 5)
CONCENTRATION = (0.01, 0.05, 0.10)
#: Histogram edges of the per-state gain (expected score, 0-1).
HIST_EDGES = (-1.0, -0.2, -0.1, -0.05, -0.02, -0.005, 0.005, 0.02, 0.05, 0.1, 0.2, 1.0)
BOARDS = 6


@dataclass
class State:
    """One sampled model state: its game, ply, board, and the distributions there."""

    game: int  # index into the list of games
    game_id: str
    ply: int
    moves: list[str]  # the game's moves before the state
    fen: str
    phase: str
    model: dict[float, dict[str, float]] = field(default_factory=dict)  # T -> {uci: p}
    experts: dict[str, dict[str, float]] = field(default_factory=dict)
    scores: dict[str, float] = field(default_factory=dict)  # uci -> expected score
    ranked: list[str] = field(default_factory=list)  # Stockfish's order, best first


def _same_temperature(a: Any, b: float) -> bool:
    return isinstance(a, (int, float)) and math.isclose(float(a), b, rel_tol=1e-9, abs_tol=1e-12)


def model_states(records: Sequence[GameRecord], temperature: float,
                 opponent: str | None) -> list[tuple[int, int]]:
    """``(game index, ply)`` of every position where the model at ``temperature`` was to move
    (after the opening plies), in games against ``opponent`` (its name; None: all)."""
    out = []
    for g, rec in enumerate(records):
        for colour, side in ((0, "white"), (1, "black")):
            p = rec.players[side]
            other = rec.black if side == "white" else rec.white
            if p.get("kind") != "model" or not _same_temperature(p.get("temperature"), temperature):
                continue
            if opponent is not None and other != opponent:
                continue
            # the model's last decision of a forfeited game has no move: it is not a state
            n = len(rec.moves)
            out += [(g, ply) for ply in range(len(rec.opening), n) if ply % 2 == colour]
    return out


def _training_expert_specs(records: Sequence[GameRecord], run: Path | None) -> list[PlayerSpec]:
    """The simulated experts that played in the games and appear in the run's training data
    (every expert of the games when the dataset is unknown)."""
    specs: dict[str, PlayerSpec] = {}
    for rec in records:
        for side in games_format.SIDES:
            p = rec.players[side]
            if p.get("kind") == "expert":
                settings = {k: v for k, v in p.items() if k not in ("kind", "name")}
                specs.setdefault(p["name"], PlayerSpec(p["name"], "expert", settings))
    data = run_format.run_dataset(run) if run is not None else None
    if data is not None and run is not None and not data.is_absolute() and not data.exists():
        # run.json records the path as given to train, relative to where it ran: the checkout
        # that holds runs/RUN, as make does it
        data = run.resolve().parent.parent / data
    if data is None or not specs:
        return [specs[k] for k in sorted(specs)] if data is None else []
    trained: set[str] = set()
    rows = 0
    try:
        for row in dataset_format.iter_game_rows(data):
            rows += 1
            trained.update(row.get(s, "") for s in games_format.SIDES)
            if set(specs) <= trained:
                break
    except (OSError, UserError) as e:
        log.warning("%s: cannot read the dataset's games (%s)", data, e)
    if not rows:
        log.warning("%s: no games table of the training data here; every simulated expert of "
                    "the evaluation games is taken as a training expert", data)
        return [specs[k] for k in sorted(specs)]
    return [specs[k] for k in sorted(specs) if k in trained]


def model_distributions(model: Any, records: Sequence[GameRecord], states: list[State],
                         temperatures: Sequence[float], top_k: int | None = None,
                         batch: int = 64) -> None:
    """Each state's model distribution at every temperature, the games read in lockstep (one
    token per game per step through the KV cache, as the arena reads them)."""
    by_game: dict[int, list[State]] = defaultdict(list)
    for s in states:
        by_game[s.game].append(s)
    games = sorted(by_game)
    bar = progress(total=len(states), desc="model", unit="state")
    for b0 in range(0, len(games), batch):
        chunk = games[b0:b0 + batch]
        want = [{s.ply: s for s in by_game[g]} for g in chunk]
        last = [max(w) for w in want]
        dec = BatchDecoder(model)
        rows = max(8, 1 << (len(chunk) - 1).bit_length())
        dec.start(rows)
        boards = [chess.Board() for _ in chunk]
        for k in range(max(last) + 1):
            toks, brds = [], []
            for i, g in enumerate(chunk):
                moves = records[g].moves
                if k == 0:
                    toks.append(tok.BOS)
                elif k <= last[i]:
                    boards[i].push_uci(moves[k - 1])
                    toks.append(tok.uci_to_id(moves[k - 1]))
                else:
                    toks.append(tok.PAD)
                brds.append(encode_board(boards[i]) if dec.use_board else None)
            pad = rows - len(chunk)
            logits = dec.step(toks + [tok.PAD] * pad, brds + [None] * pad)
            for i in range(len(chunk)):
                s = want[i].get(k)
                if s is None:
                    continue
                for t in temperatures:
                    p, legal = move_probabilities(logits[i], boards[i],
                                                   ModelSettings(t, "masked", top_k))
                    s.model[t] = {m.uci(): float(p[tid]) for tid, m in legal.items()}
                bar.update(1)
    bar.close()


def _expert_distributions(specs: Sequence[PlayerSpec], states: list[State],
                          stockfish: str | None) -> None:
    if not specs:
        return
    with EnginePool(stockfish) as pool:
        experts = [Expert(spec, pool) for spec in specs]
        for s in progress(states, desc="experts", unit="state"):
            board = chess.Board(s.fen) if not s.moves else _board(s.moves)
            for eng in pool.engines():
                eng.new_game()
            for e in experts:
                s.experts[e.spec.name] = e.move_distribution(board, s.moves)


def _board(moves: Sequence[str]) -> chess.Board:
    b = chess.Board()
    for uci in moves:
        b.push_uci(uci)
    return b


def entropy_bits(dist: dict[str, float]) -> float:
    p = np.array([q for q in dist.values() if q > 0])
    return float(-(p * np.log2(p)).sum()) if len(p) else 0.0


def mixture(dists: Sequence[dict[str, float]]) -> dict[str, float]:
    out: dict[str, float] = defaultdict(float)
    for d in dists:
        for m, q in d.items():
            out[m] += q / len(dists)
    return dict(out)


def expected_under(dist: dict[str, float], scores: dict[str, float]) -> float:
    return float(sum(q * scores[m] for m, q in dist.items()))


def _topk(dist: dict[str, float], ranked: Sequence[str], k: int) -> float:
    return float(sum(dist.get(m, 0.0) for m in ranked[:k]))


class Boot:
    """Means over states with intervals from resampling whole games (multinomial weights)."""

    def __init__(self, game_of_state: np.ndarray, n_boot: int, seed: int) -> None:
        games, self.inverse = np.unique(game_of_state, return_inverse=True)
        self.n_games = len(games)
        rng = np.random.default_rng(seed)
        self.weights = rng.multinomial(self.n_games, np.full(self.n_games, 1 / self.n_games),
                                       size=n_boot).astype(float)
        self.counts = np.bincount(self.inverse, minlength=self.n_games).astype(float)

    def per_game(self, x: np.ndarray) -> np.ndarray:
        return np.bincount(self.inverse, weights=x, minlength=self.n_games)

    def mean(self, x: np.ndarray, mask: np.ndarray | None = None) -> tuple[float, float, float]:
        """Mean of ``x`` over the states (in ``mask``) and its 95% interval."""
        m = np.ones(len(x), bool) if mask is None else mask
        if not m.any():
            return math.nan, math.nan, math.nan
        sums = self.per_game(np.where(m, x, 0.0))
        counts = self.per_game(m.astype(float))
        est = float(sums.sum() / counts.sum())
        with np.errstate(invalid="ignore", divide="ignore"):
            boot = (self.weights @ sums) / (self.weights @ counts)
        boot = boot[np.isfinite(boot)]
        lo, hi = np.percentile(boot, [2.5, 97.5]) if len(boot) else (math.nan, math.nan)
        return est, float(lo), float(hi)

    def concentration(self, gain: np.ndarray, frac: float) -> tuple[float, float, float]:
        """Share of the total gain carried by the top ``frac`` of states (and its interval)."""
        def share(w: np.ndarray) -> float:
            x = np.repeat(gain, w.astype(int))
            total = x.sum()
            if len(x) == 0 or total <= 0:
                return math.nan
            k = max(1, int(round(frac * len(x))))
            return float(np.sort(x)[::-1][:k].sum() / total)

        est = share(np.ones(len(gain)))
        if not math.isfinite(est):
            return math.nan, math.nan, math.nan
        boot = np.array([share(w[self.inverse]) for w in self.weights[:200]])
        boot = boot[np.isfinite(boot)]
        lo, hi = np.percentile(boot, [2.5, 97.5]) if len(boot) else (math.nan, math.nan)
        return est, float(lo), float(hi)


def _r(x: float, nd: int = 5) -> float:
    return round(x, nd)


def json_value(x: float, nd: int = 5) -> float | None:
    """A value for a JSON field: rounded, or None when not finite (an empty group)."""
    return round(x, nd) if math.isfinite(x) else None


def summarise(states: list[State], temperatures: Sequence[float], expert_names: Sequence[str],
              n_boot: int, seed: int) -> dict[str, Any]:
    """The table, histogram, concentration and groups of :class:`FavorResult`."""
    boot = Boot(np.array([s.game for s in states]), n_boot, seed)
    e = {t: np.array([expected_under(s.model[t], s.scores) for s in states]) for t in temperatures}
    base = e[1.0]
    rows = []
    players: list[tuple[str, str, float | None, np.ndarray, list[dict[str, float]]]] = [
        (f"model T={t:g}", "model", t, e[t], [s.model[t] for s in states]) for t in temperatures]
    for name in expert_names:
        dists = [s.experts[name] for s in states]
        players.append((name, "expert", None, np.array([expected_under(d, s.scores)
                                                        for d, s in zip(dists, states)]), dists))
    best = [{s.ranked[0]: 1.0} for s in states]
    players.append(("stockfish best", "stockfish", None,
                    np.array([s.scores[s.ranked[0]] for s in states]), best))
    for name, kind, t, x, dists in players:
        ex, gain = boot.mean(x), boot.mean(x - base)
        tops = [float(np.mean([_topk(d, s.ranked, k) for d, s in zip(dists, states)]))
                for k in TOP_K]
        rows.append(FavorRow(player=name, kind=kind, temperature=t, expected=_r(ex[0]),
                             expected_lo=_r(ex[1]), expected_hi=_r(ex[2]), gain=_r(gain[0]),
                             gain_lo=_r(gain[1]), gain_hi=_r(gain[2]), top1=_r(tops[0]),
                             top3=_r(tops[1]), top5=_r(tops[2])))
    low = min(temperatures)
    gain = e[low] - base
    hist = []
    for lo, hi in zip(HIST_EDGES[:-1], HIST_EDGES[1:]):
        m = (gain >= lo) & ((gain < hi) if hi < HIST_EDGES[-1] else (gain <= hi))
        share = boot.mean(m.astype(float))
        hist.append(FavorBin(lo=lo, hi=hi, states=int(m.sum()), share=_r(share[0]),
                             share_lo=_r(share[1]), share_hi=_r(share[2])))
    conc = []
    for frac in CONCENTRATION:
        v = boot.concentration(gain, frac)
        conc.append(FavorGroup(group=f"top {100 * frac:g}%", states=max(1, round(frac * len(gain))),
                               value=json_value(v[0]), lo=json_value(v[1]), hi=json_value(v[2])))
    phases = np.array([s.phase for s in states])
    by_phase = []
    for ph in PHASES:
        m = phases == ph
        v = boot.mean(gain, m)
        by_phase.append(FavorGroup(group=ph, states=int(m.sum()), value=json_value(v[0]),
                                   lo=json_value(v[1]), hi=json_value(v[2])))
    by_entropy = []
    if expert_names:
        ent = np.array([entropy_bits(mixture([s.experts[n] for n in expert_names]))
                        for s in states])
        cuts = np.quantile(ent, [1 / 3, 2 / 3])
        bands = [(-np.inf, cuts[0]), (cuts[0], cuts[1]), (cuts[1], np.inf)]
        for i, (lo, hi) in enumerate(bands):
            m = (ent > lo) & (ent <= hi) if i else ent <= hi
            v = boot.mean(gain, m)
            lo_s = f"{max(0.0, lo if np.isfinite(lo) else ent.min()):.2f}"
            hi_s = f"{max(0.0, hi if np.isfinite(hi) else ent.max()):.2f}"
            by_entropy.append(FavorGroup(group=f"{('low', 'middle', 'high')[i]} ({lo_s} to {hi_s} bits)",
                                         states=int(m.sum()), value=json_value(v[0]),
                                         lo=json_value(v[1]), hi=json_value(v[2])))
    return {"table": rows, "histogram": hist, "concentration": conc, "by_phase": by_phase,
            "by_entropy": by_entropy, "gain": gain, "low": low}


def _top_states(states: list[State], gain: np.ndarray, low: float, expert_names: Sequence[str],
                n: int = BOARDS) -> list[FavorState]:
    out = []
    for i in np.argsort(-gain, kind="stable")[:n]:
        s = states[int(i)]
        mv = max(s.model[low], key=lambda m: s.model[low][m])
        mix = mixture([s.experts[k] for k in expert_names]) if expert_names else {}
        em = max(mix, key=lambda m: mix[m]) if mix else None
        best = s.ranked[0]
        out.append(FavorState(
            game=s.game_id, ply=s.ply, fen=s.fen, gain=_r(float(gain[i])), model_move=mv,
            model_p_low=_r(s.model[low][mv], 4), model_p_one=_r(s.model[1.0].get(mv, 0.0), 4),
            experts_move=em, experts_p=None if em is None else _r(mix[em], 4), best_move=best,
            scores={m: _r(s.scores[m], 4) for m in dict.fromkeys([mv, best] + ([em] if em else []))}))
    return out


def _model_run(run: Path, folder: Path, infos: Sequence[Any]) -> Path:
    """The training run (or checkpoint folder) of the model that played the games."""
    for cand in (run, folder.parent.parent,
                 *(Path(i.model_run) for i in infos if i.model_run)):
        if run_format.holds_model(cand):
            return cand
    raise UserError(f"{run}: cannot find the model that played these games (no checkpoint here, "
                    f"in {folder.parent.parent}, or where eval.json names); pass the training run")


def favor_analysis(run: str | os.PathLike[str], out: str | os.PathLike[str], *,
                   states: int = DEFAULT_STATES, opponent: str | None = None,
                   temperature: float | None = None, temperatures: Sequence[float] | None = None,
                   nodes: int = DEFAULT_NODES, mode: str = DEFAULT_MODE, processes: int = 2,
                   cache: str | os.PathLike[str] | None = None, seed: int = 0,
                   n_boot: int = N_BOOT, stockfish: str | None = None,
                   command: str = "") -> tuple[FavorResult, list[State]]:
    """Run the analysis of the module docstring on ``run`` (a training run with ``eval/``, or an
    evaluation folder); write ``favor.json``, ``favor.csv`` and the page into ``out``."""
    from chessformer.analysis.page import write_favor_page

    t_start = time.perf_counter()
    run = Path(run)
    out = Path(out)
    folders = games_format.find_eval_folders(run)
    records: list[GameRecord] = []
    infos = []
    for f in folders:
        records += games_format.read_results(f)
        if games_format.has_eval_info(f):
            infos.append(games_format.read_eval_info(f))
    if not records:
        raise UserError(f"{run}: no finished evaluation games in "
                        f"{', '.join(str(games_format.games_path(f)) for f in folders)}")
    grid_t = [float(t) for i in infos for t in i.grid_settings.get("temperatures", [])]
    vt = temperature
    if vt is None:
        vts = {float(i.grid_settings.get("verdict_temperature", VERDICT_TEMPERATURE)) for i in infos}
        vt = min(vts) if vts else VERDICT_TEMPERATURE
    temps = sorted({*(temperatures or grid_t or [vt]), vt, 1.0})
    if any(t <= 0 for t in temps):
        raise UserError(f"temperatures must be > 0, got {temps}")
    candidates = model_states(records, vt, opponent)
    if not candidates:
        opp = f" against {opponent!r}" if opponent else ""
        names = sorted({r.black if r.players["white"].get("kind") == "model" else r.white
                        for r in records})
        raise UserError(f"{run}: no model games at T={vt:g}{opp} in its evaluation games "
                        f"(opponents: {', '.join(names[:8]) or 'none'})")
    model_run = _model_run(run, folders[0], infos)
    rng = np.random.default_rng(seed)
    pick = sorted(rng.choice(len(candidates), size=min(states, len(candidates)), replace=False))
    chosen = [candidates[i] for i in pick]
    sampled: list[State] = []
    for g, ply in chosen:
        moves = records[g].moves[:ply]
        board = _board(moves)
        sampled.append(State(g, records[g].id, ply, list(moves), board.fen(), game_phase(board)))
    log.info("favor: %d of %d model states (T=%g) from %d of %d games", len(sampled),
             len(candidates), vt, len({s.game for s in sampled}), len({g for g, _ in candidates}))
    writable_folder(out)
    with Scorer(cache if cache is not None else out, nodes=nodes, mode=mode, processes=processes,
                stockfish=stockfish) as scorer:
        bar = progress(total=len(sampled), desc="score", unit="pos")
        scored = scorer.score([s.fen for s in sampled], progress=bar)
        bar.close()
        stats = scorer.stats
        engine = scorer.engine
        search = scorer.describe()
        sf_path = scorer.stockfish
    for s, rec in zip(sampled, scored):
        s.scores, s.ranked = rec.by_move(), list(rec.moves)
    from chessformer.model.transformer import load_model

    model = load_model(model_run)
    top_k = next((rec.players[side].get("top_k") for rec in records for side in games_format.SIDES
                  if rec.players[side].get("kind") == "model"), None)
    model_distributions(model, records, sampled, temps, top_k)
    specs = _training_expert_specs(records, model_run)
    _expert_distributions(specs, sampled, sf_path)
    names = [s.name for s in specs]
    summary = summarise(sampled, temps, names, n_boot, seed)
    result = FavorResult(
        run=str(run), evals=[str(f) for f in folders], verdict_temperature=vt,
        opponent=opponent, states_total=len(candidates),
        games_total=len({g for g, _ in candidates}), states=len(sampled),
        games=len({s.game for s in sampled}), seed=seed, temperatures=temps, experts=names,
        scorer={"engine": engine, "nodes": nodes, "mode": mode, "search": search,
                "processes": scorer.processes,
                "positions": stats.positions, "scored_now": stats.scored_now,
                "from_cache": stats.from_cache,
                "positions_per_s_per_process": json_value(stats.per_second_per_process, 3),
                "seconds": round(stats.seconds, 2)},
        table=summary["table"], histogram=summary["histogram"],
        concentration=summary["concentration"], by_phase=summary["by_phase"],
        by_entropy=summary["by_entropy"],
        top_states=_top_states(sampled, summary["gain"], summary["low"], names),
        n_boot=n_boot, command=command, code_version=code_version(),
        created=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        seconds=round(time.perf_counter() - t_start, 2))
    favor_format.write_favor(out, result)
    _write_csv(out, sampled, temps, names)
    write_favor_page(out, result)
    return result, sampled


def _write_csv(out: Path, states: list[State], temps: Sequence[float], experts: Sequence[str]) -> None:
    cols = [*favor_format.CSV_COLUMNS, *(f"model_T{t:g}" for t in temps),
            *(f"gain_T{t:g}" for t in temps), *(f"expert_{n}" for n in experts)]
    rows = []
    for s in states:
        e = {t: expected_under(s.model[t], s.scores) for t in temps}
        ent = entropy_bits(mixture([s.experts[n] for n in experts])) if experts else math.nan
        rows.append([s.game_id, s.ply, s.phase, s.fen, s.ranked[0], f"{s.scores[s.ranked[0]]:.5f}",
                     f"{ent:.4f}", *(f"{e[t]:.5f}" for t in temps),
                     *(f"{e[t] - e[1.0]:+.5f}" for t in temps),
                     *(f"{expected_under(s.experts[n], s.scores):.5f}" for n in experts)])
    favor_format.write_favor_csv(out, cols, rows)
