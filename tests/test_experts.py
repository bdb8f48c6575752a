"""Simulated experts' policies: blind spots, regions of expertise, repertoires, move
distributions."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from collections import Counter

import chess
import numpy as np
import pytest

from chessformer.core.engine import Limit
from chessformer.play.experts import BlindSpot, Expert, Region, game_phase, non_pawn_material
from chessformer.play.players import EnginePool, make_player
from chessformer.play.presets import check_expert, load_experts

BLIND = ["c3", "d4", "e4", "f3", "f6", "c6", "d5", "e5", "e3", "d3", "e6", "d6", "g5", "b5", "g4", "b4"]


def positions(n_games: int = 12, plies: int = 60, seed: int = 7) -> list[tuple[chess.Board, list[str]]]:
    """Positions of seeded random games (every ply), as (board, moves) pairs."""
    rng = random.Random(seed)
    out = []
    for _ in range(n_games):
        board, moves = chess.Board(), []
        while not board.is_game_over() and len(moves) < plies:
            out.append((board.copy(), list(moves)))
            move = rng.choice(sorted(board.legal_moves, key=chess.Move.uci))
            board.push(move)
            moves.append(move.uci())
    return out


def expert(name: str = "x", **raw) -> object:
    return check_expert({"name": name, **raw}, "test")


@pytest.fixture
def pool():
    with EnginePool() as p:
        yield p


# -- blind spots --------------------------------------------------------------------------------

@pytest.mark.stockfish
def test_square_blind_spot_never_plays_onto_its_squares(pool):
    spec = expert(noise={"kind": "epsilon", "epsilon": 0.5},
                  blind_spot={"kind": "squares", "squares": BLIND})
    e = make_player(spec, pool)
    blind = {chess.parse_square(s) for s in BLIND}
    rng = np.random.default_rng(0)
    sf = pool.get({})
    n_forced = n_sf_hidden = 0
    for board, moves in positions():
        legal = list(board.legal_moves)
        visible = [m for m in legal if m.to_square not in blind]
        move = e.choose(board, moves, rng)
        assert move in legal
        dist = e.move_distribution(board, moves)
        assert abs(sum(dist.values()) - 1) < 1e-9
        if not visible:  # blind to every legal move: uniformly random
            n_forced += 1
            continue
        assert move.to_square not in blind
        assert all(chess.Move.from_uci(m).to_square not in blind for m, p in dist.items() if p > 0)
        best = chess.Move.from_uci(sf.bestmove(moves, Limit(depth=1)))
        if best.to_square in blind:
            # Stockfish's move is hidden: the base move is the search among the visible moves.
            n_sf_hidden += 1
            base = e.base_move(board, moves, [m.uci() for m in visible])
            assert base in visible and base.to_square not in blind
    assert n_sf_hidden >= 20  # the test really exercised searchmoves
    assert n_forced < 10


@pytest.mark.stockfish
def test_piece_blind_spot_never_moves_that_piece(pool):
    e = make_player(expert(noise={"kind": "epsilon", "epsilon": 0.3},
                           blind_spot={"kind": "piece", "piece": "knight"}), pool)
    rng = np.random.default_rng(1)
    moved_other = 0
    for board, moves in positions(6, 40):
        legal = list(board.legal_moves)
        if all(board.piece_type_at(m.from_square) == chess.KNIGHT for m in legal):
            continue
        move = e.choose(board, moves, rng)
        assert board.piece_type_at(move.from_square) != chess.KNIGHT
        moved_other += 1
    assert moved_other > 100


def test_hash_blind_spot_hides_about_its_fraction():
    spot = BlindSpot.from_settings({"kind": "hash", "fraction": 0.4, "salt": "s"})
    hidden = [spot.hides(b, m) for b, _ in positions(4, 30) for m in b.legal_moves]
    assert 0.33 < np.mean(hidden) < 0.47
    # the same (position, move) is hidden in every process: a fixed weakness that does not
    # depend on Python's per-process hash randomisation
    code = ("import chess; from chessformer.play.experts import BlindSpot; "
            "s = BlindSpot.from_settings({'kind': 'hash', 'fraction': 0.4, 'salt': 's'}); "
            "b = chess.Board(); b.push_uci('e2e4'); "
            "print(''.join('1' if s.hides(b, m) else '0' for m in b.legal_moves))")
    runs = {subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONHASHSEED": seed},
                           capture_output=True, text=True, check=True).stdout.strip()
            for seed in ("1", "2", "3")}
    b = chess.Board()
    b.push_uci("e2e4")
    assert runs == {"".join("1" if spot.hides(b, m) else "0" for m in b.legal_moves)}


# -- regions ------------------------------------------------------------------------------------

def test_game_phase_by_material_and_ply():
    start = chess.Board()
    assert non_pawn_material(start) == 62 and game_phase(start) == "opening"
    late = chess.Board(start.fen().replace(" 0 1", " 0 16"))  # same material, ply 30
    assert game_phase(late) == "middlegame"
    assert game_phase(chess.Board("4k3/8/8/8/8/8/4P3/R3K3 w - - 0 40")) == "endgame"
    # queens traded (62 - 18 = 44 < 54): middlegame even early
    assert game_phase(chess.Board("rnb1kbnr/pppppppp/8/8/8/8/PPPPPPPP/RNB1KBNR w KQkq - 0 5")) == "middlegame"
    # queens and all rooks traded (62 - 38 = 24 <= 26): endgame
    assert game_phase(chess.Board("1nb1kbn1/pppppppp/8/8/8/8/PPPPPPPP/1NB1KBN1 w - - 0 5")) == "endgame"


def test_opening_region_follows_the_first_moves():
    r = Region.from_settings({"kind": "opening", "first_moves": ["e2e4", "d2d4 g8f6"]})
    assert r.contains(None, [])  # no move yet: every family is still possible
    assert r.contains(None, ["e2e4", "c7c5", "g1f3"])
    assert r.contains(None, ["d2d4"]) and r.contains(None, ["d2d4", "g8f6", "c2c4"])
    assert not r.contains(None, ["d2d4", "d7d5"])
    assert not r.contains(None, ["c2c4"])


@pytest.mark.stockfish
def test_region_noise_applies_only_outside_the_region(pool):
    # Inside the endgame: no noise (all mass on the base move); outside: epsilon 1 (uniform).
    e = make_player(expert(noise={"kind": "none"}, region={"kind": "phase", "phases": ["endgame"]},
                           outside_noise={"kind": "epsilon", "epsilon": 1.0}), pool)
    boards = [b for b, _ in positions(8, 200, seed=3)]
    boards += [chess.Board(f) for f in ("4k3/8/8/3p4/8/8/4P3/R3K3 w - - 0 40",
                                        "6k1/5ppp/8/8/8/8/5PPP/3R2K1 w - - 0 30")]
    n_in = n_out = 0
    for board in boards:
        moves = [m.uci() for m in board.move_stack]
        b2 = chess.Board(board.fen()) if not board.move_stack else board
        dist = e.move_distribution(b2, moves if board.move_stack else [])
        legal = list(board.legal_moves)
        if game_phase(board) == "endgame":
            n_in += 1
            assert max(dist.values()) == pytest.approx(1.0)
        else:
            n_out += 1
            assert len(dist) == len(legal)
            assert all(p == pytest.approx(1 / len(legal)) for p in dist.values())
    assert n_in >= 2 and n_out >= 100


@pytest.mark.stockfish
def test_choose_follows_move_distribution(pool):
    """Sampling choose() many times matches move_distribution() (epsilon inside the region)."""
    e = make_player(expert(noise={"kind": "epsilon", "epsilon": 0.4},
                           region={"kind": "opening", "first_moves": ["e2e4"]},
                           blind_spot={"kind": "squares", "squares": ["f3", "c3"]}), pool)
    board = chess.Board()
    moves = ["e2e4", "e7e5"]
    for m in moves:
        board.push_uci(m)
    dist = e.move_distribution(board, moves)
    rng = np.random.default_rng(5)
    n = 3000
    counts = Counter(e.choose(board, moves, rng).uci() for _ in range(n))
    assert set(counts) <= {m for m, p in dist.items() if p > 0}
    top = max(dist, key=dist.get)
    assert dist[top] == pytest.approx(0.6 + 0.4 / len(dist))
    assert abs(counts[top] / n - dist[top]) < 4 * np.sqrt(dist[top] * (1 - dist[top]) / n)
    # outside the region (1.d4 was played) the outside noise (epsilon 0.9) applies
    board2 = chess.Board()
    board2.push_uci("d2d4")
    assert max(e.move_distribution(board2, ["d2d4"]).values()) == pytest.approx(0.1 + 0.9 / len(dist), abs=0.05)


# -- repertoire and book ------------------------------------------------------------------------

def test_repertoire_weights_book_lines_into_the_region():
    pool = load_experts("selection-openings")
    with EnginePool() as engines:
        e = Expert(pool.experts[1], engines)  # d4-expert: 2 of its 6 lines open 1.d4
        lines, w = e.book_weights()
        assert [w[i] for i, line in enumerate(lines) if line[0] == "d2d4"] == [4.0, 4.0]
        dist = e.move_distribution(chess.Board(), [])  # a pure book position: no engine needed
        assert dist["d2d4"] == pytest.approx(8 / 12) and dist["e2e4"] == pytest.approx(2 / 12)
        rng = np.random.default_rng(0)
        firsts = Counter()
        for _ in range(600):
            e2 = Expert(pool.experts[1], engines)
            firsts[e2.choose(chess.Board(), [], rng).uci()] += 1
        assert 0.6 < firsts["d2d4"] / 600 < 0.73


@pytest.mark.stockfish
def test_book_distribution_is_the_belief_after_the_game_so_far(pool):
    e = Expert(load_experts("selection-openings").experts[1], pool)  # d4-expert
    board = chess.Board()
    for m in ("d2d4", "d7d5"):
        board.push_uci(m)
    # White played 1.d4 itself, so its four 1.e4 / flank lines are excluded; of the two 1.d4 lines
    # (weight 4 each) one goes on with c2c4, the other was left by Black: off-book play.
    dist = e.move_distribution(board, ["d2d4", "d7d5"])
    play = e.play_distribution(board, ["d2d4", "d7d5"])
    expected = {m: 0.5 * q for m, q in play.items()}
    expected["c2c4"] = expected.get("c2c4", 0.0) + 0.5
    assert dist == pytest.approx(expected)
