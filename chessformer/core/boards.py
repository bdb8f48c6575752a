"""Compact board encodings for the model's ``moves+board`` input mode.

    >>> import chess
    >>> from chessformer.core.boards import encode_board, BOARD_BYTES
    >>> encode_board(chess.Board()).shape == (BOARD_BYTES,)
    True

Every position is stored at ingest as ``BOARD_BYTES`` bytes, in the frame of the side to move
(ranks flipped when Black is to move, so "my pawns move up the board" always holds):

========  ==============================================================================
bytes     content
========  ==============================================================================
0-95      12 bitboards, little-endian uint64: my P N B R Q K, then the opponent's P N B R Q K
96-111    2 bitboards: squares I attack, squares the opponent attacks
112       bits 0-3: castling rights (my O-O, my O-O-O, their O-O, their O-O-O);
          bit 4: Black is to move (the true colour, which the frame hides)
113       en-passant file + 1, or 0 when there is no en-passant square
========  ==============================================================================

:func:`unpack_boards` turns a ``uint8`` tensor of such rows into ``BOARD_FEATURES`` floats in
torch, so training reads the packed bytes through ``np.memmap`` and never replays a game.
"""

from __future__ import annotations

import chess
import numpy as np

__all__ = ["ATTACK_BYTE", "BLACK_BIT", "BOARD_BYTES", "BOARD_FEATURES", "BOARD_VERSION",
           "CASTLING_BITS", "EP_BYTE", "FLAG_BYTE", "PIECE_BYTES", "PLANE_BYTES", "encode_board",
           "unpack_boards"]

BOARD_VERSION = 1
_N_PLANES = 14
BOARD_BYTES = _N_PLANES * 8 + 2
#: The layout of a packed row (the table above), for the readers in ``chessformer.model.board``:
#: bytes of the 12 piece bitboards, first byte of the attack planes ("mine", then "theirs"),
#: bytes of all 14 planes, the flags byte and its bits, the en-passant byte.
PIECE_BYTES = 12 * 8
ATTACK_BYTE = PIECE_BYTES
PLANE_BYTES = _N_PLANES * 8
FLAG_BYTE = PLANE_BYTES
CASTLING_BITS = 4
BLACK_BIT = 4
EP_BYTE = FLAG_BYTE + 1
#: 14 planes x 64 squares, 4 castling rights, the colour bit, 8 en-passant files.
BOARD_FEATURES = _N_PLANES * 64 + 4 + 1 + 8

_PIECES = (chess.PAWN, chess.KNIGHT, chess.BISHOP, chess.ROOK, chess.QUEEN, chess.KING)


def _attacks(board: chess.Board, color: chess.Color) -> int:
    mask = 0
    for sq in chess.scan_reversed(board.occupied_co[color]):
        mask |= int(board.attacks_mask(sq))
    return mask


def encode_board(board: chess.Board) -> np.ndarray:
    """Pack ``board`` (after the last move) into ``BOARD_BYTES`` bytes in the mover's frame."""
    us = board.turn
    them = not us
    flip = us == chess.BLACK
    boards = [board.pieces_mask(p, us) for p in _PIECES]
    boards += [board.pieces_mask(p, them) for p in _PIECES]
    boards += [_attacks(board, us), _attacks(board, them)]
    if flip:
        boards = [chess.flip_vertical(b) for b in boards]
    out = bytearray(b"".join(b.to_bytes(8, "little") for b in boards))
    flags = (
        int(board.has_kingside_castling_rights(us))
        | int(board.has_queenside_castling_rights(us)) << 1
        | int(board.has_kingside_castling_rights(them)) << 2
        | int(board.has_queenside_castling_rights(them)) << 3
        | int(flip) << 4
    )
    ep = 0 if board.ep_square is None else chess.square_file(board.ep_square) + 1
    out += bytes((flags, ep))
    return np.frombuffer(bytes(out), dtype=np.uint8)


def unpack_boards(packed, dtype=None):
    """``uint8`` tensor ``[..., BOARD_BYTES]`` -> float tensor ``[..., BOARD_FEATURES]``.

    Bit ``k`` of byte ``j`` of a plane is square ``8 * j + k`` (a1 = 0), as python-chess numbers
    squares, because the planes are little-endian uint64 masks.
    """
    import torch

    dtype = dtype or torch.float32
    bits = torch.arange(8, device=packed.device, dtype=torch.uint8)
    planes = packed[..., :PLANE_BYTES]
    plane_bits = (planes.unsqueeze(-1) >> bits) & 1  # [..., 112, 8]
    plane_bits = plane_bits.flatten(-2)  # [..., 896]
    flags = (packed[..., FLAG_BYTE].unsqueeze(-1) >> bits[:5]) & 1  # [..., 5]
    ep = packed[..., EP_BYTE].long()
    ep_onehot = torch.nn.functional.one_hot(ep, 9)[..., 1:]  # [..., 8], all zero when none
    return torch.cat([plane_bits.to(dtype), flags.to(dtype), ep_onehot.to(dtype)], dim=-1)
