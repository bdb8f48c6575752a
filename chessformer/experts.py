"""Simulated experts, and ``chessformer generate``: games between them written as ordinary PGN.

    chessformer generate --experts data/experts/demo.toml --games 2000 --out data/generated/demo.pgn

An expert is described in TOML (presets in ``data/experts/``)::

    [[expert]]
    name = "eps80-a"
    nominal_elo = 800                          # written to the PGN headers; not a measurement
    base = { kind = "stockfish", depth = 1 }   # or nodes = N; or kind = "greedy-capture" / "random"
    noise = { kind = "epsilon", epsilon = 0.8 }  # or kind = "boltzmann", temperature_cp, multipv
    openings = { kind = "book", lines = ["e2e4 e7e5", "d2d4 d7d5"] }  # optional

With probability epsilon the expert plays a uniformly random legal move, otherwise its base move;
the Boltzmann noise samples among Stockfish's ``multipv`` best moves with probability
proportional to ``exp(score_cp / temperature_cp)``. Each expert's randomness comes from the game's
seed, so a game is replayable. Experts with different, uncorrelated mistakes on the same kinds of
positions are the setting of *skill denoising*: a model that takes their majority vote (low
temperature) can beat every one of them.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import time
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import chess
import numpy as np

from .engine import Limit
from .games import DEFAULT_MAX_PLIES, game_end, pgn_string
from .players import EnginePool, PlayerSpec, make_player
from .utils import UserError, atomic_path, log, progress, write_json_atomic

__all__ = ["Expert", "ExpertPool", "generate", "load_experts"]

_PIECE_VALUE = {chess.PAWN: 1, chess.KNIGHT: 3, chess.BISHOP: 3, chess.ROOK: 5, chess.QUEEN: 9,
                chess.KING: 0}


@dataclass(frozen=True)
class ExpertPool:
    name: str
    experts: tuple[PlayerSpec, ...]
    source: str = ""
    description: str = ""


def _check_expert(raw: dict[str, Any], where: str) -> PlayerSpec:
    if "name" not in raw:
        raise UserError(f"{where}: every [[expert]] needs a name")
    base = dict(raw.get("base", {"kind": "stockfish", "depth": 1}))
    noise = dict(raw.get("noise", {"kind": "none"}))
    openings = dict(raw.get("openings", {"kind": "none"}))
    if base.get("kind") not in ("stockfish", "greedy-capture", "random"):
        raise UserError(f"{where}: expert {raw['name']!r}: base.kind must be stockfish, "
                        f"greedy-capture or random, not {base.get('kind')!r}")
    if base["kind"] in ("stockfish", "greedy-capture") and not any(k in base for k in ("nodes", "depth", "movetime_ms")):
        base["depth"] = 1
    if noise.get("kind") not in ("none", "epsilon", "boltzmann"):
        raise UserError(f"{where}: expert {raw['name']!r}: noise.kind must be none, epsilon or "
                        f"boltzmann, not {noise.get('kind')!r}")
    if noise["kind"] == "epsilon" and not 0 <= float(noise.get("epsilon", -1)) <= 1:
        raise UserError(f"{where}: expert {raw['name']!r}: noise.epsilon must be in [0, 1]")
    if noise["kind"] == "boltzmann" and float(noise.get("temperature_cp", 0)) <= 0:
        raise UserError(f"{where}: expert {raw['name']!r}: noise.temperature_cp must be > 0")
    if openings.get("kind") not in ("none", "book"):
        raise UserError(f"{where}: expert {raw['name']!r}: openings.kind must be none or book")
    for line in openings.get("lines", []):
        board = chess.Board()
        try:
            for uci in line.split():
                board.push_uci(uci)
        except ValueError as e:
            raise UserError(f"{where}: expert {raw['name']!r}: illegal book line {line!r}: {e}") from e
    known = {"name", "nominal_elo", "base", "noise", "openings", "description"}
    extra = {k: v for k, v in raw.items() if k not in known}
    settings = {"nominal_elo": raw.get("nominal_elo"), "base": base, "noise": noise,
                "openings": openings, **extra}
    return PlayerSpec(str(raw["name"]), "expert", settings)


def load_experts(path: str | os.PathLike[str]) -> ExpertPool:
    """Read an expert preset (TOML); a bare name means ``data/experts/<name>.toml``."""
    p = Path(path)
    if not p.exists() and p.suffix != ".toml":
        p = Path(__file__).resolve().parent.parent / "data" / "experts" / f"{path}.toml"
    if not p.exists():
        raise UserError(f"expert preset {path} not found (looked for {p})")
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise UserError(f"{p}: not valid TOML: {e}") from e
    experts = [_check_expert(e, str(p)) for e in raw.get("expert", [])]
    if not experts:
        raise UserError(f"{p}: no [[expert]] entries")
    names = [e.name for e in experts]
    if len(set(names)) != len(names):
        raise UserError(f"{p}: expert names must be unique, got {names}")
    pool = raw.get("pool", {})
    return ExpertPool(pool.get("name", p.stem), tuple(experts), str(p), pool.get("description", ""))


class Expert:
    """A simulated expert playing one game (it keeps that game's book line)."""

    def __init__(self, spec: PlayerSpec, pool: EnginePool) -> None:
        self.spec = spec
        s = spec.settings
        self.base = s["base"]
        self.noise = s["noise"]
        self.openings = s["openings"]
        self.limit = Limit(self.base.get("nodes"), self.base.get("depth"), self.base.get("movetime_ms"))
        self._pool = pool
        self._engine = None
        self._book_line: list[str] | None = None

    @classmethod
    def from_settings(cls, spec: PlayerSpec, pool: EnginePool) -> Expert:
        return cls(spec, pool)

    @property
    def engine(self):
        if self._engine is None:
            options = {"MultiPV": int(self.noise.get("multipv", 8))} if self.noise["kind"] == "boltzmann" else {}
            self._engine = self._pool.get(options)
        return self._engine

    # Moves ----------------------------------------------------------------------------------
    def _book_move(self, board: chess.Board, moves: Sequence[str], rng: np.random.Generator) -> chess.Move | None:
        lines = self.openings.get("lines", [])
        if self.openings["kind"] != "book" or not lines:
            return None
        if self._book_line is None:
            weights = np.asarray(self.openings.get("weights", [1.0] * len(lines)), dtype=float)
            self._book_line = lines[int(rng.choice(len(lines), p=weights / weights.sum()))].split()
        line = self._book_line
        if len(moves) < len(line) and list(moves) == line[: len(moves)]:
            return chess.Move.from_uci(line[len(moves)])
        return None

    def base_move(self, board: chess.Board, moves: Sequence[str]) -> chess.Move:
        if self.base["kind"] == "greedy-capture":
            captures = [m for m in board.legal_moves if board.is_capture(m)]
            if captures:
                def gain(m: chess.Move) -> int:
                    victim = board.piece_type_at(m.to_square) or chess.PAWN  # en passant
                    return _PIECE_VALUE[victim]
                return max(captures, key=lambda m: (gain(m), m.uci()))
        uci = self.engine.bestmove(moves, self.limit)
        if uci is None:
            raise RuntimeError("Stockfish found no move in a position that has legal moves")
        return chess.Move.from_uci(uci)

    def choose(self, board: chess.Board, moves: Sequence[str], rng: np.random.Generator) -> chess.Move:
        book = self._book_move(board, moves, rng)
        if book is not None:
            return book
        kind = self.noise["kind"]
        if self.base["kind"] == "random" or (kind == "epsilon" and rng.random() < float(self.noise["epsilon"])):
            legal = sorted(board.legal_moves, key=chess.Move.uci)
            return legal[int(rng.integers(len(legal)))]
        if kind == "boltzmann":
            lines = self.engine.analyse(moves, self.limit, multipv=int(self.noise.get("multipv", 8)))
            if lines:
                scores = np.array([cp for _, cp in lines], dtype=float)
                z = (scores - scores.max()) / float(self.noise["temperature_cp"])
                p = np.exp(z)
                return chess.Move.from_uci(lines[int(rng.choice(len(lines), p=p / p.sum()))][0])
        return self.base_move(board, moves)


def describe_settings(settings: dict[str, Any], prefix: str = "") -> str:
    """``{"noise": {"kind": "epsilon", "epsilon": 0.8}}`` -> ``"noise.kind=epsilon noise.epsilon=0.8"``.

    PGN tag values cannot hold raw quotes, so nested settings are flattened to key=value words.
    """
    words = []
    for key, value in settings.items():
        if isinstance(value, dict):
            inner = describe_settings(value, f"{prefix}{key}.")
            if inner:
                words.append(inner)
        elif value is not None:
            text = " ".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)
            words.append(f"{prefix}{key}=" + text.replace('"', "'").replace(" ", "_"))
    return " ".join(words)


