"""The model's moves: the one path from a trained model to a move (arena, UCI engine, experiments).

    >>> from chessformer.model.inference import ModelSettings, PositionDecoder, sample_move
    >>> dec = PositionDecoder(model)                                   # doctest: +SKIP
    >>> logits = dec.logits(["e2e4", "e7e5"])                          # doctest: +SKIP
    >>> sample_move(logits, board, ModelSettings(0.001, "masked"), rng)  # doctest: +SKIP

Three entry points, one way to read a game:

:class:`BatchDecoder`
    many games advancing in lockstep, one token per game per step through a KV cache (the
    arena). Past the context window every row restarts from its last half-window.
:class:`PositionDecoder`
    one game, given as a full move list each time (the UCI engine): the decoder is fed only the
    moves it has not seen, so a game costs one step per ply, and reads exactly what the arena reads.
:func:`argmax_moves`
    the most likely legal move before every ply of many games, one forward pass per batch of
    whole prefixes (taxonomy experiments).

A game is read as ``<bos>`` followed by its moves; a ``moves+board`` model also reads, with each
token, the board after it (with ``<bos>``: the starting board). A game that starts from a FEN
gives ``<bos>`` that FEN's board: a ``moves+board`` model sees the real position (and whose move
it is), while a ``moves``-only model reads the moves after the FEN as if played from the usual
start; :func:`sample_move` with ``masked`` legality still gives a legal move.

:func:`sample_move` samples from one row of logits at a temperature: ``masked`` among legal moves
only; ``raw`` (the paper's protocol) from the whole vocabulary, :data:`MAX_RAW_TRIES` samples in
all while they are illegal, then the model forfeits.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import chess
import numpy as np

from chessformer.core import tokenizer as tok
from chessformer.core.boards import BOARD_BYTES, encode_board

__all__ = [
    "LEGALITY",
    "MAX_RAW_TRIES",
    "BatchDecoder",
    "ModelSettings",
    "PositionDecoder",
    "argmax_moves",
    "move_probabilities",
    "sample_move",
]

LEGALITY = ("masked", "raw")
#: Samples in all before a forfeit under ``raw`` legality: the paper's ``max_attempts=5`` (see
#: :mod:`chessformer.play.arena` for the file and lines of the paper's code).
MAX_RAW_TRIES = 5


@dataclass(frozen=True)
class ModelSettings:
    """How the model samples: ``temperature`` > 0, ``legality`` masked or raw, optional top-k."""

    temperature: float
    legality: str
    top_k: int | None = None


class BatchDecoder:
    """Feeds one token per game per step through the model; returns the next-move logits."""

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
        """Empty every row (``batch`` of them)."""
        self.cache = self.model.new_cache(batch, self.block, self.device,
                                          self.torch.bfloat16 if self.autocast else self.torch.float32)
        self.tokens: list[list[int]] = [[] for _ in range(batch)]
        self.boards: list[list[np.ndarray]] = [[] for _ in range(batch)]

    def compact(self, keep: Sequence[int]) -> int:
        """Keep only rows ``keep`` (in that order), padded to a power of two (few distinct
        shapes) with copies of the first; returns the new number of rows."""
        size = max(8, 1 << (len(keep) - 1).bit_length()) if keep else 8
        index = list(keep) + [keep[0] if keep else 0] * (size - len(keep))
        sel = self.torch.tensor(index, dtype=self.torch.long)
        self.cache.k = self.cache.k[:, sel].contiguous()
        self.cache.v = self.cache.v[:, sel].contiguous()
        self.cache.batch_size = size
        self.tokens = [list(self.tokens[i]) for i in index]
        self.boards = [list(self.boards[i]) for i in index]
        return size

    def step(self, tokens: list[int], boards: list[np.ndarray | None]) -> np.ndarray:
        """Append one token (and the board after it) per row; return float32 logits ``[B, V]``."""
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


class PositionDecoder:
    """One game for a client that sends the whole game at every move (a UCI GUI).

    :meth:`logits` feeds only what extends the game it read last (one step per new ply);
    another game, or a new ``fen``, starts over.
    """

    def __init__(self, model, *, device: str = "cpu", dtype: str = "fp32", threads: int = 1) -> None:
        self.decoder = BatchDecoder(model, device=device, dtype=dtype, threads=threads)
        self.fen: str | None = None
        self.moves: list[str] = []
        self.board = chess.Board()
        self.last: np.ndarray | None = None

    def logits(self, moves: Sequence[str], fen: str | None = None) -> np.ndarray:
        """Next-move logits ``[V]`` after ``moves`` (UCI) from the start, or from ``fen``."""
        moves = list(moves)
        if self.last is None or fen != self.fen or moves[: len(self.moves)] != self.moves:
            self.fen, self.moves = fen, []
            self.board = chess.Board(fen) if fen else chess.Board()
            self.decoder.start(1)
            self.last = self._step(tok.BOS)
        for uci in moves[len(self.moves):]:
            self.board.push_uci(uci)
            self.moves.append(uci)
            self.last = self._step(tok.uci_to_id(uci))
        return self.last

    def _step(self, token: int) -> np.ndarray:
        board = encode_board(self.board) if self.decoder.use_board else None
        return self.decoder.step([token], [board])[0]


def move_probabilities(logits: np.ndarray, board: chess.Board, s: ModelSettings,
                       ) -> tuple[np.ndarray, dict[int, chess.Move]]:
    """The sampling distribution over tokens (specials excluded; ``masked``: legal moves only;
    top-k applied) and the legal moves by token."""
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
    return p, legal


def sample_move(logits: np.ndarray, board: chess.Board, s: ModelSettings,
                rng: np.random.Generator) -> tuple[chess.Move | None, int]:
    """Sample the model's move from one row of logits. Returns ``(move or None if forfeit, illegal)``."""
    p, legal = move_probabilities(logits, board, s)
    cdf = np.cumsum(p)
    illegal = 0
    for _ in range(MAX_RAW_TRIES if s.legality == "raw" else 1):
        token = int(np.searchsorted(cdf, rng.random() * cdf[-1], side="right"))
        token = min(token, len(p) - 1)
        if token in legal:
            return legal[token], illegal
        illegal += 1
    return None, illegal


