"""``chessformer ingest`` on inline PGN: every filter, every kind of bad input, determinism."""

from __future__ import annotations

import bz2
import io
import json
import os
import random
import sys
from pathlib import Path

import chess
import numpy as np
import pytest
import zstandard

from chessformer.core import tokenizer as tok
from chessformer.core.boards import encode_board
from chessformer.data.dataset import DatasetWriter, GameDataset
from chessformer.data.ingest import TIME_CONTROL_CLASSES, classify_time_control, ingest
from chessformer.formats import dataset as dataset_format
from chessformer.formats.dataset import Reason, ReasonKind, reason_counts
from chessformer.utils import UserError

MOVES = "1. e4 e5 2. Nf3 Nc6 3. Bb5 a6 4. Ba4 Nf6 5. O-O Be7 6. Re1 b5 7. Bb3 d6"  # 14 plies
UCI = ["e2e4", "e7e5", "g1f3", "b8c6", "f1b5", "a7a6", "b5a4", "g8f6", "e1g1", "f8e7", "f1e1",
       "b7b5", "a4b3", "d7d6"]
_n = 0


def game(moves: str = MOVES, result: str = "1-0", **tags: str) -> str:
    """One PGN game; tags default to a rated Lichess-like game with a unique Site."""
    global _n
    _n += 1
    h = {"Event": "Rated Blitz game", "Site": f"https://lichess.org/g{_n:07d}", "White": "a",
         "Black": "b", "Result": result, "UTCDate": "2024.01.01", "WhiteElo": "1400",
         "BlackElo": "1450", "TimeControl": "300+0", "Termination": "Normal"}
    h.update(tags)
    head = "".join(f'[{k} "{v}"]\n' for k, v in h.items() if v is not None)
    return f"{head}\n{moves} {result}\n\n"


def run(tmp_path: Path, text: str | bytes, name: str = "in.pgn", **kw):
    src = tmp_path / name
    src.write_bytes(text.encode() if isinstance(text, str) else text)
    kw.setdefault("elo_cap", None)
    kw.setdefault("workers", 0)
    out = tmp_path / "out"
    m = ingest([str(src)], out, overwrite=True, **kw)
    return m, GameDataset.open(out)


def test_keeps_a_clean_game_and_tokenizes_it(tmp_path):
    m, ds = run(tmp_path, game(), elo_cap=1500)
    assert m.kept == ds.n_games == 1 and m.games_read == 1
    assert tok.detokenize(ds.game_tokens(0)) == UCI
    assert ds.game_tokens(0)[0] == tok.BOS
    row = ds.games_table().iloc[0]
    assert row["white_elo"] == 1400 and row["plies"] == 14 and row["result"] == "1-0"
    assert row["game_id"].startswith("g0") and row["source"] == "in.pgn"
    assert m.elo_histogram["counts"] == {"1400": 1}


def test_elo_cap_floor_and_missing(tmp_path):
    text = (game(WhiteElo="1500", BlackElo="1500") + game(WhiteElo="1501", BlackElo="1200")
            + game(WhiteElo="?") + game(BlackElo=None) + game(WhiteElo="1000", BlackElo="1100"))
    m, _ = run(tmp_path, text, elo_cap=1500)
    assert m.kept == 2
    assert m.rejected == {"elo_missing": 2, "elo_above_cap": 1}
    m, _ = run(tmp_path, text, elo_cap=1500, elo_floor=1150)
    assert m.kept == 1 and m.rejected["elo_below_floor"] == 1
    m, _ = run(tmp_path, text)  # no cap: ratings are not required
    assert m.kept == 5 and m.elo_histogram["counts"]["unknown"] == 2


def test_rated_only_keeps_otb_events(tmp_path):
    text = (game(Event="Casual Blitz game") + game(Event="Rated Blitz game")
            + game(Event="89th Hastings Masters 2013-14", Site="Hastings ENG")
            + game(Event=None) + game(Event="Unrated match"))
    m, _ = run(tmp_path, text)
    assert m.kept == 3 and m.rejected == {"unrated": 2}
    m, _ = run(tmp_path, text, rated_only=False)
    assert m.kept == 5


def test_variant_setup_bot_result_termination(tmp_path):
    text = (game(Variant="Chess960") + game(Variant="Standard")
            + game(FEN="8/8/8/8/8/8/8/K1k5 w - - 0 1", SetUp="1")
            + game(WhiteTitle="BOT") + game(BlackTitle="BOT") + game(WhiteTitle="GM")
            + game(result="*") + game(Termination="Abandoned")
            + game(Termination="Rules infraction") + game(Termination="Time forfeit"))
    m, _ = run(tmp_path, text)
    assert m.kept == 3
    assert m.rejected == {"variant": 1, "custom_start": 1, "bot": 2, "unfinished": 1,
                             "termination": 2}
    m, _ = run(tmp_path, text, drop_terminations=(), no_bots=False)
    assert m.kept == 7


