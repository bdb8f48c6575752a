"""Finding Stockfish, and talking UCI to it (or to any UCI engine) over a raw pipe.

    >>> from chessformer.core.engine import UciEngine, require_stockfish
    >>> with UciEngine(require_stockfish(), {"Skill Level": 1}) as sf:   # doctest: +SKIP
    ...     sf.new_game()
    ...     sf.bestmove(["e2e4"], nodes=1000)
    'e7e5'

python-chess's ``SimpleEngine`` costs about 0.65 ms a move here against 0.2 ms for a raw pipe
(see ../shared/notes), and the arena asks for hundreds of thousands of moves, so this module
speaks the few UCI commands it needs itself. Every read has a deadline: an engine that hangs is
killed and restarted, and the caller gets :class:`EngineError` to decide what to do with the game.
"""

from __future__ import annotations

import os
import re
import select
import shutil
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from chessformer.utils import UserError

__all__ = [
    "EngineError",
    "Limit",
    "UciEngine",
    "find_stockfish",
    "require_stockfish",
    "stockfish_version",
]

_CANDIDATES = ("/usr/games/stockfish", "/usr/local/bin/stockfish", "/opt/homebrew/bin/stockfish",
               "/usr/bin/stockfish")

INSTALL_HINT = (
    "install it with `make stockfish` (runs stockfish/install.sh: apt-get on Debian/Ubuntu, brew on "
    "macOS), or download a build from https://stockfishchess.org/download/ and set "
    "STOCKFISH_PATH=/path/to/stockfish"
)


class EngineError(RuntimeError):
    """The engine died, hung past its deadline, or answered something unusable."""


def find_stockfish(explicit: str | os.PathLike[str] | None = None) -> Path | None:
    """``explicit``, then ``$STOCKFISH_PATH``, then ``stockfish`` on ``PATH``, then usual places."""
    for cand in (explicit, os.environ.get("STOCKFISH_PATH")):
        if cand:
            p = Path(cand).expanduser()
            return p if p.is_file() and os.access(p, os.X_OK) else None
    on_path = shutil.which("stockfish")
    if on_path:
        return Path(on_path)
    for cand in _CANDIDATES:
        if os.access(cand, os.X_OK):
            return Path(cand)
    return None


def require_stockfish(explicit: str | os.PathLike[str] | None = None) -> Path:
    path = find_stockfish(explicit)
    if path is None:
        where = explicit or os.environ.get("STOCKFISH_PATH")
        what = f"Stockfish not found at {where!r}" if where else "Stockfish not found"
        raise UserError(f"{what}: {INSTALL_HINT}")
    return path


def stockfish_version(path: str | os.PathLike[str]) -> str:
    """The version Stockfish reports in ``id name`` (e.g. ``"15.1"``), or ``"unknown"``."""
    with UciEngine(path) as eng:
        m = re.search(r"Stockfish\s+(\S+)", eng.name)
        return m.group(1) if m else "unknown"


@dataclass(frozen=True)
class Limit:
    """How long one search runs. Prefer ``nodes`` or ``depth``: they make games replayable."""

    nodes: int | None = None
    depth: int | None = None
    movetime_ms: int | None = None

    def go(self) -> str:
        parts = ["go"]
        if self.nodes is not None:
            parts += ["nodes", str(self.nodes)]
        if self.depth is not None:
            parts += ["depth", str(self.depth)]
        if self.movetime_ms is not None:
            parts += ["movetime", str(self.movetime_ms)]
        if len(parts) == 1:
            raise ValueError("a Limit needs nodes, depth or movetime_ms")
        return " ".join(parts)

    def describe(self) -> dict[str, int]:
        return {k: v for k, v in (("nodes", self.nodes), ("depth", self.depth),
                                  ("movetime_ms", self.movetime_ms)) if v is not None}


_SCORE = re.compile(r"\bmultipv (\d+) .*?\bscore (cp|mate) (-?\d+).*? pv (\S+)")
_SCORE1 = re.compile(r"\bscore (cp|mate) (-?\d+)")
MATE_CP = 100_000


def _cp(kind: str, value: int) -> int:
    if kind == "cp":
        return value
    # Mate in n for the side to move: huge, and sooner is better.
    return (MATE_CP - abs(value)) * (1 if value > 0 else -1)


#: Options every Stockfish process starts with: one thread (the arena runs one engine per core)
#: and a 1 MB hash (cleared at every game: see ``new_game``).
STOCKFISH_OPTIONS: dict[str, object] = {"Threads": 1, "Hash": 1}


