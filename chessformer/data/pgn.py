"""Streaming PGN reading: raw byte chunks from files of any size, games, headers and SAN moves.

    >>> from chessformer.data import pgn
    >>> src = pgn.expand_sources(["games/*.pgn.zst"])              # doctest: +SKIP
    >>> for chunk in pgn.read_chunks(src[0], pgn.ReadStats()):     # doctest: +SKIP
    ...     for text, end in pgn.split_games(chunk):
    ...         headers, movetext = pgn.parse_headers(text, end)

The reader never holds a whole file: it decompresses (``.pgn.zst`` with ``zstandard``,
``.pgn.bz2``, ``.pgn.gz``, plain ``.pgn`` or ``-`` for stdin) a block at a time and cuts the
text into *chunks* that end on a game boundary (a blank line followed by ``[``), so chunks can be
parsed independently by worker processes. Everything is bytes until a field is needed, so a
non-UTF-8 byte costs nothing until someone reads that field.

Damage is counted, never fatal (the counts go to :class:`ReadStats`, messages to the caller's
``warn`` callback):

* a chunk that grows past ``max_chunk_bytes`` without a game boundary (an absurdly long line or
  game) is dropped from its last blank line up to the next boundary (``oversized_text``): the
  games before it are kept;
* a corrupt zstd frame: decoding resumes at the next zstd frame magic number, if any
  (``corrupt_compressed``; gzip and bz2 cannot resume, the rest of the file is skipped); a
  compressed stream that simply stops is ``truncated_compressed``: every game decoded before
  the cut is kept, in all three formats;
* text before the first ``[`` or between games that is not a game is a game rejected as
  ``no_headers`` (by the caller); so is binary garbage glued to a game's result marker with no
  blank line between (a control character, or bytes that are not UTF-8, after the marker):
  the game ends at its marker and is kept;
* UTF-16 text (Windows tools write it) is re-encoded as UTF-8 and counted as ``utf16_text``.

Parsing is a line/regex scanner (no python-chess) so the header filters run at tens of
thousands of games per second; only games that pass them are replayed, by :func:`replay_san`,
with the compiled resolver of :mod:`chessformer.core.san` when ``numba`` is installed and
python-chess as the reference whenever the resolver refuses a move (so a game is rejected only
when python-chess rejects it too). The usual movetext (ASCII, no comment, variation or NAG) is
read by compiled code as well (:func:`read_moves`); :func:`parse_movetext` reads the rest and
words every error.
"""

from __future__ import annotations

import bz2
import codecs
import functools
import glob
import hashlib
import io
import os
import re
import sys
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import chess
import numpy as np

from chessformer.core import san
from chessformer.core.tokenizer import BOS, UCI_TO_ID
from chessformer.formats.dataset import Reason

__all__ = [
    "MAX_CHUNK_BYTES",
    "NULL_MOVES",
    "IllegalMove",
    "Moves",
    "MovetextError",
    "ReadStats",
    "Source",
    "decode",
    "expand_sources",
    "header_end",
    "last_boundary",
    "parse_headers",
    "parse_movetext",
    "read_chunks",
    "read_moves",
    "replay_python_chess",
    "replay_san",
    "split_games",
    "tag_value",
    "uci_ids",
    "warm_up",
]

PGN_SUFFIXES = (".pgn", ".pgn.zst", ".pgn.bz2", ".pgn.gz")
#: Default largest chunk (and so largest single game or line) the reader accepts: 64 MiB.
MAX_CHUNK_BYTES = 64 << 20
_BLOCK = 1 << 20
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


# ----------------------------------------------------------------------------- sources


@dataclass
class Source:
    """One input: a file path, or ``-`` for standard input."""

    path: str

    @functools.cached_property
    def name(self) -> str:  # cached: the main process names the source of every kept game
        return "<stdin>" if self.path == "-" else os.path.basename(self.path)

    @property
    def compression(self) -> str:
        p = self.path.lower()
        for suffix, kind in ((".zst", "zstd"), (".bz2", "bz2"), (".gz", "gzip")):
            if p.endswith(suffix):
                return kind
        return "none"


