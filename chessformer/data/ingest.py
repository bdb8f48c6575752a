"""``chessformer ingest``: filter PGN games (Elo cap and the usual hygiene) and tokenize them.

    chessformer ingest lichess_db_standard_rated_2024-01.pgn.zst --elo-cap 1500 --out data/datasets/le1500
    chessformer ingest ../shared/data/twic_otb_le2200.pgn.zst --elo-cap 2000 --out data/datasets/twic2000
    zstdcat dump.pgn.zst | chessformer ingest - --elo-cap 1300 --boards --out data/datasets/le1300

From Python (the demo and tests)::

    from chessformer.data.ingest import ingest
    manifest = ingest(["games.pgn"], "data/datasets/x", elo_cap=1500, min_plies=10)

Output: a dataset folder in the format of :mod:`chessformer.data.dataset` (``tokens.u16``,
``offsets.i64``, optional ``boards.u8``, ``games.csv``, ``manifest.json`` written last, the
whole folder renamed into place only when complete).

Filters
-------
Each game gets the *first* reason below that applies; the manifest's ``rejected`` counts add up,
with ``kept``, to ``games_read``. The names are the members of
:class:`chessformer.formats.dataset.Reason`, in this order (a reason outside it is an error, not
a count left out). Defaults are what a researcher expects of a Lichess dump:

==================  ==========================================================================
reason              rule (default)
==================  ==========================================================================
no_headers          text that is not a game (garbage between games, or binary garbage glued to
                    a game's result marker: the game itself is read up to its marker)
elo_missing         a cap or floor is set and WhiteElo or BlackElo is absent, "?" or not a number
elo_above_cap       max(WhiteElo, BlackElo) > ``--elo-cap`` (the transcendence paper's rule)
elo_below_floor     min(WhiteElo, BlackElo) < ``--elo-floor``
variant             a ``Variant`` tag other than "Standard"
custom_start        a ``FEN`` tag other than the standard start position
unrated             ``Event`` starts with "Casual" or "Unrated" (Lichess writes "Rated Blitz game"
                    / "Casual Blitz game"); any other Event, e.g. an OTB tournament name, or no
                    Event tag at all, counts as rated. ``--include-unrated`` turns this off.
bot                 ``WhiteTitle`` or ``BlackTitle`` is "BOT" (``--include-bots``)
unfinished          ``Result`` "*" (or no result at all: ``bad_result``)
termination         ``Termination`` in ``--drop-terminations`` ("Abandoned,Rules infraction")
time_control        class not in ``--time-controls`` (default: all, incl. ``unknown``, because
                    OTB files have no TimeControl). Class from base + 40 x increment seconds, as
                    Lichess does: < 30 ultrabullet (its own class, not part of "bullet"),
                    < 180 bullet, < 480 blitz, < 1500 rapid, else classical; "-" is
                    correspondence; absent/unparsable is unknown.
unterminated_comment, unbalanced_variation, truncated_game (no result marker at the end),
text_after_result (stray text after the result marker, e.g. moves or words, no blank line between)
too_few_plies       fewer than ``--min-plies`` half-moves (default 10: drops aborted games and
                    pre-arranged draws, which teach nothing about play)
null_move           a null move ("--", or ChessBase's "Z0"): a game with a hole, not a chess game
illegal_move        a move that python-chess rejects
duplicate           the same game seen before in this run: same lichess game id when ``Site`` is
                    a lichess.org game URL, else the same White, Black, Date and moves (and,
                    where a player or the date is unknown or "?", the same tags: an exact copy)
held_out            ``--holdout F`` (default 0: none): a share F of the games that pass every
                    other filter, drawn by a hash of the game (players and moves,
                    :func:`chessformer.formats.dataset.game_key`) seeded with
                    ``--holdout-seed``; written as read to ``holdout.pgn`` in the dataset folder,
                    not trained on (``analyze humans`` reads them)
==================  ==========================================================================

A run that keeps no game at all is an error (exit 2) that names the largest reject reasons, and
writes no dataset; so are numbers no filter can use (``--elo-cap 0``, ``--min-plies -1``).

Headers are scanned with a regex (the Elo tags first: they reject most games of a big file) and
moves replayed only for games that pass the header filters: by the compiled resolver of
:mod:`chessformer.core.san` when ``numba`` is installed, with python-chess as the reference for
every move it refuses, else by python-chess alone; the output is the same either way.
Non-UTF-8 header bytes are decoded as Latin-1 and counted under ``notes`` (the game is kept).

Scale: the reader streams (memory bounded by a 64 MiB chunk limit per worker); duplicate
detection keeps an 8-byte hash per *kept* game (about 8 bytes x kept games, plus a transient
copy while merging, e.g. 160 MB for 10 M kept games; ``--no-dedupe`` turns it off). Output is
deterministic: worker processes parse chunks in parallel but results are written in input order,
so the same input gives byte-identical files whatever ``--workers`` is.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from collections import Counter, deque
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from chessformer.core import san
from chessformer.core.boards import BOARD_BYTES
from chessformer.data import pgn
from chessformer.data.dataset import DEFAULT_VAL_FRACTION, DatasetWriter
from chessformer.formats.dataset import (
    HOLDOUT_PGN,
    REJECT_REASONS,
    Manifest,
    Reason,
    ReasonKind,
    game_key,
    held_out,
    read_manifest,
    reason_counts,
)
from chessformer.utils import UserError, log, mp_context, progress, python_call

__all__ = ["TIME_CONTROL_CLASSES", "FilterOptions", "classify_time_control", "header_reject_reason", "ingest"]

TIME_CONTROL_CLASSES = ("ultrabullet", "bullet", "blitz", "rapid", "classical", "correspondence",
                        "unknown")
_MAX_WARNINGS = 20
#: A warning is cut to this many characters: a damaged file can hold a token of megabytes.
_MAX_WARNING_CHARS = 240
_START_FEN = "rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 0 1"
_LICHESS_SITE = re.compile(rb"^https?://(?:www\.)?lichess\.org/([A-Za-z0-9]{8})(?:[/?#].*)?$")
_VALID_RESULTS = frozenset((b"1-0", b"0-1", b"1/2-1/2"))


@dataclass(frozen=True)
class FilterOptions:
    """Every filter's setting; the defaults are the documented ones (see the module docstring)."""

    elo_cap: int | None = None
    elo_floor: int | None = None
    rated_only: bool = True
    standard_only: bool = True
    no_bots: bool = True
    time_controls: tuple[str, ...] = TIME_CONTROL_CLASSES
    drop_terminations: tuple[str, ...] = ("Abandoned", "Rules infraction")
    min_plies: int = 10
    dedupe: bool = True
    holdout: float = 0.0
    holdout_seed: int = 0
    engine: str = "auto"  # "auto" (compiled resolver + python-chess reference) or "python-chess"

    def __post_init__(self) -> None:
        bad = set(self.time_controls) - set(TIME_CONTROL_CLASSES)
        if bad:
            raise UserError(f"unknown time-control class(es) {sorted(bad)}; choose from "
                            f"{','.join(TIME_CONTROL_CLASSES)}")
        if self.engine not in ("auto", "python-chess"):
            raise UserError(f"unknown move checker {self.engine!r}: auto or python-chess")
        for flag, value, least in (("--elo-cap", self.elo_cap, 1), ("--elo-floor", self.elo_floor, 0),
                                   ("--min-plies", self.min_plies, 0)):
            if value is not None and value < least:
                raise UserError(f"{flag} must be at least {least}, got {value}")
        if not 0 <= self.holdout < 1:
            raise UserError(f"--holdout must be in [0, 1), got {self.holdout}")
        if (self.elo_cap is not None and self.elo_floor is not None
                and self.elo_floor > self.elo_cap):
            raise UserError(f"--elo-floor {self.elo_floor} is above --elo-cap {self.elo_cap}")


