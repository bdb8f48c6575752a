"""Pseudo-legal move masks from packed boards: a superset of python-chess's legal moves."""

from __future__ import annotations

import random

import chess
import numpy as np
import pytest
import torch

from chessformer.core import tokenizer
from chessformer.core.boards import BOARD_BYTES, encode_board
from chessformer.model.legal import legal_mask, mask_tokens


def _random_positions(n_games: int, seed: int) -> tuple[np.ndarray, list[set[int]]]:
    """Packed boards of random games and each position's legal tokens in the mover's frame."""
    rng = random.Random(seed)
    rows, legal = [], []
    for _ in range(n_games):
        board = chess.Board()
        while not board.is_game_over() and board.ply() < 160:
            rows.append(encode_board(board))
            ids = [tokenizer.encode_move(m) for m in board.legal_moves]
            if board.turn == chess.BLACK:
                ids = [int(tokenizer.MIRROR[i]) for i in ids]
            legal.append(set(ids))
            board.push(rng.choice(list(board.legal_moves)))
    return np.stack(rows), legal


def test_mask_holds_every_legal_move_and_few_others():
    rows, legal = _random_positions(40, seed=7)
    mask = legal_mask(torch.from_numpy(rows)).numpy()
    n_specials = len(tokenizer.SPECIALS)
    assert mask[:, :n_specials].all()  # <eos> can always follow
    extra = total = 0
    for m, want in zip(mask, legal, strict=True):
        got = set(np.flatnonzero(m[n_specials:]) + n_specials)
        assert want <= got, [tokenizer.id_to_uci(t) for t in want - got]
        extra += len(got - want)
        total += len(want)
    # only moves that leave the king in check slip through: measured 5.5% on random games
    assert extra < 0.1 * total


def test_castling_en_passant_and_promotion():
    board = chess.Board("r3k2r/1P6/8/3pP3/8/8/8/R3K2R w KQkq d6 0 1")
    mask = legal_mask(torch.from_numpy(encode_board(board).copy())[None])[0]
    allowed = {tokenizer.id_to_uci(t) for t in np.flatnonzero(mask.numpy())}
    assert {"e1g1", "e1c1", "e5d6", "b7b8q", "b7a8n"} <= allowed
    assert "b7b8" not in allowed and "e5e6" in allowed and "e5f6" not in allowed
    board = chess.Board("r3k2r/8/8/8/8/8/8/R3K2R w Qkq - 0 1")  # no O-O right
    mask = legal_mask(torch.from_numpy(encode_board(board).copy())[None])[0]
    assert not mask[tokenizer.uci_to_id("e1g1")] and mask[tokenizer.uci_to_id("e1c1")]


def test_shape_errors():
    with pytest.raises(ValueError, match="BOARD_BYTES|bytes"):
        legal_mask(torch.zeros(3, BOARD_BYTES - 1, dtype=torch.uint8))


def test_mask_tokens_lists_each_rows_tokens_in_order():
    g = torch.Generator().manual_seed(0)
    mask = torch.rand(3, 4, 70, generator=g) < 0.3
    mask[0, 0] = False  # an empty row: all padding
    tokens = mask_tokens(mask, multiple=8)
    K = tokens.shape[-1]
    assert tokens.shape[:2] == (3, 4) and K % 8 == 0 and K >= int(mask.sum(-1).max()) > K - 8
    for r in range(3):
        for c in range(4):
            want = torch.nonzero(mask[r, c]).flatten()
            assert torch.equal(tokens[r, c, :len(want)], want)
            assert (tokens[r, c, len(want):] == 0).all()  # padded with token 0 (<pad>)


def test_the_mask_is_the_same_in_bf16_and_fp32(monkeypatch):
    """The counts are exact in either dtype: bf16 where the CPU has bf16 instructions (AMX),
    fp32 where it would emulate them."""
    from chessformer.model import legal

    rng = random.Random(5)
    rows, board = [], chess.Board()
    for _ in range(300):
        moves = list(board.legal_moves)
        if not moves:
            board = chess.Board()
            continue
        board.push(rng.choice(moves))
        rows.append(encode_board(board))
    packed = torch.from_numpy(np.stack(rows))
    masks = []
    for dtype in (torch.bfloat16, torch.float32):
        monkeypatch.setattr(legal, "_mask_dtype", lambda device, dtype=dtype: dtype)
        masks.append(legal_mask(packed))
    assert torch.equal(masks[0], masks[1]) and masks[0].sum() > 300 * 10
