"""The on-disk format of a tokenized dataset, shared by ``ingest`` (writer) and ``train`` (reader).

    >>> from chessformer.data.dataset import GameDataset
    >>> ds = GameDataset.open("data/datasets/demo")        # doctest: +SKIP
    >>> ds.game_tokens(0)[:3], ds.split_indices("val")[:5]  # doctest: +SKIP

A dataset is a folder:

``tokens.u16``
    every kept game's tokens, concatenated: ``<bos>`` then one token per move (raw little-endian
    ``uint16``, read with ``np.memmap``).
``offsets.i64``
    ``n_games + 1`` int64 offsets; game ``i`` is ``tokens[offsets[i]:offsets[i + 1]]``.
``boards.u8`` (optional, for the ``moves+board`` input mode)
    ``len(tokens) x BOARD_BYTES``: row ``j`` is the position after token ``j`` (the start
    position for ``<bos>``), encoded by :func:`chessformer.core.boards.encode_board`.
``games.csv``
    one row per game, in the same order (see :data:`GAME_COLUMNS`), with its ``split``.
``manifest.json``
    written last: its presence is what marks the dataset complete.

:class:`DatasetWriter` builds all of it in a hidden temporary folder and renames it into place
at :meth:`DatasetWriter.finish`, so an interrupted run never leaves a folder that looks complete.
"""

from __future__ import annotations

import csv
import hashlib
import operator
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from chessformer.core.boards import BOARD_BYTES, BOARD_VERSION
from chessformer.core.tokenizer import TOKENIZER_VERSION
from chessformer.formats.dataset import (
    BOARDS,
    GAMES_CSV,
    MANIFEST,
    OFFSETS,
    TOKENS,
    Manifest,
    game_key,
    iter_game_rows,
    manifest_path,
    read_games_table,
    read_manifest,
    read_val_splits,
    write_manifest,
)
from chessformer.utils import UserError

__all__ = ["DEFAULT_VAL_FRACTION", "GAME_COLUMNS", "DatasetWriter", "GameDataset", "split_of"]

GAME_COLUMNS = (
    "game_id", "white", "black", "white_elo", "black_elo", "result", "time_control",
    "termination", "plies", "source", "split",
)

_META_COLUMNS = operator.itemgetter(*GAME_COLUMNS[:-1])

FORMAT_VERSION = 1
#: Share of games in the validation split unless the caller says otherwise.
DEFAULT_VAL_FRACTION = 0.02


def split_of(game_id: str, val_fraction: float = DEFAULT_VAL_FRACTION) -> str:
    """Deterministic split from a hash of the game id: same id, same split, on every machine."""
    h = int.from_bytes(hashlib.blake2b(game_id.encode("utf-8"), digest_size=8).digest(), "little")
    return "val" if (h % 1_000_000) < val_fraction * 1_000_000 else "train"


def _check_destination(out_dir: Path, overwrite: bool) -> None:
    """A :class:`UserError` now for a destination that :meth:`DatasetWriter.finish` could not
    take: one that exists (without ``overwrite``), is not a folder, or is a mount point (the
    old dataset is renamed away before the new one takes its name, and a mount point cannot be
    renamed)."""
    if not out_dir.exists():
        return
    if not overwrite:
        raise UserError(f"{out_dir} exists; pass --overwrite to replace it")
    if not out_dir.is_dir():
        raise UserError(f"--out {out_dir} is a file, not a dataset folder")
    if os.path.ismount(out_dir):
        raise UserError(f"--out {out_dir} is a mount point, which cannot be replaced; "
                        "name a folder inside it")


