"""Add the packed boards to a dataset ingested without ``--boards`` (``chessformer boards``).

    chessformer boards data/datasets/cap1000 --workers 16

The boards (``boards.u8``, 114 bytes a token) are a pure function of the tokens, so a dataset
can be ingested quickly without them, moved around as tokens alone (about 1/57 of the size), and
given its boards where a ``moves+board`` model is trained. The result is byte-identical to what
``chessformer ingest --boards`` writes for the same games, whatever the worker count.

``boards.u8`` is written to a temporary file and renamed into place before ``manifest.json`` is
rewritten (atomically) to declare it, so an interrupted run leaves the dataset as it was.
"""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path
from typing import BinaryIO

import chess
import numpy as np

from chessformer.core.boards import BOARD_BYTES, BOARD_VERSION, encode_board
from chessformer.core.tokenizer import id_to_uci
from chessformer.data.dataset import GameDataset
from chessformer.formats.dataset import BOARDS, Manifest, write_manifest
from chessformer.utils import UserError, atomic_path, log, mp_context, progress

__all__ = ["add_boards", "game_boards"]

_DS: GameDataset | None = None  # the dataset a worker process reads (set by _init)


def game_boards(tokens: np.ndarray) -> bytes:
    """The packed boards of one game's tokens: the start position for ``<bos>``, then the
    position after each move. Raises ``ValueError`` naming the ply of an illegal move."""
    board = chess.Board()
    rows = [encode_board(board).tobytes()]
    for ply, tok in enumerate(tokens[1:].tolist()):
        move = chess.Move.from_uci(id_to_uci(int(tok)))
        if not board.is_legal(move):
            raise ValueError(f"ply {ply}: {move.uci()} is not legal in {board.fen()}")
        board.push(move)
        rows.append(encode_board(board).tobytes())
    return b"".join(rows)


def _init(ds: GameDataset | str) -> None:
    global _DS
    _DS = ds if isinstance(ds, GameDataset) else GameDataset.open(ds)


def _chunk(span: tuple[int, int]) -> tuple[int, bytes]:
    lo, hi = span
    assert _DS is not None
    parts = []
    for g in range(lo, hi):
        try:
            parts.append(game_boards(_DS.game_tokens(g)))
        except ValueError as e:
            raise UserError(f"{_DS.path}: game {g} (row {g + 1} of games.csv): {e}") from None
    return hi - lo, b"".join(parts)


def _write_boards(ds: GameDataset, f: BinaryIO, n_workers: int, chunk: int) -> int:
    """Write every game's boards to ``f`` in game order; returns the bytes written."""
    spans = [(lo, min(lo + chunk, ds.n_games)) for lo in range(0, ds.n_games, chunk)]
    written = 0
    if n_workers > 0:
        pool = mp_context().Pool(n_workers, initializer=_init, initargs=(str(ds.path),))
        results = pool.imap(_chunk, spans)
    else:
        pool = None
        _init(ds)
        results = map(_chunk, spans)
    try:
        with progress(total=ds.n_games, desc="boards", unit="game") as bar:
            for n, data in results:
                f.write(data)
                written += len(data)
                bar.update(n)
    finally:
        if pool is not None:
            pool.terminate()
            pool.join()
    return written


def add_boards(path: str | os.PathLike[str], *, workers: int | None = None, chunk: int = 256,
               overwrite: bool = False) -> Manifest:
    """Write ``path/boards.u8`` from the tokens and declare it in the manifest; returns the
    manifest. ``workers=0`` runs in this process."""
    path = Path(path)
    ds = GameDataset.open(path)
    manifest = ds.manifest
    if manifest.boards and manifest.board_version == BOARD_VERSION and not overwrite:
        raise UserError(f"{path} already has boards (board version {BOARD_VERSION}); "
                        "pass --overwrite to rebuild them")
    n_workers = (os.cpu_count() or 1) if workers is None else max(0, int(workers))
    t0 = time.perf_counter()
    n_tok = manifest.n_tokens
    with atomic_path(path / BOARDS) as tmp, open(tmp, "wb") as f:
        written = _write_boards(ds, f, n_workers, chunk)
        if written != n_tok * BOARD_BYTES:  # raising here discards the temporary file
            raise UserError(f"{path}: wrote {written} board bytes for {n_tok} tokens (corrupt dataset?)")
    manifest = dataclasses.replace(manifest, boards=True, board_version=BOARD_VERSION,
                                   options={**manifest.options, "boards": True})
    write_manifest(path, manifest)
    secs = time.perf_counter() - t0
    log.info("boards: %d games, %d positions in %.1f s (%.0f games/s) -> %s",
             ds.n_games, n_tok, secs, ds.n_games / max(secs, 1e-9), path / BOARDS)
    return manifest