# -- generation ---------------------------------------------------------------------------------

_WORKER_POOL: EnginePool | None = None


def _init_worker(stockfish: str | None) -> None:
    global _WORKER_POOL
    _WORKER_POOL = EnginePool(stockfish)


def play_one(task: tuple[int, int, PlayerSpec, PlayerSpec, int, str]) -> tuple[int, str, str, str, int]:
    """Play game ``index`` between two experts; returns ``(index, pgn, result, termination, plies)``."""
    index, seed, white, black, max_plies, pool_name = task
    assert _WORKER_POOL is not None
    rng = np.random.default_rng([seed, index])
    players = (make_player(white, _WORKER_POOL), make_player(black, _WORKER_POOL))
    board = chess.Board()
    moves: list[str] = []
    end = game_end(board)
    while end is None and len(moves) < max_plies:
        move = players[len(moves) % 2].choose(board, moves, rng)
        board.push(move)
        moves.append(move.uci())
        end = game_end(board)
    result, termination = end if end else ("1/2-1/2", "adjudicated: move cap, no evaluation")
    headers = {
        "Event": f"chessformer simulated experts ({pool_name})",
        "Site": f"chessformer://generate/{pool_name}/{seed}/{index}",
        "Date": "????.??.??",
        "Round": str(index + 1),
        "White": white.name,
        "Black": black.name,
        "Result": result,
        "WhiteElo": str(white.settings.get("nominal_elo") or "?"),
        "BlackElo": str(black.settings.get("nominal_elo") or "?"),
        "Termination": termination,
        "WhiteSettings": describe_settings(white.settings),
        "BlackSettings": describe_settings(black.settings),
    }
    return index, pgn_string(moves, headers), result, termination, len(moves)


