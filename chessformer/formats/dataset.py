"""A dataset folder (written by ``ingest`` and ``boards``): file names and ``manifest.json``.

    DATASET/manifest.json   counts per filter, sources with sha256, options, Elo histogram
    DATASET/tokens.u16      every game's tokens, concatenated     (see chessformer.data.dataset)
    DATASET/offsets.i64     game g is tokens[offsets[g]:offsets[g+1]]
    DATASET/boards.u8       optional: the packed board after every token
    DATASET/games.csv       one row of headers per game
    DATASET/holdout.pgn     optional (``ingest --holdout F``): the games held out, as read

:class:`Manifest` is ``manifest.json``; its ``elo_cap`` is the training cap (``None`` without
one). ``games.csv`` is written row by row by :class:`chessformer.data.dataset.DatasetWriter` (a
header row, then one row per game in token order, its last column ``split``) and read back here.

The manifest's counts are keyed by :class:`Reason`, the one list of every name they can hold:
``rejected`` (why a game was not kept: with ``kept`` they add up to ``games_read``),
``read_events`` and each source's ``events`` (what the reader met in the stream) and ``notes``
(about kept games). :func:`reason_counts` writes a section, in the enum's order.
"""

from __future__ import annotations

import csv
import enum
import hashlib
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from chessformer.formats import records as records_format
from chessformer.utils import sha256_file

MANIFEST = "manifest.json"
TOKENS = "tokens.u16"
OFFSETS = "offsets.i64"
BOARDS = "boards.u8"
GAMES_CSV = "games.csv"
HOLDOUT_PGN = "holdout.pgn"


class ReasonKind(str, enum.Enum):
    """Where a :class:`Reason` is counted: its value is the manifest's key for the section."""

    REJECT = "rejected"  # a game not kept; counted against games_read
    READ_EVENT = "read_events"  # damage or oddities in a source's stream (also a source's "events")
    NOTE = "notes"  # about kept games (or the run), e.g. a header read as Latin-1


@enum.unique
class Reason(str, enum.Enum):
    """Every name the manifest's counts hold, with the section it is counted in (``kind``).

    A member *is* its string (``Reason.NO_HEADERS == "no_headers"``, in JSON and in logs too),
    so the manifest reads as it always has. The reject reasons are in filter order (the
    manifest's ``filter_order``: a game gets the first that applies); the read events and notes
    are in alphabetical order, as the manifest has always listed them.
    """

    kind: ReasonKind

    def __new__(cls, value: str, kind: ReasonKind) -> Reason:
        member = str.__new__(cls, value)
        member._value_ = value
        member.kind = kind
        return member

    __str__ = str.__str__

    def __format__(self, format_spec: str) -> str:
        return str.__format__(self, format_spec)

    # Rejects, in filter order (see the table in chessformer.data.ingest).
    NO_HEADERS = "no_headers", ReasonKind.REJECT
    ELO_MISSING = "elo_missing", ReasonKind.REJECT
    ELO_ABOVE_CAP = "elo_above_cap", ReasonKind.REJECT
    ELO_BELOW_FLOOR = "elo_below_floor", ReasonKind.REJECT
    VARIANT = "variant", ReasonKind.REJECT
    CUSTOM_START = "custom_start", ReasonKind.REJECT
    UNRATED = "unrated", ReasonKind.REJECT
    BOT = "bot", ReasonKind.REJECT
    UNFINISHED = "unfinished", ReasonKind.REJECT
    BAD_RESULT = "bad_result", ReasonKind.REJECT
    TERMINATION = "termination", ReasonKind.REJECT
    TIME_CONTROL = "time_control", ReasonKind.REJECT
    UNTERMINATED_COMMENT = "unterminated_comment", ReasonKind.REJECT
    UNBALANCED_VARIATION = "unbalanced_variation", ReasonKind.REJECT
    TRUNCATED_GAME = "truncated_game", ReasonKind.REJECT
    TEXT_AFTER_RESULT = "text_after_result", ReasonKind.REJECT
    TOO_FEW_PLIES = "too_few_plies", ReasonKind.REJECT
    NULL_MOVE = "null_move", ReasonKind.REJECT
    ILLEGAL_MOVE = "illegal_move", ReasonKind.REJECT
    DUPLICATE = "duplicate", ReasonKind.REJECT
    HELD_OUT = "held_out", ReasonKind.REJECT
    # Read events (chessformer.data.pgn's reader and ingest's sources).
    CORRUPT_COMPRESSED = "corrupt_compressed", ReasonKind.READ_EVENT
    EMPTY_SOURCE = "empty_source", ReasonKind.READ_EVENT
    MISSING_SOURCE = "missing_source", ReasonKind.READ_EVENT
    OVERSIZED_TEXT = "oversized_text", ReasonKind.READ_EVENT
    TRUNCATED_COMPRESSED = "truncated_compressed", ReasonKind.READ_EVENT
    UTF16_TEXT = "utf16_text", ReasonKind.READ_EVENT
    # Notes.
    NON_UTF8_HEADER = "non_utf8_header", ReasonKind.NOTE
    REFERENCE_REPLAYS = "reference_replays", ReasonKind.NOTE

    @classmethod
    def of_kind(cls, kind: ReasonKind) -> tuple[Reason, ...]:
        """The members counted in section ``kind``, in the enum's order."""
        return tuple(r for r in cls if r.kind is kind)