# ----------------------------------------------------------------------------- pure rules


def classify_time_control(tc: bytes | str | None) -> str:
    """Lichess's rule: estimated seconds = base + 40 x increment (see the module docstring)."""
    if tc is None:
        return "unknown"
    s = tc.decode("latin-1") if isinstance(tc, bytes) else tc
    s = s.strip()
    if s == "-":
        return "correspondence"
    try:
        first = s.split(":")[0]
        if "/" in first:  # PGN standard "40/7200": moves/seconds
            first = first.split("/")[1]
        base, _, inc = first.partition("+")
        est = float(base) + 40 * float(inc or 0)
    except ValueError:
        return "unknown"
    if est < 30:
        return "ultrabullet"
    if est < 180:
        return "bullet"
    if est < 480:
        return "blitz"
    if est < 1500:
        return "rapid"
    return "classical"


def _elo(v: bytes | None) -> int | None:
    if v is None:
        return None
    v = v.strip()
    return int(v) if v.isdigit() else None


def _elo_reject_reason(white: bytes | None, black: bytes | None,
                       o: FilterOptions) -> tuple[Reason, str] | None:
    """The Elo filters of :func:`header_reject_reason`, given the two tags' raw values."""
    w, b = _elo(white), _elo(black)
    if w is None or b is None:
        none = b"(none)"
        return Reason.ELO_MISSING, (
            f"WhiteElo {(none if white is None else white).decode('latin-1')!r}, "
            f"BlackElo {(none if black is None else black).decode('latin-1')!r}")
    if o.elo_cap is not None and max(w, b) > o.elo_cap:
        return Reason.ELO_ABOVE_CAP, f"max Elo {max(w, b)} > {o.elo_cap}"
    if o.elo_floor is not None and min(w, b) < o.elo_floor:
        return Reason.ELO_BELOW_FLOOR, f"min Elo {min(w, b)} < {o.elo_floor}"
    return None


