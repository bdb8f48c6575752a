"""Simulated experts, and ``chessformer generate``: games between them written as ordinary PGN.

    chessformer generate --experts data/experts/demo.toml --games 2000 --out data/generated/demo.pgn

An expert is described in TOML (presets in ``data/experts/``)::

    [[expert]]
    name = "eps80-a"
    nominal_elo = 800                          # written to the PGN headers; not a measurement
    base = { kind = "stockfish", depth = 1 }   # or nodes = N; or kind = "greedy-capture" / "random"
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
book lines, blind spots and regions applied). The explicit :class:`Ensemble` player (arena kind
``ensemble``, built by :func:`ensemble_spec`) asks every expert of a preset for it and plays the
plurality of their most likely moves, or the argmax of the averaged distribution.
"""

from __future__ import annotations

import hashlib
import multiprocessing as mp
import os
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import chess
import numpy as np

from chessformer.play.engine import _SCORE, _SCORE1, Limit, UciEngine, _cp
from chessformer.core.games import DEFAULT_MAX_PLIES, check_line, game_end, pgn_string
from chessformer.play.players import EnginePool, PlayerSpec, limit_of, make_player
from chessformer.utils import UserError, atomic_path, log, progress, read_toml, write_json_atomic

__all__ = ["BlindSpot", "Ensemble", "Expert", "ExpertPool", "Region", "combine_distributions",
           "ensemble_spec", "game_phase", "generate", "load_experts", "non_pawn_material",
           "subset_pool"]

_PIECE_VALUE = {chess.PAWN: 1, chess.KNIGHT: 3, chess.BISHOP: 3, chess.ROOK: 5, chess.QUEEN: 9,
                chess.KING: 0}


@dataclass(frozen=True)
class ExpertPool:
    name: str
    experts: tuple[PlayerSpec, ...]
    source: str = ""
    description: str = ""


def _check_noise(noise: dict[str, Any], where: str, name: str, key: str = "noise") -> None:
    if noise.get("kind") not in ("none", "epsilon", "boltzmann"):
        raise UserError(f"{where}: expert {name!r}: {key}.kind must be none, epsilon or "
                        f"boltzmann, not {noise.get('kind')!r}")
    if noise["kind"] == "epsilon" and not 0 <= float(noise.get("epsilon", -1)) <= 1:
        raise UserError(f"{where}: expert {name!r}: {key}.epsilon must be in [0, 1]")
    if noise["kind"] == "boltzmann" and float(noise.get("temperature_cp", 0)) <= 0:
        raise UserError(f"{where}: expert {name!r}: {key}.temperature_cp must be > 0")


