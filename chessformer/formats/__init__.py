"""Every file that crosses from one stage to another, and the one module that reads and writes it.

=====================  ==================================  =====================================
file                   written by                          format module
=====================  ==================================  =====================================
``DATASET/``           ``ingest``, ``boards``              :mod:`chessformer.formats.dataset`
  ``manifest.json``    (filters, sources, Elo histogram)
``RUN/run.json``       ``train`` (provenance, options)     :mod:`chessformer.formats.run`
``RUN/metrics.jsonl``  ``train`` (one row per eval)        :mod:`chessformer.formats.run`
``RUN/final_metrics``  ``train``                           :mod:`chessformer.formats.run`
``RUN/latest``         ``train`` (names ``ckpt-STEP/``)    :mod:`chessformer.formats.run`
``RUN/ckpt-STEP/``     ``train`` (weights, optimizer,      :mod:`chessformer.formats.checkpoint`
                       model config, train state)
``EVAL/games.jsonl``   ``eval-vs-stockfish``, ``merge``    :mod:`chessformer.formats.games`
``EVAL/eval.json``     ``eval-vs-stockfish``, ``merge``    :mod:`chessformer.formats.games`
``EVAL/games.pgn``     ``eval-vs-stockfish``, ``merge``    :mod:`chessformer.formats.games`
``GAMES.pgn.json``     ``generate`` (beside its PGN)       :mod:`chessformer.formats.generated`
``ladder-V.json``      ``calibrate`` (and its work folder) :mod:`chessformer.formats.ladder`
``EXP/experiment.*``   ``experiment``                      :mod:`chessformer.formats.experiment`
``KG/summary.json``    ``kg run`` (and corpora, results)   :mod:`chessformer.formats.kg`
=====================  ==================================  =====================================

A stage never spells another stage's file name or JSON keys: it calls the format module. The
binary dataset arrays (tokens, offsets, boards) are read and written by
:mod:`chessformer.data.dataset`, whose file names come from :mod:`chessformer.formats.dataset`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from chessformer.utils import UserError, log


def read_json(path: str | os.PathLike[str], what: str) -> dict[str, Any]:
    """A JSON object from ``path``; :class:`UserError` naming ``what`` and the file otherwise."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise UserError(f"{path}: no {what} here") from e
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise UserError(f"{path}: {what} is not valid JSON: {e}") from e
    if not isinstance(data, dict):
        raise UserError(f"{path}: {what} is not a JSON object")
    return data


def read_json_or_empty(path: str | os.PathLike[str], what: str) -> dict[str, Any]:
    """Like :func:`read_json`, but a missing or damaged file gives ``{}`` (warning if damaged)."""
    try:
        return read_json(path, what)
    except UserError as e:
        if Path(path).exists():
            log.warning("%s; left out", e)
        return {}


def read_jsonl_lines(path: str | os.PathLike[str]) -> list[tuple[int, Any]]:
    """``(line number, value)`` of each line of a JSON-lines file, skipping (with a warning)
    lines that are not valid JSON; no file gives no rows."""
    path = Path(path)
    rows: list[tuple[int, Any]] = []
    if not path.is_file():
        return rows
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            rows.append((lineno, json.loads(line)))
        except json.JSONDecodeError:
            log.warning("%s:%d: not valid JSON; skipped", path, lineno)
    return rows


def json_line(record: dict[str, Any]) -> str:
    """One compact JSON line (with its newline), the form of every ``.jsonl`` file here."""
    return json.dumps(record, separators=(",", ":")) + "\n"
