"""The compiled SAN resolver against python-chess: on generated tricky positions, on every SAN
spelling python-chess reads, and (slow) on every game of the real files in ../shared/data."""

from __future__ import annotations

import random
from pathlib import Path

import chess
import pytest

from chessformer.core import san
from chessformer.core import tokenizer as tok
from chessformer.data import pgn

pytestmark = pytest.mark.skipif(not san.AVAILABLE, reason="numba is not installed")

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def reference(sans: list[str]) -> list[str] | None:
    """python-chess's UCI moves for ``sans``, or None when it rejects a move."""
    try:
        return pgn.replay_python_chess(sans)
    except pgn.IllegalMove:
        return None


def resolved(sans: list[str]) -> list[str] | int:
    r = san.resolve(" ".join(sans).encode())
    return r if isinstance(r, int) else tok.detokenize(r)


def agree(sans: list[str]) -> None:
    """The resolver either converts ``sans`` exactly as python-chess does or refuses the game;
    :func:`pgn.replay_san` (resolver + reference) then always gives python-chess's answer."""
    want = reference(sans)
    got = resolved(sans)
    if isinstance(got, list):
        assert got == want, sans
    try:
        ids, _ = pgn.replay_san(sans)
        assert tok.detokenize(ids) == want, sans
    except pgn.IllegalMove:
        assert want is None, sans


@pytest.mark.parametrize("moves", [
    "e4 a6 e5 d5 exd6",  # en passant, white
    "a3 e5 h3 e4 d4 exd3",  # en passant, black
    "e4 d5 e5 f5 exf6 exf6",  # en passant, then a recapture
    "h4 g5 hxg5 Nf6 gxf6 h6 fxe7 h5 exd8=Q+ Kxd8",  # promotion with capture
    "h4 g5 hxg5 Nf6 gxf6 h6 fxe7 h5 exf8=N",  # underpromotion with capture
    "h4 g5 hxg5 Nf6 gxf6 h6 fxe7 h5 exf8=R+ Rxf8",
    "h4 g5 hxg5 Nf6 gxf6 h6 fxe7 h5 exf8B",  # promotion without "="
    "h4 g5 hxg5 Nf6 gxf6 h6 fxe7 h5 exd8=q+",  # lower-case promotion piece
    "e4 e5 Nf3 Nc6 Bc4 Bc5 O-O d6 d3 Be6 Nc3 Qd7 Be3 O-O-O",  # castling, both sides
    "e4 e5 Nf3 Nc6 Bc4 Bc5 0-0 Nf6 d3 0-0",  # castling with zeros
    "Nf3 Nf6 Nc3 Nc6 Nd4 Nd5 Ndb5 Ndb4",  # disambiguation by file
    "a4 h5 h4 g5 Rh3 g4 Rha3 g3 R3a2 gxf2+ Kxf2",  # disambiguation by rank
    "d4 e5 dxe5 Bb4+ Nd2 Nc6 Ngf3",  # the c3-pinned knight: check, then a file hint
    "e4 e5 Nc3 Bb4 Nge2 d6 d3 Bg4 f3 Bh5 g4 Bg6 Ng3",  # pinned knight makes "Ng3" unique
    # Two queens on the d-file and one on the 5th rank: "Qd8d5" needs file and rank.
    ("e4 Nf6 g4 Nd5 a3 Nf6 c3 Nd5 b4 Nf6 d3 Nxe4 h4 Nd2 f4 Nc4 a4 Nb6 d4 Nc4 g5 Na6 a5 Nxb4 h5 f5 "
     "g6 Nb2 d5 N2d3+ Kd2 Nxc1 a6 e5 d6 Ncd3 fxe5 Qg5+ Ke2 Nf2 cxb4 hxg6 axb7 Nd3 dxc7 Ne1 h6 Nd3 "
     "bxa8=Q Nf4+ Kf3 Nh5 e6 Ng3 exd7+ Ke7 d8=Q+ Kf7 Qd8d5+"),
    "e4 f5 Qh5#",  # suffixes
    "f3 e5 g4 Qh4#",  # mate
])
def test_tricky_games_agree_with_python_chess(moves):
    sans = pgn.parse_movetext((moves + " *").encode())[0]
    assert reference(sans) is not None  # the game is legal
    assert resolved(sans) == reference(sans)


def test_illegal_and_odd_tokens_are_refused():
    start = ["e4", "e5", "Nf3", "Nc6", "Bc4", "Bc5"]
    assert resolved(start + ["Nd5"]) == san.REFUSED  # no knight reaches d5
    assert resolved(["e4", "e5", "Ke2", "Ke7", "Ke1", "Ke8", "Nf3", "Nf6", "Bc4", "Bc5", "O-O"]) \
        == san.REFUSED  # the right to castle is gone
    assert resolved(["d4", "e5", "Nd2", "Bb4", "Ndf3"]) == san.REFUSED  # pinned
    assert resolved(["Nf3", "Nf6", "Nc3", "Nc6", "Nb5", "Nb4", "Nd4"]) \
        == san.REFUSED  # ambiguous: both knights reach d4
    assert resolved(["e4", "e5", "e2e4"]) == san.REFUSED  # python-chess's find_move decides
    assert resolved(["e4", "--"]) == san.SYNTAX
    assert resolved(["e4", "zz9"]) == san.SYNTAX
    assert resolved(["e4", "e5\ufffd"]) == san.SYNTAX
    assert resolved(["e4", "e5", "Ke2", "Ke7", "Kd3", "Kd6", "e8"]) == san.REFUSED
    for sans in (["e4", "e5", "Ke2"], ["d4", "e5", "Nd2", "Bb4", "Ndf3"], ["e4", "e5", "e2e4"],
                 ["e4", "--"], ["Nf3", "Nf6", "Nc3", "Nc6", "Nb5", "Nb4", "Nd4"]):
        agree(sans)


