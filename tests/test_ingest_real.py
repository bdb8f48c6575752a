"""Ingest over the real files in ../shared/data (skipped when absent), checked against an
independent count made with python-chess's ``read_headers``."""

from __future__ import annotations

import random
from pathlib import Path

import chess.pgn
import pytest

from chessformer.data.ingest import ingest

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
LICHESS = DATA / "lichess_2013-01_first5000.pgn"
TWIC = DATA / "twic_otb_le2200.pgn.zst"
#: Reasons decided after the header filters (movetext, replay, duplicates).
LATE = ("unterminated_comment", "unbalanced_variation", "truncated_game", "text_after_result",
        "too_few_plies", "null_move", "illegal_move", "duplicate", "bad_result", "unfinished")


def _header_pass(h, cap: int) -> bool:
    try:
        w, b = int(h.get("WhiteElo", "?")), int(h.get("BlackElo", "?"))
    except ValueError:
        return False
    return (max(w, b) <= cap and not h.get("Event", "").lower().startswith(("casual", "unrated"))
            and h.get("Termination", "") not in ("Abandoned", "Rules infraction")
            and h.get("Result", "*") != "*")


@pytest.mark.skipif(not LICHESS.exists(), reason="../shared/data is absent")
def test_lichess_counts_match_read_headers(tmp_path):
    n = passing = 0
    with open(LICHESS, encoding="utf-8", errors="replace") as f:
        while (h := chess.pgn.read_headers(f)) is not None:
            n += 1
            passing += _header_pass(h, 1800)
    m = ingest([str(LICHESS)], tmp_path / "o", elo_cap=1800)
    assert m.games_read == n == 5000
    late = sum(v for k, v in m.rejected.items() if k in LATE)
    assert m.kept + late == passing
    assert m.kept == m.n_games > 0.5 * passing
    assert sum(m.rejected.values()) + m.kept == n


@pytest.mark.skipif(not LICHESS.exists(), reason="../shared/data is absent")
def test_lichess_binary_garbage_glued_to_the_last_result_costs_no_game(tmp_path):
    """Issue 24: 4 KB of random bytes right after the last game's result token (no blank line,
    no newline): every game kept (1,798 with cap 1600, as without them), the bytes counted as
    no_headers."""
    text = LICHESS.read_bytes()
    assert text.endswith(b" 0-1\n")
    src = tmp_path / "glued.pgn"  # a copy in the test's temporary folder
    src.write_bytes(text[:-1] + bytes(random.Random(0).randrange(256) for _ in range(4000)))
    m = ingest([str(src)], tmp_path / "o", elo_cap=1600)
    assert m.kept == 1798, m.rejected
    assert m.games_read == 5001 and m.rejected["no_headers"] == 1
    assert sum(m.rejected.values()) + m.kept == m.games_read


@pytest.mark.slow
@pytest.mark.skipif(not TWIC.exists(), reason="../shared/data is absent")
def test_twic_cap_2000_explains_every_difference(tmp_path):
    """The data README says 97,176 games have both Elos <= 2000."""
    m = ingest([str(TWIC)], tmp_path / "o", elo_cap=2000)
    assert m.games_read == 261_921
    passing_cap = m.games_read - m.rejected.get("elo_missing", 0) - m.rejected["elo_above_cap"]
    assert passing_cap == 97_176
    late = sum(v for k, v in m.rejected.items() if k in LATE)
    assert m.kept + late == 97_176
    assert m.kept > 95_000
