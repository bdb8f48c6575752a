"""The arena: a trained model against Stockfish, UCI engines and experts over a grid (the library of
``chessformer eval-vs-stockfish``).

    chessformer eval-vs-stockfish --model runs/demo --grid evals/fast.toml
    chessformer eval-vs-stockfish --model runs/demo --levels 1,3,5 \\
        --temperatures 0.001,0.01,0.1,0.3,0.5,0.75,1.0,1.5 --games 100

A grid (TOML in ``evals/``, :mod:`chessformer.play.grid`) lists opponents, temperatures, legality modes and game counts; every
(opponent, temperature, legality) cell plays ``games`` games in colour-swapped pairs, each pair
from its own seeded opening (:mod:`chessformer.play.tasks`). Results go to ``RUN/eval/<grid>/``,
read and written only through :mod:`chessformer.formats.games`:

``games.jsonl``
    one line per finished game, appended and flushed as the game ends (the source of truth: a
    run killed at any moment and started again skips what is there and loses nothing);
``games.pgn``
    every game, rebuilt from ``games.jsonl`` at the end;
``eval.json``
    the grid, model, Stockfish version, anchors, seeds and command.

Speed: all live games of a wave advance together, one ply at a time. Each ply the model makes one
batched forward pass (one new token per game, through a KV cache: :mod:`chessformer.model.inference`) while the opponents' moves are
computed in worker processes (:mod:`chessformer.play.workers`); the model samples only in the games where it is to
move. Legality modes: ``masked`` samples among legal moves only; ``raw`` (the paper's protocol)
samples from the whole vocabulary, 5 samples in all while they are illegal, and the model
forfeits when all 5 are illegal (recording 5 illegal samples). This is the paper's code exactly:
KempnerInstitute/chess-research, ``chess_research/eval/utils.py`` (commit 586f5d9), line 168,
where ``play_turn`` calls ``get_legal_move(..., max_attempts=5)``, and line 205, its loop
``for attempt in range(max_attempts)`` that returns the first legal sample and otherwise ends
the game with ``attempts=max_attempts``. (Its character-level model could also "resign" by
writing a result; move tokens cannot.) Every game records the model's illegal samples.

Games that reach ``max_plies`` are adjudicated by a full-strength Stockfish evaluation (a side
ahead by ``threshold_cp`` wins, otherwise a draw) or, with ``adjudication = "unfinished"``,
recorded with result ``*``; never silently drawn. Stockfish below Skill Level 20 draws its
weakening from a clock-seeded generator, so only full-strength, node- or depth-limited Stockfish
and the seeded experts replay identically.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import chess
import numpy as np

from chessformer.core import tokenizer as tok
from chessformer.core.boards import encode_board
from chessformer.core.engine import require_stockfish, stockfish_version
from chessformer.core.games import game_end
from chessformer.formats.games import (
    EvalInfo,
    GameRecord,
    append_result,
    games_path,
    has_eval_info,
    pgn_path,
    read_eval_info,
    read_results,
    write_eval_info,
    write_pgn,
)
from chessformer.formats.generated import spec_hash
from chessformer.formats.ladder import find_ladder, load_ladder
from chessformer.formats.run import run_elo_cap
from chessformer.model.inference import BatchDecoder, sample_move
from chessformer.play.grid import DEFAULT_ADJUDICATION, Grid, grid_json, validate_grid
from chessformer.play.tasks import GameTask, build_tasks
from chessformer.play.workers import Workers
from chessformer.utils import UserError, code_version, log, progress

__all__ = ["parse_shard", "play_wave", "run_eval"]


@dataclass
class LiveGame:
    """A game being played: its board, moves, model statistics and (once over) its result."""

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


def _record(g: LiveGame) -> GameRecord:
    """The ``games.jsonl`` record of a finished game."""
    t = g.task
    side = None if t.model_color is None else ("white" if t.model_color else "black")
    return GameRecord(
        id=f"g{t.index:06d}", index=t.index, cell=t.cell, pair=t.pair,
        white=t.white.name, black=t.black.name, result=g.result,
        termination=g.termination, plies=len(g.moves), seed=t.seed,
        opening=list(t.opening),
        players={"white": t.white.to_json(), "black": t.black.to_json()},
        illegal={"white": g.illegal if side == "white" else 0,
                 "black": g.illegal if side == "black" else 0},
        model_moves={"white": g.model_moves if side == "white" else 0,
                     "black": g.model_moves if side == "black" else 0},
        moves=g.moves, time_s=round(time.perf_counter() - g.t0, 3), **g.extra,
    )


def play_wave(tasks: Sequence[GameTask], driver: BatchDecoder | None, workers: Workers,
              grid: Grid, emit) -> None:
    """Play a wave of games to the end; ``emit(record)`` is called as each game finishes.

    Every sequential player (Stockfish, a UCI engine, an expert, the random mover) lives in a
    worker under its game's slot for its colour, with its own engine, board and seeded generator;
    the model plays its side of all the wave's games in the main process, in one batched forward
    pass per ply.
    """
    games = [LiveGame(t, i, rng=np.random.default_rng([t.seed, 0])) for i, t in enumerate(tasks)]
    starts = [(g.slot(color), spec, g.task.seed, [])
              for g in games for color, spec in ((chess.WHITE, g.task.white), (chess.BLACK, g.task.black))
              if spec.kind != "model"]
    workers.broadcast("start", workers.split(starts))
    for g in games:
        for uci in g.task.opening:
            g.board.push_uci(uci)
            g.moves.append(uci)
        if (end := game_end(g.board)) is not None:
            g.finish(*end)
    # rows[i] is the game in batch row i (None: padding). The batch keeps a fixed shape (CPU bf16
    # builds kernels per shape) and halves when half of its games are over.
    rows: list[LiveGame | None] = [*games, *[None] * (grid.batch_size - len(games))]
    logits = _feed_openings(driver, games, len(rows)) if driver is not None else None
    while live := [g for g in games if g.result is None]:
        # 1. Sequential players move in the workers while 2. the model samples its moves here.
        per = workers.split([(g.slot(g.board.turn), g.new_moves_for(g.slot(g.board.turn)), True)
                             for g in live if not g.model_to_move()])
        for w, items in enumerate(per):
            if items:
                workers.conns[w].send(("move", items))
        if logits is not None:
            _model_moves(live, logits)
        replies: dict[int, Any] = {}
        for w, items in enumerate(per):
            if items:
                replies.update(workers.conns[w].recv())
        _opponent_moves(live, replies)
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
            rows, logits = _feed_last_moves(driver, rows)
    workers.broadcast("end", workers.split([(k,) for k, *_ in starts]))


def _feed_openings(driver: BatchDecoder, games: list[LiveGame], n_rows: int) -> np.ndarray:
    """Start the decoder and feed <bos> and every game's opening, one token per row per step,
    rows in lockstep; the logits after the last step."""
    driver.start(n_rows)
    replay = [chess.Board() for _ in games]
    pad = n_rows - len(games)
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
        logits = driver.step(toks + [tok.PAD] * pad, brds + [None] * pad)
    return logits


def _model_moves(live: list[LiveGame], logits: np.ndarray) -> None:
    """The model moves (or forfeits) in every live game where it is to move."""
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


def _opponent_moves(live: list[LiveGame], replies: dict[int, Any]) -> None:
    """Play the workers' moves; a reply ``("error", why)`` aborts its game."""
    for g in live:
        reply = replies.get(g.slot(g.board.turn)) if g.result is None and not g.model_to_move() else None
        if reply is None:
            continue
        if isinstance(reply, tuple):
            g.finish("*", "aborted", abort_reason=reply[1])
            continue
        g.board.push_uci(reply)
        g.moves.append(reply)