def test_every_spelling_python_chess_reads_agrees():
    """Random games; at each position every pseudo-legal move in several SAN spellings, and
    castling attempts: what the resolver accepts, python-chess reads as the same move (what it
    refuses, python-chess decides), and it accepts every move as python-chess writes it."""
    rng = random.Random(1)
    checked = 0
    for _ in range(6):
        board = chess.Board()
        hist: list[str] = []
        for _ in range(rng.randrange(20, 90)):
            if board.is_game_over():
                break
            written = {board.san(m).rstrip("+#") for m in board.legal_moves}
            cands = {"O-O", "O-O-O", "0-0", "0-0-0"} | written
            for m in board.pseudo_legal_moves:
                p = board.piece_at(m.from_square)
                letter = "" if p.piece_type == chess.PAWN else p.symbol().upper()
                fr, to = chess.square_name(m.from_square), chess.square_name(m.to_square)
                promo = "=" + chess.piece_symbol(m.promotion).upper() if m.promotion else ""
                x = "x" if board.is_capture(m) else ""
                cands.add(letter + fr + x + to + promo)
                cands.add(letter + fr + (x or "-") + to + promo.lower())
                cands.add(letter + fr[0] + x + to + promo.replace("=", ""))
                cands.add(letter + fr[1] + x + to + promo)
                cands.add(letter.lower() + x + to + promo + "\ufffd")
            for s in cands:
                try:
                    want = board.parse_san(s).uci()
                except ValueError:
                    want = None
                got = resolved(hist + [s])
                if isinstance(got, list):
                    assert got[-1] == want, (board.fen(), s)
                else:
                    assert s not in written, (board.fen(), s)
                checked += 1
            m = rng.choice(list(board.legal_moves))
            hist.append(board.san(m).rstrip("+#"))
            board.push(m)
    assert checked > 1000


def test_random_games_with_every_special_move():
    """Whole random games (long, so pawns promote and kings castle) agree move for move; the
    sample holds en passant, every promotion piece, both castlings and pins."""
    rng = random.Random(7)
    seen = set()
    for _ in range(60):
        board = chess.Board()
        sans = []
        while not board.is_game_over() and len(sans) < 300:
            legal = list(board.legal_moves)
            m = rng.choice(legal)
            s = board.san(m)
            if board.is_en_passant(m):
                seen.add("en passant")
            if m.promotion:
                seen.add(f"={chess.piece_symbol(m.promotion)}" + ("x" if "x" in s else ""))
            if board.is_castling(m):
                seen.add("O-O-O" if board.is_queenside_castling(m) else "O-O")
            p = board.piece_type_at(m.from_square)
            if p != chess.PAWN and not board.is_castling(m):
                hint = s[1:].replace("x", "").rstrip("+#")[:-2]
                seen.add({1: "file hint" if hint.isalpha() else "rank hint",
                          2: "square hint"}.get(len(hint), "no hint"))
            others = [o for o in board.pseudo_legal_moves if o.to_square == m.to_square
                      and o.from_square != m.from_square and board.piece_type_at(o.from_square) == p
                      and p != chess.PAWN]
            if others and all(o not in legal for o in others):
                seen.add("pin makes it unique")
            sans.append(s)
            board.push(m)
        sans = [s.rstrip("+#") for s in sans]
        assert resolved(sans) == reference(sans)
    assert {"en passant", "O-O", "O-O-O", "=q", "=r", "=b", "=n", "=nx", "pin makes it unique",
            "file hint", "rank hint"} <= seen, seen


@pytest.mark.slow
@pytest.mark.parametrize("name", ["lichess_2013-01_first5000.pgn", "lichess_2016-05_excerpt.pgn",
                                  "lichess_2017-05_excerpt.pgn", "twic_otb_le2200.pgn.zst"])
def test_every_real_game_agrees_with_python_chess(name):
    path = DATA / name
    if not path.exists():
        pytest.skip("../shared/data is absent")
    games = refused = 0
    for chunk in pgn.read_chunks(pgn.Source(str(path)), pgn.ReadStats()):
        for text, end in pgn.split_games(chunk):
            try:
                sans, _ = pgn.parse_movetext(pgn.parse_headers(text, end)[1])
            except pgn.MovetextError:
                continue
            got = resolved(sans)
            want = reference(sans)
            if isinstance(got, int):
                refused += 1
            else:
                assert got == want, (name, games, sans)
            games += 1
    assert games > 250 and refused < 0.01 * games
