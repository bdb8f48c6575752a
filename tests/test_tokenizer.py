"""The fixed UCI vocabulary: size, round trips on real and inline games, the MIRROR table."""

from __future__ import annotations

import io
from pathlib import Path

import chess
import chess.pgn
import numpy as np
import pytest

from chessformer.core import tokenizer as tok

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

INLINE = """[Event "t"]
[Result "1-0"]

1. e4 d5 2. exd5 Qxd5 3. Nc3 Qa5 4. d4 c6 5. Nf3 Bg4 6. Bf4 e6 7. h3 Bxf3 8. Qxf3 Bb4
9. Be2 Nd7 10. a3 O-O-O 11. axb4 Qxa1+ 12. Kd2 Qxh1 13. Qxc6+ bxc6 14. Ba6# 1-0

[Event "promo"]
[Result "0-1"]

1. h4 g5 2. hxg5 h5 3. g6 h4 4. g7 h3 5. gxh8=N hxg2 6. Nf7 gxf1=Q+ 7. Kxf1 Kxf7 0-1
"""


def _games(text: str):
    f = io.StringIO(text)
    while (g := chess.pgn.read_game(f)) is not None:
        yield [m.uci() for m in g.mainline_moves()]


def test_vocab_size_and_specials():
    assert tok.N_MOVES == 1968
    assert tok.VOCAB_SIZE == 1968 + len(tok.SPECIALS)
    assert len(set(tok.MOVES)) == tok.N_MOVES
    assert (tok.PAD, tok.BOS, tok.EOS) == (0, 1, 2)
    # every legal move of many random positions is in the vocabulary
    rng = np.random.default_rng(0)
    for _ in range(30):
        b = chess.Board()
        for _ in range(80):
            moves = list(b.legal_moves)
            if not moves:
                break
            for m in moves:
                tok.encode_move(m)
            b.push(moves[rng.integers(len(moves))])


def test_roundtrip_inline_games():
    games = list(_games(INLINE))
    assert len(games) == 2 and "h8g8" not in games[1] and "g7h8n" in games[1]
    for moves in games:
        ids = tok.tokenize(moves)
        assert ids.dtype == np.uint16 and ids[0] == tok.BOS and len(ids) == len(moves) + 1
        assert tok.detokenize(ids) == moves


@pytest.mark.skipif(not (DATA / "lichess_2017-05_excerpt.pgn").exists(),
                    reason="../shared/data is absent")
def test_roundtrip_real_games():
    n = 0
    with open(DATA / "lichess_2017-05_excerpt.pgn", encoding="utf-8", errors="replace") as f:
        while (g := chess.pgn.read_game(f)) is not None:
            moves = [m.uci() for m in g.mainline_moves()]
            assert tok.detokenize(tok.tokenize(moves)) == moves
            n += 1
    assert n == 298


def test_mirror_is_an_involution_and_flips_ranks():
    assert np.array_equal(tok.MIRROR[tok.MIRROR], np.arange(tok.VOCAB_SIZE))
    assert tok.id_to_uci(int(tok.MIRROR[tok.uci_to_id("e2e4")])) == "e7e5"
    assert tok.id_to_uci(int(tok.MIRROR[tok.uci_to_id("a7b8q")])) == "a2b1q"
    for s in tok.SPECIALS:
        i = tok.SPECIALS.index(s)
        assert tok.MIRROR[i] == i


def test_unknown_move_names_it():
    with pytest.raises(KeyError, match="a1h7"):
        tok.uci_to_id("a1h7")