def _feed_last_moves(driver: BatchDecoder, rows: list[LiveGame | None],
                     ) -> tuple[list[LiveGame | None], np.ndarray]:
    """Feed every live game's last move (halving the batch when half of it is over); returns the
    rows and the logits."""
    n_live = sum(g is not None and g.result is None for g in rows)
    if n_live <= len(rows) // 2 and len(rows) > 8:
        keep = [i for i, g in enumerate(rows) if g is not None and g.result is None]
        size = driver.compact(keep)
        rows = [rows[i] for i in keep] + [None] * (size - len(keep))
        for i, g in enumerate(rows):
            if g is not None:
                g.row = i
    toks = [tok.uci_to_id(g.moves[-1]) if g is not None and g.result is None else tok.PAD
            for g in rows]
    brds = [encode_board(g.board) if driver.use_board and g is not None and g.result is None
            else None for g in rows]
    return rows, driver.step(toks, brds)


def _adjudicate(games: list[LiveGame], workers: Workers, grid: Grid) -> None:
    """Finish games at the move cap: by a Stockfish evaluation, or unfinished (``*``)."""
    adj = grid.adjudication
    if adj.get("kind") == "unfinished":
        for g in games:
            g.finish("*", "move_cap")
        return
    depth = int(adj.get("depth", DEFAULT_ADJUDICATION["depth"]))
    threshold = int(adj.get("threshold_cp", DEFAULT_ADJUDICATION["threshold_cp"]))
    items = []
    for g in games:
        # Any of the game's worker slots can evaluate: it holds the game's board.
        slot = g.slot(chess.WHITE) if g.task.white.kind != "model" else g.slot(chess.BLACK)
        items.append((slot, g.new_moves_for(slot)))
    scores = dict(workers.broadcast("evaluate", workers.split(items), depth))
    for g, (slot, _) in zip(games, items):
        cp = scores.get(slot)
        if cp is None:
            g.finish("*", "move_cap", adjudication="evaluation failed")
            continue
        white_cp = cp if g.board.turn == chess.WHITE else -cp
        result = "1-0" if white_cp >= threshold else "0-1" if white_cp <= -threshold else "1/2-1/2"
        g.finish(result, "adjudicated", adjudication={"eval_cp_white": white_cp,
                                                       "threshold_cp": threshold, "depth": depth})


