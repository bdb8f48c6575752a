"""The model's one inference path: sampling, the batched KV-cache decoder, the one-game decoder
(UCI) and the whole-prefix argmax (experiments) agree with each other."""

from __future__ import annotations

import chess
import numpy as np
import pytest

from chessformer.core import tokenizer as tok
from chessformer.model.inference import (
    BatchDecoder,
    ModelSettings,
    PositionDecoder,
    argmax_moves,
    move_probabilities,
    sample_move,
)

GAME = "e2e4 e7e5 g1f3 b8c6 f1b5 a7a6 b5a4 g8f6 e1g1 f8e7".split()


#: (preset, move head, board features): every head of each input mode, and the board features.
MODELS = [("tiny", "flat", "basic"), ("tiny", "from-to", "basic"), ("tiny", "tactics", "basic"),
          ("tiny", "flat", "tactics"), ("small-moves", "flat", "basic"),
          ("small-moves", "from-to", "basic")]


@pytest.fixture(scope="module", params=MODELS, ids=["-".join(m) for m in MODELS])
def model(request):
    """An untrained model of each input mode (moves+board, moves) and move head: inference must
    not care (the tactics head once crashed on the one-position path alone)."""
    import torch

    from chessformer.model.transformer import GPT, PRESETS, GPTConfig

    preset, head, features = request.param
    torch.manual_seed(0)
    config = dict(PRESETS[preset], n_layer=1, d_model=32, n_head=2, block_size=16,
                  move_head=head, board_features=features)
    return GPT(GPTConfig(**config)).eval()


def test_sample_move_masked_and_raw():
    board = chess.Board()
    rng = np.random.default_rng(0)
    logits = np.zeros(tok.VOCAB_SIZE, dtype=np.float32)
    logits[tok.uci_to_id("e2e5")] = 50.0  # an illegal favourite
    move, illegal = sample_move(logits, board, ModelSettings(1.0, "masked"), rng)
    assert move in board.legal_moves and illegal == 0
    move, illegal = sample_move(logits, board, ModelSettings(0.001, "raw"), rng)
    assert move is None and illegal == 5  # five illegal samples: forfeit
    logits[tok.uci_to_id("e2e4")] = 60.0
    move, illegal = sample_move(logits, board, ModelSettings(0.001, "raw"), rng)
    assert move == chess.Move.from_uci("e2e4") and illegal == 0


def test_move_probabilities_masked_sum_to_one_on_legal_moves():
    board = chess.Board()
    logits = np.random.default_rng(1).normal(size=tok.VOCAB_SIZE).astype(np.float32)
    p, legal = move_probabilities(logits, board, ModelSettings(1.0, "masked"))
    assert len(legal) == 20 and p[list(legal)].sum() == pytest.approx(1.0)
    p_raw, _ = move_probabilities(logits, board, ModelSettings(1.0, "raw"))
    assert p_raw.sum() == pytest.approx(1.0) and p_raw[list(legal)].sum() < 0.5


def test_position_decoder_reads_what_the_batch_decoder_reads(model):
    """Incremental (one ply per call), fresh, and batched decoding give the same logits, also
    past the context window (block 16 < 24 tokens), where both restart from a half-window."""
    moves = (GAME + "d2d3 b7b5 a4b3 e8g8 c2c3 d7d6 f1e1 c6a5 b3c2 c7c5 b1d2 d8c7 d2f1".split())[:23]
    inc = PositionDecoder(model)
    incremental = [inc.logits(moves[:k]).copy() for k in range(len(moves) + 1)]
    fresh = PositionDecoder(model).logits(moves)
    np.testing.assert_allclose(incremental[-1], fresh, rtol=1e-5, atol=1e-5)
    from chessformer.core.boards import encode_board

    batch = BatchDecoder(model)
    batch.start(2)
    board = chess.Board()
    out = batch.step([tok.BOS, tok.BOS], [encode_board(board)] * 2)
    np.testing.assert_allclose(out[0], incremental[0], rtol=1e-5, atol=1e-5)
    for k, uci in enumerate(moves):
        board.push_uci(uci)
        out = batch.step([tok.uci_to_id(uci)] * 2, [encode_board(board)] * 2)
        np.testing.assert_allclose(out[1], incremental[k + 1], rtol=1e-4, atol=1e-4)


def test_argmax_moves_matches_the_decoder_inside_the_window(model):
    """The whole-prefix forward pass (experiments) and the KV cache (arena, UCI) agree."""
    [argmax] = argmax_moves(model, [GAME], max_plies=len(GAME))
    dec = PositionDecoder(model)
    board = chess.Board()
    for t, uci in enumerate(GAME):
        logits = dec.logits(GAME[:t])
        legal = sorted(m.uci() for m in board.legal_moves)
        assert argmax[t] == legal[int(np.argmax([logits[tok.uci_to_id(m)] for m in legal]))]
        board.push_uci(uci)


def test_a_fen_without_history_gets_legal_moves(model):
    fen = "8/8/8/4k3/8/8/3QK3/8 b - - 0 60"  # Black to move, few legal moves
    dec = PositionDecoder(model)
    board = chess.Board(fen)
    rng = np.random.default_rng(0)
    for _ in range(3):
        if board.is_game_over():
            break
        move, illegal = sample_move(dec.logits([m.uci() for m in board.move_stack], fen), board,
                                    ModelSettings(1.0, "masked"), rng)
        assert move in board.legal_moves and illegal == 0
        board.push(move)
        if not board.is_game_over():
            board.push(next(iter(board.legal_moves)))
