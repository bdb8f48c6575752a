"""What each move does on the board, computed in torch from packed boards: the input of the
``tactics`` move head.

    >>> classes = move_classes(boards)   # uint8 [..., BOARD_BYTES] -> long [..., VOCAB_SIZE]  # doctest: +SKIP

Every move token of a position gets one class out of :data:`N_MOVE_CLASSES`, the product of

==================  ==================================================================
moving piece        the mover's piece on the from-square: none, P N B R Q K (7)
threatened          the opponent attacks the from-square (2)
captured piece      the opponent's piece on the to-square: none, P N B R Q (6)
cheapest attacker   the opponent's cheapest piece attacking the to-square: none, P,
                    N or B, R, Q, K (6)
defended            another piece of the mover's attacks the to-square (2)
check               the moved piece attacks the opponent's king from the to-square (2)
==================  ==================================================================

so that a model can score "a pawn takes an undefended queen" or "the threatened knight steps to
a safe square" with one number per class instead of learning it once per move token. Special
tokens get class ``N_MOVE_CLASSES`` (which the head scores 0).

Everything is in the frame of the side to move (:mod:`chessformer.core.boards`) and reads only
the 12 piece bitboards: attacks are recomputed per piece type as int64 bitboards
(:func:`chessformer.model.board.attack_maps`: sliders ray by ray up to the first occupied square,
all rays at once), every per-square part of the class is a
weighted sum of 28 such bitboards (one small matmul), and gathers spread the parts over the move
tokens: all of them (``move_classes(boards)``), or only those a caller names
(``move_classes(boards, tokens)``: the legal-move softmax reads a few dozen per position, and a
training step then reads no [positions, 1,971] table). Simplifications: two pieces of one type count
as one attacker type ("defended" means another piece type of the mover's covers the square, or the
mover's type covers it without moving there); discovered checks, pins and the square the mover
leaves are not seen; promotions use the pawn's class; en passant captures nothing.
"""

from __future__ import annotations

import chess
import numpy as np
import torch

from chessformer.core import tokenizer
from chessformer.model.board import (
    attack_maps,
    bit_or,
    check_boards,
    piece_bitboards,
    square_bits,
)

__all__ = ["N_MOVE_CLASSES", "move_classes"]

#: The to-square's part of a class: captured (6) x cheapest attacker (6) x defended x check.
_TO_CLASSES = 6 * 6 * 2 * 2
#: (moving piece (7) x threatened (2)) x the to-square's part.
N_MOVE_CLASSES = 7 * 2 * _TO_CLASSES

def _bits(x: torch.Tensor) -> torch.Tensor:
    """int64 bitboards [...] -> float [..., 64] of 0/1 (a1 first)."""
    return square_bits(x).float()


