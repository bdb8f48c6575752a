"""Opponent workers: a killed engine is restarted within the move."""

from __future__ import annotations

import chess
import pytest

from chessformer.core.engine import find_stockfish
from chessformer.play.players import PlayerSpec
from chessformer.play.workers import Workers


@pytest.mark.stockfish
def test_engine_killed_mid_game_is_restarted(tmp_path):

    workers = Workers(1, str(find_stockfish()))
    try:
        spec = PlayerSpec.stockfish(depth=1)
        workers.broadcast("start", [[(0, spec, 1, [])]])
        first = workers.broadcast("move", [[(0, [], True)]])
        assert isinstance(first[0][1], str)
        workers.conns[0].send(("kill_engines", []))
        workers.conns[0].recv()
        second = workers.broadcast("move", [[(0, [first[0][1], "e7e5"], True)]])
        move = second[0][1]
        assert isinstance(move, str), move
        board = chess.Board()
        board.push_uci(first[0][1])
        board.push_uci("e7e5")
        assert chess.Move.from_uci(move) in board.legal_moves
    finally:
        workers.close()
