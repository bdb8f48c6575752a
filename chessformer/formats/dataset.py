"""A dataset folder (written by ``ingest`` and ``boards``): file names and ``manifest.json``.

    DATASET/manifest.json   counts per filter, sources with sha256, options, Elo histogram
    DATASET/tokens.u16      every game's tokens, concatenated     (see chessformer.data.dataset)
    DATASET/offsets.i64     game g is tokens[offsets[g]:offsets[g+1]]
    DATASET/boards.u8       optional: the packed board after every token
    DATASET/games.csv       one row of headers per game

``manifest["options"]["elo_cap"]`` is the training cap (``None`` without one). ``games.csv`` is
written row by row by :class:`chessformer.data.dataset.DatasetWriter` (a header row, then one row
per game in token order, its last column ``split``) and read back here.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from chessformer.formats import read_json
from chessformer.utils import sha256_file, write_json_atomic

MANIFEST = "manifest.json"
TOKENS = "tokens.u16"
OFFSETS = "offsets.i64"
BOARDS = "boards.u8"
GAMES_CSV = "games.csv"


def manifest_path(dataset: str | os.PathLike[str]) -> Path:
    return Path(dataset) / MANIFEST


def read_manifest(dataset: str | os.PathLike[str]) -> dict[str, Any]:
    return read_json(manifest_path(dataset), "dataset manifest")


def write_manifest(dataset: str | os.PathLike[str], manifest: dict[str, Any]) -> None:
    write_json_atomic(manifest_path(dataset), manifest)


def manifest_sha256(dataset: str | os.PathLike[str]) -> str:
    """The manifest's hash: a run records it, so resuming on other data is caught."""
    return sha256_file(manifest_path(dataset))


def elo_cap(manifest: dict[str, Any]) -> int | None:
    """The Elo cap the dataset was ingested with (``options.elo_cap``), or ``None``."""
    cap = (manifest.get("options") or {}).get("elo_cap")
    return None if cap is None else int(cap)


def read_val_splits(dataset: str | os.PathLike[str], n_games: int) -> np.ndarray:
    """``games.csv``'s ``split`` column as a boolean array: True where game ``g`` is in val."""
    splits = np.zeros(n_games, dtype=bool)
    with open(Path(dataset) / GAMES_CSV, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        col = next(reader).index("split")
        for i, row in enumerate(reader):
            splits[i] = row[col] == "val"
    return splits


def iter_game_rows(dataset: str | os.PathLike[str]) -> Iterator[dict[str, str]]:
    """``games.csv``'s rows as ``{column: text}``, streamed (stop early to read only a prefix);
    nothing when the dataset has no ``games.csv``."""
    path = Path(dataset) / GAMES_CSV
    if not path.is_file():
        return
    with open(path, newline="", encoding="utf-8") as f:
        yield from csv.DictReader(f)


def read_games_table(dataset: str | os.PathLike[str]):
    """``games.csv`` as a pandas DataFrame (empty cells stay empty strings)."""
    import pandas as pd

    return pd.read_csv(Path(dataset) / GAMES_CSV, keep_default_na=False)