def _check_expert(raw: dict[str, Any], where: str) -> PlayerSpec:
    if "name" not in raw:
        raise UserError(f"{where}: every [[expert]] needs a name")
    name = raw["name"]
    base = dict(raw.get("base", {"kind": "stockfish", "depth": 1}))
    noise = dict(raw.get("noise", {"kind": "none"}))
    openings = dict(raw.get("openings", {"kind": "none"}))
    if base.get("kind") not in ("stockfish", "greedy-capture", "random"):
        raise UserError(f"{where}: expert {raw['name']!r}: base.kind must be stockfish, "
                        f"greedy-capture or random, not {base.get('kind')!r}")
    if base["kind"] in ("stockfish", "greedy-capture") and not any(k in base for k in ("nodes", "depth", "movetime_ms")):
        base["depth"] = 1
    _check_noise(noise, where, name)
    if openings.get("kind") not in ("none", "book"):
        raise UserError(f"{where}: expert {raw['name']!r}: openings.kind must be none or book")
    for line in openings.get("lines", []):
        check_line(line, f"{where}: expert {raw['name']!r}: illegal book line")
    if "weights" in openings and len(openings["weights"]) != len(openings.get("lines", [])):
        raise UserError(f"{where}: expert {name!r}: openings.weights needs one weight per line")
    # Taxonomy features: validated here, stored only when given (older presets keep their
    # settings, and so their PGN headers, unchanged).
    taxonomy: dict[str, Any] = {}
    if "blind_spot" in raw:
        taxonomy["blind_spot"] = BlindSpot.check(dict(raw["blind_spot"]), f"{where}: expert {name!r}")
    region = None
    if "region" in raw:
        taxonomy["region"] = dict(raw["region"])
        region = Region.from_settings(taxonomy["region"], f"{where}: expert {name!r}")
    if "outside_noise" in raw:
        if region is None:
            raise UserError(f"{where}: expert {name!r}: outside_noise needs a region")
        taxonomy["outside_noise"] = dict(raw["outside_noise"])
        _check_noise(taxonomy["outside_noise"], where, name, "outside_noise")
    elif region is not None:
        taxonomy["outside_noise"] = dict(DEFAULT_OUTSIDE_NOISE)
    if "repertoire" in raw:
        rep = dict(raw["repertoire"])
        if region is None or region.kind != "opening":
            raise UserError(f"{where}: expert {name!r}: repertoire weights book lines that lead "
                            "into the expert's region, so it needs region.kind = \"opening\"")
        if float(rep.get("weight", 0)) <= 0 or set(rep) - {"weight"}:
            raise UserError(f"{where}: expert {name!r}: repertoire must be {{ weight = W }}, W > 0")
        if openings["kind"] != "book":
            raise UserError(f"{where}: expert {name!r}: repertoire needs an openings book")
        taxonomy["repertoire"] = rep
    known = {"name", "nominal_elo", "base", "noise", "openings", "description", *TAXONOMY_KEYS}
    extra = {k: v for k, v in raw.items() if k not in known}
    settings = {"nominal_elo": raw.get("nominal_elo"), "base": base, "noise": noise,
                "openings": openings, **taxonomy, **extra}
    return PlayerSpec(str(raw["name"]), "expert", settings)


def load_experts(path: str | os.PathLike[str]) -> ExpertPool:
    """Read an expert preset (TOML); a bare name means ``data/experts/<name>.toml``."""
    p, raw = read_toml(path, folder="data/experts", what="expert preset")
    experts = [_check_expert(e, str(p)) for e in raw.get("expert", [])]
    if not experts:
        raise UserError(f"{p}: no [[expert]] entries")
    names = [e.name for e in experts]
    if len(set(names)) != len(names):
        raise UserError(f"{p}: expert names must be unique, got {names}")
    pool = raw.get("pool", {})
    return ExpertPool(pool.get("name", p.stem), tuple(experts), str(p), pool.get("description", ""))