def expand_sources(specs: list[str]) -> tuple[list[Source], list[str]]:
    """Files, folders (searched recursively for PGN files), globs and ``-`` -> sources, problems.

    Order is deterministic (sorted within each folder or glob, specs in the order given). A spec
    that names nothing readable is returned as a problem message, not raised: the run goes on.
    """
    out: list[Source] = []
    problems: list[str] = []
    seen: set[str] = set()

    def add(p: str) -> None:
        key = p if p == "-" else os.path.abspath(p)
        if key not in seen:
            seen.add(key)
            out.append(Source(p))

    for spec in specs:
        if spec == "-":
            add("-")
        elif os.path.isdir(spec):
            found = sorted(str(p) for p in Path(spec).rglob("*")
                           if p.is_file() and p.name.lower().endswith(PGN_SUFFIXES))
            if not found:
                problems.append(f"{spec}: folder holds no {'/'.join(PGN_SUFFIXES)} files")
            for p in found:
                add(p)
        elif os.path.isfile(spec):
            add(spec)
        elif glob.has_magic(spec):
            found = sorted(p for p in glob.glob(spec, recursive=True) if os.path.isfile(p))
            if not found:
                problems.append(f"{spec}: the pattern matches no file")
            for p in found:
                add(p)
        else:
            problems.append(f"{spec}: no such file or folder")
    return out, problems


# ----------------------------------------------------------------------------- reading


@dataclass
class ReadStats:
    """What the reader saw in one source: raw size and hash, damage counts."""

    raw_bytes: int = 0
    sha256: str = ""
    events: Counter = field(default_factory=Counter)  # Reason (a read event) -> count
    messages: list = field(default_factory=list)  # (Reason, message), for the caller to log
    complete: bool = False  # reached the end of the source


class _HashingReader(io.RawIOBase):
    """Counts and hashes every raw byte read, so a source is read once for both."""

    def __init__(self, f: BinaryIO, stats: ReadStats) -> None:
        self.f, self.stats, self.h = f, stats, hashlib.sha256()

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        data = self.f.read(n)
        self.h.update(data)
        self.stats.raw_bytes += len(data)
        return data

    def finish(self) -> None:
        """Hash the rest of the source (after an early stop) so the manifest's sha256 is whole."""
        while data := self.f.read(_BLOCK):
            self.h.update(data)
            self.stats.raw_bytes += len(data)
        self.stats.sha256 = self.h.hexdigest()


def _zstd_blocks(raw: _HashingReader, stats: ReadStats, warn: Callable[[Reason, str], None],
                 name: str) -> Iterator[bytes]:
    """Decompressed blocks of a (possibly multi-frame, possibly damaged) zstd stream."""
    import zstandard

    dctx = zstandard.ZstdDecompressor(max_window_size=1 << 31)
    obj = dctx.decompressobj()
    pending = b""
    in_frame = False  # fed bytes of a frame that has not ended
    skipping = False  # after damage: looking for the next frame's magic number
    while True:
        if not pending:
            pending = raw.read(_BLOCK)
            if not pending:
                break
        if skipping:
            i = pending.find(_ZSTD_MAGIC)
            if i < 0:
                pending = pending[-3:] if len(pending) > 3 else b""
                more = raw.read(_BLOCK)
                if not more:
                    break
                pending += more
                continue
            pending = pending[i:]
            skipping = False
            obj = dctx.decompressobj()
        piece, pending = pending[: 1 << 16], pending[1 << 16:]
        try:
            out = obj.decompress(piece)
        except zstandard.ZstdError as e:
            stats.events[Reason.CORRUPT_COMPRESSED] += 1
            warn(Reason.CORRUPT_COMPRESSED,
                 f"{name}: corrupt zstd data ({e}); skipping to the next frame")
            # Restart the search just after this piece's first byte: a later frame may begin
            # inside it. Text already decoded from the damaged frame ends mid-game and is
            # rejected by the parser like any truncated game.
            pending = piece[1:] + pending
            skipping, in_frame = True, False
            yield b"\n\n"  # make sure the damaged game does not run into the next frame's text
            continue
        in_frame = True
        if out:
            yield out
        if obj.eof:
            pending = obj.unused_data + pending
            obj = dctx.decompressobj()
            in_frame = False
    if in_frame and not skipping:
        stats.events[Reason.TRUNCATED_COMPRESSED] += 1
        warn(Reason.TRUNCATED_COMPRESSED, f"{name}: the zstd stream ends in the middle of a "
                                          "frame (truncated download?)")


def _plain_blocks(raw: _HashingReader) -> Iterator[bytes]:
    while data := raw.read(_BLOCK):
        yield data


def _new_decompressor(kind: str):
    return zlib.decompressobj(wbits=16 + zlib.MAX_WBITS) if kind == "gzip" else bz2.BZ2Decompressor()


