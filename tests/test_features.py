"""Tactic planes: hanging and attacked pieces, from packed boards."""

from __future__ import annotations

import chess
import torch

from chessformer.core.boards import encode_board
from chessformer.model.features import TACTIC_FEATURES, tactic_planes


def _planes(fen: str) -> torch.Tensor:
    out = tactic_planes(torch.from_numpy(encode_board(chess.Board(fen)).copy())[None])[0]
    assert out.shape == (TACTIC_FEATURES,)
    return out.view(6, 64)


def test_hanging_and_pawn_and_knight_attacks():
    # White to move: white knight e4 hangs to the d5 pawn; black queen d8... black rook c6 is
    # attacked by the b5 pawn; black queen f6 is forked by the knight on e4 (d6/f6 squares).
    p = _planes("3qk3/8/2r2q2/1P1p4/4N3/8/8/4K3 w - - 0 1")
    assert p[0, chess.E4] == 1  # my knight hangs (d5 pawn attacks it, nothing defends)
    assert p[3, chess.C6] == 1  # their rook attacked by my pawn
    assert p[5, chess.F6] == 1  # their queen attacked by my knight
    assert p[2].sum() == 1 and p[2, chess.E4] == 1  # my piece attacked by their pawn
    # Black to move: the planes are in Black's frame (ranks flipped)
    q = _planes("4k3/8/8/8/8/8/3n4/4K3 b - - 0 1")
    assert q[0, chess.square_mirror(chess.D2)] == 1  # the black knight on d2 hangs to the king
