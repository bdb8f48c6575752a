"""Validation during training: loss, top-1 accuracy and legal-move rate on fixed val windows.

    >>> val = build_val_set(ds, block_size=512, n_windows=64, n_legal=1024, with_boards=True)  # doctest: +SKIP
    >>> evaluate(model, val, device, autocast, batch_size=8)  # {"val_loss": ..., ...}  # doctest: +SKIP

The windows are the first ``n_windows`` of a fixed permutation of the val games' windows (the
same for every run on a dataset); the legal-move check replays the games with python-chess once,
at set-up, and keeps a mask of the legal moves for the first ``n_legal`` positions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from chessformer.core import tokenizer
from chessformer.data.dataset import GameDataset
from chessformer.training.batches import build_windows, make_batch, window_pieces

__all__ = ["ValSet", "build_val_set", "evaluate"]


@dataclass
class ValSet:
    x: np.ndarray
    boards: np.ndarray | None
    y: np.ndarray
    legal_rows: np.ndarray  # int64 [N] window of each legal-checked position
    legal_cols: np.ndarray  # int64 [N] position in the window
    legal_mask: np.ndarray  # bool [N, V]


def build_val_set(ds: GameDataset, block_size: int, n_windows: int, n_legal: int,
                  with_boards: bool) -> ValSet | None:
    import chess

    games = ds.split_indices("val")
    if len(games) == 0:
        return None
    win = build_windows(ds.offsets, games, block_size)
    ids = np.random.default_rng(0).permutation(len(win))[:n_windows]
    x, boards, y = make_batch(ds, win, ids, block_size, with_boards)
    rows, cols, masks = [], [], []
    for b, w in enumerate(ids):
        if len(rows) >= n_legal:
            break
        at = 0
        for g, s, n in window_pieces(ds, win, int(w), block_size + 1):
            toks = ds.game_tokens(g)
            board = chess.Board()
            ok = True
            for j in range(1, s):  # replay the game's prefix before this window
                board.push(chess.Move.from_uci(tokenizer.id_to_uci(int(toks[j]))))
            for j in range(s, s + n):
                if j > 0:
                    move = chess.Move.from_uci(tokenizer.id_to_uci(int(toks[j])))
                    if not board.is_legal(move):
                        ok = False  # a corrupt game: stop checking it
                    board.push(move)
                t = at + j - s
                if (ok and t < block_size and y[b, t] >= len(tokenizer.SPECIALS)
                        and len(rows) < n_legal):
                    mask = np.zeros(tokenizer.VOCAB_SIZE, bool)
                    mask[[tokenizer.encode_move(m) for m in board.legal_moves]] = True
                    rows.append(b)
                    cols.append(t)
                    masks.append(mask)
                if not ok:
                    break
            at += n
    return ValSet(x, boards, y, np.asarray(rows, np.int64), np.asarray(cols, np.int64),
                  np.stack(masks) if masks else np.zeros((0, tokenizer.VOCAB_SIZE), bool))


def evaluate(model, val: ValSet, device, autocast, batch_size: int) -> dict[str, float]:
    import torch
    import torch.nn.functional as F

    model.eval()
    loss_sum, n_tok, correct, n_moves, legal = 0.0, 0, 0, 0, 0
    with torch.no_grad():
        for lo in range(0, len(val.x), batch_size):
            sl = slice(lo, lo + batch_size)
            x = torch.from_numpy(val.x[sl]).to(device)
            y = torch.from_numpy(val.y[sl]).to(device)
            bd = torch.from_numpy(val.boards[sl]).to(device) if val.boards is not None else None
            with autocast():
                logits, _ = model(x, bd)
            logits = logits.float()
            loss_sum += F.cross_entropy(logits.view(-1, logits.size(-1)), y.view(-1),
                                        ignore_index=-1, reduction="sum").item()
            n_tok += int((y >= 0).sum())
            pred = logits.argmax(-1)
            is_move = y >= len(tokenizer.SPECIALS)
            correct += int(((pred == y) & is_move).sum())
            n_moves += int(is_move.sum())
            sel = np.flatnonzero((val.legal_rows >= lo) & (val.legal_rows < lo + x.size(0)))
            if len(sel):
                chosen = pred.cpu().numpy()[val.legal_rows[sel] - lo, val.legal_cols[sel]]
                legal += int(val.legal_mask[sel, chosen].sum())
    model.train()
    return {"val_loss": loss_sum / max(1, n_tok), "val_top1": correct / max(1, n_moves),
            "val_legal": legal / max(1, len(val.legal_rows)), "val_tokens": n_tok,
            "val_legal_positions": int(len(val.legal_rows))}