def _stream_blocks(raw: _HashingReader, stats: ReadStats, warn: Callable[[Reason, str], None],
                   name: str, kind: str) -> Iterator[bytes]:
    """Decompressed blocks of a gzip or bz2 stream (members one after another, as ``cat``
    makes them). Everything decoded before damage or a cut is kept: a stream that stops inside
    a member is ``truncated_compressed``, bytes that do not decode are ``corrupt_compressed``
    (the rest of the file is then not read; neither format can be resynchronised)."""
    dec = _new_decompressor(kind)
    fed = False  # bytes of the current member were fed and it has not ended
    pending = b""
    while True:
        if not pending:
            pending = raw.read(_BLOCK)
            if not pending:
                break
        piece, pending = pending[: 1 << 16], pending[1 << 16:]
        try:
            out = dec.decompress(piece)
        except (OSError, EOFError, ValueError, zlib.error) as e:
            stats.events[Reason.CORRUPT_COMPRESSED] += 1
            warn(Reason.CORRUPT_COMPRESSED,
                 f"{name}: cannot decompress the rest of this {kind} file ({e})")
            return
        fed = True
        if out:
            yield out
        if dec.eof:
            pending = dec.unused_data + pending
            fed = False
            if pending.strip(b"\0"):
                dec = _new_decompressor(kind)
            else:  # zero padding after the last member (tape-style writers)
                pending = b""
    if fed:
        stats.events[Reason.TRUNCATED_COMPRESSED] += 1
        warn(Reason.TRUNCATED_COMPRESSED, f"{name}: the {kind} stream stops in the middle "
                                          "(truncated download?)")


def _utf16_as_utf8(blocks: Iterator[bytes], stats: ReadStats, warn: Callable[[Reason, str], None],
                   name: str) -> Iterator[bytes]:
    """``blocks`` as they are, or, when the text is UTF-16 (a byte-order mark, or a first ``[``
    followed or preceded by a zero byte, as Windows tools write), re-encoded as UTF-8."""
    first = next(blocks, b"")
    enc = ("utf-16" if first.startswith((b"\xff\xfe", b"\xfe\xff")) else
           "utf-16-le" if first.startswith(b"[\x00") else
           "utf-16-be" if first.startswith(b"\x00[") else None)
    if enc is None:
        if first:
            yield first
        yield from blocks
        return
    stats.events[Reason.UTF16_TEXT] += 1
    warn(Reason.UTF16_TEXT, f"{name}: UTF-16 text, read as such")
    dec = codecs.getincrementaldecoder(enc)(errors="replace")
    yield dec.decode(first).encode("utf-8")
    for block in blocks:
        yield dec.decode(block).encode("utf-8")
    yield dec.decode(b"", final=True).encode("utf-8")


def last_boundary(buf: bytes | bytearray, start: int = 0) -> int:
    """Index of the ``[`` that starts the last game after a blank line in ``buf``, or -1: the
    text before it holds whole games only.

    A blank line between two tag lines is passed over when an earlier boundary follows a
    movetext line (ChessBase exports put blank lines inside a game's tags), so a chunk does
    not end inside a game's tags.
    """
    end = len(buf)
    last = -1
    for _ in range(8):
        i = max(buf.rfind(b"\n\n[", start, end), buf.rfind(b"\n\r\n[", start, end))
        if i < 0:
            break
        cut = buf.index(b"[", i)
        if last < 0:
            last = cut
        line = max(start, buf.rfind(b"\n", start, i) + 1)  # the line before the blank line
        if buf[line:line + 1] != b"[":
            return cut
        end = i
    return last


