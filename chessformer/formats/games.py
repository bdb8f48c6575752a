"""An evaluation folder (written by ``eval-vs-stockfish`` and ``merge``; read by ``rate``,
``report``, ``calibrate`` and ``experiment``).

    EVAL/games.jsonl   one finished game per line, appended as games end (a killed run resumes)
    EVAL/eval.json     the grid, the model, the Stockfish version and ladder, timings
    EVAL/games.pgn     every game as PGN, rebuilt from games.jsonl at the end

A ``games.jsonl`` record: ``id``, ``index``, ``cell``, ``pair``, ``white``, ``black``, ``result``
("1-0", "0-1", "1/2-1/2"), ``termination``, ``plies``, ``seed``, ``opening``, ``players`` (each
side's settings), ``illegal`` and ``model_moves`` per side, ``moves`` (UCI), ``time_s``.
Evaluations live in ``RUN/eval/<grid>/``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from chessformer.core.games import pgn_string
from chessformer.formats import json_line, read_json
from chessformer.formats import run as run_format
from chessformer.utils import UserError, log, write_json_atomic, write_text_atomic

GAMES = "games.jsonl"
EVAL_JSON = "eval.json"
PGN = "games.pgn"
EVAL_DIR = "eval"


def games_path(folder: str | os.PathLike[str]) -> Path:
    """``folder/games.jsonl``, or ``folder`` itself when it names a file."""
    folder = Path(folder)
    return folder if folder.suffix == ".jsonl" else folder / GAMES


def read_results(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Finished games in ``games.jsonl``; a torn last line (killed mid-write) is cut off."""
    path = games_path(path)
    if not path.exists():
        return []
    records, good = [], 0
    with open(path, "rb") as f:
        data = f.read()
    for line in data.splitlines(keepends=True):
        if not line.endswith(b"\n"):
            break
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            break
        good += len(line)
    if good != len(data):
        log.warning("%s: dropping a torn last line (%d bytes) left by an interrupted run",
                    path, len(data) - good)
        with open(path, "r+b") as f:
            f.truncate(good)
    return records


def append_result(f: Any, record: dict[str, Any]) -> None:
    """Append one record to an open ``games.jsonl``, flushed and synced to disk (a kill, or a
    power cut, loses no finished game)."""
    f.write(json_line(record))
    f.flush()
    os.fsync(f.fileno())


def write_results(path: str | os.PathLike[str], records: Sequence[dict[str, Any]]) -> None:
    write_text_atomic(games_path(path), "".join(json_line(r) for r in records))


def read_eval_info(folder: str | os.PathLike[str]) -> dict[str, Any]:
    return read_json(Path(folder) / EVAL_JSON, "evaluation info")


def has_eval_info(folder: str | os.PathLike[str]) -> bool:
    return (Path(folder) / EVAL_JSON).is_file()


def write_eval_info(folder: str | os.PathLike[str], info: dict[str, Any]) -> None:
    write_json_atomic(Path(folder) / EVAL_JSON, info)


def pgn_path(folder: str | os.PathLike[str]) -> Path:
    return Path(folder) / PGN


def write_pgn(records: Sequence[dict[str, Any]], path: str | os.PathLike[str]) -> None:
    """Every record as a PGN game (in ``index`` order), with each side's settings as headers."""
    parts = []
    for r in sorted(records, key=lambda r: r["index"]):
        headers = {
            "Event": f"chessformer eval: {r['cell']}", "Site": f"chessformer://eval/{r['id']}",
            "Date": "????.??.??", "Round": str(r["pair"] + 1), "White": r["white"],
            "Black": r["black"], "Result": r["result"], "Termination": r["termination"],
            "Seed": str(r["seed"]),
        }
        for side in ("white", "black"):
            p = r["players"][side]
            desc = " ".join(f"{k}={v}" for k, v in p.items() if k != "name" and v is not None)
            headers[f"{side.capitalize()}Settings"] = desc.replace('"', "'")
            if p.get("kind") == "model":
                headers["Temperature"] = str(p["temperature"])
                headers["Legality"] = p["legality"]
                headers["IllegalSamples"] = str(r["illegal"][side])
        parts.append(pgn_string(r["moves"], headers))
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
