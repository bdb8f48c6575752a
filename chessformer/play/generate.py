"""Games between simulated experts, written as ordinary PGN (the library of ``chessformer generate``).

    >>> from chessformer.play.generate import generate
    >>> generate("demo", 2000, "data/generated/demo.pgn", seed=0)   # doctest: +SKIP

Every ordered pair of the preset's experts plays in turn; game ``i`` draws its randomness from
``(seed, i)`` and games are written in order, so the PGN depends only on the arguments, not on the
number of worker processes. Each game's headers carry both experts' names, nominal Elo and full
settings (:func:`describe_settings`), and a game reaching ``max_plies`` is drawn with a
Termination saying so. A summary goes to ``<out>.json`` (:mod:`chessformer.formats.generated`).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import chess
import numpy as np

from chessformer.core.games import DEFAULT_MAX_PLIES, game_end, pgn_string
from chessformer.formats.generated import GenerationSummary, write_summary
from chessformer.play.players import make_player
from chessformer.play.presets import ExpertPool, load_experts
from chessformer.play.spec import EnginePool, PlayerSpec
from chessformer.utils import atomic_path, log, mp_context, progress

__all__ = ["MAX_DEFAULT_WORKERS", "describe_settings", "generate", "play_one"]


#: Worker processes at most when not given (each mostly waits on its engine's pipe): this many,
#: or twice the CPU cores where there are fewer.
MAX_DEFAULT_WORKERS = 4

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


_POOL: EnginePool | None = None


def _init_worker(stockfish: str | None) -> None:
    global _POOL
    _POOL = EnginePool(stockfish)


def play_one(task: tuple[int, int, PlayerSpec, PlayerSpec, int, str]) -> tuple[int, str, str, str, int]:
    """Play game ``index`` between two experts; returns ``(index, pgn, result, termination, plies)``."""
    index, seed, white, black, max_plies, pool_name = task
    assert _POOL is not None
    # Empty hash tables at every game: which games this worker happened to play before must not
    # change Stockfish's answers (measured: two runs of 16,000 games differed by one kept game).
    for eng in _POOL.engines():
        eng.new_game()
    rng = np.random.default_rng([seed, index])
    players = (make_player(white, _POOL), make_player(black, _POOL))
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
             stockfish: str | None = None) -> GenerationSummary:
    """Play ``n_games`` between every ordered pair of experts in turn; write PGN atomically.

    Returns the summary also written to ``<out>.json``. Output depends only on the arguments
    (not on ``workers``): game ``i`` uses the seed ``(seed, i)`` and games are written in order.
    """
    pool = experts if isinstance(experts, ExpertPool) else load_experts(experts)
    out = Path(out)
    workers = workers or min(MAX_DEFAULT_WORKERS, 2 * (os.cpu_count() or 1))
    pairs = [(w, b) for w in pool.experts for b in pool.experts]
    tasks = [(i, seed, *pairs[i % len(pairs)], max_plies, pool.name) for i in range(n_games)]
    log.info("generate: %d games between %d experts (%s) with %d workers -> %s",
             n_games, len(pool.experts), pool.name, workers, out)
    counts: dict[str, int] = {}
    terminations: dict[str, int] = {}
    plies = 0
    t0 = time.perf_counter()
    ctx = mp_context()
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
    summary = GenerationSummary(
        pgn=str(out), pool=pool.name, preset=pool.source, games=n_games, seed=seed,
        max_plies=max_plies, workers=workers, results=counts, terminations=terminations,
        mean_plies=plies / max(n_games, 1), seconds=round(seconds, 1),
        games_per_s=round(n_games / max(seconds, 1e-9), 1),
        experts=[e.to_json() for e in pool.experts])
    write_summary(out, summary)
    log.info("generate: %d games in %.0f s (%.1f games/s), %.0f plies on average",
             n_games, seconds, summary.games_per_s, summary.mean_plies)
    return summary
