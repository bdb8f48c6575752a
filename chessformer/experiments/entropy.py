"""The paper's diversity measure: move entropy of a set of games over their common positions."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence

import chess
import numpy as np

from chessformer.formats.experiment import EntropyStats


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
