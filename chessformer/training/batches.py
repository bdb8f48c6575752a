"""Training batches: windows over packed games, and which windows a step reads.

    >>> win = build_windows(ds.offsets, ds.split_indices("train"), block_size=512)   # doctest: +SKIP
    >>> x, boards, y = make_batch(ds, win, sample_ids(len(win), seed, first, 8), 512, True)  # doctest: +SKIP

Data. The dataset is read through ``np.memmap``. A training sample is a window of
``block_size + 1`` tokens starting at a game start; when the game ends, the next training game
follows (packing). Windows tile the stream of training games; the next window starts at the
game the previous one cut off (see ``build_windows``), so an epoch trains every target once, or
twice for the start of a cut game. A game longer than one window continues in later windows that start
``block_size // 2``, ``2 * (block_size // 2)``, ... tokens into the game, with positions restarting
at 0; their first ``block_size - block_size // 2`` targets were already trained by the window
before, so they are ignored (``-1``) and only give context. This is exactly what a player sees
that re-prefills the last ``block_size // 2`` tokens of a game at positions ``0..`` when the game
outgrows its cache. Windows are visited in a fresh seeded permutation per epoch; the batch of step
``s`` (micro-batch ``m``, rank ``r``) is a pure function of the seed and its global sample index
``((s * grad_accum + m) * world_size + r) * batch_size``, so a resumed run and a DDP run see the
same data as an uninterrupted single-process run with the same global batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from chessformer.core.boards import BOARD_BYTES
from chessformer.data.dataset import GameDataset

__all__ = ["Windows", "build_windows", "make_batch", "sample_ids", "window_pieces"]


@dataclass
class Windows:
    """Window starts over the games ``games`` (dataset indices, in file order)."""

    games: np.ndarray  # int64 [G] dataset game indices
    game_pos: np.ndarray  # int64 [W] index into ``games`` of each window's first game
    start: np.ndarray  # int64 [W] token offset of the window inside that game
    n_masked: np.ndarray  # int64 [W] leading targets to ignore (already trained)

    def __len__(self) -> int:
        return len(self.start)


def build_windows(offsets: np.ndarray, games: np.ndarray, block_size: int) -> Windows:
    """Tile the stream of ``games`` (packed end to end) with windows of ``block_size`` targets.

    A window starts at a game start and runs on through the following games. The next window
    starts at the first game whose targets the window did not all reach (so the early targets of
    a game cut at a window's end are trained twice, not zero times). A game longer than a window
    continues in windows starting ``block_size // 2`` tokens later each time, whose first
    ``block_size - block_size // 2`` targets (trained by the window before) are ignored.
    """
    T, h = block_size, block_size // 2
    lengths = (offsets[games + 1] - offsets[games]).astype(np.int64).tolist()
    gp: list[int] = []
    st: list[int] = []
    nm: list[int] = []
    i, G = 0, len(lengths)
    while i < G:
        s = m = 0
        while True:
            gp.append(i)
            st.append(s)
            nm.append(m)
            if s + T >= lengths[i] - 1:  # the last target of game i is inside this window
                break
            s, m = s + h, T - h
        room = T + 1 - (lengths[i] - s)  # window tokens left after game i
        i += 1
        while i < G and lengths[i] <= room:  # game i lies wholly inside the window
            room -= lengths[i]
            i += 1
    return Windows(games.astype(np.int64), np.asarray(gp, np.int64), np.asarray(st, np.int64),
                   np.asarray(nm, np.int64))


def window_pieces(ds: GameDataset, win: Windows, w: int, length: int) -> list[tuple[int, int, int]]:
    """The (game, start token, count) pieces that fill window ``w`` with ``length`` tokens."""
    pieces = []
    pos, start, need = int(win.game_pos[w]), int(win.start[w]), length
    while need > 0:
        g = int(win.games[pos % len(win.games)])
        n = min(need, int(ds.offsets[g + 1] - ds.offsets[g]) - start)
        if n > 0:
            pieces.append((g, start, n))
            need -= n
        pos, start = pos + 1, 0
    return pieces


def make_batch(ds: GameDataset, win: Windows, ids: np.ndarray, block_size: int, with_boards: bool,
               ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """Inputs [B, T] int64, boards [B, T, BOARD_BYTES] uint8 or None, targets [B, T] int64."""
    B, T = len(ids), block_size
    x = np.empty((B, T + 1), np.int64)
    boards = np.empty((B, T + 1, BOARD_BYTES), np.uint8) if with_boards else None
    for b, w in enumerate(ids):
        at = 0
        for g, s, n in window_pieces(ds, win, int(w), T + 1):
            lo = int(ds.offsets[g]) + s
            x[b, at:at + n] = ds.tokens[lo:lo + n]
            if boards is not None:
                boards[b, at:at + n] = ds.boards[lo:lo + n]
            at += n
    y = x[:, 1:].copy()
    for b, w in enumerate(ids):
        y[b, : int(win.n_masked[w])] = -1
    return x[:, :-1], (boards[:, :-1] if boards is not None else None), y


def sample_ids(n_windows: int, seed: int, first: int, count: int) -> np.ndarray:
    """Window ids at global sample indices ``first .. first + count - 1``: a fresh permutation of
    all windows per epoch, seeded by (seed, epoch)."""
    out = np.empty(count, np.int64)
    perms: dict[int, np.ndarray] = {}
    for i in range(count):
        epoch, j = divmod(first + i, n_windows)
        if epoch not in perms:
            perms[epoch] = np.random.default_rng([seed, epoch]).permutation(n_windows)
        out[i] = perms[epoch][j]
    return out