def read_chunks(source: Source, stats: ReadStats, *,
                warn: Callable[[Reason, str], None] | None = None, chunk_bytes: int = 4 << 20,
                max_chunk_bytes: int = MAX_CHUNK_BYTES) -> Iterator[bytes]:
    """Yield text chunks of ``source``, each ending on a game boundary (or at the end).

    Memory is bounded by ``max_chunk_bytes`` plus one decompressed block, whatever the input size.
    ``stats`` is filled as reading goes (``sha256`` and ``complete`` once the generator ends, or is
    closed early: the rest of the file is then hashed without decoding).
    """
    warn = warn or (lambda reason, msg: None)
    name = source.name
    f = sys.stdin.buffer if source.path == "-" else open(source.path, "rb")
    raw = _HashingReader(f, stats)
    try:
        kind = source.compression
        if kind == "zstd":
            blocks = _zstd_blocks(raw, stats, warn, name)
        elif kind in ("bz2", "gzip"):
            blocks = _stream_blocks(raw, stats, warn, name, kind)
        else:
            blocks = _plain_blocks(raw)
        blocks = _utf16_as_utf8(blocks, stats, warn, name)
        buf = bytearray()
        dropping = False  # inside an oversized stretch: discard up to the next boundary
        n_events = 0
        for block in blocks:
            if sum(stats.events.values()) != n_events:
                # Damage: hand over what came before it now, so the caller can tell which game
                # it follows (the last game in it is cut short and gets rejected).
                n_events = sum(stats.events.values())
                if buf and not dropping:
                    yield bytes(buf)
                buf = bytearray()
            scan_from = max(0, len(buf) - 3)
            buf += block
            if dropping:  # resume at the *first* boundary after the oversized stretch
                a, b = buf.find(b"\n\n[", scan_from), buf.find(b"\n\r\n[", scan_from)
                cut = min(x for x in (a, b, len(buf)) if x >= 0)
                cut = buf.index(b"[", cut) if cut < len(buf) else -1
                if cut < 0:
                    del buf[:-3]
                    continue
                del buf[:cut]
                dropping = False
            if len(buf) < chunk_bytes:
                continue
            cut = last_boundary(buf)
            if cut > 0:
                yield bytes(buf[:cut])
                del buf[:cut]
            elif len(buf) > max_chunk_bytes:
                # Keep the paragraphs before the oversized stretch (the games that precede it
                # end with a blank line), skip the rest up to the next game boundary.
                # The warning goes first: the caller names it after the games of this last piece.
                keep = max(buf.rfind(b"\n\n"), buf.rfind(b"\n\r\n"))
                stats.events[Reason.OVERSIZED_TEXT] += 1
                n_events += 1
                warn(Reason.OVERSIZED_TEXT,
                     f"{name}: more than {max_chunk_bytes >> 20} MiB without a game boundary "
                     "(an absurdly long line or game); skipped")
                if keep > 0:
                    yield bytes(buf[:keep])
                buf = bytearray(buf[-3:])
                dropping = True
        if buf and not dropping:
            yield bytes(buf)
        stats.complete = True
    finally:
        raw.finish()
        if f is not sys.stdin.buffer:
            f.close()


# ----------------------------------------------------------------------------- games

_BOM = b"\xef\xbb\xbf"
# In a game's movetext: a tag line, or a blank line (then maybe text after the game).
_ODD_MOVETEXT = re.compile(rb"\n\[|\n[ \t]*\r?\n[ \t\r\n]*\S")
# A blank line, then a tag. It begins with a literal newline (no optional "\r" first) because
# that lets the regex engine skip ahead: 8x faster on a 12 MB chunk, measured. A CRLF game's
# text then keeps its last "\r", which every later step reads as white space.
_GAME_SPLIT = re.compile(rb"\n[ \t\r]*\n(?:[ \t\r]*\n)*(?=\[)")
_NEWLINE_HEADER = re.compile(rb"\n(?=\[[A-Za-z0-9_]+\s+\")")
_HEADER = re.compile(rb'^\[([A-Za-z0-9_]+)[ \t]+"(.*)"[ \t]*\][ \t]*\r?$', re.M)


def split_games(chunk: bytes) -> list[tuple[bytes, int]]:
    """Cut a chunk into the text of each game (headers + movetext, leading white space
    removed), each with its :func:`header_end` (computed here anyway); blank pieces are dropped.

    A header line that follows movetext without the usual blank line still starts a new game.
    UTF-8 byte-order marks (at the start of a file, or of each file in a concatenation) are
    dropped, so that they do not hide the ``[`` of the first tag.
    """
    if _BOM in chunk:
        chunk = chunk.replace(_BOM, b"")
    out: list[tuple[bytes, int]] = []
    keep = out.append
    odd = _ODD_MOVETEXT.search
    binary = _NOT_TEXT.search
    for piece in _GAME_SPLIT.split(chunk):
        if out and piece[:1] == b"[" and _continues_tags(out[-1][0], piece):
            piece = out.pop()[0] + b"\n" + piece
        while piece.strip():
            end = header_end(piece)
            if odd(piece, end) is None and (_ends_with_result(piece) or binary(piece, end) is None):
                # the usual game: one paragraph of moves, no tag after, no binary garbage glued on
                keep((piece, end))
                break
            m = _NEWLINE_HEADER.search(piece, end) if b"\n[" in piece[end:] else None
            stop = len(piece) if m is None else m.start()
            cut = _after_result(piece, end, stop)
            if cut is not None:  # text after the game's last paragraph: a piece of its own
                keep((piece[:cut], end))
                piece = piece[cut:]
            elif m is None:
                keep((piece, end))
                break
            else:
                keep((piece[: m.start()], end))
                piece = piece[m.end():]
    return [_lstrip(piece, end) for piece, end in out]


def _lstrip(piece: bytes, end: int) -> tuple[bytes, int]:
    """``piece`` without leading white space, and its header end moved along (the header
    section's pattern begins with the same white space)."""
    text = piece.lstrip(b" \t\r\n")
    return text, max(0, end - (len(piece) - len(text)))


