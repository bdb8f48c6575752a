"""The packed-board readers of ``chessformer.model.board``: the accessors against the fields
``encode_board`` packed, and the one attack computation against python-chess."""

from __future__ import annotations

import random

import chess
import numpy as np
import torch

from chessformer.core.boards import BOARD_BYTES, encode_board
from chessformer.model.board import (
    attack_maps,
    black_to_move,
    ep_files,
    leaper_attacks,
    missing_rights,
    piece_bitboards,
    plane_bits,
    square_bits,
)

_TYPES = (chess.PAWN, chess.KNIGHT, chess.BISHOP, chess.ROOK, chess.QUEEN, chess.KING)


def _positions(n_games: int, seed: int) -> list[chess.Board]:
    rng = random.Random(seed)
    out = []
    for _ in range(n_games):
        b = chess.Board()
        for _ in range(rng.randint(1, 120)):
            moves = list(b.legal_moves)
            if not moves:
                break
            b.push(rng.choice(moves))
            out.append(b.copy(stack=False))
    return out


def _frame(board: chess.Board) -> chess.Board:
    """The board in the mover's frame: White to move (ranks and colours flipped for Black)."""
    return board if board.turn == chess.WHITE else board.mirror()


def _attacks(board: chess.Board, kind: int, color: chess.Color) -> int:
    out = 0
    for sq in board.pieces(kind, color):
        out |= int(board.attacks_mask(sq))
    return out


def _checks(board: chess.Board, kind: int) -> int:
    """Squares from which White's piece of ``kind`` would attack Black's king."""
    k = board.king(chess.BLACK)
    if kind == chess.PAWN:
        return int(chess.BB_PAWN_ATTACKS[chess.BLACK][k])
    if kind == chess.KING:
        return 0
    b = board.copy(stack=False)
    b.set_piece_at(k, chess.Piece(kind, chess.BLACK))
    return int(b.attacks_mask(k))


def _unsigned(x: int) -> int:
    return x + (1 << 64) if x < 0 else x


def test_attack_maps_match_python_chess():
    boards = _positions(40, seed=3)
    packed = torch.from_numpy(np.stack([encode_board(b) for b in boards]))
    maps = attack_maps(piece_bitboards(packed))  # [N, 3, 6]
    pawns, knights = leaper_attacks(piece_bitboards(packed))
    for i, board in enumerate(boards):
        f = _frame(board)
        for j, kind in enumerate(_TYPES):
            assert _unsigned(int(maps[i, 0, j])) == _attacks(f, kind, chess.WHITE), (board.fen(), j)
            assert _unsigned(int(maps[i, 1, j])) == _attacks(f, kind, chess.BLACK), (board.fen(), j)
            assert _unsigned(int(maps[i, 2, j])) == _checks(f, kind), (board.fen(), j)
    assert torch.equal(pawns, maps[:, :2, 0]) and torch.equal(knights, maps[:, :2, 1])
    # the packed attack planes (python-chess at ingest) are the unions of the computed maps
    planes = plane_bits(packed)
    union = maps[:, :2, 0] | maps[:, :2, 1] | maps[:, :2, 2] | maps[:, :2, 3] | maps[:, :2, 4] \
        | maps[:, :2, 5]
    assert torch.equal(square_bits(union), planes[:, 12:14])


def test_accessors_read_the_packed_fields():
    boards = [chess.Board(), chess.Board("r3k2r/8/8/3pP3/8/8/8/R3K3 w Qkq d6 0 1"),
              chess.Board("r3k2r/8/8/8/4Pp2/8/8/R3K2R b KQk e3 0 1")]
    packed = torch.from_numpy(np.stack([encode_board(b) for b in boards]))
    assert packed.shape == (3, BOARD_BYTES)
    assert black_to_move(packed).tolist() == [False, False, True]
    assert ep_files(packed).argmax(-1).tolist()[1:] == [3, 4] and ep_files(packed)[0].sum() == 0
    # my O-O, my O-O-O, their O-O, their O-O-O gone
    assert missing_rights(packed).tolist() == [[0, 0, 0, 0], [1, 0, 0, 0], [0, 1, 0, 0]]
    assert missing_rights(packed, 2).tolist() == [[0, 0], [1, 0], [0, 1]]
    pieces = piece_bitboards(packed)
    for i, board in enumerate(boards):
        f = _frame(board)
        for j, kind in enumerate(_TYPES):
            assert _unsigned(int(pieces[i, j])) == int(f.pieces_mask(kind, chess.WHITE))
            assert _unsigned(int(pieces[i, 6 + j])) == int(f.pieces_mask(kind, chess.BLACK))
        assert torch.equal(square_bits(pieces[i]), plane_bits(packed[i])[:12])


def test_a_position_sliced_from_a_wider_row_reads_as_batched():
    packed = torch.from_numpy(np.stack([encode_board(b) for b in _positions(2, seed=5)[:6]]))
    wide = torch.cat([packed, torch.zeros(len(packed), 6, dtype=torch.uint8)], 1)
    one = wide[:1, None, :BOARD_BYTES]  # [1, 1, 114] with stride 120
    assert torch.equal(piece_bitboards(one)[0, 0], piece_bitboards(packed)[0])
