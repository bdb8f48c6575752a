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
least once"; exchanges are not evaluated.
"""

from __future__ import annotations

import torch

from chessformer.core.boards import BOARD_BYTES

__all__ = ["TACTIC_FEATURES", "tactic_planes"]

TACTIC_FEATURES = 6 * 64
_KNIGHT = ((1, 2), (2, 1), (2, -1), (1, -2), (-1, -2), (-2, -1), (-2, 1), (-1, 2))


def _shift(x: torch.Tensor, dr: int, df: int) -> torch.Tensor:
    """Move every set square of ``x`` [..., 8, 8] (rank, file) by (dr, df); off-board drops."""
    out = torch.zeros_like(x)
    r0, r1 = max(dr, 0), 8 + min(dr, 0)
    f0, f1 = max(df, 0), 8 + min(df, 0)
    out[..., r0:r1, f0:f1] = x[..., r0 - dr:r1 - dr, f0 - df:f1 - df]
    return out


def tactic_planes(boards: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """uint8 [..., BOARD_BYTES] -> [..., TACTIC_FEATURES] (see the module for the planes)."""
    if boards.shape[-1] != BOARD_BYTES:
        raise ValueError(f"boards must end in {BOARD_BYTES} bytes, got {tuple(boards.shape)}")
    bits = torch.arange(8, device=boards.device, dtype=torch.uint8)
    p = ((boards[..., :112].unsqueeze(-1) >> bits) & 1).bool()
    p = p.view(*boards.shape[:-1], 14, 8, 8)  # plane, rank, file
    mine, theirs = p[..., 0:6, :, :], p[..., 6:12, :, :]
    my_att, their_att = p[..., 12, :, :], p[..., 13, :, :]
    my_pieces = mine[..., 0:5, :, :].any(-3)  # not the king
    their_pieces = theirs[..., 0:5, :, :].any(-3)
    my_big = mine[..., 1:5, :, :].any(-3)  # above a pawn (not the king)
    their_big = theirs[..., 1:5, :, :].any(-3)
    my_pawn_att = _shift(mine[..., 0, :, :], 1, 1) | _shift(mine[..., 0, :, :], 1, -1)
    their_pawn_att = _shift(theirs[..., 0, :, :], -1, 1) | _shift(theirs[..., 0, :, :], -1, -1)
    my_knight_att = torch.zeros_like(my_att)
    their_knight_att = torch.zeros_like(my_att)
    for dr, df in _KNIGHT:
        my_knight_att |= _shift(mine[..., 1, :, :], dr, df)
        their_knight_att |= _shift(theirs[..., 1, :, :], dr, df)
    my_majors = mine[..., 3, :, :] | mine[..., 4, :, :]
    their_majors = theirs[..., 3, :, :] | theirs[..., 4, :, :]
    planes = torch.stack([
        my_pieces & their_att & ~my_att,
        their_pieces & my_att & ~their_att,
        my_big & their_pawn_att,
        their_big & my_pawn_att,
        my_majors & their_knight_att,
        their_majors & my_knight_att,
    ], -3)
    return planes.flatten(-3).to(dtype)
