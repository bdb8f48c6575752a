"""A trained model as a UCI engine (the library of ``chessformer uci``).

    chessformer uci --model runs/demo --temperature 0.001

Speaks UCI over stdin/stdout, so GUIs (Cute Chess, Arena, PyChess, En Croissant), tournament
managers (cutechess-cli, fastchess) and lichess-bot can load the model. Commands: ``uci``,
``isready``, ``ucinewgame``, ``position startpos|fen FEN [moves ...]``, ``go`` (every time
control or limit is accepted and ignored: the model answers at once, with one forward pass per
new ply; after ``go infinite`` or ``go ponder`` the answer waits for ``stop`` or ``ponderhit``),
``stop``, ``quit``, and ``setoption`` of three options:

``Temperature`` (string, a number > 0)
    the sampling temperature (near 0: the model's most likely move).
``Legality`` (combo ``masked`` | ``raw``)
    ``masked`` samples among legal moves only; ``raw`` samples from every move token and, after
    :data:`~chessformer.model.inference.MAX_RAW_TRIES` illegal samples, forfeits by answering
    ``bestmove 0000`` (a GUI scores it as an illegal move: the arena's forfeit).
``Seed`` (spin)
    the seed of the sampling generator, reset by ``ucinewgame`` and by setting the option.

Before each ``bestmove`` the engine prints ``info string`` with the move's probability under
the sampling distribution and the number of illegal samples. A position given as a FEN with no
moves before it is read the way :mod:`chessformer.model.inference` says: a ``moves+board``
model sees the position itself; a ``moves``-only model sees only the moves after the FEN, as if
they had been played from the usual start, so its moves there are weaker (masked legality
keeps them legal). Malformed commands get an ``info string error: ...`` line and are ignored,
as UCI asks.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import TextIO

import chess
import numpy as np

from chessformer.core import tokenizer as tok
from chessformer.model.inference import (
    LEGALITY,
    ModelSettings,
    PositionDecoder,
    move_probabilities,
    sample_move,
)

__all__ = ["DEFAULT_SETTINGS", "ENGINE_NAME", "UciServer"]

ENGINE_NAME = "chessformer"
#: The engine's sampling until a ``setoption`` says otherwise: the model's most likely legal move.
DEFAULT_SETTINGS = ModelSettings(temperature=0.001, legality="masked")


class UciServer:
    """Answers UCI commands for one model; :meth:`run` reads them until ``quit`` or end of input."""

    def __init__(self, model, *, name: str = ENGINE_NAME,
                 settings: ModelSettings = DEFAULT_SETTINGS, seed: int = 0, device: str = "cpu",
                 out: TextIO = sys.stdout) -> None:
        self.decoder = PositionDecoder(model, device=device)
        self.name = name
        self.settings = settings
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.out = out
        self.fen: str | None = None
        self.moves: list[str] = []
        self.board: chess.Board | None = chess.Board()
        self.pending: str | None = None  # the bestmove of ``go infinite|ponder``, until stop

    def say(self, line: str) -> None:
        self.out.write(line + "\n")
        self.out.flush()

    def run(self, lines: Iterable[str]) -> None:
        for line in lines:
            if not self.handle(line):
                return

    def handle(self, line: str) -> bool:
        """Answer one command; False after ``quit``."""
        words = line.split()
        if not words:
            return True
        cmd, args = words[0], words[1:]
        if cmd == "quit":
            return False
        if cmd == "uci":
            self.say(f"id name {self.name}")
            self.say("id author chessformer")
            self.say(f"option name Temperature type string default {self.settings.temperature:g}")
            self.say("option name Legality type combo default "
                     f"{self.settings.legality} " + " ".join(f"var {m}" for m in LEGALITY))
            self.say(f"option name Seed type spin default {self.seed} min 0 max 2147483647")
            self.say("uciok")
        elif cmd == "isready":
            self.say("readyok")
        elif cmd == "ucinewgame":
            self.rng = np.random.default_rng(self.seed)
        elif cmd == "position":
            self.position(args)
        elif cmd == "go":
            self.go(hold="infinite" in args or "ponder" in args)
        elif cmd in ("stop", "ponderhit"):
            if self.pending:
                self.say(self.pending)
                self.pending = None
        elif cmd == "setoption":
            self.setoption(args)
        elif cmd not in ("debug", "register"):
            self.say(f"info string error: unknown command {cmd!r}")
        return True

    def position(self, args: list[str]) -> None:
        """``startpos|fen F1 .. F6 [moves m1 m2 ...]``; an illegal one leaves no position."""
        self.board = None
        try:
            split = args.index("moves") if "moves" in args else len(args)
            head, moves = args[:split], args[split + 1:]
            if head == ["startpos"]:
                fen = None
            elif head and head[0] == "fen" and len(head) > 1:
                fen = " ".join(head[1:])
            else:
                raise ValueError(f"expected startpos or fen, got {' '.join(head)!r}")
            board = chess.Board(fen) if fen else chess.Board()
            for uci in moves:
                move = chess.Move.from_uci(uci)
                if move not in board.legal_moves:
                    raise ValueError(f"illegal move {uci} in {board.fen()}")
                board.push(move)
        except ValueError as e:
            self.say(f"info string error: position: {e}")
            return
        self.fen, self.moves, self.board = fen, moves, board

    def go(self, hold: bool = False) -> None:
        """Answer at once; after ``go infinite`` or ``go ponder`` (``hold``) the ``bestmove``
        waits for ``stop`` or ``ponderhit``, as UCI requires."""
        lines = self.choose()
        if hold:
            self.pending = lines.pop()
        for line in lines:
            self.say(line)

    def choose(self) -> list[str]:
        """The ``info string`` and ``bestmove`` lines of the current position."""
        board = self.board
        if board is None or not any(board.legal_moves):
            return ["info string no position or no legal move", "bestmove (none)"]
        logits = self.decoder.logits(self.moves, self.fen)
        move, illegal = sample_move(logits, board, self.settings, self.rng)
        s = self.settings
        if move is None:
            return [f"info string forfeit: {illegal} illegal samples (legality raw, "
                    f"temperature {s.temperature:g})", "bestmove 0000"]
        p, _ = move_probabilities(logits, board, s)
        prob = float(p[tok.uci_to_id(move.uci())])
        return [f"info string move {move.uci()} probability {prob:.4f} temperature "
                f"{s.temperature:g} legality {s.legality} illegal_samples {illegal}",
                f"bestmove {move.uci()}"]

    def setoption(self, args: list[str]) -> None:
        """``name N value V`` for Temperature, Legality or Seed."""
        try:
            name = " ".join(args[args.index("name") + 1: args.index("value")]).lower()
            value = " ".join(args[args.index("value") + 1:])
        except ValueError:
            self.say(f"info string error: setoption needs name and value, got {' '.join(args)!r}")
            return
        try:
            if name == "temperature":
                t = float(value)
                if not t > 0:
                    raise ValueError("Temperature must be > 0")
                self.settings = ModelSettings(t, self.settings.legality)
            elif name == "legality":
                if value not in LEGALITY:
                    raise ValueError(f"Legality must be one of {', '.join(LEGALITY)}")
                self.settings = ModelSettings(self.settings.temperature, value)
            elif name == "seed":
                self.seed = int(value)
                self.rng = np.random.default_rng(self.seed)
            else:
                raise ValueError(f"no option {name!r}")
        except ValueError as e:
            self.say(f"info string error: setoption: {e}")