# -- taxonomy features: blind spots, regions of expertise ----------------------------------------

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

    @classmethod
    def from_settings(cls, spec: PlayerSpec, pool: EnginePool) -> Expert:
        return cls(spec, pool)

    @property
    def engine(self) -> UciEngine:
        if self._engine is None:
            noises = [self.noise] + ([self.outside_noise] if self.region.kind != "everywhere" else [])
            multipv = max((int(n.get("multipv", 8)) for n in noises if n["kind"] == "boltzmann"),
                          default=0)
            self._engine = self._pool.get({"MultiPV": multipv} if multipv else {})
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
    def visible_moves(self, board: chess.Board) -> list[chess.Move]:
        """Legal moves outside the blind spot, in python-chess's generation order (deterministic)."""
        legal = list(board.legal_moves)
        if self.blind_spot.kind == "none":
            return legal
        return [m for m in legal if not self.blind_spot.hides(board, m)]

    def noise_at(self, board: chess.Board, moves: Sequence[str]) -> Mapping[str, Any]:
        """``noise`` inside the region of expertise, ``outside_noise`` outside it."""
        if self.region.kind == "everywhere" or self.region.contains(board, moves):
            return self.noise
        return self.outside_noise

    def _search(self, moves: Sequence[str], limit: Limit, searchmoves: Sequence[str] | None) -> list[str]:
        """``go`` restricted to ``searchmoves`` (UCI: it must be the last argument of ``go``)."""
        eng = self.engine
        eng._position(moves, None)
        eng._send(limit.go() + (" searchmoves " + " ".join(searchmoves) if searchmoves else ""))
        return eng._until("bestmove")

    def _analyse(self, moves: Sequence[str], noise: Mapping[str, Any],
                 searchmoves: Sequence[str] | None) -> list[tuple[str, int]]:
        multipv = int(noise.get("multipv", 8))
        if searchmoves is None:
            return self.engine.analyse(moves, self.limit, multipv=multipv)
        best: dict[int, tuple[str, int]] = {}
        for line in self._search(moves, self.limit, searchmoves):
            if not line.startswith("info") or " pv " not in line:
                continue
            if m := _SCORE.search(line):
                best[int(m.group(1))] = (m.group(4), _cp(m.group(2), int(m.group(3))))
            elif sc := _SCORE1.search(line):
                best[1] = (line.split(" pv ", 1)[1].split()[0], _cp(sc.group(1), int(sc.group(2))))
        return [best[k] for k in sorted(best)][:multipv]

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
        if searchmoves is None:
            uci = self.engine.bestmove(moves, self.limit)
        else:
            last = self._search(moves, self.limit, searchmoves)[-1].split()
            uci = last[1] if len(last) > 1 and last[1] not in ("(none)", "0000") else None
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
                scores = np.array([cp for _, cp in lines], dtype=float)
                z = (scores - scores.max()) / float(noise["temperature_cp"])
                p = np.exp(z)
                return chess.Move.from_uci(lines[int(rng.choice(len(lines), p=p / p.sum()))][0])
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
                scores = np.array([cp for _, cp in lines], dtype=float)
                p = np.exp((scores - scores.max()) / float(noise["temperature_cp"]))
                p /= p.sum()
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


# -- the explicit ensemble ------------------------------------------------------------------

ENSEMBLE_RULES = ("plurality", "mean")


def combine_distributions(dists: Sequence[Mapping[str, float]], rule: str,
                          rng: np.random.Generator) -> str:
    """The ensemble's move: ``plurality`` of the experts' most likely moves (an expert whose
    distribution has k tied modes gives each 1/k of a vote; ties between moves go to the larger
    summed probability), or the argmax of the ``mean`` distribution. Remaining ties: ``rng``."""
    if rule not in ENSEMBLE_RULES:
        raise ValueError(f"ensemble rule must be one of {ENSEMBLE_RULES}, not {rule!r}")
    mass: Counter[str] = Counter()
    votes: Counter[str] = Counter()
    for d in dists:
        top = max(d.values())
        modes = [m for m, p in d.items() if p >= top - 1e-12]
        for m in modes:
            votes[m] += 1.0 / len(modes)
        for m, p in d.items():
            mass[m] += p
    key = (lambda m: (round(votes[m], 9), round(mass[m], 12))) if rule == "plurality" \
        else (lambda m: round(mass[m], 12))
    best = max(key(m) for m in mass)
    tied = sorted(m for m in mass if key(m) == best)
    return tied[0] if len(tied) == 1 else tied[int(rng.integers(len(tied)))]


class Ensemble:
    """Asks every member expert for its move distribution and combines them (see
    :func:`combine_distributions`): the "ensembling" reference a low-temperature model approaches."""

    def __init__(self, spec: PlayerSpec, pool: EnginePool) -> None:
        self.spec = spec
        self.rule = str(spec.settings.get("rule", "plurality"))
        members = spec.settings.get("members") or []
        if not members:
            raise ValueError(f"ensemble {spec.name!r} has no members")
        self.members = [Expert(PlayerSpec(str(m["name"]), "expert",
                                          {k: v for k, v in m.items() if k not in ("name", "kind")}),
                               pool) for m in members]

    @classmethod
    def from_settings(cls, spec: PlayerSpec, pool: EnginePool) -> Ensemble:
        return cls(spec, pool)

    def distributions(self, board: chess.Board, moves: Sequence[str]) -> list[dict[str, float]]:
        return [e.move_distribution(board, moves) for e in self.members]

    def choose(self, board: chess.Board, moves: Sequence[str], rng: np.random.Generator) -> chess.Move:
        return chess.Move.from_uci(combine_distributions(self.distributions(board, moves),
                                                         self.rule, rng))


