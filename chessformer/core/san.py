"""A compiled SAN resolver: a game's SAN moves -> token ids, without building a board object.

    >>> from chessformer.core import san
    >>> san.resolve(b"e4 e5 Nf3 Nc6")              # doctest: +SKIP
    array([   1,  ...], dtype=uint16)              # <bos> and one id per move

It replays a game on a 64-square mailbox board (no bitboards: nothing here needs 64-bit
unsigned arithmetic) inside one ``numba``-compiled function, so there is no Python object per
move. python-chess stays the reference: the resolver accepts a move only when exactly one legal
move of python-chess's ``parse_san`` candidates matches it (same syntax, ``SAN_REGEX`` plus
castling; same masks: the piece letter, the file/rank hints, the pawn's own file when no file
is given, promotion required exactly on the last rank), and *refuses* everything else (an
ambiguous or illegal move, a fully specified pawn-less move like ``e2e4`` that python-chess
reads with ``find_move``, a token it cannot read). A refused game is replayed by python-chess,
which then either converts it or rejects it: a game is never rejected by this module alone.

:data:`AVAILABLE` is false when ``numba`` is not installed; callers then use python-chess.
The first call compiles the function (seconds) or loads it from numba's on-disk cache;
:func:`warm_up` does that up front, e.g. before worker processes are forked.
"""

from __future__ import annotations

import numpy as np

from chessformer.core.tokenizer import BOS, MOVES, SPECIALS

__all__ = ["AVAILABLE", "MOVE_TABLE", "REFUSED", "SYNTAX", "jit", "leaf_jit", "resolve",
           "resolve_into", "warm_up"]

try:  # optional accelerator (pyproject's "fast" extra)
    import numba as _numba
except ImportError:  # pragma: no cover - depends on the environment
    _numba = None

AVAILABLE = _numba is not None

#: Return codes of :func:`resolve_into` (a game's move count otherwise).
SYNTAX = -1  # a token is not SAN (nor castling): python-chess decides (null moves, typos)
REFUSED = -2  # a move that is not exactly one legal move here: python-chess decides

_PROMO_CODE = {"": 0, "n": 1, "b": 2, "r": 3, "q": 4}


def _move_table() -> np.ndarray:
    """(promotion code * 4096 + from * 64 + to) -> token id, -1 where no token exists."""
    table = np.full(5 * 4096, -1, dtype=np.int32)
    files = "abcdefgh"
    for i, uci in enumerate(MOVES):
        frm = (int(uci[1]) - 1) * 8 + files.index(uci[0])
        to = (int(uci[3]) - 1) * 8 + files.index(uci[2])
        table[_PROMO_CODE[uci[4:]] * 4096 + frm * 64 + to] = i + len(SPECIALS)
    return table


#: (promotion code * 4096 + from * 64 + to) -> token id: the vocabulary, passed to the compiled
#: code as an argument (numba's cache would not notice a change of a global).
MOVE_TABLE = _move_table()

# Pieces: 1 pawn, 2 knight, 3 bishop, 4 rook, 5 queen, 6 king; white positive, black negative.
_START = np.array([4, 2, 3, 5, 6, 3, 2, 4] + [1] * 8 + [0] * 32 + [-1] * 8
                  + [-4, -2, -3, -5, -6, -3, -2, -4], dtype=np.int8)
_KNIGHT_DF = np.array([1, 2, 2, 1, -1, -2, -2, -1], dtype=np.int64)
_KNIGHT_DR = np.array([2, 1, -1, -2, -2, -1, 1, 2], dtype=np.int64)
# Rook directions first (0-3), then bishop directions (4-7); the king steps in all eight.
_DIR_DF = np.array([1, -1, 0, 0, 1, 1, -1, -1], dtype=np.int64)
_DIR_DR = np.array([0, 0, 1, -1, 1, -1, 1, -1], dtype=np.int64)


def jit(fn, **options):
    """``fn`` compiled by numba (cached on disk), or ``fn`` itself when numba is absent."""
    if _numba is None:
        return fn
    try:
        return _numba.njit(cache=True, nogil=True, **options)(fn)
    except RuntimeError:  # pragma: no cover - no cache folder can be written: compile per process
        return _numba.njit(nogil=True, **options)(fn)


