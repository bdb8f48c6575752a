"""Validation set: legal-move masks of val positions."""

from __future__ import annotations

import numpy as np

from chessformer.data.dataset import GameDataset
from chessformer.training.validation import build_val_set


def test_val_legal_masks_contain_the_moves_played(tiny_dataset):
    ds = GameDataset.open(tiny_dataset)
    val = build_val_set(ds, 128, n_windows=16, n_legal=400, with_boards=True)
    assert val is not None and len(val.legal_rows) == 400
    targets = val.y[val.legal_rows, val.legal_cols]
    assert val.legal_mask[np.arange(len(targets)), targets].all()
    # and the masks are selective: a random-game position has ~30 legal moves, not thousands
    assert 5 < val.legal_mask.sum(1).mean() < 60
    # positions inside a val window: the stored board there is a real position (kings present)
    kings = val.boards[val.legal_rows, val.legal_cols][:, 5 * 8:6 * 8]
    assert (kings.any(axis=1)).all()