def test_time_control_classes():
    assert classify_time_control("15+0") == "ultrabullet"
    assert classify_time_control("60+0") == "bullet"
    assert classify_time_control("120+1") == "bullet"  # 120 + 40 x 1 = 160 s
    assert classify_time_control("120+2") == "blitz"  # 200 s
    assert classify_time_control("180+0") == "blitz"
    assert classify_time_control("600+0") == "rapid"
    assert classify_time_control("1800+20") == "classical"
    assert classify_time_control("-") == "correspondence"
    assert classify_time_control(None) == classify_time_control("?") == "unknown"
    assert classify_time_control("40/7200:3600") == "classical"


def test_time_control_filter(tmp_path):
    text = (game(TimeControl="60+0") + game(TimeControl="300+3") + game(TimeControl="15+0")
            + game(TimeControl=None) + game(TimeControl="900+10"))
    m, ds = run(tmp_path, text, time_controls=("blitz", "unknown"))
    assert m.kept == 2 and m.rejected == {"time_control": 3}
    assert list(ds.games_table()["time_control"]) == ["300+3", ""]
    m, _ = run(tmp_path, text, time_controls=("bullet",))
    assert m.kept == 1  # ultrabullet is its own class


def test_min_plies(tmp_path):
    text = game("1. e4 e5 2. Nf3 Nc6") + game()
    m, _ = run(tmp_path, text)
    assert m.kept == 1 and m.rejected == {"too_few_plies": 1}
    m, _ = run(tmp_path, text, min_plies=4)
    assert m.kept == 2


def test_duplicates_by_site_and_by_players_date_moves(tmp_path):
    site = "https://lichess.org/abcdefgh"
    otb = dict(Site="Hastings ENG", Date="2013.12.31", UTCDate=None)
    text = (game(Site=site) + game(Site=site) + game(**otb) + game(**otb)
            + game(**{**otb, "Date": "2014.01.01"}) + game(MOVES + " 8. h3", **otb))
    m, ds = run(tmp_path, text)
    assert m.kept == 4 and m.rejected == {"duplicate": 2}
    assert ds.games_table()["game_id"].iloc[0] == "abcdefgh"
    m, _ = run(tmp_path, text, dedupe=False)
    assert m.kept == 6


def test_illegal_unparsable_and_null_moves(tmp_path):
    text = (game(MOVES + " Qxh7") + game("1. e4 e5 2. Ke2 Ke7 3. Ke1 Ke8 4. Nf3 Nf6 5. Bc4 Bc5 6. O-O")
            + game(MOVES + " zz9") + game(MOVES + " --") + game())
    m, _ = run(tmp_path, text, min_plies=1)
    assert m.kept == 1 and m.rejected == {"illegal_move": 3, "null_move": 1}
    m2, _ = run(tmp_path, text, min_plies=1, engine="python-chess")
    assert m2.rejected == m.rejected


def test_comments_variations_nags_and_clock_comments(tmp_path):
    moves = ("1. e4 { [%clk 0:03:00] } 1... e5 { [%eval 0.2] } 2. Nf3 $1 (2. Nc3 Nf6 (2... Nc6)) "
             "2... Nc6 ; a line comment\n3. Bb5!? a6 4. Ba4 Nf6 5. O-O Be7 6. Re1 b5 7. Bb3 d6")
    m, ds = run(tmp_path, game(moves))
    assert m.kept == 1 and tok.detokenize(ds.game_tokens(0)) == UCI


def test_bad_movetext_reasons(tmp_path):
    text = (game(MOVES + " { never closed") + game(MOVES + " ( 7... h6")
            + game(Result="1-0").replace(" 1-0\n\n", "\n\n") + game())
    m, _ = run(tmp_path, text)
    assert m.kept == 1
    assert m.rejected == {"unterminated_comment": 1, "unbalanced_variation": 1,
                             "truncated_game": 1}


def test_truncated_file_keeps_the_games_before(tmp_path):
    text = game() + game() + game()[:-60]
    m, _ = run(tmp_path, text)
    assert m.games_read == 3 and m.kept == 2
    assert sum(m.rejected.values()) == 1


def test_garbage_and_non_utf8_bytes(tmp_path):
    latin = game(White="Jos\xe9").encode("latin-1")
    text = (b"\x00\xff garbage\xfe\n\n" + game().encode() + b"\n\n\xff\xfe\x00 binary junk\n\n"
            + latin + game(MOVES.replace("Nf6", "N\xe9f6")).encode("latin-1"))
    m, ds = run(tmp_path, text)
    assert m.kept == 2  # the junk after a finished game is garbage of its own
    assert m.rejected == {"no_headers": 2, "illegal_move": 1}
    assert m.notes["non_utf8_header"] == 1
    assert "José" in list(ds.games_table()["white"])
    rows = list(dataset_format.iter_game_rows(ds.path))  # the same rows, streamed
    assert [r["white"] for r in rows] == list(ds.games_table()["white"])
    assert [r["split"] == "val" for r in rows] == list(ds.splits)


def test_absurdly_long_line_is_skipped(tmp_path):
    text = game() + "[Event \"x\"]\n\n" + "e4 " * 800_000 + "\n\n" + game() + game()
    m, _ = run(tmp_path, text, chunk_bytes=1 << 16, max_chunk_bytes=1 << 20)
    assert m.read_events == {"oversized_text": 1}
    assert m.kept == 3  # the game before and the two after