def argmax_moves(model, games: Sequence[Sequence[str]], max_plies: int | None = None,
                 batch_size: int = 16) -> list[list[str]]:
    """For every game, the model's most likely legal move before each of its first plies.

    ``out[g][t]`` is the argmax (legal moves only; ties to the first in UCI order) given
    ``games[g][:t]``; at most ``min(max_plies, block_size)`` plies per game (one forward pass
    over the prefix)."""
    import torch

    limit = model.config.block_size if max_plies is None else min(max_plies, model.config.block_size)
    out: list[list[str]] = []
    for b0 in range(0, len(games), batch_size):
        chunk = [list(g[:limit]) for g in games[b0:b0 + batch_size]]
        L = max(1, max(len(g) for g in chunk))
        idx = np.full((len(chunk), L), tok.PAD, dtype=np.int64)
        brd = np.zeros((len(chunk), L, BOARD_BYTES), dtype=np.uint8)
        legal: list[list[tuple[list[int], list[str]]]] = []
        for r, g in enumerate(chunk):
            board = chess.Board()
            rows = []
            for t in range(len(g)):
                idx[r, t] = tok.BOS if t == 0 else tok.uci_to_id(g[t - 1])
                if t:
                    board.push_uci(g[t - 1])
                brd[r, t] = encode_board(board)
                ms = sorted(m.uci() for m in board.legal_moves)
                rows.append(([tok.uci_to_id(m) for m in ms], ms))
            legal.append(rows)
        with torch.inference_mode():
            logits, _ = model(torch.from_numpy(idx),
                              torch.from_numpy(brd) if model.config.uses_boards else None)
        lg = logits.float().numpy()
        for r, rows in enumerate(legal):
            out.append([ms[int(np.argmax(lg[r, t, ids]))] for t, (ids, ms) in enumerate(rows)])
    return out
