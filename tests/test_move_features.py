"""Move classes of the ``tactics`` head, against python-chess on positions of random games."""

from __future__ import annotations

import random

import chess
import numpy as np
import pytest
import torch

from chessformer.core import tokenizer
from chessformer.core.boards import encode_board
from chessformer.model.move_features import N_MOVE_CLASSES, move_classes

#: The cheapest-attacker codes of the module: P 1, N and B 2, R 3, Q 4, K 5.
_CODE = {chess.PAWN: 1, chess.KNIGHT: 2, chess.BISHOP: 2, chess.ROOK: 3, chess.QUEEN: 4,
         chess.KING: 5}


def expected_class(board: chess.Board, move: chess.Move) -> int:
    """The class the module documents, computed square by square with python-chess."""
    us, them = board.turn, not board.turn
    piece = board.piece_at(move.from_square)
    mover = piece.piece_type if piece is not None and piece.color == us else 0
    target = board.piece_at(move.to_square)
    captured = target.piece_type if target is not None and target.color == them else 0
    lowest = min((_CODE[board.piece_type_at(s)] for s in board.attackers(them, move.to_square)),
                 default=0)
    types = {board.piece_type_at(s) for s in board.attackers(us, move.to_square)}
    covers = mover and bool(board.attacks_mask(move.from_square) & chess.BB_SQUARES[move.to_square])
    defended = len(types) - int(covers) > 0  # another piece type of mine covers the square
    threatened = bool(board.attackers(them, move.from_square))
    check = False
    king = board.king(them)
    if mover and mover != chess.KING and king is not None:
        after = board.copy(stack=False)
        after.set_piece_at(move.to_square, chess.Piece(mover, us))  # the from-square stays put
        check = bool(after.attacks_mask(move.to_square) & chess.BB_SQUARES[king])
    return ((mover * 2 + threatened) * 6 * 6 * 2 * 2
            + ((captured * 6 + lowest) * 2 + defended) * 2 + check)


def _frame_token(board: chess.Board, move: chess.Move) -> int:
    """The move's token in the mover's frame (ranks flipped for Black), as the model sees it."""
    if board.turn == chess.BLACK:
        move = chess.Move(chess.square_mirror(move.from_square),
                          chess.square_mirror(move.to_square), move.promotion)
    return tokenizer.uci_to_id(move.uci())


def _random_positions(n_games: int, seed: int):
    rng = random.Random(seed)
    for _ in range(n_games):
        board = chess.Board()
        for _ in range(rng.randint(0, 120)):
            moves = list(board.legal_moves)
            if not moves:
                break
            board.push(rng.choice(moves))
        if any(board.legal_moves):
            yield board


def test_classes_match_python_chess_on_random_games():
    boards = list(_random_positions(120, seed=7))
    packed = torch.from_numpy(np.stack([encode_board(b) for b in boards]))
    classes = move_classes(packed)
    assert classes.shape == (len(boards), tokenizer.VOCAB_SIZE)
    checked = set()
    for row, board in enumerate(boards):
        for move in board.legal_moves:
            want = expected_class(board, move)
            assert classes[row, _frame_token(board, move)] == want, (board.fen(), move.uci())
            checked.add(want)
    # the positions exercise many classes (captures, attackers, checks, threats) ...
    assert len(checked) > 150
    # ... and the special tokens get the class the head scores 0
    assert (classes[:, : len(tokenizer.SPECIALS)] == N_MOVE_CLASSES).all()
    assert int(classes.max()) == N_MOVE_CLASSES and int(classes.min()) >= 0


@pytest.mark.parametrize("fen,uci,parts", [
    # a pawn takes an undefended queen: mover P, captured Q, no attacker, not defended
    ("4k3/8/8/3q4/4P3/8/8/4K3 w - - 0 1", "e4d5", dict(mover=1, captured=5, lowest=0)),
    # the rook goes to a square the bishop on h3 attacks; then a rook check along the a-file
    ("4k3/8/8/8/8/7b/8/R3K3 w - - 0 1", "a1e1", None),
    ("4k3/8/8/8/8/8/8/R3K3 w - - 0 1", "a1a8", dict(mover=4, check=1)),
    # castling: the king's step does not count as covering its to-square
    ("4k3/8/8/8/8/8/8/4K2R w K - 0 1", "e1g1", dict(mover=6)),
    # Black to move: the knight forks with check (frame flipped)
    ("4k3/8/8/8/8/8/2n5/R3K3 b - - 0 1", "c2e3", dict(mover=2)),
])
def test_hand_checked_positions(fen, uci, parts):
    board = chess.Board(fen)
    move = chess.Move.from_uci(uci)
    cls = int(move_classes(torch.from_numpy(encode_board(board).copy()))[_frame_token(board, move)])
    assert cls == expected_class(board, move)
    if parts:
        check, rest = cls % 2, cls // 2
        defended, rest = rest % 2, rest // 2
        lowest, rest = rest % 6, rest // 6
        captured, rest = rest % 6, rest // 6
        threatened, mover = rest % 2, rest // 2
        got = dict(mover=mover, captured=captured, lowest=lowest, check=check,
                   defended=defended, threatened=threatened)
        assert {k: got[k] for k in parts} == parts


def test_autocast_keeps_the_classes_exact():
    boards = list(_random_positions(20, seed=3))
    packed = torch.from_numpy(np.stack([encode_board(b) for b in boards]))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert torch.equal(move_classes(packed), move_classes(packed.clone()))
        low = move_classes(packed)
    assert torch.equal(low, move_classes(packed))


def test_rejects_other_shapes():
    with pytest.raises(ValueError, match="bytes"):
        move_classes(torch.zeros(3, 100, dtype=torch.uint8))


def test_one_position_sliced_from_a_wider_row_gets_the_batched_classes():
    """What the UCI engine passes: one position, ``[1, 1, 96]`` bytes sliced from a packed
    ``[1, 1, BOARD_BYTES]`` row. torch calls such a slice contiguous whatever its stride, so a
    view of its bytes as int64 failed there although every batch of several rows worked."""
    board = chess.Board("r1bqkbnr/pppp1ppp/2n5/4p3/4P3/5N2/PPPP1PPP/RNBQKB1R w KQkq - 2 3")
    rows = torch.from_numpy(np.stack([encode_board(chess.Board()), encode_board(board)]))
    batched = move_classes(rows[None])  # [1, 2, V]
    for t in range(2):
        one = move_classes(rows[None, t:t + 1])  # [1, 1, V], stride BOARD_BYTES
        assert torch.equal(one[0, 0], batched[0, t])


def test_classes_of_chosen_tokens_are_the_whole_answers():
    """``move_classes(boards, tokens)`` (what the legal-move softmax reads) gives the numbers of
    the whole answer at those tokens, on real positions and on boards of random bytes (two
    pieces on a square: the clamped corner cases)."""
    boards = list(_random_positions(40, seed=11))
    packed = torch.from_numpy(np.stack([encode_board(b) for b in boards]))
    g = torch.Generator().manual_seed(0)
    noise = torch.randint(0, 256, (30, packed.shape[-1]), generator=g, dtype=torch.uint8)
    noise[:, 113] %= 9  # the en-passant byte holds file + 1, or 0
    for rows in (packed, noise):
        whole = move_classes(rows)
        tokens = torch.randint(0, tokenizer.VOCAB_SIZE, (len(rows), 50), generator=g)
        tokens[:, :3] = torch.arange(3)  # special tokens too
        assert torch.equal(move_classes(rows, tokens), whole.gather(-1, tokens))
