"""Pseudo-legal move masks computed in torch from packed boards, for a softmax over legal moves.

    >>> mask = legal_mask(boards)   # uint8 [..., BOARD_BYTES] -> bool [..., VOCAB_SIZE]  # doctest: +SKIP

The mask is in the frame of the side to move (the frame of ``boards.encode_board`` and of a
``moves+board`` model's logits; :func:`chessformer.model.transformer.GPT.forward` mirrors it for
a ``moves`` model). A move token is allowed when the mover has a piece on its from-square that
moves that way, the path is clear, the to-square holds no piece of the mover's, and for pawns the
push lands on an empty square or the capture on an enemy piece or the en-passant square;
promotion tokens only for pawns on the 7th rank, and a pawn never reaches the 8th rank without
one. Kings avoid squares the opponent attacks; castling needs its right, empty squares between
king and rook and no attacked square on the king's path. Moves that leave the king in check are
not removed (a pin or a check is not visible in the packed planes): the mask is a superset of
the legal moves, checked against python-chess in the tests. Special tokens are always allowed
(``<eos>`` is a target after the last move).

How: every condition is linear in a few 0/1 planes of the position (occupied, mine, theirs,
attacked, the mover's pieces...), so one bf16 matmul [positions, 650] x [650, columns] counts,
per move token and class of piece (sliders and knights, the king, pawns), what forbids it; a
token is allowed when one of its counts is 0. No python-chess at training time; measured on
the demo batches (8 x 512 positions) it costs about as much as a few percent to ~20% of a
training step of the ``small`` preset (the shared machine's noise dominated the A/B).
"""

from __future__ import annotations

import chess
import numpy as np
import torch

from chessformer.core import tokenizer
from chessformer.core.boards import BOARD_BYTES
from chessformer.model.board import check_boards, ep_files, missing_rights, plane_bits

__all__ = ["legal_mask", "mask_tokens"]

_P, _N, _B, _R, _Q, _K = range(6)  # the mover's piece planes
#: Input columns of the matmul: occupied, mine, theirs, attacked by them (64 each), the
#: en-passant file (8), "no O-O right", "no O-O-O right", then the mover's 6 piece planes.
_OCC, _MINE, _THEIRS, _ATT, _EP, _NORIGHT, _PIECE = 0, 64, 128, 192, 256, 264, 266
_F = _PIECE + 6 * 64
#: Weight of "no piece that moves this way on the from-square": more than any other count.
_BIG = 32.0


def _tables() -> dict[str, np.ndarray]:
    """Per-token conditions in the mover's frame (White's point of view), as linear "badness".

    Column ``j`` of ``weight`` (plus ``bias[j]``) counts what forbids token ``cols[j]`` for one
    class of piece (sliders and knights; the king; pawns): pieces in the way, a missing piece of
    that class on the from-square (``_BIG``)... The token is allowed when some column of it
    counts 0 or less. Every token has a slider column (first ``V`` columns, in token order);
    king and pawn columns follow for the tokens they can make.
    """
    V = tokenizer.VOCAB_SIZE
    cols: list[tuple[int, dict[int, float], float]] = []  # (token, weights, bias) per column
    slider: list[tuple[dict[int, float], float]] = [({}, _BIG)] * V  # specials: see below
    for t in range(len(tokenizer.SPECIALS), V):
        move = chess.Move.from_uci(tokenizer.id_to_uci(t))
        f, s = move.from_square, move.to_square
        df = chess.square_file(s) - chess.square_file(f)
        dr = chess.square_rank(s) - chess.square_rank(f)
        between = list(chess.SquareSet(chess.between(f, s)))

        def need(pieces: list[int], w: dict[int, float]) -> tuple[dict[int, float], float]:
            for p in pieces:  # -BIG when one of ``pieces`` stands on the from-square
                w[_PIECE + 64 * p + f] = w.get(_PIECE + 64 * p + f, 0.0) - _BIG  # noqa: B023 (called in this iteration)
            return w, _BIG

        promo_rank = chess.square_rank(s) == 7
        if (move.promotion is not None) == promo_rank and (dr == 1 or (
                dr == 2 and chess.square_rank(f) == 1)):
            if df == 0:  # a push: every square on the way and the target empty
                w, b = need([_P], {_OCC + q: 1.0 for q in [*between, s]})
                cols.append((t, w, b))
            elif dr == 1 and abs(df) == 1:  # a capture: theirs on the target, or en passant
                w = {_THEIRS + s: -1.0}
                if chess.square_rank(s) == 5:
                    w[_EP + chess.square_file(s)] = -1.0
                w, b = need([_P], w)
                cols.append((t, w, b + 1.0))
        if move.promotion is not None:
            continue
        knight = sorted((abs(df), abs(dr))) == [1, 2]
        straight, diagonal = df == 0 or dr == 0, abs(df) == abs(dr)
        movers = ([_N] if knight else []) + ([_R, _Q] if straight and not knight else []) + (
            [_B, _Q] if diagonal and not knight else [])
        slider[t] = need(sorted(set(movers)), {_OCC + q: 1.0 for q in between} | {_MINE + s: 1.0})
        if max(abs(df), abs(dr)) == 1:  # the king: not onto mine, not into an attack
            cols.append((t, *need([_K], {_MINE + s: 1.0, _ATT + s: 1.0})))
        elif f == chess.E1 and s in (chess.G1, chess.C1):  # castling
            short = s == chess.G1
            rook_path = [chess.F1, chess.G1] if short else [chess.D1, chess.C1, chess.B1]
            king_path = [chess.E1, chess.F1, chess.G1] if short else [chess.E1, chess.D1, chess.C1]
            w = {_OCC + q: 1.0 for q in rook_path} | {_ATT + q: 1.0 for q in king_path}
            w[_NORIGHT + (0 if short else 1)] = 1.0
            cols.append((t, *need([_K], w)))
    all_cols = [(t, w, b) for t, (w, b) in enumerate(slider)] + cols
    weight = np.zeros((_F, len(all_cols)), np.float32)
    bias = np.zeros(len(all_cols), np.float32)
    for j, (_, w, b) in enumerate(all_cols):
        for i, v in w.items():
            weight[i, j] = v
        bias[j] = b
    bias[: len(tokenizer.SPECIALS)] = -1.0  # special tokens: always allowed
    return dict(weight=weight, bias=bias, extra_tokens=np.asarray([t for t, _, _ in cols], np.int64))