class UciEngine:
    """One engine process. Options are set at start (once per game at most, never per move).

    ``path`` is the engine's binary, or its whole command line as a list (``["lc0",
    "--weights=maia-1100.pb.gz"]``); ``defaults`` are options set before ``options``.
    """

    def __init__(self, path: str | os.PathLike[str] | Sequence[str],
                 options: Mapping[str, object] | None = None, *, timeout: float = 30.0,
                 defaults: Mapping[str, object] = STOCKFISH_OPTIONS) -> None:
        self.argv = [str(path)] if isinstance(path, (str, os.PathLike)) else [str(a) for a in path]
        self.path = self.argv[0]
        self.options = {**defaults, **(options or {})}
        self.timeout = timeout
        self.name = ""
        self._proc: subprocess.Popen[bytes] | None = None
        self._buf = b""
        self.start()

    # -- process management ----------------------------------------------------------------
    def start(self) -> None:
        try:
            self._proc = subprocess.Popen(self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                          stderr=subprocess.DEVNULL, bufsize=0)
        except OSError as e:
            hint = INSTALL_HINT if "stockfish" in Path(self.path).name.lower() else "check its command"
            raise UserError(f"cannot start UCI engine {' '.join(self.argv)}: {e}; {hint}") from e
        self._buf = b""
        self._send("uci")
        for line in self._until("uciok"):
            if line.startswith("id name "):
                self.name = line[8:]
        for name, value in self.options.items():
            self._send(f"setoption name {name} value {value}")
        self.ready()

    def restart(self) -> None:
        self.kill()
        self.start()

    def kill(self) -> None:
        if self._proc is not None:
            try:
                self._proc.kill()
                self._proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                pass
            self._proc = None

    def close(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            try:
                self._send("quit")
                self._proc.wait(timeout=2)
            except (EngineError, subprocess.TimeoutExpired):
                pass
        self.kill()

    def __enter__(self) -> UciEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else self._proc.pid

    # -- protocol ----------------------------------------------------------------------------
    def _send(self, line: str) -> None:
        if self._proc is None or self._proc.stdin is None:
            raise EngineError("engine is not running")
        try:
            self._proc.stdin.write((line + "\n").encode())
        except (BrokenPipeError, OSError) as e:
            raise EngineError(f"engine {self.path} died (pipe closed: {e})") from e

    def _readline(self, deadline: float) -> str:
        assert self._proc is not None and self._proc.stdout is not None
        fd = self._proc.stdout.fileno()
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise EngineError(f"engine {self.path} did not answer within {self.timeout:g} s")
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                raise EngineError(f"engine {self.path} exited (code {self._proc.poll()})")
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return line.decode(errors="replace").rstrip("\r")

    def _until(self, token: str) -> list[str]:
        deadline = time.monotonic() + self.timeout
        lines = []
        while True:
            line = self._readline(deadline)
            lines.append(line)
            if line.startswith(token):
                return lines

    def ready(self) -> None:
        self._send("isready")
        self._until("readyok")

    def new_game(self) -> None:
        self._send("ucinewgame")
        self.ready()

    def _go(self, moves: Sequence[str], limit: Limit, fen: str | None,
            searchmoves: Sequence[str] | None) -> list[str]:
        """Send the position and ``go``; the engine's lines up to and including ``bestmove``.
        ``searchmoves`` restricts the search (UCI: it must be the last argument of ``go``)."""
        base = f"position fen {fen}" if fen else "position startpos"
        self._send(base + (" moves " + " ".join(moves) if moves else ""))
        self._send(limit.go() + (" searchmoves " + " ".join(searchmoves) if searchmoves else ""))
        return self._until("bestmove")

    def bestmove(self, moves: Sequence[str], limit: Limit, *, fen: str | None = None,
                 searchmoves: Sequence[str] | None = None) -> str | None:
        """Best move after ``moves`` (UCI) from the start (or ``fen``), among ``searchmoves`` when
        given; ``None`` if there is none."""
        last = self._go(moves, limit, fen, searchmoves)[-1].split()
        move = last[1] if len(last) > 1 else "(none)"
        return None if move in ("(none)", "0000") else move

    def analyse(self, moves: Sequence[str], limit: Limit, *, multipv: int = 1,
                fen: str | None = None, searchmoves: Sequence[str] | None = None,
                ) -> list[tuple[str, int]]:
        """``[(move, centipawns for the side to move)]``, best first, ``multipv`` lines at most,
        among ``searchmoves`` when given.

        The caller sets ``MultiPV`` once (in the engine's options) when it wants several lines;
        mate scores map to +-(100000 - n).
        """
        best: dict[int, tuple[str, int]] = {}
        for line in self._go(moves, limit, fen, searchmoves):
            if not line.startswith("info") or " pv " not in line:
                continue
            m = _SCORE.search(line)
            if m:  # deeper iterations overwrite shallower ones
                best[int(m.group(1))] = (m.group(4), _cp(m.group(2), int(m.group(3))))
            elif s := _SCORE1.search(line):  # an engine that does not print multipv: one line
                best[1] = (line.split(" pv ", 1)[1].split()[0], _cp(s.group(1), int(s.group(2))))
        return [best[k] for k in sorted(best)][:multipv]
