"""A fixed UCI move vocabulary: every move that can occur in chess, plus special tokens.

    >>> from chessformer.core import tokenizer as tok
    >>> ids = tok.tokenize(["e2e4", "e7e5", "g1f3"])
    >>> tok.detokenize(ids)
    ['e2e4', 'e7e5', 'g1f3']

The vocabulary is derived from geometry, not from data, so it never changes with the training
set: all queen-line and knight moves between two squares (1,792) plus every pawn promotion
(176: straight or capturing onto the last rank, to a queen, rook, bishop or knight, for either
colour) = 1,968 moves. Special tokens come first. ``tokenize`` prepends ``<bos>`` to a game;
``detokenize`` drops specials.

``MIRROR`` maps each token to the same move seen from the other side of the board (ranks flipped,
files kept), which lets a model work in the frame of the side to move.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import chess
import numpy as np

__all__ = [
    "BOS",
    "EOS",
    "MIRROR",
    "MOVES",
    "N_MOVES",
    "PAD",
    "SPECIALS",
    "TOKENIZER_VERSION",
    "UCI_TO_ID",
    "VOCAB_SIZE",
    "detokenize",
    "encode_move",
    "id_to_uci",
    "mirror_uci",
    "tokenize",
    "uci_to_id",
]

#: Bump when the vocabulary or its order changes; ingest manifests and checkpoints record it.
TOKENIZER_VERSION = 1

SPECIALS: tuple[str, ...] = ("<pad>", "<bos>", "<eos>")
PAD, BOS, EOS = 0, 1, 2

_KNIGHT_STEPS = ((1, 2), (2, 1), (2, -1), (1, -2), (-1, -2), (-2, -1), (-2, 1), (-1, 2))
_QUEEN_DIRS = ((1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (1, -1), (-1, 1), (-1, -1))


def _all_moves() -> list[str]:
    moves: list[str] = []
    for frm in chess.SQUARES:
        f0, r0 = chess.square_file(frm), chess.square_rank(frm)
        targets: set[int] = set()
        for df, dr in _QUEEN_DIRS:
            f, r = f0 + df, r0 + dr
            while 0 <= f < 8 and 0 <= r < 8:
                targets.add(chess.square(f, r))
                f, r = f + df, r + dr
        for df, dr in _KNIGHT_STEPS:
            f, r = f0 + df, r0 + dr
            if 0 <= f < 8 and 0 <= r < 8:
                targets.add(chess.square(f, r))
        moves.extend(chess.square_name(frm) + chess.square_name(to) for to in sorted(targets))
    for from_rank, to_rank in ((6, 7), (1, 0)):  # white promotes 7->8, black 2->1
        for f0 in range(8):
            for df in (-1, 0, 1):
                if 0 <= f0 + df < 8:
                    uci = chess.square_name(chess.square(f0, from_rank)) + chess.square_name(
                        chess.square(f0 + df, to_rank)
                    )
                    moves.extend(uci + p for p in "qrbn")
    return moves


MOVES: tuple[str, ...] = tuple(_all_moves())
N_MOVES = len(MOVES)
assert N_MOVES == 1968, N_MOVES
VOCAB_SIZE = len(SPECIALS) + N_MOVES

#: UCI move string -> token id, for every move of the vocabulary. Hot loops (ingest tokenizes
#: millions of games) index it directly; :func:`uci_to_id` is the checked, explaining form.
UCI_TO_ID: dict[str, int] = {m: i + len(SPECIALS) for i, m in enumerate(MOVES)}
_ITOS: tuple[str, ...] = SPECIALS + MOVES


def uci_to_id(uci: str) -> int:
    """Token id of a UCI move string; raises ``KeyError`` naming the move if it cannot occur."""
    try:
        return UCI_TO_ID[uci]
    except KeyError:
        raise KeyError(f"not a UCI move in the chessformer vocabulary: {uci!r}") from None


def encode_move(move: chess.Move) -> int:
    return uci_to_id(move.uci())


def id_to_uci(token: int) -> str:
    return _ITOS[token]


def tokenize(moves: Iterable[str], *, bos: bool = True) -> np.ndarray:
    """UCI strings -> ``uint16`` ids, with ``<bos>`` first unless ``bos=False``."""
    ids = [UCI_TO_ID[m] if m in UCI_TO_ID else uci_to_id(m) for m in moves]
    return np.asarray(([BOS] if bos else []) + ids, dtype=np.uint16)


def detokenize(ids: Sequence[int] | np.ndarray) -> list[str]:
    """Ids -> UCI strings, special tokens dropped."""
    n = len(SPECIALS)
    return [_ITOS[int(i)] for i in ids if int(i) >= n]


def mirror_uci(uci: str) -> str:
    """The same move with ranks flipped (a2a4 -> a7a5); promotions keep their piece."""

    def flip(sq: str) -> str:
        return sq[0] + str(9 - int(sq[1]))

    return flip(uci[0:2]) + flip(uci[2:4]) + uci[4:]


def _mirror_table() -> np.ndarray:
    table = np.arange(VOCAB_SIZE, dtype=np.int64)
    for m, i in UCI_TO_ID.items():
        table[i] = UCI_TO_ID[mirror_uci(m)]
    return table


#: ``MIRROR[t]`` is the token of move ``t`` seen from the other side; an involution.
MIRROR: np.ndarray = _mirror_table()