def header_reject_reason(h: dict[bytes, bytes], o: FilterOptions) -> tuple[Reason, str] | None:
    """(reason, detail) of the first header filter that rejects the game, or ``None``."""
    if o.elo_cap is not None or o.elo_floor is not None:
        rej = _elo_reject_reason(h.get(b"WhiteElo"), h.get(b"BlackElo"), o)
        if rej is not None:
            return rej
    if o.standard_only:
        v = h.get(b"Variant")
        if v is not None and v.strip().lower() not in (b"standard", b"chess", b""):
            return Reason.VARIANT, f"Variant {v.decode('latin-1')!r}"
        fen = h.get(b"FEN")
        if fen is not None and fen.decode("latin-1").strip() != _START_FEN:
            return Reason.CUSTOM_START, "starts from a set-up position (FEN tag)"
    if o.rated_only:
        ev = h.get(b"Event")
        if ev is not None and ev.lstrip().lower().startswith((b"casual", b"unrated")):
            return Reason.UNRATED, f"Event {ev.decode('latin-1')!r}"
    if o.no_bots and (h.get(b"WhiteTitle", b"").strip().upper() == b"BOT"
                      or h.get(b"BlackTitle", b"").strip().upper() == b"BOT"):
        return Reason.BOT, "a BOT player"
    res = h.get(b"Result")
    if res is not None:
        res = res.strip()
        if res == b"*":
            return Reason.UNFINISHED, "Result \"*\""
        if res not in _VALID_RESULTS:
            return Reason.BAD_RESULT, f"Result {res.decode('latin-1')!r}"
    if o.drop_terminations:
        t = h.get(b"Termination")
        if t is not None and t.strip().decode("latin-1").lower() in _lower_set(o.drop_terminations):
            return Reason.TERMINATION, f"Termination {t.decode('latin-1')!r}"
    if len(o.time_controls) < len(TIME_CONTROL_CLASSES):
        cls = classify_time_control(h.get(b"TimeControl"))
        if cls not in o.time_controls:
            return Reason.TIME_CONTROL, f"time control class {cls}"
    return None


_LOWER_CACHE: dict[tuple[str, ...], frozenset[str]] = {}


def _lower_set(items: tuple[str, ...]) -> frozenset[str]:
    s = _LOWER_CACHE.get(items)
    if s is None:
        s = _LOWER_CACHE[items] = frozenset(x.strip().lower() for x in items)
    return s


# ----------------------------------------------------------------------------- worker


@dataclass
class ChunkResult:
    """What a worker returns for one chunk, in game order.

    ``status[i]`` is ``None`` for a kept game (its data is the next entry of ``kept``) or the
    reject reason (a :class:`Reason` of kind ``REJECT``: anything else is an error, so no game
    can go uncounted in the manifest); ``details`` maps local index -> message for the first
    ``_MAX_WARNINGS`` rejects of each reason (the run shows no more of a reason than that, so a
    later one of this chunk can never be shown: most games of a big file are rejected, silently).
    """

    status: list[Reason | None] = field(default_factory=list)
    details: dict[int, str] = field(default_factory=dict)
    reject_counts: dict[Reason, int] = field(default_factory=dict)
    notes: list[tuple[int, Reason, str]] = field(default_factory=list)
    kept: list[tuple] = field(default_factory=list)  # (site_id, dedupe_key, header_digest, meta)
    held_text: dict[int, bytes] = field(default_factory=dict)  # kept index -> text, if held out
    lengths: list[int] = field(default_factory=list)
    tokens: bytes = b""
    boards: bytes = b""
    fallbacks: int = 0

    def reject(self, i: int, reason: Reason, detail: str) -> None:
        if not isinstance(reason, Reason) or reason.kind is not ReasonKind.REJECT:
            raise ValueError(f"{reason!r} is not a reject reason (a member of "
                             "chessformer.formats.dataset.Reason of kind REJECT)")
        self.status.append(reason)
        n = self.reject_counts[reason] = self.reject_counts.get(reason, 0) + 1
        if n <= _MAX_WARNINGS:
            self.details[i] = _shorten(detail)


