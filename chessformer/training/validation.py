"""Validation during training: loss, top-1 accuracy and legal-move rate on fixed val windows.

    >>> val = build_val_set(ds, block_size=512, n_windows=64, n_legal=1024, with_boards=True)  # doctest: +SKIP
    >>> evaluate(model, val, device, autocast, batch_size=8)  # {"val_loss": ..., ...}  # doctest: +SKIP

The windows are the first ``n_windows`` of a fixed permutation of the val games' windows (the
same for every run on a dataset); the legal-move check replays the games with python-chess once,
at set-up, and keeps a mask of the legal moves for the first ``n_legal`` positions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from chessformer.core import tokenizer
from chessformer.data.dataset import GameDataset
from chessformer.training.batches import build_windows, make_batch, window_pieces
from chessformer.utils import log

__all__ = ["ValSet", "build_val_set", "evaluate", "label_base_moves"]


@dataclass
class ValSet:
    x: np.ndarray
    boards: np.ndarray | None
    y: np.ndarray
    legal_rows: np.ndarray  # int64 [N] window of each legal-checked position
    legal_cols: np.ndarray  # int64 [N] position in the window
    legal_mask: np.ndarray  # bool [N, V]
    fens: list[str] = field(default_factory=list)  # [N] the positions, for labelling
    base: np.ndarray | None = None  # int64 [N] token of the base policy's move (the probe)


def build_val_set(ds: GameDataset, block_size: int, n_windows: int, n_legal: int,
                  with_boards: bool) -> ValSet | None:
    import chess

    games = ds.split_indices("val")
    if len(games) == 0:
        return None
    win = build_windows(ds.offsets, games, block_size)
    ids = np.random.default_rng(0).permutation(len(win))[:n_windows]
    x, boards, y = make_batch(ds, win, ids, block_size, with_boards)
    rows, cols, masks, fens = [], [], [], []
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
                    fens.append(board.fen())
                if not ok:
                    break
            at += n
    return ValSet(x, boards, y, np.asarray(rows, np.int64), np.asarray(cols, np.int64),
                  np.stack(masks) if masks else np.zeros((0, tokenizer.VOCAB_SIZE), bool), fens)


def label_base_moves(val: ValSet, stockfish: str | None = None) -> bool:
    """Label the legal-checked val positions with Stockfish's ``go depth 1`` move (the simulated
    experts' base move, same engine settings: Threads 1, Hash 1) into ``val.base``.

    About 0.2 ms a position over a raw pipe, once per run. False (with a warning) when no
    Stockfish is found: the probe is then skipped, nothing else changes.
    """
    from chessformer.core.engine import Limit, UciEngine, find_stockfish

    path = find_stockfish(stockfish)
    if path is None:
        log.warning("no Stockfish found: the base-move probe is skipped")
        return False
    base = np.full(len(val.fens), -1, np.int64)
    with UciEngine(path) as engine:
        engine.new_game()
        for i, fen in enumerate(val.fens):
            move = engine.bestmove([], Limit(depth=1), fen=fen)
            if move is not None:
                base[i] = tokenizer.uci_to_id(move)
    val.base = base
    return True


def evaluate(model, val: ValSet, device, autocast, batch_size: int) -> dict[str, float]:
    """Validation metrics of ``model`` (left in train mode).

    ``val_loss`` and ``val_top1`` over every target of the val windows (softmax over the whole
    vocabulary); at the legal-checked positions: ``val_legal`` (the argmax is a legal move), and
    with illegal moves removed, as a player samples: ``val_legal_loss`` and ``val_legal_top1``.
    When ``val.base`` holds base-move labels: ``probe_model_base``, how often the legal argmax is
    the base move, and ``probe_experts_base``, how often the experts' own move was.
    """
    import torch
    import torch.nn.functional as F

    model.eval()
    loss_sum, n_tok, correct, n_moves = 0.0, 0, 0, 0
    chosen = np.zeros(len(val.legal_rows), np.int64)  # raw argmax at the legal positions
    legal_pred = np.zeros(len(val.legal_rows), np.int64)  # argmax among the legal moves
    legal_loss = 0.0
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
                r = torch.from_numpy(val.legal_rows[sel] - lo).to(device)
                c = torch.from_numpy(val.legal_cols[sel]).to(device)
                at = logits[r, c]  # [n, V]
                chosen[sel] = at.argmax(-1).cpu().numpy()
                masked = at.masked_fill(~torch.from_numpy(val.legal_mask[sel]).to(device),
                                        float("-inf"))
                legal_pred[sel] = masked.argmax(-1).cpu().numpy()
                legal_loss += F.cross_entropy(masked, y[r, c], reduction="sum").item()
    model.train()
    n_legal = len(val.legal_rows)
    targets = val.y[val.legal_rows, val.legal_cols]
    out = {"val_loss": loss_sum / max(1, n_tok), "val_top1": correct / max(1, n_moves),
           "val_legal": int(val.legal_mask[np.arange(n_legal), chosen].sum()) / max(1, n_legal),
           "val_tokens": n_tok, "val_legal_positions": int(n_legal),
           "val_legal_loss": legal_loss / max(1, n_legal),
           "val_legal_top1": float((legal_pred == targets).mean()) if n_legal else 0.0}
    if val.base is not None and n_legal:
        labelled = val.base >= 0
        out["probe_model_base"] = float((legal_pred == val.base)[labelled].mean())
        out["probe_experts_base"] = float((targets == val.base)[labelled].mean())
        out["probe_positions"] = int(labelled.sum())
    return out