def ensemble_spec(raw: Mapping[str, Any]) -> PlayerSpec:
    """The player of an ``{ kind = "ensemble", preset = P, rule = "plurality"|"mean" }`` entry
    (optional ``only = [names]``, ``name``). Its settings hold the members' full settings, so the
    spec alone rebuilds it in another process and every game record says what it was."""
    where = f"ensemble opponent {dict(raw)}"
    if unknown := set(raw) - {"kind", "preset", "rule", "only", "name"}:
        raise UserError(f"{where}: unknown settings {sorted(unknown)}")
    rule = str(raw.get("rule", "plurality"))
    if rule not in ENSEMBLE_RULES:
        raise UserError(f"{where}: rule must be plurality or mean, not {rule!r}")
    pool = load_experts(raw.get("preset", "demo"))
    only = raw.get("only")
    members = [e for e in pool.experts if only is None or e.name in only]
    if not members:
        raise UserError(f"{where}: no expert of preset {pool.name!r} is selected")
    name = raw.get("name") or f"ensemble {pool.name} {rule}" + (f" ({'+'.join(only)})" if only else "")
    return PlayerSpec(str(name), "ensemble", {"preset": pool.name, "rule": rule,
                                              "members": [e.to_json() for e in members]})


def subset_pool(pool: ExpertPool, only: Sequence[str] | None = None,
                openings: Sequence[str] | None = None, weights: Sequence[float] | None = None,
                name: str | None = None) -> ExpertPool:
    """Some experts of ``pool`` (``only``), optionally with every book replaced by ``openings``."""
    experts = [e for e in pool.experts if only is None or e.name in only]
    if only is not None and len(experts) != len(set(only)):
        missing = set(only) - {e.name for e in experts}
        raise UserError(f"expert preset {pool.name}: no experts named {sorted(missing)}")
    if openings is not None:
        book: dict[str, Any] = {"kind": "book", "lines": list(openings)}
        if weights is not None:
            book["weights"] = list(weights)
        experts = [_check_expert({"name": e.name, **{k: v for k, v in e.settings.items()
                                                     if k != "openings" and v is not None},
                                  "openings": book}, f"{pool.name} with new openings")
                   for e in experts]
    return replace(pool, name=name or pool.name, experts=tuple(experts))


def describe_settings(settings: dict[str, Any], prefix: str = "") -> str:
    """``{"noise": {"kind": "epsilon", "epsilon": 0.8}}`` -> ``"noise.kind=epsilon noise.epsilon=0.8"``.

    PGN tag values cannot hold raw quotes, so nested settings are flattened to key=value words.
    """
    words = []
    for key, value in settings.items():
        if isinstance(value, dict):
            inner = describe_settings(value, f"{prefix}{key}.")
            if inner:
                words.append(inner)
        elif value is not None:
            text = " ".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)
            words.append(f"{prefix}{key}=" + text.replace('"', "'").replace(" ", "_"))
    return " ".join(words)


# -- generation ---------------------------------------------------------------------------------

_WORKER_POOL: EnginePool | None = None


def _init_worker(stockfish: str | None) -> None:
    global _WORKER_POOL
    _WORKER_POOL = EnginePool(stockfish)