def _token_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per token: from-square, to-square (64, an empty padding square, for special tokens) and
    its geometry: 0 other, 1 along a file (a pawn's push), 2 the king's castling step."""
    V = tokenizer.VOCAB_SIZE
    frm, to, geometry = np.full(V, 64, np.int64), np.full(V, 64, np.int64), np.zeros(V, np.int64)
    for t in range(len(tokenizer.SPECIALS), V):
        move = chess.Move.from_uci(tokenizer.id_to_uci(t))
        frm[t], to[t] = move.from_square, move.to_square
        df = chess.square_file(move.to_square) - chess.square_file(move.from_square)
        if df == 0:
            geometry[t] = 1
        elif abs(df) == 2 and chess.square_rank(move.from_square) == chess.square_rank(
                move.to_square):
            geometry[t] = 2
    return frm, to, geometry


_FROM, _TO, _GEOMETRY = _token_tables()
#: Whether the mover covers its to-square, per (moving piece none P..K, token geometry): all
#: but a pawn's push and the king's castling step.
_COVERS = np.ones((7, 3), bool)
_COVERS[0, :] = _COVERS[1, 1] = _COVERS[6, 2] = False


#: Entries of a position's class table: (moving piece, threatened, token geometry, to-square).
_TABLE = 7 * 2 * 3 * 65


def _square_weights() -> np.ndarray:
    """[28 bitboards, 22 columns]: every per-square part of the classes is a weighted sum of 28
    0/1 bitboards (see ``_square_parts``), so one matmul computes them all. Column 0: where the
    from-square's (moving piece, threatened) block starts in the class table; then the to-square
    part of the class for each (moving piece none P..K, token geometry)."""
    # Rows: my P..K (0-5), their P..Q (6-10), attacked by their P, by P/N/B, by P..R, by P..Q,
    # by anything (11-15), attacked by any piece of mine (16), by my pieces of another type
    # than P..K (17-22), my P..Q would give check from here (23-27).
    w = np.zeros((28, 1 + 7 * 3), np.float32)
    for p in range(6):
        w[p, 0] = (p + 1) * 2 * 3 * 65  # ((moving piece * 2 + threatened) * 3 + geometry) * 65
    w[15, 0] = 3 * 65
    for m in range(7):
        for g in range(3):
            c = 1 + 3 * m + g  # ((captured * 6 + lowest) * 2 + defended) * 2 + check
            for p in range(5):
                w[6 + p, c] = (p + 1) * 24
            # the cheapest attacker's code is 6 - (how many of the cumulative sets hold it)
            w[11:16, c] = -4
            w[15, c] += 6 * 4
            w[(17 + m - 1) if _COVERS[m, g] else 16, c] = 2
            if 1 <= m <= 5:
                w[23 + m - 1, c] = 1
    return w


_WEIGHTS = _square_weights()
_CACHE: dict[torch.device, dict[str, object]] = {}


def _tables(device: torch.device) -> dict[str, object]:
    if device not in _CACHE:
        _CACHE[device] = dict(
            frm=torch.from_numpy(_FROM).to(device),
            to_index=torch.from_numpy(_GEOMETRY * 65 + _TO).to(device),
            weights_t=torch.from_numpy(_WEIGHTS.T.copy()).to(device),  # [22, 28]
            )
    return _CACHE[device]


def _square_parts(boards: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """A position's class table, in two parts (exact small integers, as float32): ([..., 65]
    where each from-square's block starts in the table (64: the padding square of special
    tokens), [..., 7 * 3 * 64] the to-square part of the class per (moving piece, token geometry,
    to-square)). The table holds one class per (moving piece, threatened, token geometry,
    to-square), then ``N_MOVE_CLASSES``: :func:`_class_table` builds it whole,
    :func:`_table_entries` reads the entries a caller needs."""
    t = _tables(boards.device)
    planes = piece_bitboards(boards)
    mine, theirs, checks = attack_maps(planes).unbind(-2)
    cumulative = [theirs[..., 0]]  # attacked by P; by P, N or B; ... by anything
    for kinds in ((1, 2), (3,), (4,), (5,)):
        c = cumulative[-1]
        for k in kinds:
            c = c | theirs[..., k]
        cumulative.append(c)
    every = bit_or(mine)
    others = torch.stack([bit_or(mine[..., [q for q in range(6) if q != p]]) for p in range(6)], -1)
    bitboards = torch.cat([planes[..., :11], torch.stack(cumulative + [every], -1), others,
                           checks[..., :5]], -1)  # [..., 28]
    with torch.autocast(boards.device.type, enabled=False):  # the sums must stay exact
        parts = (t["weights_t"] @ _bits(bitboards)).round()  # [..., 22, 64]
    # Real boards never put two pieces on a square; keep the classes in range when one does.
    start = torch.nn.functional.pad(parts[..., 0, :].clamp(0, _TABLE - 3 * 65), (0, 1),
                                    value=_TABLE - 64)  # special tokens: the table's last entry
    to_part = parts[..., 1:, :].clamp(0, _TO_CLASSES - 1).flatten(-2)  # [..., 7 * 3 * 64]
    return start, to_part


def _class_table(to_part: torch.Tensor) -> torch.Tensor:
    """The whole class table of :func:`_square_parts`: long [..., _TABLE + 1]."""
    lead = to_part.shape[:-1]
    blocks = (torch.arange(14, device=to_part.device) * _TO_CLASSES).view(7, 2, 1, 1)
    table = to_part.long().view(*lead, 7, 1, 3, 64) + blocks  # [..., 7, 2, 3, 64]
    table = torch.nn.functional.pad(table, (0, 1)).flatten(-4)  # to-square 64 holds 0
    return torch.nn.functional.pad(table, (0, 1), value=N_MOVE_CLASSES)


def _table_entries(to_part: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """Entries ``index`` [..., K] of :func:`_class_table` without building it: entry
    ((moving piece * 2 + threatened) * 3 + geometry) * 65 + to-square holds block
    (moving piece * 2 + threatened)'s class offset plus ``to_part`` of (moving piece, geometry,
    to-square), or 0 for to-square 64; the last entry, ``N_MOVE_CLASSES``."""
    block, rest = index // (3 * 65), index % (3 * 65)
    geometry, square = rest // 65, rest % 65
    at = (((block // 2) * 3 + geometry) * 64 + square.clamp_max(63)).clamp_max(
        to_part.shape[-1] - 1)
    entry = torch.gather(to_part, -1, at).long() + block * _TO_CLASSES
    entry = torch.where(square == 64, 0, entry)
    return torch.where(index == _TABLE, N_MOVE_CLASSES, entry)


def move_classes(boards: torch.Tensor, tokens: torch.Tensor | None = None) -> torch.Tensor:
    """uint8 [..., BOARD_BYTES] -> long [..., VOCAB_SIZE]: each move token's class (the module
    says which), or ``N_MOVE_CLASSES`` for special tokens. With ``tokens`` (long [..., K], token
    ids per position), only those tokens' classes: long [..., K], the same numbers as the whole
    answer's ``gather(-1, tokens)``. The legal-move softmax needs a few dozen per position, not
    1,971."""
    check_boards(boards)
    start, to_part = _square_parts(boards)
    t = _tables(boards.device)
    if tokens is None:
        # A gather with an expanded (stride-0) index: twice as fast on CPU as index_select here.
        index = torch.gather(start.long(), -1, t["frm"].expand(*boards.shape[:-1], -1))
        return torch.gather(_class_table(to_part), -1, index + t["to_index"])
    index = torch.gather(start, -1, t["frm"][tokens]).long() + t["to_index"][tokens]
    return _table_entries(to_part, index)