def parse_shard(text: str | None) -> tuple[int, int]:
    """``"i/n"`` (the ``--shard`` option) -> ``(i, n)``; no text: the whole grid ``(0, 1)``."""
    if not text:
        return 0, 1
    try:
        i, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise UserError(f"--shard must look like i/n (e.g. 0/4), got {text!r}") from None
    if not 0 <= i < n:
        raise UserError(f"--shard {text}: need 0 <= i < n")
    return i, n


def grid_experts(settings: dict[str, Any]) -> list[str]:
    """The spec hashes of every expert a grid's settings (``grid_json``) name, sorted."""
    specs = [o for o in settings.get("opponents", [])]
    specs += [p for m in settings.get("matches", []) for p in m.get("players", [])]
    return sorted(spec_hash(s) for s in specs if isinstance(s, dict) and s.get("kind") == "expert")


def check_fixed_choices(old: EvalInfo, grid: Grid, out: Path, n_done: int) -> None:
    """Refuse to change what an evaluation fixed before its games (its grid, verdict temperature
    and experts) once ``games.jsonl`` holds games: one line naming the folder and the change."""
    new = grid_json(grid)
    where = f"{out}: {n_done} games already played"
    old_t = old.grid_settings.get("verdict_temperature")
    if old.grid != grid.name:
        raise UserError(f"{where} with grid {old.grid!r}; refusing to play grid {grid.name!r} "
                        "into it (give another --out)")
    if old_t is not None and float(old_t) != float(grid.verdict_temperature):
        raise UserError(f"{where} with verdict_temperature {float(old_t):g} fixed in advance; "
                        f"refusing to change it to {grid.verdict_temperature:g} after the games "
                        "(give another --out for a new pre-registered evaluation)")
    if grid_experts(old.grid_settings) != grid_experts(new):
        raise UserError(f"{where} against other experts than these (their specifications "
                        "differ); refusing to change the experts after the games (give another "
                        "--out)")


