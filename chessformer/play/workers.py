"""Opponent workers: processes that own the sequential players (Stockfish, UCI engines, experts,
the random mover) of a wave's games, with their engines and boards.

A player lives in a worker under its *slot* (``2 * game index + colour``). Messages, each answered
once: ``("start", [(slot, spec, seed, moves)])`` creates players (every engine's hash cleared);
``("move", [(slot, new_moves, want)])`` pushes the moves played since and, when ``want``, answers
``(slot, uci)`` or ``(slot, ("error", why))`` after an engine failed twice;
``("evaluate", [(slot, new_moves)], depth)`` answers ``(slot, centipawns for the side to move or
None)`` from a full-strength Stockfish; ``("end", [(slot,)])`` forgets games; ``("quit",)`` stops.
A dead or hung engine is restarted once per move before the game is aborted.
"""

from __future__ import annotations

import os
from multiprocessing.connection import Connection
from typing import Any

import chess
import numpy as np

from chessformer.core.engine import EngineError, Limit
from chessformer.play.players import EnginePool, make_player
from chessformer.utils import mp_context

__all__ = ["Workers"]


def _worker_main(conn: Connection, stockfish: str, timeout: float) -> None:
    """A worker process: answers the messages of the module docstring until ``quit``."""
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
    """``n`` worker processes and the pipes to them (see the module docstring)."""

    def __init__(self, n: int, stockfish: str, timeout: float = 30.0) -> None:
        ctx = mp_context()
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

    def split(self, items: list[tuple[int, Any]]) -> list[list[Any]]:
        """Route ``(slot, payload...)`` items to the worker that owns each slot."""
        per: list[list[Any]] = [[] for _ in self.conns]
        for item in items:
            per[self.of(item[0])].append(item)
        return per

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
