"""``analyze humans``: a model against real players' own moves, per rating bin of the player to
move (Maia's and Allie's move matching; the transcendence paper's expected reward, move by move).

    chessformer analyze humans --model runs/humans --games data/datasets/humans/holdout.pgn

1. The positions: every move of the games (read with python-chess, from the standard start)
   after the first ``skip_plies`` plies, where the player to move has a rating in a bin and, when
   the game has ``%clk`` comments, had at least ``min_clock`` seconds before the move (the clock
   after that player's previous move; for a player's first move, after the move itself). A seeded
   uniform sample of ``positions`` of them (reservoir sampling: memory grows with the sample, not
   with the games).
2. The games must not be in the model's training data: each game's content hash (players and
   moves, :func:`chessformer.formats.dataset.game_key`) is checked against every game of the
   dataset the run trained on (``run.json``); one overlapping game refuses the whole analysis.
3. The model's exact move distribution in each position at each temperature, the decoder reading
   the game's moves from its start (as in the arena; never a bare FEN, which a ``moves`` model
   cannot read): the legal-move softmax at T (``masked``). Top-1 is its argmax, top-3 its three
   most likely moves, the log-loss -ln p(human's move) at T = 1.
4. Stockfish's expected score of every legal move (:mod:`chessformer.analysis.scorer`): the
   model's at T is the expectation over its distribution; the gain over the humans is that minus
   the expected score of the human's move in the same position.

Intervals are 95% bootstrap intervals resampling whole games.
"""

from __future__ import annotations

import io
import math
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import chess
import chess.pgn
import numpy as np

from chessformer.analysis.favor import Boot, State, expected_under, json_value, model_distributions
from chessformer.analysis.scorer import DEFAULT_MODE, DEFAULT_NODES, Scorer
from chessformer.core import tokenizer as tok
from chessformer.core.engine import require_stockfish
from chessformer.core.protocol import VERDICT_TEMPERATURE
from chessformer.data import pgn
from chessformer.formats import humans as humans_format
from chessformer.formats import run as run_format
from chessformer.formats.dataset import game_key
from chessformer.formats.humans import HumansBin, HumansGain, HumansResult
from chessformer.play.experts import game_phase
from chessformer.report.humans import humans_sections
from chessformer.utils import UserError, code_version, log, progress, writable_folder

__all__ = ["DEFAULT_POSITIONS", "Bins", "Position", "humans_analysis", "read_positions"]

#: Positions sampled by default: within 5 minutes on 2 shared cores at the default node limit.
DEFAULT_POSITIONS = 2000
DEFAULT_SKIP_PLIES = 10
DEFAULT_MIN_CLOCK = 30.0
DEFAULT_TEMPERATURES = (VERDICT_TEMPERATURE, 0.3, 1.0)
N_BOOT = 1000


@dataclass(frozen=True)
class Bins:
    """Rating bins: ``width``-point bins (``lo = rating // width * width``), or the bins between
    consecutive ``edges`` (``lo <= rating < hi``; ratings outside them are left out)."""

    width: int | None = 100
    edges: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if self.edges is not None:
            if len(self.edges) < 2 or any(b <= a for a, b in zip(self.edges, self.edges[1:])):
                raise UserError(f"--bins: at least two increasing edges, got {list(self.edges)}")
        elif self.width is None or self.width < 1:
            raise UserError(f"--bin-width must be at least 1, got {self.width}")

    def of(self, rating: int) -> tuple[int, int] | None:
        if self.edges is None:
            assert self.width is not None
            lo = rating // self.width * self.width
            return lo, lo + self.width
        for lo, hi in zip(self.edges, self.edges[1:]):
            if lo <= rating < hi:
                return lo, hi
        return None

    def spec(self) -> dict[str, Any]:
        return {"edges": list(self.edges)} if self.edges is not None else {"width": self.width}


@dataclass
class Position:
    """A sampled position: its game (moves from the start, shared by the game's positions), the
    ply, the rating of the player to move and the move the human played."""

    source: str
    game_number: int  # 1-based, in its file
    moves: list[str]  # the whole game's UCI moves
    ply: int
    rating: int
    bin: tuple[int, int]

    @property
    def human_move(self) -> str:
        return self.moves[self.ply]


