"""``chessformer eval-vs-stockfish``: a trained model against Stockfish and experts over a grid.

    chessformer eval-vs-stockfish --model runs/demo --grid evals/fast.toml
    chessformer eval-vs-stockfish --model runs/demo --levels 1,3,5 \\
        --temperatures 0.001,0.01,0.1,0.3,0.5,0.75,1.0,1.5 --games 100

A grid (TOML in ``evals/``) lists opponents, temperatures, legality modes and game counts; every
(opponent, temperature, legality) cell plays ``games`` games in colour-swapped pairs, each pair
from its own seeded opening. Results go to ``RUN/eval/<grid>/``:

``games.jsonl``
    one line per finished game, appended and flushed as the game ends (the source of truth: a
    run killed at any moment and started again skips what is there and loses nothing);
``games.pgn``
    every game, rebuilt from ``games.jsonl`` at the end;
``eval.json``
    the grid, model, Stockfish version, anchors, seeds and command.

Speed: all live games of a wave advance together, one ply at a time. Each ply the model makes one
batched forward pass (one new token per game, through a KV cache) while the opponents' moves are
computed by Stockfish in worker processes; the model samples only in the games where it is to
move. Legality modes: ``masked`` samples among legal moves only; ``raw`` (the paper's protocol)
samples from the whole vocabulary and, on an illegal move, samples again up to 5 times before the
model forfeits. Every game records the model's illegal samples.

Games that reach ``max_plies`` are adjudicated by a full-strength Stockfish evaluation (a side
ahead by ``threshold_cp`` wins, otherwise a draw) or, with ``adjudication = "unfinished"``,
recorded with result ``*``; never silently drawn. Stockfish below Skill Level 20 draws its
weakening from a clock-seeded generator, so only full-strength, node- or depth-limited Stockfish
and the seeded experts replay identically.
"""

from __future__ import annotations

import dataclasses
import json
import multiprocessing as mp
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import chess
import numpy as np

from chessformer.core import tokenizer as tok
from chessformer.play.engine import EngineError, Limit, require_stockfish, stockfish_version
from chessformer.core.games import DEFAULT_MAX_PLIES, check_line, game_end, pgn_string, random_opening
from chessformer.play.players import EnginePool, PlayerSpec, make_player
from chessformer.utils import (
    UserError,
    log,
    progress,
    read_toml,
    write_json_atomic,
    write_text_atomic,
)

__all__ = ["Grid", "GameTask", "build_tasks", "load_grid", "run_eval"]


MAX_RAW_TRIES = 5


# ---------------------------------------------------------------------------------------------
# Grid
# ---------------------------------------------------------------------------------------------

@dataclass
class Grid:
    """An evaluation grid: which games to play. Loaded from TOML, overridable from the CLI."""

    name: str = "fast"
    opponents: list[PlayerSpec] = field(default_factory=list)
    temperatures: list[float] = field(default_factory=lambda: [0.001, 0.3, 1.0])
    legality: list[str] = field(default_factory=lambda: ["masked"])
    games: int = 20
    matches: list[tuple[list[PlayerSpec], int]] = field(default_factory=list)
    opening_plies: int = 4
    #: Opening lines (UCI, space-separated): when set, the j-th pair of every cell opens with
    #: ``openings[j % len(openings)]`` instead of ``opening_plies`` random plies.
    openings: list[str] = field(default_factory=list)
    max_plies: int = DEFAULT_MAX_PLIES
    adjudication: dict[str, Any] = field(default_factory=lambda: {"kind": "stockfish", "depth": 12,
                                                                  "threshold_cp": 400})
    anchors: dict[str, float] = field(default_factory=dict)
    seed: int = 0
    batch_size: int = 64
    workers: int = 2
    top_k: int | None = None
    source: str = ""


