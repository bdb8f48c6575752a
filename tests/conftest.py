"""Shared pytest fixtures, and the ``stockfish`` marker: such tests skip without a binary."""

from __future__ import annotations

import random

import pytest


def pytest_collection_modifyitems(config, items):
    """Tests marked ``stockfish`` are skipped where no Stockfish binary is found."""
    from chessformer.core.engine import find_stockfish

    if find_stockfish() is not None:
        return
    skip = pytest.mark.skip(reason="Stockfish is not installed")
    for item in items:
        if "stockfish" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory):
    """A dataset of 60 seeded random legal games with boards, 20% val; returns its folder.

    Games stop at their natural end or at 60-300 plies, so some outgrow a 128-token window.
    """
    import chess
    import numpy as np

    from chessformer.core import tokenizer
    from chessformer.core.boards import encode_board
    from chessformer.data.dataset import DatasetWriter

    out = tmp_path_factory.mktemp("tiny_dataset") / "ds"
    rng = random.Random(1234)
    writer = DatasetWriter(out, boards=True, val_fraction=0.2)
    for g in range(60):
        board = chess.Board()
        rows = [encode_board(board)]
        moves = []
        cap = rng.randint(60, 300)
        while not board.is_game_over() and len(moves) < cap:
            move = rng.choice(list(board.legal_moves))
            moves.append(move.uci())
            board.push(move)
            rows.append(encode_board(board))
        result = board.result(claim_draw=False) if board.is_game_over() else "*"
        meta = dict(game_id=f"rand{g:03d}", white="r1", black="r2", white_elo=1000,
                    black_elo=1000, result=result, time_control="-", termination="random",
                    plies=len(moves), source="random")
        writer.add(tokenizer.tokenize(moves), meta, np.stack(rows))
    writer.finish(command="tests/conftest.py: 60 seeded random games")
    return out