def test_crlf_and_no_blank_line_between_games(tmp_path):
    text = (game() + game()).replace("\n", "\r\n") + game().rstrip("\n") + "\n" + game()
    m, _ = run(tmp_path, text)
    assert m.games_read == 4 and m.kept == 4


def test_empty_and_missing_sources(tmp_path):
    with pytest.raises(UserError, match="nothing could be read"):
        run(tmp_path, b"")
    (tmp_path / "a.pgn").write_text(game())
    (tmp_path / "e.pgn").write_text("")
    m = ingest([str(tmp_path / "a.pgn"), str(tmp_path / "e.pgn"), str(tmp_path / "nope.pgn")],
               tmp_path / "o", elo_cap=None, workers=0)
    assert m.kept == 1
    assert m.read_events == {"empty_source": 1, "missing_source": 1}
    with pytest.raises(UserError):
        ingest([str(tmp_path / "nope.pgn")], tmp_path / "o2", elo_cap=None, workers=0)


def _zstd_frames(*texts: str) -> list[bytes]:
    c = zstandard.ZstdCompressor(write_checksum=True)  # as the zstd CLI (and Lichess) write
    return [c.compress(t.encode()) for t in texts]


def test_zstd_bz2_folders_globs_and_stdin(tmp_path, monkeypatch):
    d = tmp_path / "src"
    d.mkdir()
    (d / "a.pgn.zst").write_bytes(b"".join(_zstd_frames(game() + game(), game())))
    (d / "b.pgn.bz2").write_bytes(bz2.compress(game().encode()))
    (d / "c.txt").write_text(game())  # not a PGN name: ignored in folders
    m = ingest([str(d)], tmp_path / "o1", elo_cap=None, workers=0)
    assert m.kept == 4 and [s["name"] for s in m.sources] == ["a.pgn.zst", "b.pgn.bz2"]
    m = ingest([str(d / "*.pgn.*")], tmp_path / "o2", elo_cap=None, workers=0)
    assert m.kept == 4
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO((game() + game()).encode())))
    m = ingest(["-"], tmp_path / "o3", elo_cap=None, workers=0)
    assert m.kept == 2 and m.sources[0]["name"] == "<stdin>"
    assert len(m.sources[0]["sha256"]) == 64