def leaf_jit(fn):
    """:func:`jit` for a function that allocates nothing: compiled without numba's reference
    counting, which otherwise makes every array argument of every call an atomic increment and
    decrement; the resolver was 4x slower with it (167 against 45 ns a move on knight moves,
    measured). Callers hold the references for the time of the call. (``_nrt`` is numba's own
    option for this; a numba without it compiles the function the usual way.)"""
    if _numba is not None and not hasattr(_numba.core.cpu.CPUTargetOptions, "_nrt"):
        return jit(fn)  # pragma: no cover - depends on the numba version
    return jit(fn, _nrt=False)


@leaf_jit
def _ray_end(board, sq, d):
    """The first occupied square from ``sq`` in direction ``d`` (``_DIR_DF``/``_DIR_DR``), or -1."""
    df = _DIR_DF[d]
    dr = _DIR_DR[d]
    f = (sq & 7) + df
    r = (sq >> 3) + dr
    while 0 <= f < 8 and 0 <= r < 8:
        if board[r * 8 + f] != 0:
            return r * 8 + f
        f += df
        r += dr
    return -1


@leaf_jit
def _attacked(board, sq, s):
    """Whether square ``sq`` is attacked by the side of sign ``s`` (1 white, -1 black)."""
    f = sq & 7
    r = sq >> 3
    pr = r - s  # the rank the attacking pawns stand on
    if 0 <= pr < 8:
        if f > 0 and board[pr * 8 + f - 1] == s:
            return True
        if f < 7 and board[pr * 8 + f + 1] == s:
            return True
    for i in range(8):
        ff = f + _KNIGHT_DF[i]
        rr = r + _KNIGHT_DR[i]
        if 0 <= ff < 8 and 0 <= rr < 8 and board[rr * 8 + ff] == 2 * s:
            return True
    for d in range(8):
        t = _ray_end(board, sq, d)
        if t >= 0:
            pc = board[t]
            if pc == 5 * s or pc == (4 * s if d < 4 else 3 * s):
                return True
            if pc == 6 * s and abs((t & 7) - f) <= 1 and abs((t >> 3) - (sq >> 3)) <= 1:
                return True
    return False


@leaf_jit
def _is_legal(board, frm, to, ep_victim, s, king):
    """Whether moving ``board[frm]`` to ``to`` (capturing on ``ep_victim`` too when >= 0)
    leaves the mover's king (on ``king``, or ``to`` when the king moves) unattacked."""
    moved = board[frm]
    captured = board[to]
    board[to] = moved
    board[frm] = 0
    victim = 0
    if ep_victim >= 0:
        victim = board[ep_victim]
        board[ep_victim] = 0
    safe = not _attacked(board, to if moved == 6 * s else king, -s)
    board[frm] = moved
    board[to] = captured
    if ep_victim >= 0:
        board[ep_victim] = victim
    return safe


@leaf_jit
def _castle(board, st, queen_side, table):
    """Castle for the side to move if legal; the token id, or ``REFUSED``."""
    s = st[0]
    base = 0 if s == 1 else 56
    right = (1 if queen_side else 2) << (0 if s == 1 else 2)
    if not st[3] & right or board[base + 4] != 6 * s:
        return -2
    rook = base if queen_side else base + 7
    if board[rook] != 4 * s:
        return -2
    empty_from = base + 1 if queen_side else base + 5
    empty_to = base + 3 if queen_side else base + 6
    for sq in range(empty_from, empty_to + 1):
        if board[sq] != 0:
            return -2
    step = -1 if queen_side else 1
    for k in range(3):  # the king's square, the one it crosses and the one it lands on
        if _attacked(board, base + 4 + step * k, -s):
            return -2
    to = base + 4 + 2 * step
    board[base + 4] = 0
    board[to] = 6 * s
    board[rook] = 0
    board[base + 4 + step] = 4 * s
    st[1 if s == 1 else 2] = to
    st[3] &= ~((1 | 2) << (0 if s == 1 else 2))
    st[4] = -1
    st[0] = -s
    return table[(base + 4) * 64 + to]


