"""Extra board features for ``moves+board`` models: what is attacked, hanging or forked, in torch.

    >>> extra = tactic_planes(boards)   # uint8 [..., BOARD_BYTES] -> float [..., TACTIC_FEATURES]  # doctest: +SKIP

Computed from the packed board (``chessformer.core.boards``, the mover's frame) at every forward
call, so datasets need no new columns. Six planes of 64 squares:

0. my pieces (not the king) that the opponent attacks and I do not defend (hanging)
1. their pieces (not the king) that I attack and they do not defend
2. my pieces above a pawn that an enemy pawn attacks
3. their pieces above a pawn that one of my pawns attacks
4. my rooks and queens that an enemy knight attacks
5. their rooks and queens that one of my knights attacks

The attack maps of the packed board are unions (no counts), so "defended" means "defended at
least once"; exchanges are not evaluated. The pawn and knight attacks come from
:func:`chessformer.model.board.leaper_attacks`, the computation the move classes use.
"""

from __future__ import annotations

import torch

from chessformer.model.board import (
    check_boards,
    leaper_attacks,
    piece_bitboards,
    plane_bits,
    square_bits,
)

__all__ = ["TACTIC_FEATURES", "tactic_planes"]

TACTIC_FEATURES = 6 * 64


def tactic_planes(boards: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """uint8 [..., BOARD_BYTES] -> [..., TACTIC_FEATURES] (see the module for the planes)."""
    check_boards(boards)
    lead = boards.shape[:-1]
    p = plane_bits(boards).bool().view(*lead, 14, 8, 8)  # plane, rank, file
    mine, theirs = p[..., 0:6, :, :], p[..., 6:12, :, :]
    my_att, their_att = p[..., 12, :, :], p[..., 13, :, :]
    my_pieces = mine[..., 0:5, :, :].any(-3)  # not the king
    their_pieces = theirs[..., 0:5, :, :].any(-3)
    my_big = mine[..., 1:5, :, :].any(-3)  # above a pawn (not the king)
    their_big = theirs[..., 1:5, :, :].any(-3)
    pawn_att, knight_att = leaper_attacks(piece_bitboards(boards))  # [..., 2]: mine, theirs
    pawn_att = square_bits(pawn_att).bool().view(*lead, 2, 8, 8)
    knight_att = square_bits(knight_att).bool().view(*lead, 2, 8, 8)
    my_majors = mine[..., 3, :, :] | mine[..., 4, :, :]
    their_majors = theirs[..., 3, :, :] | theirs[..., 4, :, :]
    planes = torch.stack([
        my_pieces & their_att & ~my_att,
        their_pieces & my_att & ~their_att,
        my_big & pawn_att[..., 1, :, :],
        their_big & pawn_att[..., 0, :, :],
        my_majors & knight_att[..., 1, :, :],
        their_majors & knight_att[..., 0, :, :],
    ], -3)
    return planes.flatten(-3).to(dtype)
