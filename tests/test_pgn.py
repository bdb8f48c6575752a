"""chessformer.data.pgn's movetext reading: the compiled scanner reads what parse_movetext reads."""

from __future__ import annotations

import random

import pytest

from chessformer.core import san
from chessformer.data import pgn


def _read(read, text: bytes):
    try:
        m = read(text)
    except pgn.MovetextError as e:
        return "error", e.reason, str(e)
    return m if isinstance(m, tuple) else (m.sans(), m.marker, m.count)


def _reference(text: bytes):
    try:
        sans, marker = pgn.parse_movetext(text)
    except pgn.MovetextError as e:
        return "error", e.reason, str(e)
    return sans, marker, len(sans)


@pytest.mark.skipif(not san.AVAILABLE, reason="numba is not installed")
def test_read_moves_agrees_with_parse_movetext_on_random_text():
    """Random movetext made of move numbers, suffixes, white space of every kind, results in
    and out of place: the same moves, marker and errors (with their wording)."""
    rng = random.Random(0)
    pieces = list("e4Nf3xO-0=Q.1 2\t\n\r+#!?*/abc8") + [
        "1-0", "0-1", "1/2-1/2", "*", "12.", "3...", " 4 . ", "\x0b", "\x1c", "\x00", "}", "é"]
    compiled = 0
    for _ in range(20000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randrange(0, 14)))
        if rng.random() < 0.7:
            text += rng.choice([" 1-0", "1-0", " *", "\n1/2-1/2\n", " 0-1 "])
        got = _read(pgn.read_moves, text.encode())
        assert got == _reference(text.encode()), text
        compiled += got[0] != "error"
    assert compiled > 5000


@pytest.mark.parametrize("text", [
    b"1. e4 e5 2. Nf3 Nc6 3. Bb5 a6 1-0",
    b"1.e4 e5 2.Nf3! Nc6?! 3.Bb5+ a6# 1/2-1/2",
    b"1. e4 1... e5 2 . Nf3 { a comment } Nc6 (2... d6) $1 *",  # the Python path
    b"1. e4 e5 1-0 2. Nf3 1-0",
    b"1. e4 e5",
    b"",
    b"12.e4\r\n12...e5\r\n0-1\r\n",
])
def test_read_moves_examples(text):
    assert _read(pgn.read_moves, text) == _reference(text)


def test_tag_value_reads_what_parse_headers_reads():
    """Random header sections (repeated, malformed, indented and CRLF tag lines, a name that
    begins another's): the first well-formed value of a tag, as parse_headers gives it."""
    rng = random.Random(2)
    lines = ['[WhiteElo "1500"]', '[WhiteElo "2100"]', '[WhiteElo  "x" ]\r', '[WhiteElo"1"]',
             '[WhiteEloX "3"]', ' [WhiteElo "4"]', '[BlackElo "1900"]', '[BlackElo "a"b"]',
             '[BlackElo ""]', '[Event "Rated [WhiteElo "5"]"]', '[WhiteElo "6"] x', "",
             '[White "a"]']
    names = (b"WhiteElo", b"BlackElo", b"WhiteEloX", b"White", b"Black")
    for _ in range(3000):
        text = "\n".join(rng.choice(lines) for _ in range(rng.randrange(0, 6)))
        text = (text + "\n\n1. e4 e5 *\n").encode()
        end = pgn.header_end(text)
        headers, _ = pgn.parse_headers(text, end)
        for name in names:
            assert pgn.tag_value(text, end, name) == headers.get(name), (text, name)


def test_split_games_gives_each_game_its_header_end():
    """Random chunks of tags, moves, blank lines, CRLF, byte-order marks and garbage: every game
    comes without leading white space and with the header end parse_headers would compute."""
    rng = random.Random(3)
    parts = [b'[Event "x"]\n', b'[White "a"]\r\n', b"\n", b"\r\n", b"  ", b"1. e4 e5 1-0", b"*",
             b"\n\n", b"garbage", b"\xef\xbb\xbf", b'[Black "b"]\n', b"{c}", b" \t"]
    games = 0
    for _ in range(5000):
        chunk = b"".join(rng.choice(parts) for _ in range(rng.randrange(1, 15)))
        for text, end in pgn.split_games(chunk):
            assert text == text.lstrip(b" \t\r\n") and text.strip()
            assert end == pgn.header_end(text), chunk
            games += 1
    assert games > 5000


_TAGS = b'[Event "x"]\n[Result "1-0"]\n\n'


@pytest.mark.parametrize("after, pieces", [
    (b"\x00\x00\x00", [b"1. e4 e5 1-0", b"\x00\x00\x00"]),  # zero padding, glued on
    (b"\n\x93\xfe\x01junk", [b"1. e4 e5 1-0", b"\x93\xfe\x01junk"]),  # after a single newline
    (b" \xff\xfe\xc3(\x80", [b"1. e4 e5 1-0", b"\xff\xfe\xc3(\x80"]),  # not UTF-8
    (b"ab\x07\n\n" + _TAGS + b"1. d4 0-1",  # between two games
     [b"1. e4 e5 1-0", b"ab\x07", _TAGS + b"1. d4 0-1"]),
    (b"\x00 { a comment } *", [b"1. e4 e5 1-0\x00 { a comment } *"]),  # ends with a marker
    (b" Nf3 Nc6", [b"1. e4 e5 1-0 Nf3 Nc6"]),  # text after the result: text_after_result
    (b" { Sch\xf6ne Partie }", [b"1. e4 e5 1-0 { Sch\xf6ne Partie }"]),  # a comment, in Latin-1
    (b" tr\xc3\xa8s bien", [b"1. e4 e5 1-0 tr\xc3\xa8s bien"]),  # words in UTF-8
    (b"\x1c\xc2\xa0", [b"1. e4 e5 1-0\x1c\xc2\xa0"]),  # white space for parse_movetext
])
def test_split_games_cuts_binary_garbage_glued_to_a_result(after, pieces):
    """Binary garbage right after a game's result marker, with no blank line between, is a
    piece of its own (the game ends at its marker); other text after a result stays in the
    game (parse_movetext then words it), and so does a game that ends with a result marker."""
    got = [text for text, _ in pgn.split_games(_TAGS + b"1. e4 e5 1-0" + after)]
    assert got == [(_TAGS if i == 0 else b"") + p for i, p in enumerate(pieces)]
    if len(pieces) > 1:  # the game is whole again
        assert pgn.parse_movetext(got[0][len(_TAGS):]) == (["e4", "e5"], "1-0")