_TABLES: dict[str, np.ndarray] = _tables()
_CACHE: dict[tuple[torch.device, torch.dtype], dict[str, torch.Tensor]] = {}


def _on(device: torch.device, dtype: torch.dtype) -> dict[str, torch.Tensor]:
    key = (device, dtype)
    if key not in _CACHE:
        t = {k: torch.from_numpy(v).to(device) for k, v in _TABLES.items()}
        t["weight"], t["bias"] = t["weight"].to(dtype), t["bias"].to(dtype)
        _CACHE[key] = t
    return _CACHE[key]


def _mask_dtype(device: torch.device) -> torch.dtype:
    if device.type != "cpu" or torch.cpu._is_avx512_bf16_supported() \
            or torch.cpu._is_amx_tile_supported():
        return torch.bfloat16
    return torch.float32


def legal_mask(boards: torch.Tensor) -> torch.Tensor:
    """Pseudo-legal move tokens of each packed board, in the mover's frame (see the module)."""
    check_boards(boards)
    lead = boards.shape[:-1]
    flat = boards.reshape(-1, BOARD_BYTES)
    # bf16 is exact here (integer counts well inside its 8-bit mantissa) and runs on the CPU's
    # AMX units; fp32 (as exact) where the CPU has no bf16 instructions, which emulate it 5x
    # slower than fp32 (measured on an AVX-512 Xeon without them: 21 vs 99 GFLOP/s a core).
    dtype = _mask_dtype(flat.device)
    tab = _on(flat.device, dtype)
    planes = plane_bits(flat)  # [N, 14, 64]
    mine, theirs = planes[:, 0:6].amax(1), planes[:, 6:12].amax(1)
    ep = ep_files(flat)
    no_right = missing_rights(flat, 2)  # my O-O, my O-O-O
    feats = torch.cat([mine | theirs, mine, theirs, planes[:, 13], ep, no_right,
                       planes[:, 0:6].reshape(-1, 6 * 64)], 1).to(dtype)  # [N, _F]
    ok = torch.addmm(tab["bias"], feats, tab["weight"]) <= 0  # [N, columns]
    V = tokenizer.VOCAB_SIZE
    out = ok[:, :V].clone()
    out.index_put_((torch.arange(len(flat), device=flat.device)[:, None], tab["extra_tokens"][None]),
                   ok[:, V:], accumulate=True)
    return out.view(*lead, V)


def mask_tokens(mask: torch.Tensor, multiple: int = 32) -> torch.Tensor:
    """bool [..., V] -> long [..., K]: each row's allowed tokens in increasing order, padded with
    token 0 (``<pad>``, a special token) to ``K``, the longest row rounded up to ``multiple``
    (few distinct shapes)."""
    lead, V = mask.shape[:-1], mask.shape[-1]
    flat = mask.reshape(-1, V)
    counts = flat.sum(-1)
    K = -(-max(1, int(counts.max()) if len(flat) else 1) // multiple) * multiple
    rows, cols = flat.nonzero(as_tuple=True)  # row by row, columns increasing
    first = torch.cumsum(counts, 0) - counts
    out = torch.zeros(len(flat), K, dtype=torch.long, device=mask.device)
    out[rows, torch.arange(len(rows), device=mask.device) - first[rows]] = cols
    return out.view(*lead, K)
