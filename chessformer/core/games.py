"""Rules shared by every place that plays games: when a game ends, and how it is written as PGN."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import chess
import chess.pgn

if TYPE_CHECKING:
    import numpy as np

__all__ = ["DEFAULT_MAX_PLIES", "check_line", "game_end", "pgn_string", "random_opening"]

#: Games longer than this are adjudicated or recorded as unfinished, never silently drawn. Noisy
#: players wander for hundreds of plies; a short cap with material adjudication overstated a model
#: by 85 Elo in an earlier measurement, so the cap is generous.
DEFAULT_MAX_PLIES = 400


def game_end(board: chess.Board) -> tuple[str, str] | None:
    """``(result, termination)`` if the game is over, else ``None``.

    Draws that a player may claim (threefold repetition, fifty moves) end the game at once, as
    arbiters and Lichess do for engines: otherwise noisy players shuffle for hundreds of plies.
    """
    if not any(board.generate_legal_moves()):  # one move generation for mate and stalemate
        if board.is_check():
            return ("0-1" if board.turn == chess.WHITE else "1-0"), "checkmate"
        return "1/2-1/2", "stalemate"
    if board.is_insufficient_material():
        return "1/2-1/2", "insufficient_material"
    if board.halfmove_clock >= 100:
        return "1/2-1/2", "fifty_moves"
    if board.is_repetition(3):
        return "1/2-1/2", "threefold_repetition"
    return None


def check_line(line: str, what: str) -> list[str]:
    """The moves of a space-separated UCI line from the start position, or a :class:`UserError`
    that names ``what`` (e.g. ``"grid.toml: opening line"``) when a move is illegal."""
    from chessformer.utils import UserError

    board = chess.Board()
    moves = line.split()
    try:
        for uci in moves:
            board.push_uci(uci)
    except ValueError as e:
        raise UserError(f"{what} {line!r}: {e}") from None
    return moves


def random_opening(plies: int, rng: np.random.Generator) -> list[str]:
    """``plies`` uniformly random legal moves from the start (fewer if the game ends first)."""
    board = chess.Board()
    out: list[str] = []
    for _ in range(plies):
        legal = list(board.legal_moves)
        if not legal or game_end(board):
            break
        move = legal[int(rng.integers(len(legal)))]
        board.push(move)
        out.append(move.uci())
    return out


def pgn_string(moves: Sequence[str], headers: Mapping[str, object]) -> str:
    """A PGN game (headers in the given order, then the moves) ending in a blank line."""
    game = chess.pgn.Game()
    game.headers.clear()
    for key, value in headers.items():
        game.headers[key] = str(value)
    node: chess.pgn.GameNode = game
    for uci in moves:
        node = node.add_variation(chess.Move.from_uci(uci))
    return str(game) + "\n\n"