@leaf_jit
def _parse(san, i, j, out):
    """Read token ``san[i:j]`` as python-chess's ``SAN_REGEX`` (suffixes already removed):
    ``out`` = piece (0 pawn or 2-6), from file, from rank (-1 when absent), target, promotion
    code (0 none, 1-4 n b r q, 5 king). False when it does not match."""
    k = j
    promo = 0
    c = san[k - 1]
    if c >= 97:  # lower case
        c -= 32
    if c == 78 or c == 66 or c == 82 or c == 81 or c == 75:  # N B R Q K
        promo = 1 if c == 78 else 2 if c == 66 else 3 if c == 82 else 4 if c == 81 else 5
        k -= 1
        if k > i and san[k - 1] == 61:  # "="
            k -= 1
    if k - i < 2:
        return False
    tf = san[k - 2] - 97
    tr = san[k - 1] - 49
    if not (0 <= tf < 8 and 0 <= tr < 8):
        return False
    k -= 2
    p = i
    piece = 0
    ff = -1
    fr = -1
    if p < k:
        c = san[p]
        if c == 78 or c == 66 or c == 82 or c == 81 or c == 75:
            piece = 2 if c == 78 else 3 if c == 66 else 4 if c == 82 else 5 if c == 81 else 6
            p += 1
    if p < k and 97 <= san[p] <= 104:
        ff = san[p] - 97
        p += 1
    if p < k and 49 <= san[p] <= 56:
        fr = san[p] - 49
        p += 1
    if p < k and (san[p] == 45 or san[p] == 120):  # "-" "x"
        p += 1
    if p != k:
        return False
    out[0] = piece
    out[1] = ff
    out[2] = fr
    out[3] = tr * 8 + tf
    out[4] = promo
    return True


@leaf_jit
def _piece_move(board, st, piece, ff, fr, to, cand):
    """The legal moves of a piece (2-6) of the side to move to ``to`` whose from-square matches
    the hints; their from-squares go into ``cand``. Returns how many."""
    s = st[0]
    king = st[1] if s == 1 else st[2]
    n = 0
    f = to & 7
    r = to >> 3
    want = piece * s
    if piece == 2 or piece == 6:
        for i in range(8):
            if piece == 2:
                sf = f + _KNIGHT_DF[i]
                sr = r + _KNIGHT_DR[i]
            else:
                sf = f + _DIR_DF[i]
                sr = r + _DIR_DR[i]
            if (0 <= sf < 8 and 0 <= sr < 8 and board[sr * 8 + sf] == want
                    and (ff < 0 or sf == ff) and (fr < 0 or sr == fr)
                    and _is_legal(board, sr * 8 + sf, to, -1, s, king)):
                cand[n] = sr * 8 + sf
                n += 1
        return n
    d0 = 4 if piece == 3 else 0
    d1 = 4 if piece == 4 else 8
    for d in range(d0, d1):
        t = _ray_end(board, to, d)
        if (t >= 0 and board[t] == want and (ff < 0 or (t & 7) == ff) and (fr < 0 or (t >> 3) == fr)
                and _is_legal(board, t, to, -1, s, king)):
            cand[n] = t
            n += 1
    return n


@leaf_jit
def _pawn_move(board, st, ff, fr, to, cand):
    """The legal pawn moves to ``to`` from file ``ff`` (and rank ``fr`` when >= 0): from-squares
    into ``cand``, ``cand[4]`` = the en-passant victim's square or -1. Returns how many."""
    s = st[0]
    king = st[1] if s == 1 else st[2]
    n = 0
    f = to & 7
    r = to >> 3
    sr = r - s
    cand[4] = -1
    if not 0 <= sr < 8 or (fr >= 0 and fr != sr and fr != sr - s):
        return 0
    target = board[to]
    if ff == f:  # pushes
        if target == 0:
            frm = sr * 8 + f
            if board[frm] == s and (fr < 0 or fr == sr):
                if _is_legal(board, frm, to, -1, s, king):
                    cand[n] = frm
                    n += 1
            elif board[frm] == 0 and r == (3 if s == 1 else 4) and (fr < 0 or fr == sr - s):
                frm = (sr - s) * 8 + f
                if board[frm] == s and _is_legal(board, frm, to, -1, s, king):
                    cand[n] = frm
                    n += 1
        return n
    if (ff != f - 1 and ff != f + 1) or (fr >= 0 and fr != sr):
        return 0
    frm = sr * 8 + ff
    if board[frm] != s:
        return 0
    if target * s < 0:
        if _is_legal(board, frm, to, -1, s, king):
            cand[n] = frm
            n += 1
    elif target == 0 and to == st[4] and _is_legal(board, frm, to, sr * 8 + f, s, king):
        cand[n] = frm
        cand[4] = sr * 8 + f
        n += 1
    return n


