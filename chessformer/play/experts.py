"""Simulated experts: the move policy of each expert (base move, noise, book, taxonomy features).

An expert is described in TOML (presets in ``data/experts/``, read and validated by
:mod:`chessformer.play.presets`; games between experts are played by
:mod:`chessformer.play.generate`)::

    [[expert]]
    name = "eps80-a"
    nominal_elo = 800                          # written to the PGN headers; not a measurement
    base = { kind = "stockfish", depth = 1 }   # or nodes = N; or kind = "greedy-capture",
                                               # "random", or "uci" (command, options, a limit)
    noise = { kind = "epsilon", epsilon = 0.8 }  # or kind = "boltzmann", temperature_cp, multipv
    openings = { kind = "book", lines = ["e2e4 e7e5", "d2d4 d7d5"] }  # optional

With probability epsilon the expert plays a uniformly random legal move, otherwise its base move;
the Boltzmann noise samples among Stockfish's ``multipv`` best moves with probability
proportional to ``exp(score_cp / temperature_cp)``. Each expert's randomness comes from the game's
seed, so a game is replayable. Experts with different, uncorrelated mistakes on the same kinds of
positions are the setting of *skill denoising*: a model that takes their majority vote (low
temperature) can beat every one of them.

Taxonomy features (all optional; Abreu et al., 2025)::

    blind_spot = { kind = "squares", squares = ["e4", "d5"] }  # or kind = "piece", piece = "knight";
                                                # or kind = "hash", fraction = 0.4, salt = "a"
    region = { kind = "phase", phases = ["endgame"] }          # or kind = "opening",
                                                # first_moves = ["e2e4", "d2d4 g8f6"]
    outside_noise = { kind = "epsilon", epsilon = 0.9 }        # the noise outside the region
    repertoire = { weight = 4.0 }               # book lines inside the region weigh 4x more

A *blind spot* hides moves from the expert in every game: it never sees (so never plays, not even
as noise) a move onto one of the squares, or by the piece type; a ``hash`` blind spot hides each
(position, move) pair with probability ``fraction`` by a hash, i.e. a weakness that never repeats.
Its base move is Stockfish's best among the visible moves (UCI ``go ... searchmoves``); when every
legal move is hidden it plays a uniformly random legal move. A *region* of expertise is a set of
positions: game phases (:func:`game_phase`: endgame when the non-pawn material of both sides,
N = B = 3, R = 5, Q = 9, is at most 26 of the starting 62; opening in the first 20 plies while that
material is at least 54; middlegame otherwise), or an opening family (the game's first moves begin
with one of ``first_moves``; a game whose moves so far could still begin so is inside). Outside it
the expert's noise is ``outside_noise`` (default epsilon 0.9) instead of ``noise``. The
*repertoire* multiplies the book weight of every opening line that leads into the expert's
(opening-family) region, so the expert plays more games where it is strong: "experts write more
about what they know", the condition of the selection theorem.

:meth:`Expert.move_distribution` gives an expert's exact move distribution in a position (epsilon:
``1 - eps`` on the base move plus ``eps / n_visible`` on each visible move; Boltzmann: the softmax;
book lines, blind spots and regions applied); the explicit ensemble of
:mod:`chessformer.play.ensemble` combines them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import chess
import numpy as np

from chessformer.core.engine import UciEngine
from chessformer.core.games import check_line
from chessformer.play.spec import EnginePool, PlayerSpec, limit_of
from chessformer.utils import UserError

__all__ = [
    "DEFAULT_OUTSIDE_NOISE",
    "PHASES",
    "TAXONOMY_KEYS",
    "BlindSpot",
    "Expert",
    "Region",
    "boltzmann",
    "game_phase",
    "non_pawn_material",
]

_PIECE_VALUE = {chess.PAWN: 1, chess.KNIGHT: 3, chess.BISHOP: 3, chess.ROOK: 5, chess.QUEEN: 9,
                chess.KING: 0}

TAXONOMY_KEYS = ("blind_spot", "region", "outside_noise", "repertoire")
DEFAULT_OUTSIDE_NOISE = {"kind": "epsilon", "epsilon": 0.9}
PHASES = ("opening", "middlegame", "endgame")
#: The phase rule of :func:`game_phase` (non-pawn material of both sides; 62 at the start).
ENDGAME_MAX_MATERIAL = 26
OPENING_MIN_MATERIAL = 54
OPENING_MAX_PLIES = 20
_PHASE_VALUE = {chess.KNIGHT: 3, chess.BISHOP: 3, chess.ROOK: 5, chess.QUEEN: 9}
_PIECE_NAMES = {name: pt for pt, name in enumerate(chess.PIECE_NAMES) if name}


def non_pawn_material(board: chess.Board) -> int:
    """Knights and bishops 3, rooks 5, queens 9, both sides together (62 at the start)."""
    return sum(v * chess.popcount(board.pieces_mask(pt, c))
               for pt, v in _PHASE_VALUE.items() for c in chess.COLORS)


def game_phase(board: chess.Board) -> str:
    """``endgame`` at non-pawn material <= 26; ``opening`` in the first 20 plies while it is >= 54;
    ``middlegame`` otherwise. Material alone cannot tell the opening from an early middlegame (both
    have every piece), hence the ply limit."""
    m = non_pawn_material(board)
    if m <= ENDGAME_MAX_MATERIAL:
        return "endgame"
    if board.ply() < OPENING_MAX_PLIES and m >= OPENING_MIN_MATERIAL:
        return "opening"
    return "middlegame"


@dataclass(frozen=True)
class BlindSpot:
    """Moves an expert never sees: onto ``squares``, by ``piece``, or a hashed ``fraction``."""

    kind: str = "none"
    squares: frozenset[int] = frozenset()
    piece: int | None = None
    fraction: float = 0.0
    salt: str = ""

    @staticmethod
    def check(raw: dict[str, Any], where: str) -> dict[str, Any]:
        kind = raw.get("kind")
        allowed = {"squares": {"kind", "squares"}, "piece": {"kind", "piece"},
                   "hash": {"kind", "fraction", "salt"}, "none": {"kind"}}
        if kind not in allowed:
            raise UserError(f"{where}: blind_spot.kind must be squares, piece or hash, not {kind!r}")
        if unknown := set(raw) - allowed[kind]:
            raise UserError(f"{where}: unknown blind_spot settings {sorted(unknown)}")
        if kind == "squares":
            try:
                [chess.parse_square(sq) for sq in raw.get("squares", [])]
            except ValueError as e:
                raise UserError(f"{where}: blind_spot.squares: {e}") from e
        if kind == "piece" and raw.get("piece") not in _PIECE_NAMES:
            raise UserError(f"{where}: blind_spot.piece must be one of {sorted(_PIECE_NAMES)}")
        if kind == "hash" and not 0 <= float(raw.get("fraction", -1)) <= 1:
            raise UserError(f"{where}: blind_spot.fraction must be in [0, 1]")
        return raw

    @classmethod
    def from_settings(cls, raw: Mapping[str, Any] | None) -> BlindSpot:
        if not raw:
            return cls()
        return cls(str(raw["kind"]), frozenset(chess.parse_square(q) for q in raw.get("squares", [])),
                   _PIECE_NAMES.get(raw.get("piece", "")), float(raw.get("fraction", 0.0)),
                   str(raw.get("salt", "")))

    def hides(self, board: chess.Board, move: chess.Move) -> bool:
        if self.kind == "squares":
            return move.to_square in self.squares
        if self.kind == "piece":
            return board.piece_type_at(move.from_square) == self.piece
        if self.kind == "hash":
            # Keyed on the whole position: a weakness that looks like noise, since positions
            # rarely repeat.
            h = hashlib.blake2b(f"{self.salt}|{board.epd()}|{move.uci()}".encode(), digest_size=8)
            return int.from_bytes(h.digest(), "little") / 2**64 < self.fraction
        return False


@dataclass(frozen=True)
class Region:
    """Where an expert is strong: everywhere, some game phases, or some opening families."""

    kind: str = "everywhere"
    phases: frozenset[str] = frozenset()
    lines: tuple[tuple[str, ...], ...] = ()

    @classmethod
    def from_settings(cls, raw: Mapping[str, Any] | None, where: str = "region") -> Region:
        if not raw:
            return cls()
        kind = raw.get("kind")
        if kind == "phase":
            phases = raw.get("phases", [])
            if not phases or set(raw) - {"kind", "phases"} or set(phases) - set(PHASES):
                raise UserError(f"{where}: region {{ kind = \"phase\" }} needs phases from "
                                f"{list(PHASES)} and nothing else, got {dict(raw)}")
            return cls("phase", frozenset(phases))
        if kind == "opening":
            lines = raw.get("first_moves", [])
            if not lines or set(raw) - {"kind", "first_moves"}:
                raise UserError(f"{where}: region {{ kind = \"opening\" }} needs first_moves "
                                f"(UCI lines) and nothing else, got {dict(raw)}")
            for line in lines:
                check_line(line, f"{where}: region.first_moves: illegal line")
            return cls("opening", lines=tuple(tuple(line.split()) for line in lines))
        raise UserError(f"{where}: region.kind must be phase or opening, not {kind!r}")

    def contains(self, board: chess.Board | None, moves: Sequence[str]) -> bool:
        """Whether the position (``board``, reached by ``moves``) is inside the region."""
        if self.kind == "phase":
            assert board is not None
            return game_phase(board) in self.phases
        if self.kind == "opening":
            n = len(moves)
            return any(list(moves[: len(line)]) == list(line[:n]) for line in self.lines)
        return True


def boltzmann(lines: Sequence[tuple[str, int]], temperature_cp: float) -> np.ndarray:
    """The Boltzmann noise's probabilities of Stockfish's lines ``[(move, cp)]``:
    ``exp(cp / temperature_cp)``, normalised."""
    scores = np.array([cp for _, cp in lines], dtype=float)
    p = np.exp((scores - scores.max()) / temperature_cp)
    return p / p.sum()


class Expert:
    """A simulated expert playing one game (it keeps that game's book line)."""

    def __init__(self, spec: PlayerSpec, pool: EnginePool) -> None:
        self.spec = spec
        s = spec.settings
        self.base = s["base"]
        self.noise = s["noise"]
        self.openings = s["openings"]
        self.blind_spot = BlindSpot.from_settings(s.get("blind_spot"))
        self.region = Region.from_settings(s.get("region"))
        self.outside_noise = s.get("outside_noise", DEFAULT_OUTSIDE_NOISE)
        self.repertoire = float((s.get("repertoire") or {}).get("weight", 1.0))
        self.limit = limit_of(self.base)
        self._pool = pool
        self._engine = None
        self._book_line: list[str] | None = None

    @property
    def engine(self) -> UciEngine:
        if self._engine is None:
            noises = [self.noise] + ([self.outside_noise] if self.region.kind != "everywhere" else [])
            multipv = max((int(n.get("multipv", 8)) for n in noises if n["kind"] == "boltzmann"),
                          default=0)
            options = {"MultiPV": multipv} if multipv else {}
            if self.base["kind"] == "uci":
                self._engine = self._pool.get({**self.base["options"], **options},
                                              command=self.base["command"])
            else:
                self._engine = self._pool.get(options)
        return self._engine

    # Book -----------------------------------------------------------------------------------
    def book_weights(self) -> tuple[list[list[str]], np.ndarray]:
        """The book lines and their weights, repertoire applied (lines into the region x W)."""
        lines = [line.split() for line in self.openings.get("lines", [])]
        weights = np.asarray(self.openings.get("weights", [1.0] * len(lines)), dtype=float)
        if self.repertoire != 1.0:
            weights = weights * np.array([self.repertoire if self.region.contains(None, line) else 1.0
                                          for line in lines])
        return lines, weights

    def _book_move(self, board: chess.Board, moves: Sequence[str], rng: np.random.Generator) -> chess.Move | None:
        lines = self.openings.get("lines", [])
        if self.openings["kind"] != "book" or not lines:
            return None
        if self._book_line is None:
            split, weights = self.book_weights()
            self._book_line = split[int(rng.choice(len(split), p=weights / weights.sum()))]
        line = self._book_line
        if len(moves) < len(line) and list(moves) == line[: len(moves)]:
            return chess.Move.from_uci(line[len(moves)])
        return None

    # Moves ----------------------------------------------------------------------------------
    def noise_at(self, board: chess.Board, moves: Sequence[str]) -> Mapping[str, Any]:
        """``noise`` inside the region of expertise, ``outside_noise`` outside it."""
        if self.region.kind == "everywhere" or self.region.contains(board, moves):
            return self.noise
        return self.outside_noise

    def _analyse(self, moves: Sequence[str], noise: Mapping[str, Any],
                 searchmoves: Sequence[str] | None) -> list[tuple[str, int]]:
        return self.engine.analyse(moves, self.limit, multipv=int(noise.get("multipv", 8)),
                                   searchmoves=searchmoves)

    def base_move(self, board: chess.Board, moves: Sequence[str],
                  searchmoves: Sequence[str] | None = None) -> chess.Move:
        """The base policy's move, among ``searchmoves`` (UCI) when given."""
        if self.base["kind"] == "greedy-capture":
            allowed = None if searchmoves is None else set(searchmoves)
            captures = [m for m in board.legal_moves if board.is_capture(m)
                        and (allowed is None or m.uci() in allowed)]
            if captures:
                def gain(m: chess.Move) -> int:
                    victim = board.piece_type_at(m.to_square) or chess.PAWN  # en passant
                    return _PIECE_VALUE[victim]
                return max(captures, key=lambda m: (gain(m), m.uci()))
        uci = self.engine.bestmove(moves, self.limit, searchmoves=searchmoves)
        if uci is None:
            raise RuntimeError("Stockfish found no move in a position that has legal moves")
        return chess.Move.from_uci(uci)

    def _restriction(self, board: chess.Board) -> tuple[list[chess.Move], list[chess.Move], list[str] | None]:
        """``(legal, visible, searchmoves)``; searchmoves is None when nothing is hidden."""
        legal = list(board.legal_moves)
        if self.blind_spot.kind == "none":
            return legal, legal, None
        visible = [m for m in legal if not self.blind_spot.hides(board, m)]
        return legal, visible, (None if len(visible) == len(legal) else [m.uci() for m in visible])

    def choose(self, board: chess.Board, moves: Sequence[str], rng: np.random.Generator) -> chess.Move:
        book = self._book_move(board, moves, rng)
        if book is not None:
            return book
        legal, visible, search = self._restriction(board)
        if not visible:  # blind to every legal move
            return legal[int(rng.integers(len(legal)))]
        noise = self.noise_at(board, moves)
        kind = noise["kind"]
        if self.base["kind"] == "random" or (kind == "epsilon" and rng.random() < float(noise["epsilon"])):
            return visible[int(rng.integers(len(visible)))]
        if kind == "boltzmann":
            lines = self._analyse(moves, noise, search)
            if lines:
                p = boltzmann(lines, float(noise["temperature_cp"]))
                return chess.Move.from_uci(lines[int(rng.choice(len(lines), p=p))][0])
        return self.base_move(board, moves, search)

    # Distributions ----------------------------------------------------------------------------
    def play_distribution(self, board: chess.Board, moves: Sequence[str]) -> dict[str, float]:
        """The move distribution off the book: the law of :meth:`choose` once the book is left."""
        legal, visible, search = self._restriction(board)
        if not visible:
            return {m.uci(): 1.0 / len(legal) for m in legal}
        if self.base["kind"] == "random":
            return {m.uci(): 1.0 / len(visible) for m in visible}
        noise = self.noise_at(board, moves)
        if noise["kind"] == "boltzmann":
            lines = self._analyse(moves, noise, search)
            if lines:
                p = boltzmann(lines, float(noise["temperature_cp"]))
                out: dict[str, float] = {}
                for (uci, _), q in zip(lines, p):
                    out[uci] = out.get(uci, 0.0) + float(q)
                return out
        base = self.base_move(board, moves, search).uci()
        eps = float(noise["epsilon"]) if noise["kind"] == "epsilon" else 0.0
        out = {m.uci(): eps / len(visible) for m in visible} if eps > 0 else {}
        out[base] = out.get(base, 0.0) + 1.0 - eps
        return out

    def move_distribution(self, board: chess.Board, moves: Sequence[str]) -> dict[str, float]:
        """``{uci: probability}`` of the expert's next move in ``board`` (reached by ``moves``).

        The opening book enters as the expert's belief after the game so far: a book line is
        possible unless the expert's own move already left it; lines still followed give their
        next move, lines the opponent left give the off-book distribution.
        """
        if self.openings["kind"] != "book" or not self.openings.get("lines"):
            return self.play_distribution(board, moves)
        lines, weights = self.book_weights()
        n, me = len(moves), len(moves) % 2
        book: dict[str, float] = {}
        off_book = total = 0.0
        for line, w in zip(lines, weights):
            dev = next((i for i in range(min(n, len(line))) if moves[i] != line[i]), None)
            if dev is not None and dev % 2 == me:
                continue  # the expert itself played off this line: it is not the chosen one
            total += w
            if dev is None and n < len(line):
                book[line[n]] = book.get(line[n], 0.0) + w
            else:
                off_book += w
        if total == 0 or off_book == total:
            return self.play_distribution(board, moves)
        out = {m: w / total for m, w in book.items()}
        if off_book:
            for m, q in self.play_distribution(board, moves).items():
                out[m] = out.get(m, 0.0) + q * off_book / total
        return out