_OPTS: FilterOptions | None = None
_BOARDS = False


def _init_worker(opts: FilterOptions, boards: bool) -> None:
    global _OPTS, _BOARDS
    _OPTS, _BOARDS = opts, boards


def _shorten(text: str, limit: int = _MAX_WARNING_CHARS) -> str:
    """``text``, cut to about ``limit`` characters with a note of its full length."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text):,} characters)"


def _h64(data: bytes) -> int:
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little")


@dataclass
class _Game:
    """A game that passed every filter that comes before its moves are replayed."""

    text: bytes
    headers: dict[bytes, bytes]
    movetext: bytes
    moves: pgn.Moves
    result: bytes


def _screen(text: bytes, end: int, o: FilterOptions, resolve: bool) -> _Game | tuple[Reason, str]:
    """The game's headers and SAN moves (with their token ids when ``resolve`` and the compiled
    resolver could), or (reason, detail) of the first filter that rejects it before replay:
    headers, movetext syntax, result, length. ``end`` is the :func:`pgn.header_end` of ``text``."""
    if o.elo_cap is not None or o.elo_floor is not None:
        # Most games of a big file fail the Elo filters: decide them on two tags (the same
        # answer as header_reject_reason's, which checks them first) before reading all tags.
        white, black = pgn.tag_value(text, end, b"WhiteElo"), pgn.tag_value(text, end, b"BlackElo")
        if white is not None and black is not None:
            rej = _elo_reject_reason(white, black, o)
            if rej is not None:
                return rej
    h, movetext = pgn.parse_headers(text, end)
    if not h:
        return Reason.NO_HEADERS, f"text that is not a game: {text[:60]!r}"
    rej = header_reject_reason(h, o)
    if rej is not None:
        return rej
    try:
        moves = pgn.read_moves(movetext, resolve=resolve)
    except pgn.MovetextError as e:
        return e.reason, str(e)
    res = h.get(b"Result", b"").strip() or moves.marker.encode()
    if res not in _VALID_RESULTS:
        return ((Reason.UNFINISHED if res == b"*" else Reason.BAD_RESULT),
                f"result {res.decode('latin-1')!r}")
    if moves.count < o.min_plies:
        return Reason.TOO_FEW_PLIES, f"{moves.count} plies < {o.min_plies}"
    return _Game(text, h, movetext, moves, res)


def _replay(moves: pgn.Moves, o: FilterOptions, boards: list | None) -> tuple[np.ndarray, bool]:
    """(token ids with ``<bos>``, whether python-chess had to be the reference). ``boards`` (a
    list, or ``None``) receives every position. Raises :class:`pgn.IllegalMove`."""
    if boards is not None:  # python-chess does the replay that yields the positions
        return pgn.uci_ids(pgn.replay_python_chess(moves.sans(), boards=boards)), False
    if moves.ids is not None:
        return moves.ids, False
    return pgn.replay_san(moves.text, engine=o.engine)


_META_TAGS = (("white", b"White"), ("black", b"Black"), ("termination", b"Termination"),
              ("time_control", b"TimeControl"), ("date", b"UTCDate"), ("date2", b"Date"))


def _game_meta(h: dict[bytes, bytes], res: bytes, plies: int) -> tuple[dict[str, Any], str, bool]:
    """(the games.csv columns known from the headers, the game's date, whether a header was not
    UTF-8)."""
    meta: dict[str, Any] = {}
    nonutf = False
    for col, tag in _META_TAGS:
        v = h.get(tag)
        if v is None:
            meta[col] = ""
        else:
            meta[col], bad = pgn.decode(v)
            nonutf |= bad
    meta["white_elo"] = _elo(h.get(b"WhiteElo"))
    meta["black_elo"] = _elo(h.get(b"BlackElo"))
    meta["result"] = res.decode()
    meta["plies"] = plies
    date = meta.pop("date") or meta["date2"]
    meta.pop("date2")
    return meta, date, nonutf


def _known(value: str) -> bool:
    """A header value that identifies something: not empty, not a placeholder like "?" or
    "????.??.??"."""
    return bool(value.strip(" ?.-"))


def _dedupe_key(o: FilterOptions, site_id: str | None, meta: dict[str, Any], date: str,
                ids: np.ndarray, header_digest: str) -> int:
    """The duplicate-detection key: the lichess game id, else players, date and moves (their
    token ids, one to one with the UCI moves). Where a player or the date is unknown, all the
    tags count too (so only an exact copy is a duplicate): two games of unknown players can
    share a short sequence of moves."""
    if not o.dedupe:
        return 0
    if site_id is not None:
        return _h64(b"site\0" + site_id.encode())
    fields = [meta["white"], meta["black"], date]
    if not (_known(meta["white"]) and _known(meta["black"]) and _known(date)):
        fields.append(header_digest)
    return _h64("\0".join(fields).encode("utf-8", "surrogatepass") + b"\0" + ids.tobytes())


def process_chunk(chunk: bytes) -> ChunkResult:
    """Parse, filter and tokenize every game of a chunk (runs in a worker process)."""
    o, with_boards = _OPTS, _BOARDS
    assert o is not None
    out = ChunkResult()
    tok_parts: list[np.ndarray] = []
    board_parts: list[bytes] = []
    resolve = o.engine == "auto" and not with_boards
    for i, (text, end) in enumerate(pgn.split_games(chunk)):
        g = _screen(text, end, o, resolve)
        if isinstance(g, tuple):
            out.reject(i, *g)
            continue
        boards_rows: list | None = [] if with_boards else None
        try:
            ids, fallback = _replay(g.moves, o, boards_rows)
        except pgn.IllegalMove as e:
            out.reject(i, Reason.NULL_MOVE if e.san in pgn.NULL_MOVES else Reason.ILLEGAL_MOVE,
                       str(e))
            continue
        out.fallbacks += fallback
        meta, date, nonutf = _game_meta(g.headers, g.result, len(ids) - 1)
        if nonutf:
            out.notes.append((i, Reason.NON_UTF8_HEADER,
                              "header bytes are not UTF-8; read as Latin-1"))
        m = _LICHESS_SITE.match(g.headers.get(b"Site", b"").strip())
        site_id = m.group(1).decode() if m else None
        header_digest = hashlib.blake2b(text[:len(text) - len(g.movetext)], digest_size=8).hexdigest()
        key = _dedupe_key(o, site_id, meta, date, ids, header_digest)
        if o.holdout > 0 and held_out(game_key(meta["white"], meta["black"], ids),
                                      o.holdout, o.holdout_seed):
            out.held_text[len(out.kept)] = g.text
        out.kept.append((site_id, key, header_digest, meta))
        out.status.append(None)
        out.lengths.append(len(ids))
        tok_parts.append(ids)
        if with_boards:
            board_parts.append(b"".join(r.tobytes() for r in boards_rows))
    out.tokens = np.concatenate(tok_parts).astype("<u2", copy=False).tobytes() if tok_parts else b""
    out.boards = b"".join(board_parts)
    return out


# ----------------------------------------------------------------------------- main process


class DedupeSet:
    """A set of 64-bit hashes: a sorted numpy array plus a small Python set of recent ones.

    About 8 bytes per key; the recent set (up to ``recent_max`` keys) is merged in with a linear
    merge (numpy's stable sort finds the two sorted runs), so memory stays compact at scale.
    """

    def __init__(self, recent_max: int = 1 << 18) -> None:
        self.sorted = np.zeros(0, dtype=np.uint64)
        self.recent: set[int] = set()
        self.recent_max = recent_max

    def __len__(self) -> int:
        return len(self.sorted) + len(self.recent)

    def add(self, key: int) -> bool:
        """Add ``key``; True if it was new."""
        if key in self.recent:
            return False
        s = self.sorted
        if len(s):
            j = int(np.searchsorted(s, np.uint64(key)))
            if j < len(s) and int(s[j]) == key:
                return False
        self.recent.add(key)
        if len(self.recent) >= self.recent_max:
            new = np.fromiter(self.recent, dtype=np.uint64, count=len(self.recent))
            new.sort()
            self.sorted = np.sort(np.concatenate([self.sorted, new]), kind="stable")
            self.recent = set()
        return True


@dataclass
class _SourceState:
    source: pgn.Source
    stats: pgn.ReadStats = field(default_factory=pgn.ReadStats)
    games: int = 0
    kept: int = 0


class _Warnings:
    """At most ``_MAX_WARNINGS`` messages per reason, then one summary line per reason."""

    def __init__(self) -> None:
        self.counts: Counter = Counter()

    def __call__(self, reason: Reason, msg: str) -> None:
        if self.count(reason):
            self.show(reason, msg)

    def count(self, reason: Reason) -> bool:
        """Count one more of ``reason``; whether it is to be shown (callers build the message
        only then: most of the games of a big file are rejected, silently)."""
        self.counts[reason] += 1
        return self.counts[reason] <= _MAX_WARNINGS

    def show(self, reason: Reason, msg: str) -> None:
        log.warning("%s: %s", reason, _shorten(msg, 2 * _MAX_WARNING_CHARS))
        if self.counts[reason] == _MAX_WARNINGS:
            log.warning("%s: further warnings of this kind are counted, not shown", reason)

    def summary(self) -> None:
        for reason, n in sorted(self.counts.items()):
            if n > _MAX_WARNINGS:
                log.warning("%s: %d in all (%d not shown)", reason, n, n - _MAX_WARNINGS)


def _game_id(site_id: str | None, source_name: str, number: int, header_digest: str) -> str:
    if site_id is not None:
        return site_id
    h = hashlib.blake2b(f"{source_name}\0{number}\0{header_digest}".encode(),
                        digest_size=8).hexdigest()
    return f"h{h}"


class _Run:
    """One ingest run's state in the main process: the counts, the dedupe set and the writer.

    Chunk results arrive (in input order) through :meth:`consume`; :meth:`read_source` feeds a
    source's chunks to the workers; :meth:`manifest` sums it all up.
    """

    def __init__(self, opts: FilterOptions, writer: DatasetWriter, warn: _Warnings, *,
                 boards: bool, limit: int | None) -> None:
        self.opts, self.writer, self.warn = opts, writer, warn
        self.boards, self.limit = boards, limit
        self.rejected: Counter[Reason] = Counter()
        self.notes: Counter[Reason] = Counter()
        self.hist: Counter = Counter()
        self.dedupe = DedupeSet()
        self.kept = 0
        self.stop = False  # the --limit is reached
        # the held-out games, written as read (a file only when --holdout is set)
        self.holdout = open(writer.tmp_dir / HOLDOUT_PGN, "wb") if opts.holdout > 0 else None

    def consume(self, st: _SourceState, res: ChunkResult) -> None:
        """Count a chunk's rejects and write its kept games, numbering games within the source."""
        name = st.source.name
        k = 0
        tok = np.frombuffer(res.tokens, dtype="<u2")
        brd = (np.frombuffer(res.boards, dtype=np.uint8).reshape(-1, BOARD_BYTES)
               if self.boards else None)
        tpos = 0
        note_at = {i: (r, d) for i, r, d in res.notes}
        for i, reason in enumerate(res.status):
            if self.stop:
                return
            number = st.games + 1
            st.games = number
            if reason is not None:
                self.rejected[reason] += 1
                if self.warn.count(reason):
                    self.warn.show(reason, f"{name} game {number}: {res.details.get(i, reason)}")
                continue
            site_id, key, hdig, meta = res.kept[k]
            n = res.lengths[k]
            text = res.held_text.get(k)
            k += 1
            t_slice = tok[tpos:tpos + n]
            b_slice = brd[tpos:tpos + n] if brd is not None else None
            tpos += n
            if self.opts.dedupe and not self.dedupe.add(key):
                self.rejected[Reason.DUPLICATE] += 1
                if self.warn.count(Reason.DUPLICATE):
                    self.warn.show(Reason.DUPLICATE,
                                   f"{name} game {number}: the same game was seen before")
                continue
            if text is not None and self.holdout is not None:
                self.rejected[Reason.HELD_OUT] += 1
                self.holdout.write(text.rstrip() + b"\n\n")
                continue
            if i in note_at:
                self.notes[note_at[i][0]] += 1
                self.warn(note_at[i][0], f"{name} game {number}: {note_at[i][1]}")
            self._write(st, dict(meta), site_id, number, hdig, t_slice, b_slice)
        self.notes[Reason.REFERENCE_REPLAYS] += res.fallbacks

    def _write(self, st: _SourceState, meta: dict[str, Any], site_id: str | None, number: int,
               hdig: str, tokens: np.ndarray, boards: np.ndarray | None) -> None:
        meta["game_id"] = _game_id(site_id, st.source.name, number, hdig)
        meta["source"] = st.source.name
        self.writer.add(tokens, meta, boards)
        we, be = meta["white_elo"], meta["black_elo"]
        self.hist["unknown" if we is None or be is None else str(max(we, be) // 100 * 100)] += 1
        st.kept += 1
        self.kept += 1
        if self.limit is not None and self.kept >= self.limit:
            self.stop = True

    def _drain(self, inflight: deque, keep: int = 0) -> None:
        """Consume finished chunks, oldest first, until ``keep`` are left in flight."""
        while len(inflight) > keep and not self.stop:
            st, r = inflight.popleft()
            self.consume(st, r.get())

    def read_source(self, st: _SourceState, pool, inflight: deque, bar, *, max_inflight: int,
                    chunk_bytes: int, max_chunk_bytes: int) -> None:
        """Read one source to its end (or the limit), in parallel when there is a ``pool``:
        at most ``max_inflight`` chunks are parsed at a time."""
        seen_msgs = 0
        last_raw = 0
        chunks = pgn.read_chunks(st.source, st.stats, chunk_bytes=chunk_bytes,
                                 max_chunk_bytes=max_chunk_bytes,
                                 warn=lambda r, m: st.stats.messages.append((r, m)))
        try:
            for chunk in chunks:
                if pool is None:
                    self.consume(st, process_chunk(chunk))
                else:
                    inflight.append((st, pool.apply_async(process_chunk, (chunk,))))
                    self._drain(inflight, keep=max_inflight - 1)
                if len(st.stats.messages) > seen_msgs:
                    # Damage in the stream: settle the games before it, so the warning can
                    # name the game number where it happened.
                    self._drain(inflight)
                    for reason, msg in st.stats.messages[seen_msgs:]:
                        self.warn(reason, f"{msg} (after game {st.games})")
                    seen_msgs = len(st.stats.messages)
                bar.update(st.stats.raw_bytes - last_raw)
                last_raw = st.stats.raw_bytes
                bar.set_postfix(kept=self.kept, refresh=False)
                if self.stop:
                    break
        finally:
            chunks.close()  # hashes the unread rest of the file, so sha256 stays whole
        self._drain(inflight)
        for reason, msg in st.stats.messages[seen_msgs:]:
            self.warn(reason, f"{msg} (after game {st.games})")
        if st.stats.raw_bytes == 0 and st.stats.complete:
            st.stats.events[Reason.EMPTY_SOURCE] += 1
            self.warn(Reason.EMPTY_SOURCE, f"{st.source.name}: empty input")

    def reject_summary(self) -> str:
        """The largest reject reasons, largest first, e.g. "unfinished 2, unrated 1"."""
        top = sorted(self.rejected.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
        return "rejected as " + ", ".join(f"{r} {n}" for r, n in top) + (
            " (see the filters in `chessformer ingest --help`)")

    def manifest(self, states: list[_SourceState], read_events: Counter[Reason], *,
                 command: str, val_fraction: float) -> dict[str, Any]:
        """The manifest's counts and provenance (the writer adds sizes and versions). Every
        count is written (a key outside :class:`Reason` is an error), so ``kept`` and the
        ``rejected`` counts add up to ``games_read``."""
        o = self.opts
        games_read = sum(st.games for st in states)
        rejected = reason_counts(self.rejected, ReasonKind.REJECT)
        if self.kept + sum(rejected.values()) != games_read:
            raise RuntimeError(f"ingest miscounted: {self.kept} kept and {sum(rejected.values())} "
                               f"rejected of {games_read} games read")
        return {
            "command": command,
            "options": {**asdict(o), "boards": self.boards, "val_fraction": val_fraction,
                        "limit": self.limit},
            "move_checker": ("chessformer SAN resolver (numba), python-chess as the reference"
                             if san.AVAILABLE and o.engine == "auto" and not self.boards
                             else "python-chess"),
            "sources": [{"path": st.source.path, "name": st.source.name,
                         "size": st.stats.raw_bytes, "sha256": st.stats.sha256,
                         "compression": st.source.compression, "read_to_end": st.stats.complete,
                         "games_read": st.games, "kept": st.kept,
                         "events": reason_counts(st.stats.events, ReasonKind.READ_EVENT)}
                        for st in states],
            "games_read": games_read,
            "kept": self.kept,
            "limit_reached": self.stop,
            "filter_order": [r.value for r in REJECT_REASONS],
            "rejected": rejected,
            "read_events": reason_counts(read_events, ReasonKind.READ_EVENT),
            "notes": reason_counts(self.notes, ReasonKind.NOTE),
            "elo_histogram": {"of": "max(WhiteElo, BlackElo)", "bin_width": 100,
                              "counts": dict(sorted(self.hist.items(), key=lambda kv: (
                                  kv[0] == "unknown", int(kv[0]) if kv[0] != "unknown" else 0)))},
            "dedupe_keys": len(self.dedupe),
        }


def _filter_options(elo_cap: int | None, elo_floor: int | None,
                    filter_options: dict[str, Any]) -> FilterOptions:
    for name in ("time_controls", "drop_terminations"):
        if name in filter_options:
            filter_options[name] = tuple(filter_options[name])
    return FilterOptions(elo_cap=elo_cap, elo_floor=elo_floor, **filter_options)


def ingest(sources: list[str], out: str | os.PathLike[str], *, elo_cap: int | None,
           elo_floor: int | None = None, boards: bool = False, workers: int | None = None,
           val_fraction: float = DEFAULT_VAL_FRACTION, limit: int | None = None, overwrite: bool = False,
           command: str | None = None, chunk_bytes: int = 1 << 20,
           max_chunk_bytes: int = pgn.MAX_CHUNK_BYTES, **filter_options: Any) -> Manifest:
    """Read ``sources``, filter, tokenize and write a dataset at ``out``; return its manifest.

    ``filter_options`` are the other fields of :class:`FilterOptions` (``min_plies``,
    ``time_controls``, ``drop_terminations``, ``rated_only``, ``standard_only``, ``no_bots``,
    ``dedupe``, ``engine``). ``workers=0`` parses in this process; ``None`` uses one worker
    process per CPU. ``command`` is what the manifest records as the command that made it (the
    caller's command line; by default, that this function was called from Python). Raises
    :class:`UserError` when nothing at all could be read.
    """
    t0 = time.perf_counter()
    opts = _filter_options(elo_cap, elo_floor, filter_options)
    if not 0 <= val_fraction < 1:
        raise UserError(f"--val-fraction must be in [0, 1), got {val_fraction}")
    if limit is not None and limit < 1:
        raise UserError(f"--limit must be at least 1, got {limit}")
    srcs, problems = pgn.expand_sources(list(sources))
    warn = _Warnings()
    read_events: Counter[Reason] = Counter()
    for p in problems:
        read_events[Reason.MISSING_SOURCE] += 1
        warn(Reason.MISSING_SOURCE, p)
    if not srcs:
        raise UserError("nothing to read: " + "; ".join(problems or ["no sources given"]))
    out = Path(out)
    writer = DatasetWriter(out, boards=boards, val_fraction=val_fraction, overwrite=overwrite)
    n_workers = (os.cpu_count() or 1) if workers is None else max(0, int(workers))
    run = _Run(opts, writer, warn, boards=boards, limit=limit)
    states = [_SourceState(s) for s in srcs]
    total_bytes = sum(os.path.getsize(s.path) for s in srcs if s.path != "-")
    bar = progress(total=total_bytes or None, desc="ingest", unit="B", unit_scale=True)
    pool = None
    try:
        if opts.engine == "auto" and not boards:
            pgn.warm_up()  # before the fork: the workers inherit the compiled readers
        if n_workers > 0:
            pool = mp_context().Pool(n_workers, initializer=_init_worker, initargs=(opts, boards))
        else:
            _init_worker(opts, boards)
        inflight: deque = deque()
        for st in states:
            if run.stop:
                break
            run.read_source(st, pool, inflight, bar, max_inflight=max(2, 2 * n_workers),
                            chunk_bytes=chunk_bytes, max_chunk_bytes=max_chunk_bytes)
            read_events.update(st.stats.events)
    except OSError as e:  # a disk that fills up, a source that cannot be read
        writer.abort()
        raise UserError(f"ingest stopped: {e.strerror or e} ({e.filename or out})") from None
    except BaseException:
        writer.abort()
        raise
    finally:
        bar.close()
        if pool is not None:
            pool.terminate()
            pool.join()
        if run.holdout is not None:
            run.holdout.close()
    games_read = sum(st.games for st in states)
    if games_read == 0:
        writer.abort()
        raise UserError("nothing could be read from " + ", ".join(s.name for s in srcs)
                        + (f" ({dict(read_events)})" if read_events else ""))
    warn.summary()
    if run.kept == 0:
        writer.abort()
        raise UserError(f"kept none of the {games_read} games read from "
                        f"{', '.join(s.name for s in srcs)}: {run.reject_summary()}")
    try:
        writer.finish(**run.manifest(states, read_events, val_fraction=val_fraction,
                                     command=command or python_call("chessformer.data.ingest.ingest")))
    except OSError as e:
        writer.abort()
        raise UserError(f"cannot write the dataset --out {out}: {e.strerror or e}") from None
    dt = time.perf_counter() - t0
    log.info("%s: kept %d of %d games (%.0f games/s) -> %s", ", ".join(s.name for s in srcs),
             run.kept, games_read, games_read / max(dt, 1e-9), out)
    return read_manifest(out)