def _continues_tags(before: bytes, piece: bytes) -> bool:
    """Whether ``piece`` continues the tag section of ``before`` across a blank line (as
    ChessBase exports write): ``before`` is tags only and ``piece`` repeats none of them. A game
    that is tags only followed by the next game (whose tags repeat its names) stays apart."""
    if before[before.rfind(b"\n") + 1:][:1] != b"[":  # the usual case: it ends with moves
        return False
    before = before.strip()
    if header_end(before) < len(before):
        return False
    tags = _HEADER.findall(before)
    if not tags or len(tags) != before.count(b"\n") + 1:  # a line that is not a well-formed tag
        return False
    names = {k for k, _ in tags}
    return names.isdisjoint(k for k, _ in _HEADER.findall(piece, 0, header_end(piece)))

_RESULT_PARAGRAPH_END = re.compile(rb"(?:1-0|0-1|1/2-1/2|\*)[ \t]*\r?\n[ \t]*\r?\n")


def _after_result(piece: bytes, start: int, stop: int) -> int | None:
    """Where text that is not part of the game begins: after a blank line that follows a
    result marker (garbage, or moves without tags, after a finished game), or, in the game's
    last paragraph, just after a result marker that binary garbage follows with no blank line
    between (:func:`_garbage_after_result`). ``None`` if there is no such text between
    ``start`` and ``stop``."""
    cut = None
    if piece.find(b"\n\n", start, stop) >= 0 or piece.find(b"\n\r\n", start, stop) >= 0:
        m = _RESULT_PARAGRAPH_END.search(piece, start, stop)
        if m is not None and piece[m.end():stop].strip():
            cut = m.end()
    last = stop if cut is None else cut  # the game's text, as far as the blank lines tell
    if _NOT_TEXT.search(piece, start, last) is not None:
        cut = _garbage_after_result(piece, start, last) or cut
    return cut


# parse_movetext's white space (str.split's ASCII white space, as _SPACE below).
_WHITE = b" \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f"
_WHITE_SET = frozenset(_WHITE)
_BEFORE_TOKEN = frozenset(_WHITE + b")}")  # what may come just before a token
_RESULT_BYTES = (b"1-0", b"0-1", b"1/2-1/2", b"*")
# A byte that is not ASCII text: a control character other than that white space, or any byte
# of a non-ASCII character.
_NOT_TEXT = re.compile(rb"[\x00-\x08\x0e-\x1b\x7f-\xff]")
_CONTROL = re.compile(rb"[\x00-\x08\x0e-\x1b\x7f]")
_COMMENTS = re.compile(rb"\{[^}]*\}|;[^\n]*")
# In a movetext: comments (passed over), result markers that begin a token (where they may
# end one) and the bytes that are not ASCII text.
_GARBAGE_SCAN = re.compile(rb"\{[^}]*\}|;[^\n]*|(?<![^ \t\n\r\x0b\x0c\x1c-\x1f)}])"
                           rb"(?:1-0|0-1|1/2-1/2|\*)|[\x00-\x08\x0e-\x1b\x7f-\xff]")


def _ends_with_result(text: bytes) -> bool:
    """Whether ``text`` ends with a result marker token (then maybe white space)."""
    if not text:
        return False
    if text[-1] in _WHITE_SET:
        text = text.rstrip(_WHITE)
    if not text.endswith(_RESULT_BYTES):
        return False
    n = 1 if text[-1] == 42 else 7 if text[-2] == 47 else 3  # "*", "1/2-1/2", "1-0" or "0-1"
    return len(text) == n or text[-n - 1] in _BEFORE_TOKEN


def _garbage_after_result(piece: bytes, start: int, stop: int) -> int | None:
    """Where binary garbage glued to a game begins, with no blank line between (a download or
    copy that went wrong, zero padding after a crash): just after the last result marker,
    outside comments, before the first byte that is not ASCII text; provided the text from
    ``start`` to ``stop`` does not end with a result marker (then it is read as it is) and
    what follows that marker, comments left out, holds a control character or is not UTF-8.
    Other text after a result (moves, UTF-8 words) is no garbage: it stays in the game, and
    :func:`parse_movetext` rejects it as ``text_after_result``. A piece without a tag is
    garbage already and is not cut into more. ``None`` if there is no garbage."""
    if _HEADER.search(piece, 0, start) is None:
        return None
    if _ends_with_result(piece[start:stop]):
        return None  # a game that ends with its result marker is read as it is
    cut = None
    for m in _GARBAGE_SCAN.finditer(piece, start, stop):
        c = piece[m.start()]
        if c == 123 or c == 59:  # "{" or ";": a comment
            continue
        if m.end() - m.start() > 1 or c == 42:  # a result marker ("*" is one byte too)
            cut = m.end()
            continue
        break  # the first byte that is not ASCII text
    else:
        return None
    if cut is None:
        return None
    rest = _COMMENTS.sub(b" ", piece[cut:stop])
    if _CONTROL.search(rest) is None:
        try:
            rest.decode("utf-8")
            return None
        except UnicodeDecodeError:
            pass
    return cut