@dataclass
class ReadCounts:
    games_read: int = 0
    games_skipped: int = 0
    games_used: int = 0
    low_clock: int = 0
    moves_with_clock: int = 0
    eligible: int = 0


def _rating(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _games(paths: Sequence[Path]) -> Iterator[tuple[Path, int, chess.pgn.Game]]:
    """Each game of ``paths`` (plain or compressed, read a block at a time by
    :mod:`chessformer.data.pgn`), numbered from 1 in its file, parsed by python-chess for its
    clock comments."""
    for path in paths:
        n = 0
        try:
            for chunk in pgn.read_chunks(pgn.Source(str(path)), pgn.ReadStats()):
                for text, _ in pgn.split_games(chunk):
                    try:
                        game = chess.pgn.read_game(io.StringIO(text.decode("utf-8", "replace")))
                    except ValueError as e:
                        raise UserError(f"{path}: cannot read game {n + 1}: {e}") from None
                    if game is None:
                        continue
                    n += 1
                    yield path, n, game
        except OSError as e:
            raise UserError(f"cannot read the games {path}: {e.strerror or e}") from None


def read_positions(paths: Sequence[Path], bins: Bins, *, skip_plies: int = DEFAULT_SKIP_PLIES,
                   min_clock: float | None = DEFAULT_MIN_CLOCK, sample: int = DEFAULT_POSITIONS,
                   seed: int = 0, training_keys: dict[int, str] | None = None,
                   ) -> tuple[list[Position], ReadCounts]:
    """The positions of step 1 of the module docstring, a seeded sample of ``sample``; a
    :class:`UserError` naming the first game found in ``training_keys`` (the training set's
    :meth:`~chessformer.data.dataset.GameDataset.game_keys`) and how many there are."""
    rng = np.random.default_rng(seed)
    kept: list[Position] = []
    c = ReadCounts()
    overlaps: list[str] = []
    bar = progress(desc="games", unit="game")
    for path, number, game in _games(paths):
        c.games_read += 1
        bar.update(1)
        h = game.headers
        if game.errors or "FEN" in h or h.get("SetUp") == "1" or h.get("Variant", "Standard") != "Standard":
            c.games_skipped += 1
            continue
        ucis: list[str] = []
        clocks: list[float | None] = []
        for node in game.mainline():
            ucis.append(node.move.uci())
            clocks.append(node.clock())
        if not ucis:
            c.games_skipped += 1
            continue
        if training_keys is not None:
            key = game_key(h.get("White", ""), h.get("Black", ""),
                           [tok.BOS, *(tok.uci_to_id(m) for m in ucis)])
            if key in training_keys:
                overlaps.append(f"{path} game {number} ({h.get('White', '?')} - "
                                f"{h.get('Black', '?')}; training game {training_keys[key]})")
                continue
        ratings = (_rating(h.get("WhiteElo")), _rating(h.get("BlackElo")))
        last: list[float | None] = [None, None]
        used = False
        for ply, clk in enumerate(clocks):
            side = ply % 2
            before = last[side] if last[side] is not None else clk
            if clk is not None:
                c.moves_with_clock += 1
                last[side] = clk
            r = ratings[side]
            if ply < skip_plies or r is None:
                continue
            b = bins.of(r)
            if b is None:
                continue
            if min_clock is not None and before is not None and before < min_clock:
                c.low_clock += 1
                continue
            pos = Position(str(path), number, ucis, ply, r, b)
            if c.eligible < sample:
                kept.append(pos)
            else:
                j = int(rng.integers(0, c.eligible + 1))
                if j < sample:
                    kept[j] = pos
            c.eligible += 1
            used = True
        c.games_used += used
    bar.close()
    if overlaps:
        raise UserError(f"{len(overlaps)} of the {c.games_read} games are in the model's "
                        f"training data, e.g. {overlaps[0]}: analyse held-out games only")
    kept.sort(key=lambda p: (p.source, p.game_number, p.ply))
    return kept, c


def _training_keys(run: Path, dataset: Path | None) -> tuple[Path, dict[int, str]]:
    """The run's training dataset and its games' content hashes."""
    from chessformer.data.dataset import GameDataset

    if dataset is None:
        data = run_format.run_dataset(run)
        if data is None:
            raise UserError(f"{run}: its run.json records no training dataset, so the games "
                            "cannot be checked against it; pass --dataset DIR")
        if not data.is_absolute() and not data.exists():
            # run.json holds the path as given to train, relative to where it ran (the checkout)
            data = run.resolve().parent.parent / data
        if not data.exists():
            raise UserError(f"{run}: its training dataset {data} is not here, so the games cannot "
                            "be checked against it; pass --dataset DIR")
        dataset = data
    return dataset, GameDataset.open(dataset).game_keys()


def bin_label(lo: int, hi: int) -> str:
    return f"{lo}-{hi - 1}"


def summarise(positions: Sequence[Position], states: Sequence[State],
              temperatures: Sequence[float], n_boot: int, seed: int,
              ) -> tuple[list[HumansBin], HumansBin, dict[str, np.ndarray]]:
    """The per-bin rows, the row of all positions, and the per-position arrays."""
    game = np.array([s.game for s in states])
    boot = Boot(game, n_boot, seed)
    one = [s.model[1.0] for s in states]
    human = [p.human_move for p in positions]
    rank = np.array([1 + sum(q > d[h] for q in d.values()) for d, h in zip(one, human)])
    x = {
        "top1": (rank == 1).astype(float),
        "top3": (rank <= 3).astype(float),
        "log_loss": np.array([-math.log(max(d[h], 1e-300)) for d, h in zip(one, human)]),
        "human": np.array([s.scores[h] for s, h in zip(states, human)]),
        "best": np.array([s.scores[s.ranked[0]] for s in states]),
        "rank": rank.astype(float),
    }
    for t in temperatures:
        x[f"T{t:g}"] = np.array([expected_under(s.model[t], s.scores) for s in states])

    def row(label: str, lo: int | None, hi: int | None, mask: np.ndarray) -> HumansBin:
        v = {k: boot.mean(x[k], mask) for k in ("top1", "top3", "log_loss", "human", "best")}
        model = []
        for t in temperatures:
            e, g = boot.mean(x[f"T{t:g}"], mask), boot.mean(x[f"T{t:g}"] - x["human"], mask)
            model.append(HumansGain(temperature=t, expected=_r(e[0]), expected_lo=_r(e[1]),
                                    expected_hi=_r(e[2]), gain=_r(g[0]), gain_lo=_r(g[1]),
                                    gain_hi=_r(g[2])))
        return HumansBin(
            bin=label, lo=lo, hi=hi, positions=int(mask.sum()), games=len(set(game[mask])),
            top1=json_value(v["top1"][0]), top1_lo=json_value(v["top1"][1]), top1_hi=json_value(v["top1"][2]),
            top3=json_value(v["top3"][0]), top3_lo=json_value(v["top3"][1]), top3_hi=json_value(v["top3"][2]),
            log_loss=json_value(v["log_loss"][0]), log_loss_lo=json_value(v["log_loss"][1]),
            log_loss_hi=json_value(v["log_loss"][2]), human=json_value(v["human"][0]),
            human_lo=json_value(v["human"][1]), human_hi=json_value(v["human"][2]), best=json_value(v["best"][0]),
            model=model)

    rows = []
    for lo, hi in sorted({p.bin for p in positions}):
        mask = np.array([p.bin == (lo, hi) for p in positions])
        rows.append(row(bin_label(lo, hi), lo, hi, mask))
    return rows, row("all", None, None, np.ones(len(positions), bool)), x


def _r(x: float, nd: int = 5) -> float:
    """A finite value rounded (an interval of one game's positions is its value)."""
    return round(x, nd) if math.isfinite(x) else 0.0


def humans_analysis(run: str | os.PathLike[str], games: Sequence[str | os.PathLike[str]],
                    out: str | os.PathLike[str], *, bins: Bins | None = None,
                    skip_plies: int = DEFAULT_SKIP_PLIES,
                    min_clock: float | None = DEFAULT_MIN_CLOCK,
                    positions: int = DEFAULT_POSITIONS,
                    temperatures: Sequence[float] | None = None, nodes: int = DEFAULT_NODES,
                    mode: str = DEFAULT_MODE, processes: int = 2,
                    cache: str | os.PathLike[str] | None = None, seed: int = 0,
                    n_boot: int = N_BOOT, stockfish: str | None = None,
                    dataset: str | os.PathLike[str] | None = None,
                    command: str = "") -> tuple[HumansResult, list[Position]]:
    """Run the analysis of the module docstring; write ``humans.json``, ``humans.csv``,
    ``humans.md`` and ``humans.png`` into ``out``."""
    t_start = time.perf_counter()
    run, out = Path(run), Path(out)
    bins = bins or Bins()
    if positions < 1:
        raise UserError("--positions must be at least 1")
    if skip_plies < 0:
        raise UserError(f"--skip-plies must be at least 0, got {skip_plies}")
    temps = sorted({*(temperatures or DEFAULT_TEMPERATURES), 1.0})
    if any(t <= 0 for t in temps):
        raise UserError(f"temperatures must be > 0, got {temps}")
    if not run_format.holds_model(run):
        raise UserError(f"{run}: no trained model here (no run.json or checkpoint)")
    paths = [Path(g) for g in games]
    for p in paths:
        if not p.is_file():
            raise UserError(f"{p}: no such PGN file")
    sf_path = str(require_stockfish(stockfish))
    writable_folder(out)
    data, keys = _training_keys(run, None if dataset is None else Path(dataset))
    sampled, counts = read_positions(paths, bins, skip_plies=skip_plies, min_clock=min_clock,
                                     sample=positions, seed=seed, training_keys=keys)
    if not sampled:
        raise UserError(
            f"{', '.join(map(str, paths))}: no position with a rated player to move in any bin "
            f"({counts.games_read} games read, {counts.games_skipped} skipped, the first "
            f"{skip_plies} plies left out, {counts.low_clock} moves under the clock limit; "
            f"bins {bins.spec()})")
    log.info("humans: %d of %d positions from %d games (%d read)", len(sampled), counts.eligible,
             len({(p.source, p.game_number) for p in sampled}), counts.games_read)
    # one record per sampled game (its moves), the states indexing into them
    index: dict[tuple[str, int], int] = {}
    records: list[Any] = []
    states: list[State] = []
    for p in sampled:
        g = index.setdefault((p.source, p.game_number), len(index))
        if g == len(records):
            records.append(p)  # a Position has the game's .moves, all model_distributions reads
        board = chess.Board()
        for m in p.moves[:p.ply]:
            board.push_uci(m)
        states.append(State(g, f"{Path(p.source).name}#{p.game_number}", p.ply,
                            p.moves[:p.ply], board.fen(), game_phase(board)))
    with Scorer(cache if cache is not None else out, nodes=nodes, mode=mode, processes=processes,
                stockfish=sf_path) as scorer:
        bar = progress(total=len(states), desc="score", unit="pos")
        scored = scorer.score([s.fen for s in states], progress=bar)
        bar.close()
        stats, engine, search = scorer.stats, scorer.engine, scorer.describe()
    for s, rec in zip(states, scored):
        s.scores, s.ranked = rec.by_move(), list(rec.moves)
    from chessformer.model.checkpoint import load_model

    model = load_model(run)
    model_distributions(model, records, states, temps)
    rows, total, x = summarise(sampled, states, temps, n_boot, seed)
    result = HumansResult(
        run=str(run), sources=[str(p) for p in paths], dataset=str(data), dataset_games=len(keys),
        games_read=counts.games_read, games_skipped=counts.games_skipped,
        games_used=counts.games_used, skip_plies=skip_plies, min_clock=min_clock,
        positions_low_clock=counts.low_clock, moves_with_clock=counts.moves_with_clock,
        positions_total=counts.eligible, positions=len(sampled), games=len(records), seed=seed,
        bins_spec=bins.spec(), temperatures=temps,
        scorer={"engine": engine, "nodes": nodes, "mode": mode, "search": search,
                "processes": scorer.processes, "positions": stats.positions,
                "scored_now": stats.scored_now, "from_cache": stats.from_cache,
                "positions_per_s_per_process": json_value(stats.per_second_per_process, 3),
                "seconds": round(stats.seconds, 2)},
        input_mode=str(model.config.input_mode), bins=rows, total=total, n_boot=n_boot,
        command=command, code_version=code_version(),
        created=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        seconds=round(time.perf_counter() - t_start, 2))
    humans_format.write_humans(out, result)
    _write_csv(out, sampled, states, temps, x)
    write_page(out, result)
    return result, sampled


def _write_csv(out: Path, positions: Sequence[Position], states: Sequence[State],
               temps: Sequence[float], x: dict[str, np.ndarray]) -> None:
    cols = [*humans_format.CSV_COLUMNS, *(f"model_T{t:g}" for t in temps)]
    rows = []
    for i, (p, s) in enumerate(zip(positions, states)):
        one = s.model[1.0]
        rows.append([p.source, p.game_number, p.ply, p.rating, bin_label(*p.bin), s.fen,
                     p.human_move, max(one, key=lambda m: one[m]), f"{one[p.human_move]:.5f}",
                     int(x["rank"][i]), f"{x['human'][i]:.5f}", f"{x['best'][i]:.5f}",
                     *(f"{x[f'T{t:g}'][i]:.5f}" for t in temps)])
    humans_format.write_humans_csv(out, cols, rows)


def write_page(out: Path, r: HumansResult) -> None:
    from chessformer.report.document import Section, render_markdown
    from chessformer.utils import write_text_atomic

    plot_humans(out / humans_format.HUMANS_PLOT, r)
    sections = humans_sections(r, humans_format.HUMANS_PLOT)
    sections.append(Section("Provenance", [
        f"Command: {r.command or 'not recorded'}",
        f"Code: {r.code_version}; created {r.created}; {r.seconds:.0f} s.",
        f"Model: {r.run} (input {r.input_mode}: each game's moves read from its start). Scorer: "
        f"{r.scorer['engine']}, {r.scorer['scored_now']} positions scored now, "
        f"{r.scorer['from_cache']} from the cache, "
        f"{r.scorer['positions_per_s_per_process'] or 'n/a'} positions/s per engine process."]))
    write_text_atomic(out / humans_format.HUMANS_MD,
                      render_markdown(sections, f"Human games: {Path(r.run).name}"))


def plot_humans(path: Path, r: HumansResult) -> None:
    """Move matching (top-1, top-3) and the gain over the humans per temperature, by rating."""
    from matplotlib.figure import Figure

    from chessformer.report.plots import line_style

    fig = Figure(figsize=(10, 3.8))
    acc, gain = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    bins = [b for b in r.bins if b.lo is not None and b.hi is not None]
    mid = [(b.lo + b.hi) / 2 for b in bins if b.lo is not None and b.hi is not None]
    for k, (name, key) in enumerate((("top-1", "top1"), ("top-3", "top3"))):
        v = [100 * (getattr(b, key) or 0) for b in bins]
        lo = [100 * (getattr(b, key + "_lo") or 0) for b in bins]
        hi = [100 * (getattr(b, key + "_hi") or 0) for b in bins]
        acc.errorbar(mid, v, yerr=[np.subtract(v, lo), np.subtract(hi, v)], capsize=3,
                     label=name, **line_style(k))
    acc.set_xlabel("rating of the player to move")
    acc.set_ylabel("% of the human's moves")
    acc.set_title("Move matching")
    acc.legend(fontsize=8)
    for k, t in enumerate(r.temperatures):
        gs = [next(g for g in b.model if g.temperature == t) for b in bins]
        v = [100 * g.gain for g in gs]
        gain.errorbar(mid, v, yerr=[[100 * (g.gain - g.gain_lo) for g in gs],
                                    [100 * (g.gain_hi - g.gain) for g in gs]],
                      capsize=3, label=f"T = {t:g}", **line_style(k))
    gain.axhline(0, color="#999999", lw=0.8)
    gain.set_xlabel("rating of the player to move")
    gain.set_ylabel("points of expected score")
    gain.set_title("Gain of the model's move over the human's")
    gain.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
