"""Reading packed boards in torch: the one set of accessors over the bytes of
:mod:`chessformer.core.boards` (which owns the layout) and the one attack computation.

    >>> planes = plane_bits(boards)          # uint8 [..., 14, 64]: 12 piece planes, 2 attack planes
    >>> pieces = piece_bitboards(boards)     # int64 [..., 12]: my P N B R Q K, their P N B R Q K
    >>> mine, theirs, checks = attack_maps(pieces).unbind(-2)   # int64 [..., 6] each
    >>> black = black_to_move(boards)        # bool [...]

Everything is in the frame of the side to move. The attack maps are recomputed from the 12 piece
bitboards as int64 bitboards (sliders ray by ray up to the first occupied square, all rays at
once; leapers by shifts); :mod:`.move_features` and :mod:`.features` read them, :mod:`.legal`
reads the attack plane packed at ingest (:func:`plane_bits`, plane 13).
"""

from __future__ import annotations

import torch

from chessformer.core.boards import (
    BLACK_BIT,
    BOARD_BYTES,
    CASTLING_BITS,
    EP_BYTE,
    FLAG_BYTE,
    PIECE_BYTES,
    PLANE_BYTES,
)

__all__ = ["KING_STEPS", "KNIGHT_STEPS", "N_PLANES", "RAYS", "attack_maps", "bit_or", "black_to_move",
           "check_boards", "ep_files", "leaper_attacks", "missing_rights", "piece_bitboards",
           "plane_bits", "square_bits"]

#: Planes of a packed board: 12 piece planes (mine, theirs), my attacks, their attacks.
N_PLANES = PLANE_BYTES // 8
KNIGHT_STEPS = ((1, 2), (2, 1), (2, -1), (1, -2), (-1, -2), (-2, -1), (-2, 1), (-1, 2))
KING_STEPS = ((1, 0), (1, 1), (0, 1), (-1, 1), (-1, 0), (-1, -1), (0, -1), (1, -1))
#: The eight ray directions: the first four diagonal, the last four straight.
RAYS = ((1, 1), (1, -1), (-1, 1), (-1, -1), (1, 0), (-1, 0), (0, 1), (0, -1))
#: A pawn's capture steps: (1, 1), (1, -1) for mine (up the board); (-1, 1), (-1, -1) for theirs.
_PAWN_STEPS = ((1, 1), (1, -1), (-1, 1), (-1, -1))


# -- the bytes ------------------------------------------------------------------------------

def check_boards(boards: torch.Tensor) -> None:
    """``ValueError`` unless ``boards`` is [..., BOARD_BYTES]."""
    if boards.shape[-1] != BOARD_BYTES:
        raise ValueError(f"boards must end in {BOARD_BYTES} bytes, got {tuple(boards.shape)}")


def _bit_shifts(device: torch.device) -> torch.Tensor:
    return torch.arange(8, device=device, dtype=torch.uint8)


def plane_bits(boards: torch.Tensor) -> torch.Tensor:
    """uint8 [..., BOARD_BYTES] -> uint8 0/1 [..., 14, 64] (plane, square a1 = 0)."""
    bits = _bit_shifts(boards.device)
    planes = (boards[..., :PLANE_BYTES].unsqueeze(-1) >> bits) & 1
    return planes.view(*boards.shape[:-1], N_PLANES, 64)


def black_to_move(boards: torch.Tensor) -> torch.Tensor:
    """bool [...]: the true colour to move is Black (the frame hides it)."""
    return ((boards[..., FLAG_BYTE] >> BLACK_BIT) & 1).bool()


def missing_rights(boards: torch.Tensor, n: int = CASTLING_BITS) -> torch.Tensor:
    """uint8 [..., n]: 1 where the first ``n`` castling rights (my O-O, my O-O-O, their O-O,
    their O-O-O) are gone."""
    shifts = torch.arange(n, device=boards.device, dtype=torch.uint8)
    return 1 - ((boards[..., FLAG_BYTE:FLAG_BYTE + 1] >> shifts) & 1)


def ep_files(boards: torch.Tensor) -> torch.Tensor:
    """uint8 [..., 8]: the en-passant file, one-hot (all zero when there is none)."""
    return torch.nn.functional.one_hot(boards[..., EP_BYTE].long(), 9)[..., 1:].to(torch.uint8)


def piece_bitboards(boards: torch.Tensor) -> torch.Tensor:
    """uint8 [..., BOARD_BYTES] -> int64 [..., 12]: my P N B R Q K, their P N B R Q K."""
    # A fresh copy with standard strides: viewing bytes as int64 needs every stride divisible by
    # 8, and ``.contiguous()`` returns a single position's slice ([1, 1, 96] of a [1, 1, 114]
    # row: contiguous in torch's eyes, stride 114) uncopied.
    planes = boards[..., :PIECE_BYTES].clone(memory_format=torch.contiguous_format)
    return planes.view(torch.int64).view(*boards.shape[:-1], 12)


def square_bits(x: torch.Tensor) -> torch.Tensor:
    """int64 bitboards [...] -> uint8 0/1 [..., 64] (a1 first), unpacked byte by byte."""
    bytes_ = x.contiguous().view(torch.uint8).view(*x.shape, 8)  # little-endian: a1..h1 first
    return ((bytes_.unsqueeze(-1) >> _bit_shifts(x.device)) & 1).flatten(-2)


# -- attacks --------------------------------------------------------------------------------

def _signed(mask: int) -> int:
    """A 64-bit mask as the int64 torch stores."""
    return mask - (1 << 64) if mask >= 1 << 63 else mask