_HEADER_BLOCK = re.compile(rb"(?:[ \t\r\n]*\[[^\n]*(?:\n|\Z))*")


def header_end(text: bytes) -> int:
    """Index where the header section ends (the first line that does not start with ``[``)."""
    return _HEADER_BLOCK.match(text).end()


def parse_headers(text: bytes, end: int | None = None) -> tuple[dict[bytes, bytes], bytes]:
    """A game's text -> (tag -> raw value bytes, movetext bytes). The first value of a tag wins.
    ``end`` is :func:`header_end` of ``text`` when the caller has it."""
    if end is None:
        end = header_end(text)
    tags = _HEADER.findall(text, 0, end)
    tags.reverse()  # so that the first value of a tag is the one left in the dict
    return dict(tags), text[end:]


_TAG_PATTERNS: dict[bytes, re.Pattern] = {}


def tag_value(text: bytes, end: int, name: bytes) -> bytes | None:
    """The value :func:`parse_headers` would give tag ``name`` (its first well-formed line in
    the header section ``text[:end]``), or ``None``; without reading the other tags, which
    takes a few times longer."""
    pattern = _TAG_PATTERNS.get(name)
    if pattern is None:  # _HEADER with the name fixed (and "^" checked by hand below)
        pattern = _TAG_PATTERNS[name] = re.compile(
            rb"\[" + re.escape(name) + rb'[ \t]+"(.*)"[ \t]*\][ \t]*\r?$', re.MULTILINE)
    key = b"[" + name
    i = text.find(key, 0, end)
    while i >= 0:
        if i == 0 or text[i - 1] == 10:  # at the start of a line
            m = pattern.match(text, i, end)
            if m is not None:
                return m.group(1)
        i = text.find(key, i + 1, end)
    return None


def decode(value: bytes) -> tuple[str, bool]:
    """Bytes -> text; ``(text, True)`` when the bytes were not UTF-8 (decoded as Latin-1)."""
    try:
        return value.decode("utf-8"), False
    except UnicodeDecodeError:
        return value.decode("latin-1"), True


# ----------------------------------------------------------------------------- movetext


class MovetextError(ValueError):
    """A game's moves cannot be read; ``reason`` is the counted reject reason."""

    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


_COMMENT = re.compile(r"\{[^}]*\}")
_LINE_COMMENT = re.compile(r";[^\n]*")
_ESCAPE_LINE = re.compile(r"(?m)^%[^\n]*")
_VARIATION = re.compile(r"\([^()]*\)")
# Move numbers ("12." "12..."), NAGs ("$1") and the suffixes "+#!?": none is part of a move.
_MOVE_NUMBER = re.compile(r"\d+\s*\.+")
_NAG = re.compile(r"\$\d*")
_SUFFIXES = str.maketrans("", "", "+#!?")
RESULTS = frozenset(("1-0", "0-1", "1/2-1/2", "*"))


def parse_movetext(movetext: bytes) -> tuple[list[str], str]:
    """Movetext bytes -> (SAN moves, the game-termination marker).

    Comments, variations, NAGs, move numbers and ``!?+#`` suffixes are dropped. Raises
    :class:`MovetextError` for an unterminated comment or variation, or for a movetext with no
    termination marker (a truncated game). Moves are not checked here: see :func:`replay_san`.
    """
    s = movetext.decode("utf-8", errors="replace")
    if "{" in s:
        s = _COMMENT.sub(" ", s)
        if "{" in s:
            raise MovetextError(Reason.UNTERMINATED_COMMENT, "a { comment is never closed")
    if ";" in s:
        s = _LINE_COMMENT.sub(" ", s)
    if "%" in s:
        s = _ESCAPE_LINE.sub(" ", s)
    while "(" in s:
        t = _VARIATION.sub(" ", s)
        if t == s:
            break
        s = t
    if "(" in s or ")" in s:
        raise MovetextError(Reason.UNBALANCED_VARIATION,
                            "a ( variation is not closed (or closed twice)")
    s = s.translate(_SUFFIXES)
    if "$" in s:
        s = _NAG.sub(" ", s)
    if "." in s:
        s = _MOVE_NUMBER.sub(" ", s)
    tokens = s.split()
    moves = tokens[:-1]
    if tokens and tokens[-1] in RESULTS and RESULTS.isdisjoint(moves):
        return moves, tokens[-1]
    for i, tok in enumerate(tokens):
        if tok in RESULTS:
            raise MovetextError(Reason.TEXT_AFTER_RESULT, "text after the result marker: "
                                f"{' '.join(tokens[i + 1:i + 4])!r}")
    raise MovetextError(Reason.TRUNCATED_GAME,
                        "the movetext has no result marker (truncated game?)")