def _opponents(raw: dict[str, Any], where: str) -> list[PlayerSpec]:
    kind = raw.get("kind")
    if kind == "stockfish":
        known = {"kind", "skill", "uci_elo", "nodes", "depth", "movetime_ms", "name"}
        if unknown := set(raw) - known:
            raise UserError(f"{where}: unknown stockfish settings {sorted(unknown)}")
        spec = PlayerSpec.stockfish(skill=raw.get("skill"), elo=raw.get("uci_elo"),
                                    nodes=raw.get("nodes"), depth=raw.get("depth"),
                                    movetime_ms=raw.get("movetime_ms"), name=raw.get("name"))
        if not any(k in spec.settings for k in ("nodes", "depth", "movetime_ms")):
            raise UserError(f"{where}: a stockfish opponent needs nodes, depth or movetime_ms")
        return [spec]
    if kind == "random":
        return [PlayerSpec.random()]
    if kind == "experts":
        from chessformer.play.experts import load_experts

        pool = load_experts(raw.get("preset", "demo"))
        names = raw.get("only")
        return [e for e in pool.experts if names is None or e.name in names]
    if kind == "expert":  # one expert described inline, in the TOML format of data/experts/
        from chessformer.play.experts import _check_expert

        return [_check_expert({k: v for k, v in raw.items() if k != "kind"}, where)]
    if kind == "ensemble":
        from chessformer.play.experts import ensemble_spec

        return [ensemble_spec(raw)]
    raise UserError(f"{where}: opponent kind must be stockfish, random, expert, experts or ensemble, "
                    f"not {kind!r}")


def load_grid(path: str | os.PathLike[str]) -> Grid:
    p, raw = read_toml(path, folder="evals", what="evaluation grid")
    return grid_from_table(raw, p)


def grid_from_table(raw: dict[str, Any], p: str | os.PathLike[str]) -> Grid:
    """A grid from its TOML table (``p``: where it comes from, for errors and its name)."""
    p = Path(p)
    grid = Grid(name=raw.get("name", p.stem), source=str(p))
    simple = {f.name for f in dataclasses.fields(Grid)} - {"opponents", "matches", "name", "source"}
    for key, value in raw.items():
        if key in simple:
            setattr(grid, key, value)
        elif key not in ("opponent", "match", "name", "description"):
            raise UserError(f"{p}: unknown grid setting {key!r}")
    grid.opponents = [s for i, o in enumerate(raw.get("opponent", []))
                      for s in _opponents(o, f"{p}: opponent {i + 1}")]
    for i, m in enumerate(raw.get("match", [])):
        players = [s for j, o in enumerate(m.get("players", []))
                   for s in _opponents(o, f"{p}: match {i + 1} player {j + 1}")]
        if len(players) < 2:
            raise UserError(f"{p}: match {i + 1} needs two or more players")
        grid.matches.append((players, int(m.get("games", grid.games))))
    validate_grid(grid)
    return grid


def validate_grid(grid: Grid) -> None:
    where = grid.source or "grid"
    if not grid.opponents and not grid.matches:
        raise UserError(f"{where}: no opponents")
    if grid.games <= 0 or grid.games % 2:
        raise UserError(f"{where}: games per cell must be a positive even number (colour pairs), "
                        f"got {grid.games}")
    for t in grid.temperatures:
        if not t > 0:
            raise UserError(f"{where}: temperatures must be > 0, got {t}")
    for mode in grid.legality:
        if mode not in ("masked", "raw"):
            raise UserError(f"{where}: legality must be masked or raw, not {mode!r}")
    for line in grid.openings:
        check_line(line, f"{where}: illegal opening line")
    if grid.adjudication.get("kind") not in ("stockfish", "unfinished"):
        raise UserError(f"{where}: adjudication.kind must be stockfish or unfinished")


# ---------------------------------------------------------------------------------------------
# Tasks
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ModelSettings:
    temperature: float
    legality: str
    top_k: int | None = None


@dataclass(frozen=True)
class GameTask:
    index: int
    cell: str
    pair: int
    white: PlayerSpec
    black: PlayerSpec
    opening: tuple[str, ...]
    seed: int
    model: ModelSettings | None = None  # set when one side is the model
    model_color: bool | None = None


def _model_spec(label: str, run: str, s: ModelSettings, cap: int | None) -> PlayerSpec:
    name = f"{label} T={s.temperature:g} {s.legality}"
    settings: dict[str, Any] = {"run": run, "label": label, "temperature": s.temperature,
                                "legality": s.legality, "cap": cap}
    if s.top_k:
        settings["top_k"] = s.top_k
        name += f" top{s.top_k}"
    return PlayerSpec(name, "model", settings)