class DatasetWriter:
    """Append games, then :meth:`finish` (atomic) or :meth:`abort`."""

    def __init__(self, out_dir: str | os.PathLike[str], *, boards: bool,
                 val_fraction: float = DEFAULT_VAL_FRACTION, overwrite: bool = True) -> None:
        self.out_dir = Path(out_dir)
        _check_destination(self.out_dir, overwrite)
        self.tmp_dir = self.out_dir.parent / f".{self.out_dir.name}.partial"
        self.with_boards = boards
        self.val_fraction = val_fraction
        self._tokens = self._boards = self._games_f = self._offsets_f = None
        try:  # every file is opened now, so an unwritable place fails before any work
            if self.tmp_dir.exists():
                shutil.rmtree(self.tmp_dir)
            self.tmp_dir.mkdir(parents=True)
            self._tokens = open(self.tmp_dir / TOKENS, "wb")
            self._boards = open(self.tmp_dir / BOARDS, "wb") if boards else None
            self._games_f = open(self.tmp_dir / GAMES_CSV, "w", newline="", encoding="utf-8")
            # Offsets stream to disk as games arrive: memory stays flat for any number of games.
            self._offsets_f = open(self.tmp_dir / OFFSETS, "wb")
        except OSError as e:
            self.abort()
            raise UserError(f"cannot write the dataset --out {self.out_dir}: "
                            f"{e.strerror or e} ({e.filename or self.tmp_dir})") from None
        self._games = csv.writer(self._games_f)
        self._games.writerow(GAME_COLUMNS)
        self._offsets_f.write(np.int64(0).astype("<i8").tobytes())
        self._n_games = 0
        self._n_tokens = 0
        self.n_train = self.n_val = 0

    def add(self, tokens: np.ndarray, meta: dict[str, Any], boards: np.ndarray | None = None) -> str:
        """Append one game; ``meta`` holds :data:`GAME_COLUMNS` except ``split``. Returns its split."""
        tokens = np.asarray(tokens, dtype=np.uint16)
        if self._boards is not None:
            if boards is None or boards.shape != (len(tokens), BOARD_BYTES):
                raise ValueError(f"boards must be {(len(tokens), BOARD_BYTES)}, got "
                                 f"{None if boards is None else boards.shape}")
            self._boards.write(np.ascontiguousarray(boards, dtype=np.uint8).tobytes())
        self._tokens.write(np.ascontiguousarray(tokens, dtype="<u2"))  # no copy when it is one
        self._n_tokens += len(tokens)
        self._n_games += 1
        self._offsets_f.write(self._n_tokens.to_bytes(8, "little", signed=True))
        split = split_of(str(meta["game_id"]), self.val_fraction)
        if split == "val":
            self.n_val += 1
        else:
            self.n_train += 1
        try:
            row = [*_META_COLUMNS(meta), split]
        except KeyError:
            row = [meta.get(c, "") for c in GAME_COLUMNS[:-1]] + [split]
        self._games.writerow(row)
        return split

    @property
    def n_games(self) -> int:
        return self._n_games

    def _close(self) -> None:
        for f in (self._tokens, self._boards, self._games_f, self._offsets_f):
            if f is not None and not f.closed:
                f.close()

    def finish(self, **made: Any) -> Path:
        """Close the files, write the :class:`~chessformer.formats.dataset.Manifest` (its sizes
        and versions from here, ``made``: what the caller records of how the games were made,
        its command, options and counts) and give the dataset its name."""
        self._close()
        manifest = Manifest(
            format_version=FORMAT_VERSION, tokenizer_version=TOKENIZER_VERSION,
            board_version=BOARD_VERSION if self.with_boards else None, boards=self.with_boards,
            n_games=self.n_games, n_tokens=self._n_tokens,
            split={"train": self.n_train, "val": self.n_val, "val_fraction": self.val_fraction},
            **made)
        write_manifest(self.tmp_dir, manifest)
        # Move the old dataset aside before the new one takes its name, so that at every moment
        # the name holds a complete dataset (old or new) or, only if there was none, nothing.
        old = self.out_dir.parent / f".{self.out_dir.name}.old"
        if old.exists():
            shutil.rmtree(old)
        if self.out_dir.exists():
            os.replace(self.out_dir, old)
        try:
            os.replace(self.tmp_dir, self.out_dir)
        except OSError:
            if old.exists():  # the old dataset keeps its name
                os.replace(old, self.out_dir)
            raise
        shutil.rmtree(old, ignore_errors=True)
        return self.out_dir

    def abort(self) -> None:
        self._close()
        shutil.rmtree(self.tmp_dir, ignore_errors=True)


@dataclass
class GameDataset:
    """Read-only, memory-mapped view of a dataset folder."""

    path: Path
    manifest: Manifest
    tokens: np.ndarray  # uint16 [n_tokens]
    offsets: np.ndarray  # int64 [n_games + 1]
    boards: np.ndarray | None  # uint8 [n_tokens, BOARD_BYTES]
    splits: np.ndarray  # bool [n_games], True where the game is in the val split

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> GameDataset:
        path = Path(path)
        if not manifest_path(path).exists():
            hint = " (an interrupted ingest?)" if (path.parent / f".{path.name}.partial").exists() else ""
            raise UserError(f"{path} is not a complete chessformer dataset: no {MANIFEST}{hint}; "
                            f"run `chessformer ingest ... --out {path}`")
        manifest = read_manifest(path)
        if manifest.tokenizer_version != TOKENIZER_VERSION:
            raise UserError(f"{path}: tokenizer version {manifest.tokenizer_version} "
                            f"!= this chessformer's {TOKENIZER_VERSION}; re-run ingest")
        n_tok = manifest.n_tokens
        tokens = (np.memmap(path / TOKENS, dtype="<u2", mode="r", shape=(n_tok,))
                  if n_tok else np.zeros(0, np.uint16))
        offsets = np.fromfile(path / OFFSETS, dtype="<i8")
        if len(offsets) != manifest.n_games + 1 or offsets[-1] != n_tok:
            raise UserError(f"{path}: {OFFSETS} does not match {MANIFEST} (corrupt dataset)")
        boards = None
        if manifest.boards:
            if manifest.board_version != BOARD_VERSION:
                raise UserError(f"{path}: board encoding version {manifest.board_version} "
                                f"!= {BOARD_VERSION}; re-run ingest with --boards")
            boards = np.memmap(path / BOARDS, dtype=np.uint8, mode="r", shape=(n_tok, BOARD_BYTES))
        return cls(path, manifest, tokens, offsets, boards, read_val_splits(path, manifest.n_games))

    @property
    def n_games(self) -> int:
        return len(self.offsets) - 1

    def game_tokens(self, i: int) -> np.ndarray:
        return np.asarray(self.tokens[self.offsets[i]:self.offsets[i + 1]])

    def split_indices(self, split: str) -> np.ndarray:
        """Indices of the games in ``split`` ("train" or "val")."""
        if split not in ("train", "val"):
            raise ValueError(split)
        return np.flatnonzero(self.splits if split == "val" else ~self.splits)

    def game_keys(self) -> dict[int, str]:
        """Every game's content hash (:func:`chessformer.formats.dataset.game_key`, players
        and moves) -> its ``game_id``: what another file's games are checked against."""
        keys: dict[int, str] = {}
        for i, row in enumerate(iter_game_rows(self.path)):
            keys.setdefault(game_key(row["white"], row["black"], self.game_tokens(i)), row["game_id"])
        return keys

    def games_table(self):
        """The per-game headers (``games.csv``) as a pandas DataFrame, for analysis by hand."""
        return read_games_table(self.path)