def generate(experts: str | os.PathLike[str] | ExpertPool, n_games: int, out: str | os.PathLike[str], *,
             seed: int = 0, workers: int | None = None, max_plies: int = DEFAULT_MAX_PLIES,
             stockfish: str | None = None) -> dict[str, Any]:
    """Play ``n_games`` between every ordered pair of experts in turn; write PGN atomically.

    Returns the summary also written to ``<out>.json``. Output depends only on the arguments
    (not on ``workers``): game ``i`` uses the seed ``(seed, i)`` and games are written in order.
    """
    pool = experts if isinstance(experts, ExpertPool) else load_experts(experts)
    out = Path(out)
    workers = workers or min(4, 2 * (os.cpu_count() or 1))
    pairs = [(w, b) for w in pool.experts for b in pool.experts]
    tasks = [(i, seed, *pairs[i % len(pairs)], max_plies, pool.name) for i in range(n_games)]
    log.info("generate: %d games between %d experts (%s) with %d workers -> %s",
             n_games, len(pool.experts), pool.name, workers, out)
    counts: dict[str, int] = {}
    terminations: dict[str, int] = {}
    plies = 0
    t0 = time.perf_counter()
    ctx = mp.get_context("spawn" if os.name != "posix" else "fork")
    with atomic_path(out) as tmp, open(tmp, "w", encoding="utf-8") as f, \
            ctx.Pool(workers, initializer=_init_worker, initargs=(stockfish,)) as procs:
        bar = progress(total=n_games, desc="generate", unit="game")
        for _, text, result, termination, n in procs.imap(play_one, tasks, chunksize=4):
            f.write(text)
            counts[result] = counts.get(result, 0) + 1
            terminations[termination] = terminations.get(termination, 0) + 1
            plies += n
            bar.update(1)
        bar.close()
        f.flush()
    seconds = time.perf_counter() - t0
    summary = {
        "pgn": str(out), "pool": pool.name, "preset": pool.source, "games": n_games, "seed": seed,
        "max_plies": max_plies, "workers": workers, "results": counts,
        "terminations": terminations, "mean_plies": plies / max(n_games, 1),
        "seconds": round(seconds, 1), "games_per_s": round(n_games / max(seconds, 1e-9), 1),
        "experts": [e.to_json() for e in pool.experts],
    }
    write_json_atomic(out.with_suffix(out.suffix + ".json"), summary)
    log.info("generate: %d games in %.0f s (%.1f games/s), %.0f plies on average",
             n_games, seconds, summary["games_per_s"], summary["mean_plies"])
    return summary


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--experts", required=True,
                        help="expert preset: a TOML file, or a name in data/experts/ (e.g. demo)")
    parser.add_argument("--games", type=int, required=True, help="number of games to play")
    parser.add_argument("--out", required=True, help="output PGN file")
    parser.add_argument("--seed", type=int, default=0, help="seed of every game's randomness")
    parser.add_argument("--workers", type=int, default=None,
                        help="worker processes (default 4: each waits on its engine's pipe)")
    parser.add_argument("--max-plies", type=int, default=DEFAULT_MAX_PLIES,
                        help="adjudicate a game as a draw after this many plies (recorded in "
                             "Termination)")
    parser.add_argument("--stockfish", default=None, help="Stockfish binary (default: search)")


def main(args: argparse.Namespace) -> int:
    if args.games <= 0:
        raise UserError("--games must be positive")
    generate(args.experts, args.games, args.out, seed=args.seed, workers=args.workers,
             max_plies=args.max_plies, stockfish=args.stockfish)
    return 0

