"""Batches: windows tile the packed games, batches align tokens and boards, sample order."""

from __future__ import annotations

import numpy as np
import pytest

from chessformer.core import tokenizer
from chessformer.data.dataset import GameDataset
from chessformer.training.batches import build_windows, make_batch, sample_ids, window_pieces


class _Offsets:
    def __init__(self, lengths):
        self.offsets = np.concatenate([[0], np.cumsum(lengths)])


@pytest.mark.parametrize("T", [8, 9, 16, 64])
def test_windows_tile_the_games_and_train_every_target(T):
    rng = np.random.default_rng(T)
    lengths = np.concatenate([[3, 8, 9, 10, 17, 40, 1, 2], rng.integers(1, 3 * T, 200)])
    ds = _Offsets(lengths)
    games = np.arange(len(lengths))
    win = build_windows(ds.offsets, games, T)
    trained = {g: np.zeros(n, int) for g, n in enumerate(lengths)}
    for w in range(len(win)):
        at = 0
        for g, s, n in window_pieces(ds, win, w, T + 1):
            for k in range(n):  # token s + k of game g sits at window position at + k
                p = at + k
                if 1 <= p <= T and p - 1 >= win.n_masked[w] and s + k >= 1:
                    trained[g][s + k] += 1
            at += n
    counts = np.concatenate([trained[g][1:] for g in trained])  # <bos> is never a target
    assert counts.min() >= 1  # every move is a target at least once per epoch
    assert counts.max() <= 3
    # never more windows than one per game plus continuations
    per_game = sum(1 + max(0, -(-(n - 1 - T) // (T // 2))) for n in lengths)
    assert len(win) <= per_game


def test_short_games_are_packed_not_one_window_each():
    lengths = np.random.default_rng(0).integers(20, 120, 1000)  # chess-like: ~70 plies
    win = build_windows(_Offsets(lengths).offsets, np.arange(1000), 512)
    # each window wastes at most the cut game's repeated start: well under 1.3x the tokens
    assert len(win) < 1.3 * lengths.sum() / 512
    assert (win.start == 0).all() and (win.n_masked == 0).all()


def test_batches_pack_games_and_align_boards(tiny_dataset):
    ds = GameDataset.open(tiny_dataset)
    T = 128
    games = ds.split_indices("train")
    win = build_windows(ds.offsets, games, T)
    first = np.flatnonzero(win.start == 0)[:4]
    x, boards, y = make_batch(ds, win, first, T, with_boards=True)
    assert (x[:, 0] == tokenizer.BOS).all()
    assert (y[:, :-1] == x[:, 1:]).all()  # next-token targets, nothing masked at a game start
    for b, w in enumerate(first):
        pieces = window_pieces(ds, win, int(w), T + 1)
        at = 0
        for g, s, n in pieces:
            assert not ds.splits[g]  # only training games are packed in
            lo = int(ds.offsets[g]) + s
            assert (x[b, at:min(at + n, T)] == ds.tokens[lo:lo + min(n, T - at)]).all()
            assert (boards[b, at:min(at + n, T)] == ds.boards[lo:lo + min(n, T - at)]).all()
            at += n
    # a continuation window starts mid-game and ignores the targets trained before
    cont = np.flatnonzero(win.start > 0)
    assert len(cont) > 0, "the fixture should have games longer than 128 tokens"
    x, _, y = make_batch(ds, win, cont[:1], T, with_boards=True)
    assert x[0, 0] != tokenizer.BOS
    assert (y[0, : T - T // 2] == -1).all() and (y[0, T - T // 2:] >= 0).all()


def test_sample_ids_is_a_permutation_per_epoch():
    a = sample_ids(10, seed=3, first=0, count=25)
    assert sorted(a[:10]) == list(range(10)) and sorted(a[10:20]) == list(range(10))
    assert (sample_ids(10, seed=3, first=7, count=5) == a[7:12]).all()  # position-addressed
    assert not (sample_ids(10, seed=4, first=0, count=10) == a[:10]).all()
