"""An evaluation folder (written by ``eval-vs-stockfish`` and ``merge``; read by ``rate``,
``report``, ``calibrate`` and ``experiment``).

    EVAL/games.jsonl   one finished game per line, appended as games end (a killed run resumes)
    EVAL/eval.json     the grid, the model, the Stockfish version and ladder, timings
    EVAL/games.pgn     every game as PGN, rebuilt from games.jsonl at the end

A ``games.jsonl`` line is a :class:`GameRecord` (its fields say what each key holds); the arena
builds them, every reader gets them from :func:`read_results`, and a line with a missing,
unknown or mistyped key is an error naming the file, the line and the key. Evaluations live in
``RUN/eval/<grid>/``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from chessformer.core.games import pgn_string
from chessformer.formats import json_line
from chessformer.formats import records as records_format
from chessformer.formats import run as run_format
from chessformer.utils import UserError, log, write_text_atomic

GAMES = "games.jsonl"
EVAL_JSON = "eval.json"
PGN = "games.pgn"
EVAL_DIR = "eval"


SIDES = ("white", "black")


@dataclass(frozen=True)
class GameRecord(records_format.Record):
    """One game of ``games.jsonl``, as the arena wrote it when the game ended.

    Schema version 1 (:attr:`SCHEMA`), which every release so far has written: the lines carry
    no version key. ``abort_reason`` and ``adjudication`` are written only when set.
    """

    SCHEMA: ClassVar[int] = 1
    OMIT_NONE: ClassVar[tuple[str, ...]] = ("abort_reason", "adjudication")

    #: ``g`` and the game's index in six digits
    id: str
    #: the game's place in the grid's task list (what a resumed or sharded run skips by)
    index: int
    #: the grid cell: ``"<model> T=<temperature> <legality> vs <opponent>"``, or a match's name
    cell: str
    #: the colour-swapped pair within the cell (both games of a pair share an opening)
    pair: int
    #: the players' names, as ratings name them
    white: str
    black: str
    #: ``1-0``, ``0-1``, ``1/2-1/2``, or ``*`` (unfinished: aborted, or capped without adjudication)
    result: str
    #: how it ended: checkmate, stalemate, ..., forfeit_illegal, adjudicated, move_cap, aborted
    termination: str
    plies: int
    #: the seed of the game's players' generators
    seed: int
    #: the opening plies played before the players took over (UCI)
    opening: list[str]
    #: each side's settings (``PlayerSpec.to_json``: kind, name and what the kind needs)
    players: dict[str, dict[str, Any]]
    #: illegal samples per side (the model's side only; 0 for the other)
    illegal: dict[str, int]
    #: moves the model chose per side (0 for the side it did not play)
    model_moves: dict[str, int]
    #: every ply in UCI, the opening included
    moves: list[str]
    #: wall seconds the game took
    time_s: float
    #: why an aborted game was aborted (an engine that failed twice, ...)
    abort_reason: str | None = None
    #: a capped game's adjudication: Stockfish's evaluation, or why there was none
    adjudication: dict[str, Any] | str | None = None

    @classmethod
    def from_json(cls, data: Any, where: str) -> GameRecord:
        rec = super().from_json(data, where)
        for name in ("players", "illegal", "model_moves"):
            value = getattr(rec, name)
            want = dict if name == "players" else int
            if set(value) != set(SIDES) or not all(isinstance(value[s], want) for s in SIDES):
                raise records_format.RecordError(
                    f"{where}: field {name!r} of a GameRecord should map white and black to "
                    f"{want.__name__}s, got {value!r:.80}")
        return rec

    def sides(self) -> tuple[tuple[str, str], tuple[str, str]]:
        """``(("white", its player's name), ("black", its player's name))``."""
        return ("white", self.white), ("black", self.black)


def games_path(folder: str | os.PathLike[str]) -> Path:
    """``folder/games.jsonl``, or ``folder`` itself when it names a file."""
    folder = Path(folder)
    return folder if folder.suffix == ".jsonl" else folder / GAMES


def read_results(path: str | os.PathLike[str]) -> list[GameRecord]:
    """Finished games in ``games.jsonl``; a torn last line (killed mid-write) is cut off. A line
    that is valid JSON but not a :class:`GameRecord` is an error naming the file and line."""
    path = games_path(path)
    if not path.exists():
        return []
    records, good = [], 0
    with open(path, "rb") as f:
        data = f.read()
    for lineno, line in enumerate(data.splitlines(keepends=True), 1):
        if not line.endswith(b"\n"):
            break
        try:
            raw = json.loads(line)
        except json.JSONDecodeError:
            break
        records.append(GameRecord.from_json(raw, f"{path}:{lineno}"))
        good += len(line)
    if good != len(data):
        log.warning("%s: dropping a torn last line (%d bytes) left by an interrupted run",
                    path, len(data) - good)
        with open(path, "r+b") as f:
            f.truncate(good)
    return records


def append_result(f: Any, record: GameRecord) -> None:
    """Append one record to an open ``games.jsonl``, flushed and synced to disk (a kill, or a
    power cut, loses no finished game)."""
    f.write(json_line(record.to_json()))
    f.flush()
    os.fsync(f.fileno())


def write_results(path: str | os.PathLike[str], records: Sequence[GameRecord]) -> None:
    write_text_atomic(games_path(path), "".join(json_line(r.to_json()) for r in records))


@dataclass(frozen=True)
class EvalInfo(records_format.Record):
    """``eval.json``: what an evaluation played, with what, and how long it took.

    Schema version 1 (:attr:`SCHEMA`, which every release so far has written; no version key).
    The arena writes it when it starts (the fields up to ``started``) and again when it ends
    (``finished`` and the timings); ``merge`` adds ``merged_from``. Fields still ``None`` are
    not written.
    """

    SCHEMA: ClassVar[int] = 1
    OMIT_NONE: ClassVar[tuple[str, ...]] = (
        "finished", "played_now", "seconds", "games_per_s", "moves_per_s", "model_s",
        "model_share", "unfinished", "merged_from")

    #: the grid's name, its file, and every setting it was played with (``grid_json``)
    grid: str
    grid_file: str | None
    grid_settings: dict[str, Any]
    #: the run folder of the model, None for a grid of model-free matches; its label in results
    model_run: str | None
    label: str
    #: ``{"path": ..., "version": ...}`` of the Stockfish that played and adjudicated
    stockfish: dict[str, Any]
    #: the calibrated ladder found for that version, and the anchors the ratings will hold
    ladder: str | None
    anchors: dict[str, float]
    seed: int
    #: ``i/n`` for a shard, ``0/1`` for a whole grid, ``merged`` after ``merge``
    shard: str
    #: the games of this shard (all of them for a whole grid)
    games: int
    command: str
    code_version: str
    #: UTC, ISO 8601, to the second
    started: str
    finished: str | None = None
    #: games played by this session (a resumed run counts only its own)
    played_now: int | None = None
    seconds: float | None = None
    games_per_s: float | None = None
    moves_per_s: float | None = None
    #: seconds in the model's forward passes, and their share of the wall time
    model_s: float | None = None
    model_share: float | None = None
    #: games recorded with result ``*``
    unfinished: int | None = None
    #: the shard folders a merged evaluation was joined from
    merged_from: list[str] | None = None

    @property
    def stockfish_version(self) -> str | None:
        version = self.stockfish.get("version")
        return None if version is None else str(version)


def read_eval_info(folder: str | os.PathLike[str]) -> EvalInfo:
    return EvalInfo.load(Path(folder) / EVAL_JSON, "evaluation info")


def has_eval_info(folder: str | os.PathLike[str]) -> bool:
    return (Path(folder) / EVAL_JSON).is_file()


def write_eval_info(folder: str | os.PathLike[str], info: EvalInfo) -> None:
    info.save(Path(folder) / EVAL_JSON)


def pgn_path(folder: str | os.PathLike[str]) -> Path:
    return Path(folder) / PGN


def write_pgn(records: Sequence[GameRecord], path: str | os.PathLike[str]) -> None:
    """Every record as a PGN game (in ``index`` order), with each side's settings as headers."""
    parts = []
    for r in sorted(records, key=lambda r: r.index):
        headers = {
            "Event": f"chessformer eval: {r.cell}", "Site": f"chessformer://eval/{r.id}",
            "Date": "????.??.??", "Round": str(r.pair + 1), "White": r.white,
            "Black": r.black, "Result": r.result, "Termination": r.termination,
            "Seed": str(r.seed),
        }
        for side in SIDES:
            p = r.players[side]
            desc = " ".join(f"{k}={v}" for k, v in p.items() if k != "name" and v is not None)
            headers[f"{side.capitalize()}Settings"] = desc.replace('"', "'")
            if p.get("kind") == "model":
                headers["Temperature"] = str(p["temperature"])
                headers["Legality"] = p["legality"]
                headers["IllegalSamples"] = str(r.illegal[side])
        parts.append(pgn_string(r.moves, headers))
    write_text_atomic(path, "".join(parts))


def default_eval_dir(run: str | os.PathLike[str], grid_name: str) -> Path:
    return Path(run) / EVAL_DIR / grid_name


def find_eval_folders(run: str | os.PathLike[str]) -> list[Path]:
    """Evaluation folders of a RUN (its ``eval/*/``), or RUN itself if it holds games.jsonl."""
    run = Path(run)
    if (run / GAMES).is_file():
        return [run]
    found = sorted(p.parent for p in (run / EVAL_DIR).glob(f"*/{GAMES}"))
    if not found:
        raise UserError(f"{run}: no evaluation results (expected {run}/{EVAL_DIR}/<grid>/{GAMES}); "
                        "run `chessformer eval-vs-stockfish` first")
    return found


def run_of(folder: str | os.PathLike[str]) -> Path | None:
    """The training run an evaluation folder belongs to (RUN/eval/<grid>/ -> RUN)."""
    cand = Path(folder).parent.parent
    return cand if run_format.is_run(cand) else None