def _steps_table(steps) -> tuple[list[int], list[int], list[int], list[int]]:
    """Per step (dr, df): the squares that stay on the board, the left shift (or 0) and the right
    shift (or 0) that moves a bitboard by it, and the mask that clears an arithmetic right
    shift's copies of the sign bit."""
    keep, left, right, low = [], [], [], []
    for dr, df in steps:
        k = 0
        for sq in range(64):
            r, f = divmod(sq, 8)
            if 0 <= r + dr < 8 and 0 <= f + df < 8:
                k |= 1 << sq
        s = 8 * dr + df
        keep.append(_signed(k))
        left.append(max(s, 0))
        right.append(max(-s, 0))
        low.append(_signed((1 << (64 - max(-s, 0))) - 1))
    return keep, left, right, low


class _Steps:
    """Moves stacked bitboards [..., len(steps)] by each step at once (int64 shifts)."""

    def __init__(self, steps, device: torch.device) -> None:
        keep, left, right, low = _steps_table(steps)
        self.keep, self.left, self.right, self.low = (
            torch.tensor(v, dtype=torch.int64, device=device) for v in (keep, left, right, low))

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        x = x & self.keep  # what would leave the board goes first: the shifts are then exact
        return ((x << self.left) >> self.right) & self.low


_STEPS: dict[torch.device, dict[str, _Steps]] = {}


def _steps(device: torch.device) -> dict[str, _Steps]:
    if device not in _STEPS:
        _STEPS[device] = {"rays": _Steps(RAYS, device), "knight": _Steps(KNIGHT_STEPS, device),
                          "king": _Steps(KING_STEPS, device), "pawn": _Steps(_PAWN_STEPS, device)}
    return _STEPS[device]


def bit_or(x: torch.Tensor) -> torch.Tensor:
    """Bitwise OR over the last dimension."""
    out = x[..., 0]
    for i in range(1, x.shape[-1]):
        out = out | x[..., i]
    return out


def _knights(planes: torch.Tensor, which: list[int], t: dict[str, _Steps]) -> torch.Tensor:
    """[..., len(which)]: the squares a knight on each of the bitboards ``planes[..., which]``
    attacks."""
    return bit_or(t["knight"](planes[..., which].unsqueeze(-1).expand(
        *planes.shape[:-1], len(which), 8)))


def _pawns(planes: torch.Tensor, t: dict[str, _Steps]) -> torch.Tensor:
    """[..., 4]: my pawns moved by (1, 1), (1, -1); theirs by (-1, 1), (-1, -1)."""
    return t["pawn"](torch.stack([planes[..., 0], planes[..., 0], planes[..., 6], planes[..., 6]],
                                 -1))


def leaper_attacks(planes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """[..., 12] piece bitboards -> (pawn attacks [..., 2], knight attacks [..., 2]): mine, then
    theirs (the same squares :func:`attack_maps` gives)."""
    t = _steps(planes.device)
    pawns = _pawns(planes, t)
    knights = _knights(planes, [1, 7], t)
    return torch.stack([pawns[..., 0] | pawns[..., 1], pawns[..., 2] | pawns[..., 3]], -1), knights


def attack_maps(planes: torch.Tensor) -> torch.Tensor:
    """[..., 12] bitboards (my P N B R Q K, their P N B R Q K) -> [..., 3, 6]: the squares each
    of my piece types attacks, each of theirs, and, for each of my piece types, the squares from
    which it would attack their king."""
    t = _steps(planes.device)
    empty = ~planes.sum(-1)  # the pieces' bitboards are disjoint: their sum is their union
    # Sliders: my B R Q, their B R Q, and their king seen as a queen (the checking squares).
    sliders = planes[..., [2, 3, 4, 8, 9, 10, 11]].unsqueeze(-1).expand(*planes.shape[:-1], 7, 8)
    rays, cur, empty = torch.zeros_like(sliders), sliders, empty[..., None, None]
    for _ in range(7):  # each ray up to and including the first occupied square
        cur = t["rays"](cur)
        rays = rays | cur
        cur = cur & empty
    diagonal, straight = bit_or(rays[..., :4]), bit_or(rays[..., 4:])
    # Leapers: my N, their N, their K as a knight (checks); my K, their K.
    knights = _knights(planes, [1, 7, 11], t)
    kings = bit_or(t["king"](planes[..., [5, 11]].unsqueeze(-1).expand(
        *planes.shape[:-1], 2, 8)))
    # pawn steps: (1, 1), (1, -1) for my pawns; (-1, 1), (-1, -1) for theirs and for the squares
    # below their king from which my pawns give check
    pawns = _pawns(planes, t)
    king_below = t["pawn"](planes[..., 11, None].expand(*planes.shape[:-1], 4))
    mine = torch.stack([pawns[..., 0] | pawns[..., 1], knights[..., 0], diagonal[..., 0],
                        straight[..., 1], diagonal[..., 2] | straight[..., 2], kings[..., 0]], -1)
    theirs = torch.stack([pawns[..., 2] | pawns[..., 3], knights[..., 1], diagonal[..., 3],
                          straight[..., 4], diagonal[..., 5] | straight[..., 5], kings[..., 1]], -1)
    checks = torch.stack([king_below[..., 2] | king_below[..., 3], knights[..., 2],
                          diagonal[..., 6], straight[..., 6], diagonal[..., 6] | straight[..., 6],
                          torch.zeros_like(kings[..., 0])], -1)
    return torch.stack([mine, theirs, checks], -2)