#: The reject reasons in filter order: the manifest's ``filter_order``.
REJECT_REASONS = Reason.of_kind(ReasonKind.REJECT)
_ORDER = {r: i for i, r in enumerate(Reason)}


def reason_counts(counts: Mapping[Reason, int], kind: ReasonKind) -> dict[str, int]:
    """One section of the manifest's counts (``rejected``, ``read_events`` or ``notes``): every
    non-zero count of ``counts``, in the enum's order. A key that is not a :class:`Reason` of
    ``kind`` is an error, never dropped: the counts must add up."""
    wrong = [r for r in counts if not (isinstance(r, Reason) and r.kind is kind)]
    if wrong:
        raise ValueError(f"the manifest's {kind.value!r} counts take only Reason members of "
                         f"kind {kind.name}; got {', '.join(sorted(map(repr, wrong)))}")
    return {r.value: n for r, n in sorted(counts.items(), key=lambda kv: _ORDER[kv[0]]) if n}


def manifest_path(dataset: str | os.PathLike[str]) -> Path:
    return Path(dataset) / MANIFEST


@dataclass(frozen=True, kw_only=True)
class Manifest(records_format.Record):
    """``manifest.json``: what a dataset holds and how it was made.

    The dataset writer sets the first fields (versions, sizes, split); ``ingest`` the rest (its
    command, options and counts), which a dataset written otherwise may lack (they are then not
    written). ``format_version`` is the dataset format's version (1).
    """

    SCHEMA: ClassVar[int] = 1
    #: what ingest records (absent from a dataset written otherwise)
    OMIT_NONE: ClassVar[tuple[str, ...]] = (
        "command", "move_checker", "sources", "games_read", "kept", "limit_reached",
        "filter_order", "rejected", "read_events", "notes", "elo_histogram", "dedupe_keys")

    format_version: int
    tokenizer_version: int
    #: the packed board encoding's version when the dataset has boards, else None
    board_version: int | None
    boards: bool
    n_games: int
    n_tokens: int
    #: ``{"train": games, "val": games, "val_fraction": ...}``
    split: dict[str, Any]
    #: the command as its caller gave it (older releases wrote an argv list)
    command: str | list[str] | None = None
    #: ingest's filter options (``elo_cap`` among them), ``boards``, ``val_fraction``, ``limit``
    options: dict[str, Any] = field(default_factory=dict)
    move_checker: str | None = None
    #: per source: path, name, size, sha256, compression, read_to_end, games_read, kept, events
    sources: list[dict[str, Any]] | None = None
    games_read: int | None = None
    kept: int | None = None
    limit_reached: bool | None = None
    #: the reject reasons in the order the filters apply (:data:`REJECT_REASONS`)
    filter_order: list[str] | None = None
    #: counts by :class:`Reason` (see the module docstring); kept + rejected == games_read
    rejected: dict[str, int] | None = None
    read_events: dict[str, int] | None = None
    notes: dict[str, int] | None = None
    #: ``{"of": "max(WhiteElo, BlackElo)", "bin_width": 100, "counts": {bin: games}}``
    elo_histogram: dict[str, Any] | None = None
    dedupe_keys: int | None = None

    @property
    def elo_cap(self) -> int | None:
        """The Elo cap the dataset was ingested with, or ``None``."""
        cap = self.options.get("elo_cap")
        return None if cap is None else int(cap)


def read_manifest(dataset: str | os.PathLike[str]) -> Manifest:
    return Manifest.load(manifest_path(dataset), "dataset manifest")


def write_manifest(dataset: str | os.PathLike[str], manifest: Manifest) -> None:
    manifest.save(manifest_path(dataset))


def manifest_sha256(dataset: str | os.PathLike[str]) -> str:
    """The manifest's hash: a run records it, so resuming on other data is caught."""
    return sha256_file(manifest_path(dataset))


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


def read_games_table(dataset: str | os.PathLike[str]) -> Any:
    """``games.csv`` as a pandas DataFrame (empty cells stay empty strings)."""
    import pandas as pd

    return pd.read_csv(Path(dataset) / GAMES_CSV, keep_default_na=False)


def game_key(white: str, black: str, tokens: Any) -> int:
    """A game's content hash: its players' names (as ``games.csv`` holds them) and its token ids
    (``<bos>`` and the moves, one to one with the UCI moves). The same game read from any file,
    under any name or number, has the same key: ``ingest --holdout`` draws its held-out games by
    it and ``analyze humans`` checks held-out games against a training set with it."""
    ids = np.asarray(tokens, dtype="<u2").tobytes()
    data = f"{white}\0{black}".encode("utf-8", "surrogatepass") + b"\0" + ids
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little")


def held_out(key: int, fraction: float, seed: int) -> bool:
    """Whether the game of :func:`game_key` ``key`` is in the held-out share ``fraction`` drawn
    with ``seed`` (the same games on every machine, whatever the order of the file)."""
    if fraction <= 0:
        return False
    h = hashlib.blake2b(f"{seed}\0{key}".encode(), digest_size=8).digest()
    return int.from_bytes(h, "little") < fraction * 2.0 ** 64