# The compiled scanner below reads the usual movetext (ASCII; no comment, variation, NAG or
# escape line) exactly as parse_movetext does; anything else goes to parse_movetext.
_SPECIAL = np.zeros(256, dtype=np.bool_)
_SPECIAL[128:] = True
_SPECIAL[list(b"{};%()$")] = True
# str.split()'s and the regex \s's ASCII white space.
_SPACE = np.zeros(256, dtype=np.bool_)
_SPACE[[9, 10, 11, 12, 13, 28, 29, 30, 31, 32]] = True
_RESULT_MARKERS = ("1-0", "0-1", "1/2-1/2", "*")


@san.leaf_jit
def _result_code(buf, a, b):
    """Index in ``_RESULT_MARKERS`` of token ``buf[a:b]``, or -1."""
    n = b - a
    if n == 1:
        return 3 if buf[a] == 42 else -1
    if n == 3 and buf[a + 1] == 45:
        if buf[a] == 49 and buf[a + 2] == 48:
            return 0
        if buf[a] == 48 and buf[a + 2] == 49:
            return 1
        return -1
    if n == 7 and buf[a] == 49 and buf[a + 1] == 47 and buf[a + 2] == 50 and buf[a + 3] == 45 \
            and buf[a + 4] == 49 and buf[a + 5] == 47 and buf[a + 6] == 50:
        return 2
    return -1


@san.jit
def _scan_movetext(raw, special, space, out, info):
    """The usual movetext -> its SAN tokens joined by single spaces in ``out`` (the result
    marker left out); ``info`` = (length written, number of moves, result marker index).
    False when the text needs :func:`parse_movetext` (a special character; no result marker
    last or one before: the errors are worded there)."""
    n = len(raw)
    filt = np.empty(n, dtype=np.uint8)  # 1. without the suffixes "+#!?"
    m = 0
    for i in range(n):
        c = raw[i]
        if special[c]:
            return False
        if c != 43 and c != 35 and c != 33 and c != 63:
            filt[m] = c
            m += 1
    # 2. move numbers (a digit run, white space, dots: r"\d+\s*\.+") become white space;
    # 3. tokens split at white space.
    w = 0
    ntok = 0
    last_a = -1
    last_b = -1
    i = 0
    tok_start = -1
    while i <= m:
        c = filt[i] if i < m else 32
        nxt = i + 1
        if 48 <= c <= 57:
            j = i
            while j < m and 48 <= filt[j] <= 57:
                j += 1
            k = j
            while k < m and space[filt[k]]:
                k += 1
            if k < m and filt[k] == 46:
                while k < m and filt[k] == 46:
                    k += 1
                c = 32  # the whole match reads as one white-space character
                nxt = k
            else:  # ordinary digits: part of a token
                if tok_start < 0:
                    tok_start = i
                i = j
                continue
        if space[c]:
            if tok_start >= 0:  # token filt[tok_start:i] ends; write the one before it
                if last_a >= 0:
                    if _result_code(filt, last_a, last_b) >= 0:
                        return False  # text after a result marker
                    if w > 0:
                        out[w] = 32
                        w += 1
                    for q in range(last_a, last_b):
                        out[w] = filt[q]
                        w += 1
                    ntok += 1
                last_a = tok_start
                last_b = i
                tok_start = -1
        elif tok_start < 0:
            tok_start = i
        i = nxt
    if last_a < 0:
        return False
    code = _result_code(filt, last_a, last_b)
    if code < 0:
        return False
    info[0] = w
    info[1] = ntok
    info[2] = code
    return True


@san.jit
def _scan_and_resolve(raw, special, space, out, info, ids, table):
    """:func:`_scan_movetext`, then the resolver on its tokens: ``info[3]`` = its answer."""
    if not _scan_movetext(raw, special, space, out, info):
        return False
    info[3] = san.resolve_into(out[: info[0]], ids, table)
    return True


@dataclass
class Moves:
    """A game's moves as read from its movetext: the SAN tokens joined by single spaces (the
    form :func:`replay_san` takes), their number, the game-termination marker and, when
    :func:`read_moves` was asked to resolve them and could, their token ids (``<bos>`` first)."""

    text: bytes
    count: int
    marker: str
    ids: np.ndarray | None = None

    def sans(self) -> list[str]:
        return self.text.decode().split(" ") if self.text else []