def play_one(task: tuple[int, int, PlayerSpec, PlayerSpec, int, str]) -> tuple[int, str, str, str, int]:
    """Play game ``index`` between two experts; returns ``(index, pgn, result, termination, plies)``."""
    index, seed, white, black, max_plies, pool_name = task
    assert _WORKER_POOL is not None
    # Empty hash tables at every game: which games this worker happened to play before must not
    # change Stockfish's answers (measured: two runs of 16,000 games differed by one kept game).
    for eng in _WORKER_POOL.engines():
        eng.new_game()
    rng = np.random.default_rng([seed, index])
    players = (make_player(white, _WORKER_POOL), make_player(black, _WORKER_POOL))
    board = chess.Board()
    moves: list[str] = []
    end = game_end(board)
    while end is None and len(moves) < max_plies:
        move = players[len(moves) % 2].choose(board, moves, rng)
        board.push(move)
        moves.append(move.uci())
        end = game_end(board)
    result, termination = end if end else ("1/2-1/2", "adjudicated: move cap, no evaluation")
    headers = {
        "Event": f"chessformer simulated experts ({pool_name})",
        "Site": f"chessformer://generate/{pool_name}/{seed}/{index}",
        "Date": "????.??.??",
        "Round": str(index + 1),
        "White": white.name,
        "Black": black.name,
        "Result": result,
        "WhiteElo": str(white.settings.get("nominal_elo") or "?"),
        "BlackElo": str(black.settings.get("nominal_elo") or "?"),
        "Termination": termination,
        "WhiteSettings": describe_settings(white.settings),
        "BlackSettings": describe_settings(black.settings),
    }
    return index, pgn_string(moves, headers), result, termination, len(moves)


def generate(experts: str | os.PathLike[str] | ExpertPool, n_games: int, out: str | os.PathLike[str], *,
             seed: int = 0, workers: int | None = None, max_plies: int = DEFAULT_MAX_PLIES,
             stockfish: str | None = None) -> dict[str, Any]:
    """Play ``n_games`` between every ordered pair of experts in turn; write PGN atomically.

    Returns the summary also written to ``<out>.json``. Output depends only on the arguments
    (not on ``workers``): game ``i`` uses the seed ``(seed, i)`` and games are written in order.
    """
    pool = experts if isinstance(experts, ExpertPool) else load_experts(experts)
    out = Path(out)
    workers = workers or min(4, 2 * (os.cpu_count() or 1))
    pairs = [(w, b) for w in pool.experts for b in pool.experts]
    tasks = [(i, seed, *pairs[i % len(pairs)], max_plies, pool.name) for i in range(n_games)]
    log.info("generate: %d games between %d experts (%s) with %d workers -> %s",
             n_games, len(pool.experts), pool.name, workers, out)
    counts: dict[str, int] = {}
    terminations: dict[str, int] = {}
    plies = 0
    t0 = time.perf_counter()
    ctx = mp.get_context("spawn" if os.name != "posix" else "fork")
    with atomic_path(out) as tmp, open(tmp, "w", encoding="utf-8") as f, \
            ctx.Pool(workers, initializer=_init_worker, initargs=(stockfish,)) as procs:
        bar = progress(total=n_games, desc="generate", unit="game")
        for _, text, result, termination, n in procs.imap(play_one, tasks, chunksize=4):
            f.write(text)
            counts[result] = counts.get(result, 0) + 1
            terminations[termination] = terminations.get(termination, 0) + 1
            plies += n
            bar.update(1)
        bar.close()
        f.flush()
    seconds = time.perf_counter() - t0
    summary = {
        "pgn": str(out), "pool": pool.name, "preset": pool.source, "games": n_games, "seed": seed,
        "max_plies": max_plies, "workers": workers, "results": counts,
        "terminations": terminations, "mean_plies": plies / max(n_games, 1),
        "seconds": round(seconds, 1), "games_per_s": round(n_games / max(seconds, 1e-9), 1),
        "experts": [e.to_json() for e in pool.experts],
    }
    write_json_atomic(out.with_suffix(out.suffix + ".json"), summary)
    log.info("generate: %d games in %.0f s (%.1f games/s), %.0f plies on average",
             n_games, seconds, summary["games_per_s"], summary["mean_plies"])
    return summary