def test_corrupt_zstd_frame_is_skipped(tmp_path):
    f1, f2, f3 = _zstd_frames(*("".join(game() for _ in range(50)) for _ in range(3)))
    bad = bytearray(f2)
    for i in range(len(bad) // 3, len(bad) // 3 + 40):
        bad[i] ^= 0x5A
    m, _ = run(tmp_path, f1 + bytes(bad) + f3, name="in.pgn.zst")
    assert m.read_events.get("corrupt_compressed") == 1
    assert m.kept >= 100  # frames 1 and 3 at least
    assert m.kept < 150


def test_truncated_zstd_stream(tmp_path):
    (f1,) = _zstd_frames("".join(game() for _ in range(1000)))
    m, _ = run(tmp_path, f1[: len(f1) * 2 // 3], name="in.pgn.zst")
    assert m.read_events == {"truncated_compressed": 1}
    assert 0 < m.kept < 1000


def test_limit_and_val_split(tmp_path):
    m, ds = run(tmp_path, "".join(game() for _ in range(30)), limit=7, val_fraction=0.5)
    assert m.kept == 7 and m.limit_reached and m.games_read == 7
    assert 0 < len(ds.split_indices("val")) < 7


def test_deterministic_across_runs_and_worker_counts(tmp_path):
    rng = random.Random(0)
    text = "".join(game(WhiteElo=str(rng.randrange(1000, 2000)), Site="x",
                        White=f"p{rng.randrange(50)}") for _ in range(400))
    src = tmp_path / "in.pgn"
    src.write_text(text)
    outs = []
    for i, workers in enumerate((0, 2, 2)):
        out = tmp_path / f"o{i}"
        ingest([str(src)], out, elo_cap=1700, workers=workers, chunk_bytes=4096)
        outs.append({p.name: p.read_bytes() for p in sorted(out.iterdir())})
    assert outs[0] == outs[1] == outs[2]
    assert json.loads(outs[0]["manifest.json"])["kept"] > 0


def test_interrupted_run_leaves_nothing_complete(tmp_path, monkeypatch):
    src = tmp_path / "in.pgn"
    src.write_text("".join(game() for _ in range(20)))
    out = tmp_path / "out"
    ingest([str(src)], out, elo_cap=None, workers=0)
    before = (out / "tokens.u16").read_bytes()
    calls = {"n": 0}
    real_add = DatasetWriter.add

    def flaky_add(self, *a, **k):
        calls["n"] += 1
        if calls["n"] > 5:
            raise KeyboardInterrupt
        return real_add(self, *a, **k)

    monkeypatch.setattr(DatasetWriter, "add", flaky_add)
    with pytest.raises(KeyboardInterrupt):
        ingest([str(src)], out, elo_cap=None, workers=0, overwrite=True, min_plies=1)
    assert (out / "tokens.u16").read_bytes() == before  # the old complete dataset is untouched
    assert not (tmp_path / ".out.partial").exists()
    new = tmp_path / "new"
    with pytest.raises(KeyboardInterrupt):
        ingest([str(src)], new, elo_cap=None, workers=0)
    with pytest.raises(UserError, match="not a complete"):
        GameDataset.open(new)


def test_existing_output_needs_overwrite(tmp_path):
    src = tmp_path / "in.pgn"
    src.write_text(game())
    ingest([str(src)], tmp_path / "o", elo_cap=None, workers=0)
    with pytest.raises(UserError, match="overwrite"):
        ingest([str(src)], tmp_path / "o", elo_cap=None, workers=0)


def test_boards_match_replayed_positions(tmp_path):
    promo = ("1. h4 g5 2. hxg5 h5 3. g6 h4 4. g7 h3 5. gxh8=N hxg2 6. Nf7 gxf1=Q+ 7. Kxf1 Kxf7 "
             "8. d4 e5 9. dxe5 d5 10. exd6")
    m, ds = run(tmp_path, game() + game(promo), boards=True)
    assert m.kept == 2 and ds.boards is not None
    for i in range(2):
        toks = ds.game_tokens(i)
        b = chess.Board()
        rows = [encode_board(b)]
        for uci in tok.detokenize(toks):
            b.push_uci(uci)
            rows.append(encode_board(b))
        got = np.asarray(ds.boards[ds.offsets[i]:ds.offsets[i + 1]])
        assert np.array_equal(got, np.stack(rows))


def test_boards_command_adds_the_same_boards_as_ingest(tmp_path):
    """`chessformer boards` on a dataset ingested without boards writes exactly what
    `ingest --boards` writes, with workers or without; a second run needs --overwrite."""
    from chessformer.data.add_boards import add_boards

    promo = ("1. h4 g5 2. hxg5 h5 3. g6 h4 4. g7 h3 5. gxh8=N hxg2 6. Nf7 gxf1=Q+ 7. Kxf1 Kxf7 "
             "8. d4 e5 9. dxe5 d5 10. exd6")
    text = game() + game(promo) + game("1. e4 e5 2. Ke2 Ke7 3. Ke1 Ke8 4. Ke2 Ke7 5. Ke1 Ke8")
    for sub in ("a", "b0", "b2"):
        (tmp_path / sub).mkdir()
    _, want = run(tmp_path / "a", text, boards=True)
    for workers in (0, 2):
        _, plain = run(tmp_path / f"b{workers}", text)
        assert plain.boards is None
        m = add_boards(plain.path, workers=workers, chunk=2)
        got = GameDataset.open(plain.path)
        assert m.boards and got.boards is not None
        assert np.array_equal(np.asarray(got.boards), np.asarray(want.boards))
    with pytest.raises(UserError, match="overwrite"):
        add_boards(plain.path, workers=0)
    assert add_boards(plain.path, workers=0, overwrite=True).boards


def test_boards_command_names_a_corrupt_game(tmp_path):
    from chessformer.data.add_boards import add_boards

    _, ds = run(tmp_path, game() + game())
    toks = np.fromfile(ds.path / "tokens.u16", dtype="<u2")
    toks[ds.offsets[1] + 2] = tok.uci_to_id("e1e8")  # an impossible move in the second game
    toks.tofile(ds.path / "tokens.u16")
    with pytest.raises(UserError, match=r"game 1 .*e1e8 is not legal"):
        add_boards(ds.path, workers=0)
    assert not (ds.path / "boards.u8").exists()
    assert not json.loads((ds.path / "manifest.json").read_text())["boards"]


def test_utf8_byte_order_mark_is_not_a_game(tmp_path):
    # One at the start of the file, one where a second file was appended with `cat`.
    text = "\ufeff" + game(Event="Casual Blitz game") + game() + "\ufeff" + game()
    m, _ = run(tmp_path, text.encode("utf-8"))
    assert m.games_read == 3 and m.kept == 2 and m.rejected == {"unrated": 1}


@pytest.mark.parametrize("kind", ["gz", "bz2", "zst"])
def test_truncated_compressed_file_keeps_every_game_before_the_cut(tmp_path, kind):
    import gzip

    rng = random.Random(kind)
    games = [game(WhiteElo=str(rng.randrange(1000, 2000))) for _ in range(3000)]
    text = "".join(games).encode()
    packed = {"gz": gzip.compress,
              "bz2": lambda t: bz2.compress(t, 1),  # 100 kB blocks: bz2 decodes whole blocks only
              "zst": lambda t: zstandard.ZstdCompressor(write_checksum=True).compress(t)}[kind](text)
    cut = packed[: len(packed) // 2]
    before = {"gz": lambda: gzip.GzipFile(fileobj=io.BytesIO(cut)),
              "bz2": lambda: bz2.BZ2File(io.BytesIO(cut)),
              "zst": lambda: zstandard.ZstdDecompressor().stream_reader(io.BytesIO(cut))}[kind]()
    readable = b""
    try:  # what a decoder can recover before the cut, 1 KiB at a time
        while chunk := before.read(1024):
            readable += chunk
    except (EOFError, OSError, zstandard.ZstdError):
        pass
    # Complete games: each is followed by the next's tags. The library's reader may give up a
    # little earlier than a decoder fed byte by byte, hence the small margin.
    whole = readable.count(b"\n\n[Event")
    m, _ = run(tmp_path, cut, name=f"in.pgn.{kind}")
    assert m.read_events == {"truncated_compressed": 1}
    assert whole > 1000 and whole <= m.kept <= whole + 5
    assert m.games_read == m.kept + m.rejected.get("truncated_game", 0)


def test_overlong_line_keeps_the_game_before_and_names_it(tmp_path, caplog):
    text = game() + "x" * (3 << 20) + "\n\n" + game() + game()
    with caplog.at_level("WARNING"):
        m, _ = run(tmp_path, text, chunk_bytes=1 << 16, max_chunk_bytes=1 << 20)
    assert m.read_events == {"oversized_text": 1}
    assert m.games_read == 3 and m.kept == 3
    assert "(after game 1)" in caplog.text


def test_binary_garbage_after_the_last_game_is_garbage(tmp_path):
    junk = bytes(random.Random(4).randrange(256) for _ in range(4000)).replace(b"\n\n", b"\n")
    m, _ = run(tmp_path, (game() + game()).encode() + junk + b"{ (\n")
    assert m.kept == 2 and m.rejected == {"no_headers": 1}


_RANDOM_JUNK = bytes(random.Random(5).randrange(256) for _ in range(4000)).replace(b"\n\n", b"\n")


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "python"])
@pytest.mark.parametrize("junk", [
    _RANDOM_JUNK,  # right after the result token
    b"\n" + _RANDOM_JUNK,  # after a single newline
    b" \x00\x00\x00" + b"\x00" * 1000 + b"\n",  # zero padding (a file cut short by a crash)
    b"\xff\xfe\xc3\x28\x80\x9d" * 50 + b"\n",  # bytes that are not UTF-8 (nor a control)
], ids=["random", "newline_random", "nul", "not_utf8"])
def test_binary_garbage_right_after_the_last_result_keeps_the_game(tmp_path, monkeypatch,
                                                                   junk, compiled):
    """Issue 24: the last game is complete up to its result token; the bytes glued to it, with
    no blank line between, are garbage of their own (no_headers), as after a blank line."""
    from chessformer.core import san

    if compiled and not san.AVAILABLE:
        pytest.skip("numba is not installed")
    monkeypatch.setattr(san, "AVAILABLE", compiled and san.AVAILABLE)
    last = game(WhiteElo="1234")
    assert last.endswith(" 1-0\n\n")
    text = (game() + game()).encode() + last.rstrip("\n").encode() + junk
    m, ds = run(tmp_path, text, elo_cap=1600)
    assert m.kept == 3, m.rejected
    assert m.rejected == {"no_headers": 1} and m.games_read == 4
    assert m.kept + sum(m.rejected.values()) == m.games_read
    assert list(ds.games_table()["white_elo"]) == [1400, 1400, 1234]
    assert tok.detokenize(ds.game_tokens(2)) == UCI


def test_the_first_warnings_of_a_reason_name_their_game_across_chunks(tmp_path, caplog):
    """Workers keep the details of only the first rejects of each reason in a chunk: the run
    still shows the first 20 of a reason, each with its game and detail, then counts the rest."""
    text = "".join(game(WhiteElo=str(2100 + i)) for i in range(60))
    with caplog.at_level("WARNING"):
        m, _ = run(tmp_path, text + game(), elo_cap=2000, workers=2, chunk_bytes=2048)
    assert m.rejected == {"elo_above_cap": 60}
    shown = [r.getMessage() for r in caplog.records if "max Elo" in r.getMessage()]
    assert shown == [f"elo_above_cap: in.pgn game {i + 1}: max Elo {2100 + i} > 2000"
                     for i in range(20)]
    assert any("elo_above_cap: 60 in all (40 not shown)" in r.getMessage() for r in caplog.records)


def test_warnings_are_shortened(tmp_path, caplog):
    huge = "N" + "x" * 200_000
    text = game(MOVES + " " + huge) + game(MOVES + " 1-0 " + huge) + "[Event" + "y" * 200_000
    with caplog.at_level("WARNING"):
        m, _ = run(tmp_path, text + "\n\n" + game())
    assert m.rejected == {"illegal_move": 1, "text_after_result": 1, "no_headers": 1}
    assert caplog.records and max(len(r.getMessage()) for r in caplog.records) < 600


def test_utf16_file_is_read(tmp_path):
    m, ds = run(tmp_path, (game() + game(White="Jos\u00e9")).encode("utf-16"))
    assert m.kept == 2 and m.read_events == {"utf16_text": 1}
    assert "José" in list(ds.games_table()["white"])


@pytest.mark.parametrize("text, reason", [
    ("".join(game().split("\n\n")[0] + "\n\n" for _ in range(3)), "truncated_game"),
    (game(result="*") + game(result="*") + game(Event="Casual Blitz game"), "unfinished"),
])
def test_keeping_nothing_is_an_error_naming_the_largest_reason(tmp_path, text, reason):
    with pytest.raises(UserError, match=f"kept none of the 3 games.*{reason}"):
        run(tmp_path, text)
    assert not (tmp_path / "out").exists()


def test_keeping_nothing_exits_non_zero(tmp_path, capsys):
    from chessformer.cli import main

    (tmp_path / "in.pgn").write_text(game(result="*"))
    assert main(["ingest", str(tmp_path / "in.pgn"), "--out", str(tmp_path / "o")]) == 2


@pytest.mark.parametrize("kw, match", [
    ({"elo_cap": -5}, "--elo-cap"), ({"elo_cap": 1500, "elo_floor": -1}, "--elo-floor"),
    ({"min_plies": -1}, "--min-plies"), ({"limit": 0}, "--limit"),
])
def test_unusable_numbers_are_errors(tmp_path, kw, match):
    kw.setdefault("elo_cap", None)
    with pytest.raises(UserError, match=match):
        run(tmp_path, game(), **kw)


@pytest.mark.parametrize("where", ["parent_is_a_file", "proc", "mount_point"])
def test_unwritable_out_is_a_one_line_error_up_front(tmp_path, monkeypatch, where):
    src = tmp_path / "in.pgn"
    src.write_text(game())
    if where == "parent_is_a_file":
        (tmp_path / "f").write_text("")
        out = tmp_path / "f" / "ds"
    elif where == "proc":  # a parent that cannot be created (as read-only or /sys, even as root)
        out = Path("/proc/chessformer-test/ds")
    else:  # a dataset folder that is a mount point cannot be renamed away by --overwrite
        out = tmp_path / "mnt"
        out.mkdir()
        real = os.path.ismount
        monkeypatch.setattr(os.path, "ismount", lambda p: str(p) == str(out) or real(p))
    before = sorted(tmp_path.iterdir())
    with pytest.raises(UserError, match="--out"):
        ingest([str(src)], out, elo_cap=None, workers=0, overwrite=True)
    assert sorted(tmp_path.iterdir()) == before  # no .partial folder left behind


def test_duplicates_need_known_players_and_date(tmp_path):
    unknown = {"Site": "?", "White": "?", "Black": "?", "UTCDate": None, "Date": "????.??.??"}
    a = game(Event="Club A", **unknown)
    text = a + game(Event="Club B", **unknown) + a + game(Event="Club A", Round="2", **unknown)
    m, _ = run(tmp_path, text, min_plies=1)
    assert m.kept == 3 and m.rejected == {"duplicate": 1}  # only the exact copy of a


def chessbase_game(**tags: str) -> str:
    """A game as a ChessBase export can write it: a blank line inside the tag section."""
    head, moves = game(**tags).split("\n\n", 1)
    lines = head.split("\n")
    return "\n".join(lines[:2]) + "\n\n" + "\n".join(lines[2:]) + "\n\n" + moves


@pytest.mark.parametrize("chunk_bytes", [1 << 20, 300])
def test_blank_line_inside_the_tags_is_one_game(tmp_path, chunk_bytes):
    text = "".join(chessbase_game(WhiteElo=str(1000 + i)) for i in range(20))
    text += chessbase_game(Event="Casual Blitz game")  # the Event tag is before the blank line
    m, ds = run(tmp_path, text, chunk_bytes=chunk_bytes)
    assert m.games_read == 21 and m.kept == 20 and m.rejected == {"unrated": 1}
    assert list(ds.games_table()["white_elo"]) == list(range(1000, 1020))


def test_null_moves_have_their_own_reason(tmp_path):
    text = game(MOVES + " Z0 Nc6") + game(MOVES + " -- Nc6") + game(MOVES + " Qxh7") + game()
    m, _ = run(tmp_path, text)
    assert m.kept == 1 and m.rejected == {"null_move": 2, "illegal_move": 1}


def test_elo_filters_read_the_first_tag_of_the_tag_section(tmp_path):
    text = (game(WhiteElo="?").replace('[BlackElo', '[WhiteElo "2500"]\n[BlackElo')
            + game(WhiteElo=" 2500") + game(WhiteElo="1400\"0") + game(WhiteElo=None)
            + game(WhiteElo="2500"))
    m, _ = run(tmp_path, text + game(), elo_cap=2000)
    assert m.rejected == {"elo_missing": 3, "elo_above_cap": 2} and m.kept == 1


def test_the_same_dataset_with_and_without_the_compiled_readers(tmp_path, monkeypatch):
    """numba present or not (python-chess and parse_movetext then do all the work), the same
    files; only the manifest's move_checker differs. The games hold en passant, promotions,
    castling, a comment, an illegal and a null move."""
    from chessformer.core import san

    if not san.AVAILABLE:
        pytest.skip("numba is not installed")
    text = "".join([
        game(), game("1. e4 a6 2. e5 d5 3. exd6 { en passant } e6 4. Nf3 Nf6 5. Bc4 Be7 6. O-O O-O"),
        game("1. h4 g5 2. hxg5 Nf6 3. gxf6 h6 4. fxe7 h5 5. exf8=N Kxf8 6. Rxh5 Rxh5"),
        game(MOVES + " Qxh7"), game(MOVES + " --"), game(MOVES, Site="y", White="?"),
    ])
    out = {}
    for available in (True, False):
        monkeypatch.setattr(san, "AVAILABLE", available)
        m, _ = run(tmp_path, text, min_plies=1)
        out[available] = {p.name: p.read_bytes() for p in sorted((tmp_path / "out").iterdir())}
        assert m.kept == 4 and m.rejected == {"illegal_move": 1, "null_move": 1}
    manifests = [json.loads(out[a].pop("manifest.json")) for a in (True, False)]
    assert out[True] == out[False]
    assert manifests[0]["move_checker"].startswith("chessformer SAN resolver")
    assert manifests[1]["move_checker"] == "python-chess"
    for m in manifests:
        for k in ("move_checker", "out", "created", "seconds", "command", "versions"):
            m.pop(k, None)
    assert manifests[0].keys() == manifests[1].keys()


# ----------------------------------------------------------------------------- every reason

_DUPLICATED = "https://lichess.org/dupdupdu"
#: The options under which each case of _reject_cases() is rejected for its reason.
def _held_out_player(seed: int = 0) -> str:
    """A White name whose game of MOVES (against "b") a --holdout 0.5 draw with ``seed`` holds
    out, where the default games (White "a") are kept: found by the same content hash."""
    board = chess.Board()
    ids = [tok.BOS]
    for san in MOVES.split():
        if not san[0].isdigit():
            ids.append(tok.uci_to_id(board.push_san(san).uci()))
    assert not dataset_format.held_out(dataset_format.game_key("a", "b", ids), 0.5, seed)
    return next(name for name in (f"h{i}" for i in range(100)) if dataset_format.held_out(
        dataset_format.game_key(name, "b", ids), 0.5, seed))


_EVERY_FILTER = dict(elo_cap=1600, elo_floor=1000,
                     time_controls=tuple(c for c in TIME_CONTROL_CLASSES if c != "bullet"),
                     holdout=0.5, holdout_seed=0)


def _reject_cases() -> dict[Reason, str]:
    """For each reason a game can be rejected for, PGN text that provokes it once (under
    _EVERY_FILTER; the other games of the defaults are rated blitz, 1400-1450, 14 plies)."""
    return {
        Reason.NO_HEADERS: "not a game: text between two games\n\n",
        Reason.ELO_MISSING: game(WhiteElo="?"),
        Reason.ELO_ABOVE_CAP: game(WhiteElo="1700"),
        Reason.ELO_BELOW_FLOOR: game(BlackElo="900"),
        Reason.VARIANT: game(Variant="Chess960"),
        Reason.CUSTOM_START: game(FEN="8/8/8/8/8/8/8/K1k5 w - - 0 1", SetUp="1"),
        Reason.UNRATED: game(Event="Casual Blitz game"),
        Reason.BOT: game(BlackTitle="BOT"),
        Reason.UNFINISHED: game(result="*"),
        Reason.BAD_RESULT: game(Result="2-0"),
        Reason.TERMINATION: game(Termination="Abandoned"),
        Reason.TIME_CONTROL: game(TimeControl="60+0"),
        Reason.UNTERMINATED_COMMENT: game(MOVES + " { never closed"),
        Reason.UNBALANCED_VARIATION: game(MOVES + " ( 7... h6"),
        Reason.TRUNCATED_GAME: game().replace(" 1-0\n\n", "\n\n"),
        Reason.TEXT_AFTER_RESULT: game(MOVES + " 1-0 Nf3 Nc6"),
        Reason.TOO_FEW_PLIES: game("1. e4 e5 2. Nf3 Nc6"),
        Reason.NULL_MOVE: game(MOVES + " --"),
        Reason.ILLEGAL_MOVE: game(MOVES + " Qxh7"),
        Reason.DUPLICATE: game(Site=_DUPLICATED) + game(Site=_DUPLICATED),  # the first is kept
        Reason.HELD_OUT: game(White=_held_out_player()),
    }


@pytest.mark.parametrize("kw", [dict(workers=0), dict(workers=2, chunk_bytes=2048, boards=True)],
                         ids=["in_process", "workers_boards"])
def test_every_reject_reason_is_counted_and_the_counts_add_up(tmp_path, kw):
    """Issue 23: each reason a game can be rejected for reaches manifest.json, in filter order,
    and kept + rejected == games_read. A new reject reason needs a case in _reject_cases()."""
    cases = _reject_cases()
    rejects = Reason.of_kind(ReasonKind.REJECT)
    assert set(cases) == set(rejects), "each reject reason needs a game that provokes it"
    run(tmp_path, game() + "".join(cases[r] for r in rejects) + game(), **_EVERY_FILTER, **kw)
    m = dataset_format.read_manifest(tmp_path / "out")  # the file as written
    assert m.kept == 3 and m.games_read == 3 + len(rejects)
    assert m.kept + sum(m.rejected.values()) == m.games_read
    assert m.rejected == {r.value: 1 for r in rejects}
    assert list(m.rejected) == m.filter_order == [r.value for r in rejects]
    assert m.sources[0]["kept"] == m.kept and m.sources[0]["games_read"] == m.games_read


def test_every_read_event_is_counted(tmp_path):
    """Each read event reaches manifest.json's read_events (and its source's events), the games
    around it still add up."""
    f1, f2, f3 = _zstd_frames(*("".join(game() for _ in range(20)) for _ in range(3)))
    bad = bytearray(f2)
    for i in range(len(bad) // 3, len(bad) // 3 + 40):
        bad[i] ^= 0x5A
    (whole,) = _zstd_frames("".join(game() for _ in range(200)))
    sources = {  # event -> (file name, its bytes; None: no such file)
        Reason.CORRUPT_COMPRESSED: ("corrupt.pgn.zst", f1 + bytes(bad) + f3),
        Reason.EMPTY_SOURCE: ("empty.pgn", b""),
        Reason.MISSING_SOURCE: ("missing.pgn", None),
        Reason.OVERSIZED_TEXT: ("long.pgn", (game() + "x" * (3 << 20) + "\n\n" + game()).encode()),
        Reason.TRUNCATED_COMPRESSED: ("cut.pgn.zst", whole[: len(whole) * 2 // 3]),
        Reason.UTF16_TEXT: ("utf16.pgn", (game() + game()).encode("utf-16")),
    }
    events = Reason.of_kind(ReasonKind.READ_EVENT)
    assert set(sources) == set(events), "each read event needs a source that provokes it"
    for name, data in sources.values():
        if data is not None:
            (tmp_path / name).write_bytes(data)
    m = ingest([str(tmp_path / name) for name, _ in sources.values()], tmp_path / "out",
               elo_cap=None, workers=0, chunk_bytes=1 << 16, max_chunk_bytes=1 << 20)
    assert m.read_events == {r.value: 1 for r in events}
    assert {s["name"]: s["events"] for s in m.sources} == {
        name: {r.value: 1} for r, (name, data) in sources.items() if r is not Reason.MISSING_SOURCE}
    assert m.kept + sum(m.rejected.values()) == m.games_read


@pytest.mark.parametrize("reason", ["bogus_reason", "truncated_game", Reason.UTF16_TEXT],
                         ids=["unknown", "bare_string", "not_a_reject"])
def test_a_reject_reason_outside_the_enum_is_an_error_not_a_silent_drop(tmp_path, monkeypatch,
                                                                        reason):
    """A parser that rejects a game for a reason that is not a reject Reason stops the run
    (the old manifest counted it in memory and left it out, so the counts did not add up)."""
    from chessformer.data import pgn

    real = pgn.read_moves

    def read_moves(movetext, **kw):
        if b"Qxh7" in movetext:
            raise pgn.MovetextError(reason, "a reason the manifest does not know")
        return real(movetext, **kw)

    monkeypatch.setattr(pgn, "read_moves", read_moves)
    with pytest.raises(ValueError, match="is not a reject reason"):
        run(tmp_path, game() + game(MOVES + " Qxh7") + game())
    assert not (tmp_path / "out").exists()


def test_reason_counts_follow_the_enum_and_refuse_strangers():
    from collections import Counter

    counts = Counter({Reason.DUPLICATE: 2, Reason.NO_HEADERS: 1, Reason.BOT: 0})
    assert reason_counts(counts, ReasonKind.REJECT) == {"no_headers": 1, "duplicate": 2}
    assert list(reason_counts(counts, ReasonKind.REJECT)) == ["no_headers", "duplicate"]
    for stranger in ("no_headers", "bogus", Reason.UTF16_TEXT):
        with pytest.raises(ValueError, match="rejected"):
            reason_counts(Counter({Reason.BOT: 1, stranger: 1}), ReasonKind.REJECT)
    assert json.dumps({Reason.BOT: [Reason.UTF16_TEXT]}) == '{"bot": ["utf16_text"]}'
    assert f"{Reason.NULL_MOVE}" == str(Reason.NULL_MOVE) == "null_move" == Reason.NULL_MOVE


def test_every_reject_reason_is_in_the_filter_table():
    """The table at the top of chessformer.data.ingest explains every reject reason."""
    import re

    from chessformer.data import ingest as ingest_module

    table = ingest_module.__doc__.split("Filters\n-------")[1]
    missing = [r.value for r in Reason.of_kind(ReasonKind.REJECT)
               if not re.search(rf"\b{r.value}\b", table)]
    assert not missing


def test_the_manifest_records_the_callers_command_as_a_string(tmp_path):
    import subprocess

    pgn = tmp_path / "in.pgn"
    pgn.write_text(game() + game())
    repo = Path(__file__).resolve().parents[1]
    subprocess.run([sys.executable, "-m", "chessformer", "ingest", str(pgn), "--elo-cap", "2000",
                    "--workers", "0", "--out", str(tmp_path / "cli")], check=True, cwd=repo,
                   capture_output=True, env={**os.environ, "PYTHONPATH": str(repo)})
    cli = json.loads(dataset_format.manifest_path(tmp_path / "cli").read_text())["command"]
    assert cli == f"chessformer ingest {pgn} --elo-cap 2000 --workers 0 --out {tmp_path / 'cli'}"
    ingest([str(pgn)], tmp_path / "api", elo_cap=2000, workers=0)
    api = json.loads(dataset_format.manifest_path(tmp_path / "api").read_text())["command"]
    assert api == "python: chessformer.data.ingest.ingest(...)"
    ingest([str(pgn)], tmp_path / "exp", elo_cap=2000, workers=0, command="chessformer experiment x")
    given = json.loads(dataset_format.manifest_path(tmp_path / "exp").read_text())["command"]
    assert given == "chessformer experiment x"