def read_moves(movetext: bytes, *, resolve: bool = False) -> Moves:
    """:func:`parse_movetext` as :class:`Moves`; the usual movetext is read by compiled code
    when ``numba`` is installed (same tokens, same errors), which with ``resolve`` also runs the
    resolver of :mod:`chessformer.core.san` in the same call (one call per game, not two).
    ``ids`` stays ``None`` when the resolver did not run or refused a move: then
    :func:`replay_san` decides."""
    if san.AVAILABLE:
        raw = np.frombuffer(movetext, dtype=np.uint8)
        out = np.empty(raw.size, dtype=np.uint8)
        info = np.zeros(4, dtype=np.int64)
        if resolve:
            ids = np.empty(raw.size // 2 + 2, dtype=np.uint16)
            ok = _scan_and_resolve(raw, _SPECIAL, _SPACE, out, info, ids, san.MOVE_TABLE)
        else:
            ok = _scan_movetext(raw, _SPECIAL, _SPACE, out, info)
        if ok:
            moves = Moves(out[: info[0]].tobytes(), int(info[1]), _RESULT_MARKERS[info[2]])
            if resolve and info[3] >= 0:
                moves.ids = ids[: info[3] + 1]
            return moves
    sans, marker = parse_movetext(movetext)
    return Moves(" ".join(sans).encode(), len(sans), marker)


def warm_up() -> None:
    """Compile (or load from numba's cache) every compiled reader now, e.g. before worker
    processes are forked, rather than in each of them at its first game."""
    if san.AVAILABLE:
        san.warm_up()
        read_moves(b"1. e4 1-0")
        read_moves(b"1. e4 1-0", resolve=True)


# ----------------------------------------------------------------------------- replay


class IllegalMove(ValueError):
    def __init__(self, ply: int, san: str) -> None:
        super().__init__(f"illegal or unparsable move {san!r} at ply {ply + 1}")
        self.ply, self.san = ply, san


def replay_python_chess(sans: list[str], *, boards: list | None = None) -> list[str]:
    """SAN -> UCI by replaying with python-chess; ``boards`` (if given) gets every position's
    encoding (start position first). Raises :class:`IllegalMove`."""
    board = chess.Board()
    out: list[str] = []
    if boards is not None:
        from chessformer.core.boards import encode_board

        boards.append(encode_board(board))
    for i, token in enumerate(sans):
        try:
            move = board.parse_san(token)
        except ValueError:
            raise IllegalMove(i, token) from None
        if not move:  # a null move ("--") is not a chess move and has no token
            raise IllegalMove(i, token)
        out.append(move.uci())
        board.push(move)
        if boards is not None:
            boards.append(encode_board(board))
    return out


#: The null moves python-chess reads ("--", ChessBase's "Z0", "0000", "@@@@"): no chess move.
NULL_MOVES = frozenset(("--", "Z0", "0000", "@@@@"))


def replay_san(moves: list[str] | bytes, *, engine: str = "auto") -> tuple[np.ndarray, bool]:
    """SAN moves (a list, or :attr:`Moves.text`) -> ``uint16`` token ids with ``<bos>`` first,
    checking legality. Returns ``(ids, used_reference)``.

    ``engine="auto"`` uses the compiled resolver (:mod:`chessformer.core.san`) when ``numba`` is
    installed and replays the game with python-chess whenever the resolver refuses a move
    (``used_reference``: an ambiguous, illegal or unusual move), so a game is rejected only when
    python-chess rejects it (:class:`IllegalMove`). A token that is not SAN at all (a null move,
    a typo) goes to python-chess too, without counting as a reference replay.
    ``"python-chess"`` always uses the reference.
    """
    text = moves if isinstance(moves, bytes) else " ".join(moves).encode()
    sans = moves if isinstance(moves, list) else (text.decode().split(" ") if text else [])
    if engine != "python-chess" and san.AVAILABLE:
        r = san.resolve(text)
        if not isinstance(r, int):
            return r, False
        return uci_ids(replay_python_chess(sans)), r == san.REFUSED
    return uci_ids(replay_python_chess(sans)), False


def uci_ids(ucis: list[str]) -> np.ndarray:
    """UCI moves -> ``uint16`` token ids with ``<bos>`` first; :class:`IllegalMove` for a move
    outside the vocabulary (impossible in standard chess: a guard)."""
    try:
        return np.array([BOS, *map(UCI_TO_ID.__getitem__, ucis)], dtype=np.uint16)
    except KeyError as e:  # cannot happen for standard chess; kept as a guard
        raise IllegalMove(len(ucis), f"move without a token: {e}") from None