def run_eval(grid: Grid, model_path: str | os.PathLike[str] | None, out: str | os.PathLike[str], *,
             label: str | None = None, shard: tuple[int, int] = (0, 1), stockfish: str | None = None,
             device: str = "cpu", dtype: str = "fp32", command: str = "",
             engine_timeout: float = 30.0, threads: int = 1) -> EvalInfo:
    """Play every game of ``grid`` not yet in ``out/games.jsonl``; returns the eval summary."""
    validate_grid(grid)
    out = Path(out)
    sf = str(require_stockfish(stockfish))
    sf_version = stockfish_version(sf)
    model, run_name, cap = _load_model(grid, model_path, device)
    label = label or run_name or "model"
    tasks = build_tasks(grid, label=label, run=run_name, cap=cap)
    i, n = shard
    tasks = [t for t in tasks if (t.index // grid.batch_size) % n == i]
    out.mkdir(parents=True, exist_ok=True)
    done = {r.index for r in read_results(out)}
    if done and has_eval_info(out):
        check_fixed_choices(read_eval_info(out), grid, out, len(done))
    todo = [t for t in tasks if t.index not in done]
    if done:
        log.info("eval: resuming %s: %d of %d games already done", out, len(done & {t.index for t in tasks}), len(tasks))
    manifest = EvalInfo(
        grid=grid.name, grid_file=grid.source, grid_settings=grid_json(grid),
        model_run=None if model_path is None else str(model_path), label=label,
        stockfish={"path": sf, "version": sf_version}, ladder=_ladder_path(sf_version),
        anchors=dict(grid.anchors) or _ladder_anchors(sf_version, tasks), seed=grid.seed,
        shard=f"{i}/{n}", games=len(tasks), command=command,
        code_version=code_version(),
        started=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )
    write_eval_info(out, manifest)
    driver = (BatchDecoder(model, device=device, dtype=dtype, threads=threads)
              if model is not None else None)
    t0 = time.perf_counter()
    plies = _play_all(grid, todo, len(tasks), driver, Workers(grid.workers, sf, timeout=engine_timeout), out)
    seconds = time.perf_counter() - t0
    records = read_results(out)
    write_pgn(records, pgn_path(out))
    manifest = dataclasses.replace(
        manifest, finished=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        played_now=len(todo), seconds=round(seconds, 1),
        games_per_s=round(len(todo) / max(seconds, 1e-9), 2),
        moves_per_s=round(plies / max(seconds, 1e-9), 1),
        model_s=round(driver.seconds, 1) if driver else 0.0,
        model_share=round(driver.seconds / max(seconds, 1e-9), 3) if driver else 0.0,
        unfinished=sum(r.result == "*" for r in records),
    )
    write_eval_info(out, manifest)
    log.info("eval: %d games in %.0f s (%.2f games/s, model %.0f%% of the time) -> %s",
             len(todo), seconds, manifest.games_per_s, 100 * (manifest.model_share or 0), out)
    return manifest


def _load_model(grid: Grid, model_path: str | os.PathLike[str] | None,
                device: str) -> tuple[Any, str, int | None]:
    """``(model, run name, training Elo cap)``; no model when the grid has only matches."""
    if not grid.opponents:
        return None, "", None
    if model_path is None:
        raise UserError("this grid has model games: pass --model RUN")
    from chessformer.model.checkpoint import load_model

    return load_model(model_path, device=device), Path(model_path).name, run_elo_cap(model_path)


def _play_all(grid: Grid, todo: Sequence[GameTask], total: int, driver: BatchDecoder | None,
              workers: Workers, out: Path) -> int:
    """Play ``todo`` wave by wave, appending each game to ``out/games.jsonl`` as it ends (then
    closes ``workers``); returns the number of plies played."""
    plies = 0
    bar = progress(total=total, initial=total - len(todo), desc=f"eval {grid.name}", unit="game")
    try:
        with open(games_path(out), "a", encoding="utf-8") as f:
            def emit(record: GameRecord) -> None:
                nonlocal plies
                append_result(f, record)
                plies += record.plies
                bar.update(1)

            for w in range(0, len(todo), grid.batch_size):
                wave = todo[w:w + grid.batch_size]
                play_wave(wave, driver if any(t.model is not None for t in wave) else None,
                          workers, grid, emit)
    finally:
        bar.close()
        workers.close()
    return plies


def _ladder_path(version: str) -> str | None:
    p = find_ladder(version)
    return None if p is None else str(p)


def _ladder_anchors(version: str, tasks: Sequence[GameTask]) -> dict[str, float]:
    """The calibrated ratings of the ladder rungs that play in ``tasks``."""
    path = _ladder_path(version)
    if path is None:
        return {}
    names = {t.white.name for t in tasks} | {t.black.name for t in tasks}
    return {name: elo for name, elo in load_ladder(path).items() if name in names}