@leaf_jit
def _play(board, st, san, i, j, parsed, cand, table):
    """Play token ``san[i:j]`` for the side to move: its token id, ``SYNTAX`` or ``REFUSED``."""
    length = j - i
    if (length == 3 or length == 5) and (san[i] == 79 or san[i] == 48):  # "O" "0"
        c = san[i]
        ok = san[i + 1] == 45 and san[i + 2] == c
        if length == 5:
            ok = ok and san[i + 3] == 45 and san[i + 4] == c
        if ok:
            return _castle(board, st, length == 5, table)
    if not _parse(san, i, j, parsed):
        return -1
    piece = parsed[0]
    ff = parsed[1]
    fr = parsed[2]
    to = parsed[3]
    promo = parsed[4]
    s = st[0]
    if board[to] * s > 0:
        return -2
    if piece == 0:
        if ff >= 0 and fr >= 0:
            return -2  # python-chess reads a fully specified move with find_move: let it
        last = (to >> 3) == (7 if s == 1 else 0)
        if last != (1 <= promo <= 4):
            return -2
        n = _pawn_move(board, st, ff if ff >= 0 else to & 7, fr, to, cand)
    else:
        if promo != 0:
            return -2
        n = _piece_move(board, st, piece, ff, fr, to, cand)
    if n != 1:
        return -2
    frm = cand[0]
    tid = table[promo * 4096 + frm * 64 + to]
    if tid < 0:
        return -2
    moved = board[frm]
    if piece == 0:
        if cand[4] >= 0:
            board[cand[4]] = 0
        if promo != 0:
            moved = (promo + 1) * s
    board[to] = moved
    board[frm] = 0
    if piece == 6:
        st[1 if s == 1 else 2] = to
    for sq in (frm, to):  # a king or rook leaving, or a rook captured: rights are lost
        if sq == 0:
            st[3] &= ~1
        elif sq == 7:
            st[3] &= ~2
        elif sq == 4:
            st[3] &= ~3
        elif sq == 56:
            st[3] &= ~4
        elif sq == 63:
            st[3] &= ~8
        elif sq == 60:
            st[3] &= ~12
    st[4] = frm + 8 * s if piece == 0 and (to - frm) * s == 16 else -1
    st[0] = -s
    return tid


@jit
def resolve_into(san, out, table):
    """Replay ``san`` (ASCII SAN tokens separated by single spaces, no suffixes) from the
    start position, writing ``<bos>`` and one token id per move into ``out`` (at least one more
    slot than there are tokens), ``table`` being :data:`MOVE_TABLE`. Returns the number of moves, ``SYNTAX`` or ``REFUSED``."""
    board = _START.copy()
    st = np.empty(5, dtype=np.int64)  # side to move, white king, black king, rights, ep square
    st[0] = 1
    st[1] = 4
    st[2] = 60
    st[3] = 15
    st[4] = -1
    parsed = np.empty(5, dtype=np.int64)
    cand = np.empty(8, dtype=np.int64)
    out[0] = BOS
    n = len(san)
    i = 0
    moves = 0
    while i < n:
        j = i
        while j < n and san[j] != 32:
            j += 1
        if j > i:
            tid = _play(board, st, san, i, j, parsed, cand, table)
            if tid < 0:
                return tid
            moves += 1
            out[moves] = tid
        i = j + 1
    return moves


def resolve(san: bytes) -> np.ndarray | int:
    """Space-separated SAN moves -> ``uint16`` ids with ``<bos>`` first, or ``SYNTAX`` /
    ``REFUSED`` (then python-chess must decide)."""
    buf = np.frombuffer(san, dtype=np.uint8)
    out = np.empty(buf.size // 2 + 2, dtype=np.uint16)  # a token is at least 2 bytes + a space
    n = resolve_into(buf, out, MOVE_TABLE)
    return n if n < 0 else out[: n + 1]


def warm_up() -> None:
    """Compile (or load from numba's cache) the resolver now rather than at the first game."""
    if AVAILABLE:
        resolve(b"e4")