def build_tasks(grid: Grid, *, label: str = "model", run: str = "", cap: int | None = None) -> list[GameTask]:
    """Every game of the grid, in a fixed order; game ``i`` is the same on every machine."""
    tasks: list[GameTask] = []

    def add_pair(cell: str, a: PlayerSpec, b: PlayerSpec, model: ModelSettings | None, pair: int,
                 j: int) -> None:
        # The opening depends on the grid and the pair's rank j in its cell only, so the j-th
        # pair opens the same way in every cell: cells differ by the players, not the openings.
        if grid.openings:
            opening = tuple(grid.openings[j % len(grid.openings)].split())
        else:
            opening = tuple(random_opening(grid.opening_plies, np.random.default_rng([grid.seed, 1, j])))
        for white, black in ((a, b), (b, a)):
            seed = int(np.random.default_rng([grid.seed, 2, len(tasks)]).integers(2**31))
            color = None if model is None else (white.kind == "model")
            tasks.append(GameTask(len(tasks), cell, pair, white, black, opening, seed, model, color))

    pair = 0
    for legality in grid.legality:
        for temp in grid.temperatures:
            ms = ModelSettings(temp, legality, grid.top_k)
            me = _model_spec(label, run, ms, cap)
            for opp in grid.opponents:
                cell = f"{me.name} vs {opp.name}"
                for j in range(grid.games // 2):
                    add_pair(cell, me, opp, ms, pair, j)
                    pair += 1
    for players, games in grid.matches:
        for i, a in enumerate(players):
            for b in players[i + 1:]:
                cell = f"{a.name} vs {b.name}"
                for j in range(max(games // 2, 1)):
                    add_pair(cell, a, b, None, pair, j)
                    pair += 1
    return tasks


# ---------------------------------------------------------------------------------------------
# Opponent workers: stateful processes, each owning its Stockfish engines and its games' boards
# ---------------------------------------------------------------------------------------------

def _worker_main(conn: Connection, stockfish: str, timeout: float) -> None:
    pool = EnginePool(stockfish, timeout=timeout)
    games: dict[int, tuple[Any, chess.Board, list[str], np.random.Generator]] = {}
    try:
        while True:
            msg = conn.recv()
            op = msg[0]
            if op == "quit":
                break
            if op == "start":
                # A wave starts from empty hash tables, so a game's moves do not depend on which
                # waves this engine played before (shards and full runs replay identically).
                for eng in pool.engines():
                    eng.new_game()
                for index, spec, seed, moves in msg[1]:
                    board = chess.Board()
                    for uci in moves:
                        board.push_uci(uci)
                    player = None if spec is None else make_player(spec, pool)
                    games[index] = (player, board, list(moves), np.random.default_rng([seed, 1 + index % 2]))
                conn.send(("ok",))
            elif op == "move":
                out = []
                for index, new_moves, want in msg[1]:
                    player, board, moves, rng = games[index]
                    for uci in new_moves:
                        board.push_uci(uci)
                        moves.append(uci)
                    out.append((index, _choose(player, board, moves, rng, pool) if want else None))
                conn.send(out)
            elif op == "evaluate":
                out = []
                depth = msg[2]
                for index, new_moves in msg[1]:
                    _, board, moves, _ = games[index]
                    for uci in new_moves:
                        board.push_uci(uci)
                        moves.append(uci)
                    out.append((index, _evaluate(pool, moves, depth)))
                conn.send(out)
            elif op == "end":
                for (index,) in msg[1]:
                    games.pop(index, None)
                conn.send(("ok",))
            elif op == "kill_engines":  # for the crash test: kill -9 every engine process
                for eng in pool.engines():
                    if eng.pid:
                        os.kill(eng.pid, 9)
                conn.send(("ok",))
    except (EOFError, KeyboardInterrupt):
        pass
    finally:
        pool.close()


def _choose(player, board, moves, rng, pool) -> str | tuple[str, str]:
    """The opponent's move, restarting the worker's engines once on a dead or hung one;
    ``("error", why)`` if the retry fails too."""
    for _ in range(2):
        try:
            return player.choose(board, moves, rng).uci()
        except EngineError as e:
            reason = str(e)
            try:  # which engine failed is not known here: restart them all (stateless per move)
                for eng in pool.engines():
                    eng.restart()
            except Exception as restart_error:  # noqa: BLE001 - reported, game aborted
                return ("error", f"engine restart failed: {restart_error}")
    return ("error", f"engine failed twice: {reason}")


def _evaluate(pool: EnginePool, moves: list[str], depth: int) -> int | None:
    try:
        lines = pool.get({}).analyse(moves, Limit(depth=depth))
    except EngineError:
        return None
    return lines[0][1] if lines else None


class Workers:
    def __init__(self, n: int, stockfish: str, timeout: float = 30.0) -> None:
        ctx = mp.get_context("fork" if sys.platform != "win32" else "spawn")
        self.conns: list[Connection] = []
        self.procs = []
        for _ in range(n):
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_worker_main, args=(child, stockfish, timeout), daemon=True)
            proc.start()
            child.close()
            self.conns.append(parent)
            self.procs.append(proc)

    def of(self, slot: int) -> int:
        """The worker of a player slot (``2 * game + colour``): both games of a colour-swapped
        pair share a worker, and consecutive pairs alternate. In one pair the opponent moves at
        even plies in one game and odd plies in the other, so every worker is busy every ply
        (routing by colour would leave one worker idle at each ply)."""
        return (slot // 4) % len(self.conns)

    def broadcast(self, op: str, per_worker: list[list[Any]], *extra: Any) -> list[Any]:
        """Send each worker its share, then gather; workers compute in parallel."""
        sent = []
        for w, items in enumerate(per_worker):
            if items:
                self.conns[w].send((op, items, *extra))
                sent.append(w)
        out: list[Any] = []
        for w in sent:
            reply = self.conns[w].recv()
            if op in ("move", "evaluate"):
                out.extend(reply)
        return out

    def close(self) -> None:
        for c in self.conns:
            try:
                c.send(("quit",))
            except (BrokenPipeError, OSError):
                pass
        for p in self.procs:
            p.join(timeout=5)
            if p.is_alive():
                p.kill()


# ---------------------------------------------------------------------------------------------
# The model side: batched sampling with a KV cache
# ---------------------------------------------------------------------------------------------

class ModelDriver:
    """Feeds one token per game per ply through the model and samples where the model moves."""

    def __init__(self, model, *, device: str = "cpu", dtype: str = "fp32", threads: int = 1) -> None:
        import torch

        self.torch = torch
        # One thread: the Stockfish workers use the other cores at the same moment, and an
        # OpenMP team whose second thread is descheduled waits milliseconds at every barrier
        # (measured: decoding steps 14x slower with 2 threads beside busy engines).
        torch.set_num_threads(threads)
        self.model = model.eval()
        self.device = device
        self.use_board = model.config.input_mode == "moves+board"
        self.block = model.config.block_size
        self.autocast = dtype == "bf16"
        self.seconds = 0.0
        self.forwards = 0

    def start(self, batch: int) -> None:
        self.cache = self.model.new_cache(batch, self.block, self.device,
                                          self.torch.bfloat16 if self.autocast else self.torch.float32)
        self.tokens: list[list[int]] = [[] for _ in range(batch)]
        self.boards: list[list[np.ndarray]] = [[] for _ in range(batch)]

    def compact(self, rows: list[Any]) -> list[Any]:
        """Keep only the rows of live games (``rows[i]`` is None or done when not live).

        Returns the new row list, padded to a power of two (few distinct shapes) with ``None``.
        """
        keep = [i for i, g in enumerate(rows) if g is not None and g.result is None]
        size = max(8, 1 << (len(keep) - 1).bit_length()) if keep else 8
        index = keep + [keep[0] if keep else 0] * (size - len(keep))
        sel = self.torch.tensor(index, dtype=self.torch.long)
        self.cache.k = self.cache.k[:, sel].contiguous()
        self.cache.v = self.cache.v[:, sel].contiguous()
        self.cache.batch_size = size
        self.tokens = [list(self.tokens[i]) for i in index]
        self.boards = [list(self.boards[i]) for i in index]
        return [rows[i] for i in keep] + [None] * (size - len(keep))

    def step(self, tokens: list[int], boards: list[np.ndarray | None]) -> np.ndarray:
        """Append one token (and the board after it) per row; return float32 logits ``[B, V]``."""
        from chessformer.core.boards import BOARD_BYTES

        torch = self.torch
        t0 = time.perf_counter()
        for i, (t, b) in enumerate(zip(tokens, boards)):
            self.tokens[i].append(t)
            if self.use_board:
                self.boards[i].append(b if b is not None else np.zeros(BOARD_BYTES, np.uint8))
        # Out of context: restart the cache from the last half-window of every game (training
        # sees windows that start mid-game too, with positions counted from the window start).
        n = self.block // 2 if self.cache.length >= self.block else 1
        if n > 1:
            self.cache.reset()
        idx = torch.tensor([t[-n:] for t in self.tokens], dtype=torch.long)
        brd = (torch.from_numpy(np.stack([np.stack(b[-n:]) for b in self.boards]))
               if self.use_board else None)
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.autocast):
            logits, _ = self.model(idx.to(self.device), None if brd is None else brd.to(self.device),
                                   cache=self.cache)
        out = logits[:, -1].float().cpu().numpy()
        self.seconds += time.perf_counter() - t0
        self.forwards += 1
        return out


def sample_move(logits: np.ndarray, board: chess.Board, s: ModelSettings,
                rng: np.random.Generator) -> tuple[chess.Move | None, int]:
    """Sample the model's move from one row of logits. Returns ``(move or None if forfeit, illegal)``."""
    legal = {tok.uci_to_id(m.uci()): m for m in board.legal_moves}
    z = logits.astype(np.float64) / s.temperature
    z[: len(tok.SPECIALS)] = -np.inf
    if s.legality == "masked":
        mask = np.full_like(z, -np.inf)
        ids = np.fromiter(legal, dtype=np.int64)
        mask[ids] = 0.0
        z = z + mask
    if s.top_k:
        kth = np.partition(z, -s.top_k)[-s.top_k]
        z[z < kth] = -np.inf
    z -= z.max()
    p = np.exp(z)
    p /= p.sum()
    cdf = np.cumsum(p)
    illegal = 0
    for _ in range(MAX_RAW_TRIES if s.legality == "raw" else 1):
        token = int(np.searchsorted(cdf, rng.random() * cdf[-1], side="right"))
        token = min(token, len(p) - 1)
        if token in legal:
            return legal[token], illegal
        illegal += 1
    return None, illegal


# ---------------------------------------------------------------------------------------------
# The evaluation loop
# ---------------------------------------------------------------------------------------------

@dataclass
class LiveGame:
    task: GameTask
    row: int
    board: chess.Board = field(default_factory=chess.Board)
    moves: list[str] = field(default_factory=list)
    sent: dict[int, int] = field(default_factory=dict)  # worker slot -> moves already sent there
    illegal: int = 0
    model_moves: int = 0
    rng: np.random.Generator | None = None
    result: str | None = None
    termination: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    t0: float = field(default_factory=time.perf_counter)

    def finish(self, result: str, termination: str, **extra: Any) -> None:
        self.result, self.termination = result, termination
        self.extra.update(extra)

    def slot(self, color: bool) -> int:
        """Worker-side key of the sequential player of ``color`` in this game."""
        return 2 * self.task.index + (0 if color == chess.WHITE else 1)

    def model_to_move(self) -> bool:
        return self.task.model_color is not None and self.board.turn == self.task.model_color

    def new_moves_for(self, slot: int) -> list[str]:
        new = self.moves[self.sent.get(slot, 0):]
        self.sent[slot] = len(self.moves)
        return new


def _record(g: LiveGame) -> dict[str, Any]:
    t = g.task
    side = None if t.model_color is None else ("white" if t.model_color else "black")
    return {
        "id": f"g{t.index:06d}", "index": t.index, "cell": t.cell, "pair": t.pair,
        "white": t.white.name, "black": t.black.name, "result": g.result,
        "termination": g.termination, "plies": len(g.moves), "seed": t.seed,
        "opening": list(t.opening),
        "players": {"white": t.white.to_json(), "black": t.black.to_json()},
        "illegal": {"white": g.illegal if side == "white" else 0,
                    "black": g.illegal if side == "black" else 0},
        "model_moves": {"white": g.model_moves if side == "white" else 0,
                        "black": g.model_moves if side == "black" else 0},
        "moves": g.moves, "time_s": round(time.perf_counter() - g.t0, 3), **g.extra,
    }


def _split(workers: Workers, items: list[tuple[int, Any]]) -> list[list[Any]]:
    """Route ``(slot, payload...)`` items to the worker that owns each slot."""
    per: list[list[Any]] = [[] for _ in workers.conns]
    for item in items:
        per[workers.of(item[0])].append(item)
    return per


def play_wave(tasks: Sequence[GameTask], driver: ModelDriver | None, workers: Workers,
              grid: Grid, emit) -> dict[str, float]:
    """Play a wave of games to the end; ``emit(record)`` is called as each game finishes.

    Every sequential player (Stockfish, an expert, the random mover) lives in a worker under its
    game's slot for its colour, with its own engine, board and seeded generator; the model plays
    its side of all the wave's games in the main process, in one batched forward pass per ply.
    """
    from chessformer.core.boards import encode_board

    games = [LiveGame(t, i, rng=np.random.default_rng([t.seed, 0])) for i, t in enumerate(tasks)]
    starts = []
    for g in games:
        for color, spec in ((chess.WHITE, g.task.white), (chess.BLACK, g.task.black)):
            if spec.kind != "model":
                starts.append((g.slot(color), spec, g.task.seed, []))
    workers.broadcast("start", _split(workers, starts))
    for g in games:
        for uci in g.task.opening:
            g.board.push_uci(uci)
            g.moves.append(uci)
        if (end := game_end(g.board)) is not None:
            g.finish(*end)
    # rows[i] is the game in batch row i (None: padding). The batch keeps a fixed shape (CPU bf16
    # builds kernels per shape) and halves when half of its games are over.
    rows: list[LiveGame | None] = [*games, *[None] * (grid.batch_size - len(games))]
    logits = None
    if driver is not None:
        driver.start(len(rows))
        # Feed <bos> and the opening, one token per row per step, rows in lockstep.
        replay = [chess.Board() for _ in games]
        for k in range(1 + max(len(g.task.opening) for g in games)):
            toks, brds = [], []
            for g, b in zip(games, replay):
                if k == 0:
                    toks.append(tok.BOS)
                elif k <= len(g.task.opening):
                    b.push_uci(g.task.opening[k - 1])
                    toks.append(tok.uci_to_id(g.task.opening[k - 1]))
                else:
                    toks.append(tok.PAD)
                brds.append(encode_board(b) if driver.use_board else None)
            pad = len(rows) - len(games)
            logits = driver.step(toks + [tok.PAD] * pad, brds + [None] * pad)
    opp_seconds = 0.0
    while live := [g for g in games if g.result is None]:
        # 1. Sequential players move in the workers ...
        requests = [(g.slot(g.board.turn), g.new_moves_for(g.slot(g.board.turn)), True)
                    for g in live if not g.model_to_move()]
        t0 = time.perf_counter()
        per = _split(workers, requests)
        for w, items in enumerate(per):
            if items:
                workers.conns[w].send(("move", items))
        # 2. ... while the model samples its moves in the main process.
        if driver is not None and logits is not None:
            for g in live:
                if g.model_to_move():
                    assert g.task.model is not None and g.rng is not None
                    move, illegal = sample_move(logits[g.row], g.board, g.task.model, g.rng)
                    g.illegal += illegal
                    g.model_moves += 1
                    if move is None:
                        g.finish("0-1" if g.board.turn == chess.WHITE else "1-0", "forfeit_illegal")
                    else:
                        g.board.push(move)
                        g.moves.append(move.uci())
        replies: dict[int, Any] = {}
        for w, items in enumerate(per):
            if items:
                replies.update(workers.conns[w].recv())
        opp_seconds += time.perf_counter() - t0
        for g in live:
            reply = replies.get(g.slot(g.board.turn)) if g.result is None and not g.model_to_move() else None
            if reply is None:
                continue
            if isinstance(reply, tuple):
                g.finish("*", "aborted", abort_reason=reply[1])
                continue
            g.board.push_uci(reply)
            g.moves.append(reply)
        # 3. Game ends and move caps.
        capped = []
        for g in live:
            if g.result is None:
                if (end := game_end(g.board)) is not None:
                    g.finish(*end)
                elif len(g.moves) >= grid.max_plies:
                    capped.append(g)
        if capped:
            _adjudicate(capped, workers, grid)
        for g in live:
            if g.result is not None:
                emit(_record(g))
        # 4. The model reads the move just played in every game (one token per row per ply).
        if driver is not None and any(g.result is None for g in games):
            n_live = sum(g is not None and g.result is None for g in rows)
            if n_live <= len(rows) // 2 and len(rows) > 8:
                rows = driver.compact(rows)
                for i, g in enumerate(rows):
                    if g is not None:
                        g.row = i
            toks = [tok.uci_to_id(g.moves[-1]) if g is not None and g.result is None else tok.PAD
                    for g in rows]
            brds = [encode_board(g.board) if driver.use_board and g is not None and g.result is None
                    else None for g in rows]
            logits = driver.step(toks, brds)
    workers.broadcast("end", _split(workers, [(k,) for k, *_ in starts]))
    return {"opponent_s": opp_seconds}


def _adjudicate(games: list[LiveGame], workers: Workers, grid: Grid) -> None:
    adj = grid.adjudication
    if adj.get("kind") == "unfinished":
        for g in games:
            g.finish("*", "move_cap")
        return
    depth = int(adj.get("depth", 12))
    threshold = int(adj.get("threshold_cp", 400))
    items = []
    for g in games:
        # Any of the game's worker slots can evaluate: it holds the game's board.
        slot = g.slot(chess.WHITE) if g.task.white.kind != "model" else g.slot(chess.BLACK)
        items.append((slot, g.new_moves_for(slot)))
    scores = dict(workers.broadcast("evaluate", _split(workers, items), depth))
    for g, (slot, _) in zip(games, items):
        cp = scores.get(slot)
        if cp is None:
            g.finish("*", "move_cap", adjudication="evaluation failed")
            continue
        white_cp = cp if g.board.turn == chess.WHITE else -cp
        result = "1-0" if white_cp >= threshold else "0-1" if white_cp <= -threshold else "1/2-1/2"
        g.finish(result, "adjudicated", adjudication={"eval_cp_white": white_cp,
                                                       "threshold_cp": threshold, "depth": depth})


# ---------------------------------------------------------------------------------------------
# Resumable results
# ---------------------------------------------------------------------------------------------

def read_results(path: Path) -> list[dict[str, Any]]:
    """Finished games in ``games.jsonl``; a torn last line (killed mid-write) is cut off."""
    if not path.exists():
        return []
    records, good = [], 0
    with open(path, "rb") as f:
        data = f.read()
    for line in data.splitlines(keepends=True):
        if not line.endswith(b"\n"):
            break
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            break
        good += len(line)
    if good != len(data):
        log.warning("%s: dropping a torn last line (%d bytes) left by an interrupted run",
                    path, len(data) - good)
        with open(path, "r+b") as f:
            f.truncate(good)
    return records


def write_pgn(records: Sequence[dict[str, Any]], path: Path) -> None:
    parts = []
    for r in sorted(records, key=lambda r: r["index"]):
        headers = {
            "Event": f"chessformer eval: {r['cell']}", "Site": f"chessformer://eval/{r['id']}",
            "Date": "????.??.??", "Round": str(r["pair"] + 1), "White": r["white"],
            "Black": r["black"], "Result": r["result"], "Termination": r["termination"],
            "Seed": str(r["seed"]),
        }
        for side in ("white", "black"):
            p = r["players"][side]
            desc = " ".join(f"{k}={v}" for k, v in p.items() if k not in ("name",) and v is not None)
            headers[f"{side.capitalize()}Settings"] = desc.replace('"', "'")
            if p.get("kind") == "model":
                headers["Temperature"] = str(p["temperature"])
                headers["Legality"] = p["legality"]
                headers["IllegalSamples"] = str(r["illegal"][side])
        parts.append(pgn_string(r["moves"], headers))
    write_text_atomic(path, "".join(parts))


def parse_shard(text: str | None) -> tuple[int, int]:
    if not text:
        return 0, 1
    try:
        i, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise UserError(f"--shard must look like i/n (e.g. 0/4), got {text!r}") from None
    if not 0 <= i < n:
        raise UserError(f"--shard {text}: need 0 <= i < n")
    return i, n


def run_eval(grid: Grid, model_path: str | os.PathLike[str] | None, out: str | os.PathLike[str], *,
             label: str | None = None, shard: tuple[int, int] = (0, 1), stockfish: str | None = None,
             device: str = "cpu", dtype: str = "fp32", command: str = "",
             engine_timeout: float = 30.0, threads: int = 1) -> dict[str, Any]:
    """Play every game of ``grid`` not yet in ``out/games.jsonl``; returns the eval summary."""
    validate_grid(grid)
    out = Path(out)
    sf = str(require_stockfish(stockfish))
    sf_version = stockfish_version(sf)
    model = None
    cap = None
    run_name = ""
    if grid.opponents:
        if model_path is None:
            raise UserError("this grid has model games: pass --model RUN")
        from chessformer.model.transformer import load_model

        model = load_model(model_path, device=device)
        run_name = Path(model_path).name
        cap = _training_cap(Path(model_path))
    label = label or run_name or "model"
    tasks = build_tasks(grid, label=label, run=run_name, cap=cap)
    i, n = shard
    tasks = [t for t in tasks if (t.index // grid.batch_size) % n == i]
    out.mkdir(parents=True, exist_ok=True)
    results_path = out / "games.jsonl"
    done = {r["index"] for r in read_results(results_path)}
    todo = [t for t in tasks if t.index not in done]
    if done:
        log.info("eval: resuming %s: %d of %d games already done", out, len(done & {t.index for t in tasks}), len(tasks))
    anchors = dict(grid.anchors) or _ladder_anchors(sf_version, tasks)
    manifest = {
        "grid": grid.name, "grid_file": grid.source, "grid_settings": _grid_json(grid),
        "model_run": None if model_path is None else str(model_path), "label": label,
        "stockfish": {"path": sf, "version": sf_version}, "ladder": _ladder_path(sf_version),
        "anchors": anchors, "seed": grid.seed, "shard": f"{i}/{n}", "games": len(tasks),
        "command": command, "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    write_json_atomic(out / "eval.json", manifest)
    driver = (ModelDriver(model, device=device, dtype=dtype, threads=threads)
              if model is not None else None)
    workers = Workers(grid.workers, sf, timeout=engine_timeout)
    stats = {"opponent_s": 0.0}
    plies = 0
    t0 = time.perf_counter()
    bar = progress(total=len(tasks), initial=len(tasks) - len(todo), desc=f"eval {grid.name}", unit="game")
    try:
        with open(results_path, "a", encoding="utf-8") as f:
            def emit(record: dict[str, Any]) -> None:
                nonlocal plies
                f.write(json.dumps(record, separators=(",", ":")) + "\n")
                f.flush()
                os.fsync(f.fileno())
                plies += record["plies"]
                bar.update(1)

            for w in range(0, len(todo), grid.batch_size):
                wave = todo[w:w + grid.batch_size]
                s = play_wave(wave, driver if any(t.model is not None for t in wave) else None,
                              workers, grid, emit)
                stats["opponent_s"] += s["opponent_s"]
    finally:
        bar.close()
        workers.close()
    seconds = time.perf_counter() - t0
    records = read_results(results_path)
    write_pgn(records, out / "games.pgn")
    manifest.update({
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "played_now": len(todo), "seconds": round(seconds, 1),
        "games_per_s": round(len(todo) / max(seconds, 1e-9), 2),
        "moves_per_s": round(plies / max(seconds, 1e-9), 1),
        "model_s": round(driver.seconds, 1) if driver else 0.0,
        "model_share": round(driver.seconds / max(seconds, 1e-9), 3) if driver else 0.0,
        "unfinished": sum(r["result"] == "*" for r in records),
    })
    write_json_atomic(out / "eval.json", manifest)
    log.info("eval: %d games in %.0f s (%.2f games/s, model %.0f%% of the time) -> %s",
             len(todo), seconds, manifest["games_per_s"], 100 * manifest["model_share"], out)
    return manifest


def _grid_json(grid: Grid) -> dict[str, Any]:
    d = dataclasses.asdict(grid)
    d["opponents"] = [o.to_json() for o in grid.opponents]
    d["matches"] = [{"players": [p.to_json() for p in ps], "games": g} for ps, g in grid.matches]
    return d


def _training_cap(run: Path) -> int | None:
    try:
        info = json.loads((run / "run.json").read_text())
        data = Path(info.get("data", ""))
        manifest = json.loads((data / "manifest.json").read_text())
        cap = manifest.get("elo_cap", manifest.get("filters", {}).get("elo_cap"))
        return None if cap is None else int(cap)
    except (OSError, ValueError, TypeError):
        return None


def _ladder_path(version: str) -> str | None:
    from chessformer.formats.ladder import find_ladder
    from chessformer.rating.anchors import LADDER_DIR

    p = find_ladder(version, LADDER_DIR)
    return None if p is None else str(p)


def _ladder_anchors(version: str, tasks: Sequence[GameTask]) -> dict[str, float]:
    """The calibrated ratings of the ladder rungs that play in ``tasks``."""
    from chessformer.formats.ladder import load_ladder

    path = _ladder_path(version)
    if path is None:
        return {}
    names = {t.white.name for t in tasks} | {t.black.name for t in tasks}
    return {name: elo for name, elo in load_ladder(path).items() if name in names}


# ---------------------------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------------------------
