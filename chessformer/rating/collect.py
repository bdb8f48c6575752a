"""Games to rate, collected from evaluation folders: arena records -> :class:`GameResult`.

An evaluation folder (or a ``games.jsonl`` file) is read through :mod:`chessformer.formats.games`;
this module turns its records into game results for the fit and keeps what the folders say about
them: each player's settings (as the arena recorded them), the ``eval.json`` beside each file, and
how many games were finished or not.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chessformer.formats import games as games_format
from chessformer.formats.games import EvalInfo, GameRecord
from chessformer.rating.counts import RESULT_SCORES, GameResult
from chessformer.utils import UserError


@dataclass
class Results:
    """Finished games of some evaluation files plus what their folders say about them."""

    games: list[GameResult]
    files: list[Path]
    players: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> arena settings
    evals: dict[Path, EvalInfo] = field(default_factory=dict)  # folder -> eval.json
    finished_by_file: dict[Path, int] = field(default_factory=dict)
    unfinished_by_file: dict[Path, int] = field(default_factory=dict)
    records_by_file: dict[Path, list[GameRecord]] = field(default_factory=dict)

    @property
    def finished(self) -> int:
        return sum(self.finished_by_file.values())

    @property
    def unfinished(self) -> int:
        return sum(self.unfinished_by_file.values())

    @property
    def records(self) -> list[GameRecord]:
        """Every record (finished or not) of every file."""
        return [r for f in self.files for r in self.records_by_file[f]]

    def names(self) -> set[str]:
        return {g.white for g in self.games} | {g.black for g in self.games}


def game_results(records: Iterable[GameRecord], key: Any = None,
                 players: dict[str, dict[str, Any]] | None = None,
                 ) -> tuple[list[GameResult], int]:
    """Finished games of arena records, and how many were unfinished (result ``*``).

    A game's ``pair`` key is ``(key, cell, pair)`` so pair numbers of different cells or files
    never merge. Each side's settings go into ``players`` (first seen wins).
    """
    out: list[GameResult] = []
    unfinished = 0
    for rec in records:
        if players is not None:
            for side, name in rec.sides():
                settings = rec.players[side]
                if settings and name not in players:
                    players[name] = dict(settings)
        if rec.result not in RESULT_SCORES:
            unfinished += 1
            continue
        out.append(GameResult(rec.white, rec.black, RESULT_SCORES[rec.result],
                              (key, rec.cell, rec.pair)))
    return out, unfinished


def collect_results(paths: Sequence[str | os.PathLike[str]]) -> Results:
    """Read every games.jsonl (given directly or as a folder) and any eval.json beside it."""
    files: list[Path] = []
    for p in paths:
        path = games_format.games_path(p)
        if not path.is_file():
            raise UserError(f"{p}: no {games_format.GAMES} found (give a {games_format.GAMES} "
                            "file or an evaluation folder holding one)")
        files.append(path)
    res = Results([], files)
    for path in files:
        records = games_format.read_results(path)
        games, unfinished = game_results(records, str(path), res.players)
        res.games += games
        res.records_by_file[path] = records
        res.finished_by_file[path] = len(games)
        res.unfinished_by_file[path] = unfinished
        if games_format.has_eval_info(path.parent):
            res.evals[path.parent] = games_format.read_eval_info(path.parent)
    return res
