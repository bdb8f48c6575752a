"""Train a move transformer on a tokenized dataset.

    chessformer train --data data/datasets/demo --preset small --out runs/demo --minutes 10
    chessformer train --data data/datasets/demo --preset small --out runs/demo --resume
    torchrun --nproc_per_node 2 -m chessformer train --data DIR --preset 50M --out RUN

or from Python: ``train("data/datasets/demo", "runs/demo", "small", minutes=10) -> final metrics``.

AdamW (lr 3e-4, betas 0.9/0.95, weight decay 0.1 on matrices), linear warmup then cosine decay to
``--min-lr``, gradient clipping and accumulation, bf16 autocast (2.5x faster than fp32 on these
CPUs), optional ``torch.compile``, DDP when launched by ``torchrun``.

Data. The dataset is read through ``np.memmap``. A training sample is a window of
``block_size + 1`` tokens starting at a game start; when the game ends, the next training game
follows (packing). Windows tile the stream of training games; the next window starts at the
game the previous one cut off (see ``build_windows``), so an epoch trains every target once, or
twice for the start of a cut game. A game longer than one window continues in later windows that start
``block_size // 2``, ``2 * (block_size // 2)``, ... tokens into the game, with positions restarting
at 0; their first ``block_size - block_size // 2`` targets were already trained by the window
before, so they are ignored (``-1``) and only give context. This is exactly what a player sees
that re-prefills the last ``block_size // 2`` tokens of a game at positions ``0..`` when the game
outgrows its cache. Windows are visited in a fresh seeded permutation per epoch; the batch of step
``s`` (micro-batch ``m``, rank ``r``) is a pure function of the seed and its global sample index
``((s * grad_accum + m) * world_size + r) * batch_size``, so a resumed run and a DDP run see the
same data as an uninterrupted single-process run with the same global batch.

Outputs in ``RUN``: ``metrics.jsonl`` (one line per step and per evaluation), ``run.json``
(command, dataset manifest hash, options), ``ckpt-STEP/`` + ``latest`` (see ``checkpoint.py``)
and ``final_metrics.json``. ``--minutes M`` times a few steps and one evaluation, then fixes the
step count so the whole run takes about ``M`` minutes; the count is stored in the checkpoint so
``--resume`` keeps the same learning-rate schedule.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import random
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from chessformer.core import tokenizer
from chessformer.core.boards import BOARD_BYTES
from chessformer.data.dataset import GameDataset
from chessformer.utils import UserError, log, progress, sha256_file, write_json_atomic

__all__ = ["PRESET_TRAIN_DEFAULTS", "TrainOptions", "Windows", "build_windows", "lr_at", "train"]

#: Training defaults per preset, overridden by explicit options. Small models take a higher lr
#: and, on a CPU, small batches: at equal tokens, batch 4 x 512 reached val loss 3.60 where
#: 16 x 512 was still at 5.37 (60 vs 240 updates).
PRESET_TRAIN_DEFAULTS: dict[str, dict[str, Any]] = {
    "tiny": dict(batch_size=8, lr=1e-3, min_lr=1e-4),
    "small": dict(batch_size=8, lr=1e-3, min_lr=1e-4),
    "small-moves": dict(batch_size=8, lr=1e-3, min_lr=1e-4),
    "base": dict(batch_size=8, lr=1e-3, min_lr=1e-4),
}


@dataclass
class TrainOptions:
    batch_size: int = 32
    grad_accum: int = 1
    max_steps: int | None = None
    minutes: float | None = None
    lr: float = 3e-4
    min_lr: float = 3e-5
    warmup: int | None = None  # None: 5% of the steps, at most 200
    weight_decay: float = 0.1
    betas: tuple[float, float] = (0.9, 0.95)
    grad_clip: float = 1.0
    dtype: str = "bf16"
    compile: bool = False
    seed: int = 1337
    eval_every: int | None = None  # None: about 10 evaluations per run
    eval_windows: int = 64  # val windows for loss / top-1
    legal_positions: int = 1024  # val positions with a precomputed legal-move mask
    device: str = "auto"
    threads: int | None = None  # torch intra-op threads on CPU (None: torch's default)
    resume: bool = False
    stop_after: int | None = None  # stop (with a checkpoint) after this step: preemption, tests
    block_size: int | None = None  # context length instead of the preset's (a new run only)
    keep_checkpoints: int = 2  # <= 0: keep all (to pick the best by validation loss later)
    checkpoint_minutes: float = 5.0  # at evaluations, at most this often (and always at the end)

    def to_json(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["betas"] = list(self.betas)
        return d


#: Options that change the math of training: a resumed run takes them from its checkpoint.
_RESUME_FIXED = ("block_size", "batch_size", "grad_accum", "max_steps", "lr", "min_lr", "warmup",
                 "weight_decay", "betas", "grad_clip", "dtype", "seed", "eval_windows",
                 "legal_positions")
#: Options a resumed run never takes from its checkpoint (the others it takes unless given).
_NOT_RESUMED = ("resume", "stop_after", "minutes", "device", "threads")


# ---------------------------------------------------------------------------------------------
# Data: windows over packed games (pure functions of the offsets).

@dataclass
class Windows:
    """Window starts over the games ``games`` (dataset indices, in file order)."""

    games: np.ndarray  # int64 [G] dataset game indices
    game_pos: np.ndarray  # int64 [W] index into ``games`` of each window's first game
    start: np.ndarray  # int64 [W] token offset of the window inside that game
    n_masked: np.ndarray  # int64 [W] leading targets to ignore (already trained)

    def __len__(self) -> int:
        return len(self.start)


def build_windows(offsets: np.ndarray, games: np.ndarray, block_size: int) -> Windows:
    """Tile the stream of ``games`` (packed end to end) with windows of ``block_size`` targets.

    A window starts at a game start and runs on through the following games. The next window
    starts at the first game whose targets the window did not all reach (so the early targets of
    a game cut at a window's end are trained twice, not zero times). A game longer than a window
    continues in windows starting ``block_size // 2`` tokens later each time, whose first
    ``block_size - block_size // 2`` targets (trained by the window before) are ignored.
    """
    T, h = block_size, block_size // 2
    lengths = (offsets[games + 1] - offsets[games]).astype(np.int64).tolist()
    gp: list[int] = []
    st: list[int] = []
    nm: list[int] = []
    i, G = 0, len(lengths)
    while i < G:
        s = m = 0
        while True:
            gp.append(i)
            st.append(s)
            nm.append(m)
            if s + T >= lengths[i] - 1:  # the last target of game i is inside this window
                break
            s, m = s + h, T - h
        room = T + 1 - (lengths[i] - s)  # window tokens left after game i
        i += 1
        while i < G and lengths[i] <= room:  # game i lies wholly inside the window
            room -= lengths[i]
            i += 1
    return Windows(games.astype(np.int64), np.asarray(gp, np.int64), np.asarray(st, np.int64),
                   np.asarray(nm, np.int64))


def window_pieces(ds: GameDataset, win: Windows, w: int, length: int) -> list[tuple[int, int, int]]:
    """The (game, start token, count) pieces that fill window ``w`` with ``length`` tokens."""
    pieces = []
    pos, start, need = int(win.game_pos[w]), int(win.start[w]), length
    while need > 0:
        g = int(win.games[pos % len(win.games)])
        n = min(need, int(ds.offsets[g + 1] - ds.offsets[g]) - start)
        if n > 0:
            pieces.append((g, start, n))
            need -= n
        pos, start = pos + 1, 0
    return pieces


def make_batch(ds: GameDataset, win: Windows, ids: np.ndarray, block_size: int, with_boards: bool,
               ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """Inputs [B, T] int64, boards [B, T, BOARD_BYTES] uint8 or None, targets [B, T] int64."""
    B, T = len(ids), block_size
    x = np.empty((B, T + 1), np.int64)
    boards = np.empty((B, T + 1, BOARD_BYTES), np.uint8) if with_boards else None
    for b, w in enumerate(ids):
        at = 0
        for g, s, n in window_pieces(ds, win, int(w), T + 1):
            lo = int(ds.offsets[g]) + s
            x[b, at:at + n] = ds.tokens[lo:lo + n]
            if boards is not None:
                boards[b, at:at + n] = ds.boards[lo:lo + n]
            at += n
    y = x[:, 1:].copy()
    for b, w in enumerate(ids):
        y[b, : int(win.n_masked[w])] = -1
    return x[:, :-1], (boards[:, :-1] if boards is not None else None), y


def sample_ids(n_windows: int, seed: int, first: int, count: int) -> np.ndarray:
    """Window ids at global sample indices ``first .. first + count - 1``: a fresh permutation of
    all windows per epoch, seeded by (seed, epoch)."""
    out = np.empty(count, np.int64)
    perms: dict[int, np.ndarray] = {}
    for i in range(count):
        epoch, j = divmod(first + i, n_windows)
        if epoch not in perms:
            perms[epoch] = np.random.default_rng([seed, epoch]).permutation(n_windows)
        out[i] = perms[epoch][j]
    return out


def lr_at(step: int, *, lr: float, min_lr: float, warmup: int, max_steps: int) -> float:
    """Linear warmup over ``warmup`` steps, then cosine from ``lr`` down to ``min_lr``."""
    if step < warmup:
        return lr * (step + 1) / warmup
    if step >= max_steps:
        return min_lr
    t = (step - warmup) / max(1, max_steps - warmup)
    return min_lr + 0.5 * (1 + math.cos(math.pi * t)) * (lr - min_lr)


# ---------------------------------------------------------------------------------------------
# Validation: loss, top-1 accuracy, legal-move rate on fixed windows.

@dataclass
class ValSet:
    x: np.ndarray
    boards: np.ndarray | None
    y: np.ndarray
    legal_rows: np.ndarray  # int64 [N] window of each legal-checked position
    legal_cols: np.ndarray  # int64 [N] position in the window
    legal_mask: np.ndarray  # bool [N, V]


def build_val_set(ds: GameDataset, block_size: int, n_windows: int, n_legal: int,
                  with_boards: bool) -> ValSet | None:
    import chess

    games = ds.split_indices("val")
    if len(games) == 0:
        return None
    win = build_windows(ds.offsets, games, block_size)
    ids = np.random.default_rng(0).permutation(len(win))[:n_windows]
    x, boards, y = make_batch(ds, win, ids, block_size, with_boards)
    rows, cols, masks = [], [], []
    for b, w in enumerate(ids):
        if len(rows) >= n_legal:
            break
        at = 0
        for g, s, n in window_pieces(ds, win, int(w), block_size + 1):
            toks = ds.game_tokens(g)
            board = chess.Board()
            ok = True
            for j in range(1, s):  # replay the game's prefix before this window
                board.push(chess.Move.from_uci(tokenizer.id_to_uci(int(toks[j]))))
            for j in range(s, s + n):
                if j > 0:
                    move = chess.Move.from_uci(tokenizer.id_to_uci(int(toks[j])))
                    if not board.is_legal(move):
                        ok = False  # a corrupt game: stop checking it
                    board.push(move)
                t = at + j - s
                if (ok and t < block_size and y[b, t] >= len(tokenizer.SPECIALS)
                        and len(rows) < n_legal):
                    mask = np.zeros(tokenizer.VOCAB_SIZE, bool)
                    mask[[tokenizer.encode_move(m) for m in board.legal_moves]] = True
                    rows.append(b)
                    cols.append(t)
                    masks.append(mask)
                if not ok:
                    break
            at += n
    return ValSet(x, boards, y, np.asarray(rows, np.int64), np.asarray(cols, np.int64),
                  np.stack(masks) if masks else np.zeros((0, tokenizer.VOCAB_SIZE), bool))


def evaluate(model, val: ValSet, device, autocast, batch_size: int) -> dict[str, float]:
    import torch
    import torch.nn.functional as F

    model.eval()
    loss_sum, n_tok, correct, n_moves, legal = 0.0, 0, 0, 0, 0
    with torch.no_grad():
        for lo in range(0, len(val.x), batch_size):
            sl = slice(lo, lo + batch_size)
            x = torch.from_numpy(val.x[sl]).to(device)
            y = torch.from_numpy(val.y[sl]).to(device)
            bd = torch.from_numpy(val.boards[sl]).to(device) if val.boards is not None else None
            with autocast():
                logits, _ = model(x, bd)
            logits = logits.float()
            loss_sum += F.cross_entropy(logits.view(-1, logits.size(-1)), y.view(-1),
                                        ignore_index=-1, reduction="sum").item()
            n_tok += int((y >= 0).sum())
            pred = logits.argmax(-1)
            is_move = y >= len(tokenizer.SPECIALS)
            correct += int(((pred == y) & is_move).sum())
            n_moves += int(is_move.sum())
            sel = np.flatnonzero((val.legal_rows >= lo) & (val.legal_rows < lo + x.size(0)))
            if len(sel):
                chosen = pred.cpu().numpy()[val.legal_rows[sel] - lo, val.legal_cols[sel]]
                legal += int(val.legal_mask[sel, chosen].sum())
    model.train()
    return {"val_loss": loss_sum / max(1, n_tok), "val_top1": correct / max(1, n_moves),
            "val_legal": legal / max(1, len(val.legal_rows)), "val_tokens": n_tok,
            "val_legal_positions": int(len(val.legal_rows))}


# ---------------------------------------------------------------------------------------------
# The training loop.

def _resolve_device(name: str):
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise UserError("--device cuda but torch sees no CUDA device")
    return torch.device(name)


def _autocast_factory(device, dtype: str):
    import torch

    if dtype == "bf16":
        return lambda: torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    if dtype == "fp32":
        return contextlib.nullcontext
    raise UserError(f"--dtype must be bf16 or fp32, got {dtype!r}")


def _append_jsonl(path: Path, record: dict[str, Any]) -> None:
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")


def _truncate_metrics(path: Path, step: int) -> None:
    """Drop lines logged after the checkpoint a resumed run restarts from."""
    if not path.exists():
        return
    keep = [ln for ln in path.read_text(encoding="utf-8").splitlines()
            if ln.strip() and json.loads(ln).get("step", 0) <= step]
    path.write_text("".join(ln + "\n" for ln in keep), encoding="utf-8")


def train(data: str | os.PathLike[str], out: str | os.PathLike[str], preset: str = "small",
          **opts: Any) -> dict[str, Any]:
    """Train (or resume) a run; returns the final metrics (also in ``RUN/final_metrics.json``).

    ``opts`` are :class:`TrainOptions` fields; unset ones take the preset's defaults
    (:data:`PRESET_TRAIN_DEFAULTS`), then the class defaults.
    """
    import torch
    import torch.distributed as dist

    from chessformer.model.checkpoint import capture_rng, load_checkpoint, restore_rng, save_checkpoint
    from chessformer.model.transformer import GPT, PRESETS, GPTConfig, model_flops_per_token

    names = {f.name for f in dataclasses.fields(TrainOptions)}
    unknown = set(opts) - names
    if unknown:
        raise TypeError(f"unknown training options {sorted(unknown)}")
    given = {k: v for k, v in opts.items() if v is not None}
    run_dir = Path(out)
    resume_state: dict[str, Any] | None = None
    ckpt_model = opt_state = None
    if given.get("resume"):
        if not (run_dir / "latest").exists():
            raise UserError(f"--resume: {run_dir} has no checkpoint ('latest' file) to resume")
        ckpt_model, opt_state, resume_state = load_checkpoint(run_dir)
        saved = resume_state["options"]
        preset = resume_state["preset"]
        for k, v in saved.items():
            if k in _NOT_RESUMED:
                continue
            if k == "max_steps" and "max_steps" in given:
                if given[k] != v:
                    log.warning("resume: --max-steps %s replaces %s (the lr schedule changes)",
                                given[k], v)
                continue
            if k in _RESUME_FIXED or k not in given:
                if k in given and given[k] != v:
                    log.warning("resume: ignoring %s=%r, the run was started with %r", k, given[k], v)
                given[k] = tuple(v) if k == "betas" else v
        given.pop("minutes", None)
    if preset not in PRESETS:
        raise UserError(f"unknown preset {preset!r}; choose one of {sorted(PRESETS)}")
    o = TrainOptions(**{**PRESET_TRAIN_DEFAULTS.get(preset, {}), **given})
    o.betas = tuple(o.betas)  # type: ignore[assignment]
    if o.block_size is not None and o.block_size < 2:
        raise UserError(f"--block-size must be at least 2, not {o.block_size}")
    config = (ckpt_model.config if ckpt_model is not None else
              GPTConfig(**{**PRESETS[preset], **({"block_size": o.block_size} if o.block_size else {})}))

    # Distributed set-up (torchrun sets WORLD_SIZE/RANK/LOCAL_RANK).
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    ddp = world > 1
    device = _resolve_device(o.device)
    if ddp:
        if device.type == "cuda":
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
            torch.cuda.set_device(device)
        if not dist.is_initialized():
            dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    master = rank == 0
    if o.threads:
        torch.set_num_threads(o.threads)
    autocast = _autocast_factory(device, o.dtype)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True

    ds = GameDataset.open(data)
    if config.uses_boards and ds.boards is None:
        raise UserError(f"{data}: dataset has no boards.u8, but preset {preset!r} reads boards "
                        f"({config.input_mode}); re-run ingest with --boards or pick a moves preset")
    if resume_state is not None:
        saved_hash = resume_state.get("data", {}).get("manifest_sha256")
        if saved_hash and saved_hash != sha256_file(Path(data) / "manifest.json"):
            raise UserError(f"--resume: {data} is not the dataset this run was trained on "
                            f"({resume_state['data'].get('path')}); its manifest.json differs")
        if resume_state.get("world_size", 1) != world:
            log.warning("resume: %d processes now, %s before: the run goes on, but not on exactly "
                        "the same batches", world, resume_state.get("world_size"))
    train_games = ds.split_indices("train")
    if len(train_games) == 0:
        raise UserError(f"{data}: no training games")
    T = config.block_size
    win = build_windows(ds.offsets, train_games, T)
    val = build_val_set(ds, T, o.eval_windows, o.legal_positions, config.uses_boards) if master else None
    if master and val is None:
        log.warning("%s has no val games: val metrics are skipped", data)

    torch.manual_seed(o.seed)
    model = ckpt_model if ckpt_model is not None else GPT(config)
    model.to(device)
    optimizer = model.configure_optimizer(o.weight_decay, o.lr, o.betas)
    if opt_state is not None:
        optimizer.load_state_dict(opt_state)
    raw_model = model
    train_model: Any = torch.compile(model) if o.compile else model
    if ddp:
        from torch.nn.parallel import DistributedDataParallel as DDP

        train_model = DDP(train_model, device_ids=[device.index] if device.type == "cuda" else None)
    n_params = raw_model.num_params()
    tokens_per_step = o.batch_size * T * o.grad_accum * world
    flops_per_token = model_flops_per_token(config, n_params, T)

    def host_batch(key: tuple[int, int]):
        step, micro = key
        first = ((step * o.grad_accum + micro) * world + rank) * o.batch_size
        ids = sample_ids(len(win), o.seed, first, o.batch_size)
        arrays = make_batch(ds, win, ids, T, config.uses_boards)
        pin = device.type == "cuda"
        return [None if a is None else (torch.from_numpy(a).pin_memory() if pin else torch.from_numpy(a))
                for a in arrays]

    # On a GPU the next micro-batch is built on a host thread while this one runs (a batch is a
    # pure function of (step, micro), so prefetching changes nothing); on a CPU the cores are
    # the model's.
    prefetch = ThreadPoolExecutor(max_workers=1) if device.type == "cuda" else None
    ahead: tuple[tuple[int, int], Any] | None = None  # (key, future) of the batch being built

    def micro_batch(step: int, micro: int):
        nonlocal ahead
        key = (step, micro)
        arrays = ahead[1].result() if ahead is not None and ahead[0] == key else host_batch(key)
        if prefetch is not None:
            nxt = (step, micro + 1) if micro + 1 < o.grad_accum else (step + 1, 0)
            ahead = (nxt, prefetch.submit(host_batch, nxt))
        x, bd, y = (None if a is None else a.to(device, non_blocking=True) for a in arrays)
        return x, bd, y

    def train_step(step: int, lr: float, update: bool = True) -> tuple[float, float]:
        for g in optimizer.param_groups:
            g["lr"] = lr
        loss_sum = 0.0
        for micro in range(o.grad_accum):
            x, bd, y = micro_batch(step, micro)
            sync = (not ddp or micro == o.grad_accum - 1)
            ctx = contextlib.nullcontext() if sync else train_model.no_sync()
            with ctx:
                with autocast():
                    _, loss = train_model(x, bd, y)
                (loss / o.grad_accum).backward()
            loss_sum += loss.item()
        norm = torch.nn.utils.clip_grad_norm_(raw_model.parameters(), o.grad_clip).item()
        if update:
            optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        mean = torch.tensor(loss_sum / o.grad_accum)
        if ddp:
            dist.all_reduce(mean)
            mean /= world
        return float(mean), norm

    def run_eval() -> dict[str, float]:
        if val is None:
            return {}
        return evaluate(raw_model, val, device, autocast, o.batch_size)

    t_start = time.perf_counter()
    metrics_path = run_dir / "metrics.jsonl"
    start_step = 0
    elapsed_before = 0.0
    first_eval: dict[str, float] | None = None
    if resume_state is not None:
        start_step = int(resume_state["step"])
        elapsed_before = float(resume_state.get("elapsed_s", 0.0))
        max_steps = int(o.max_steps) if o.max_steps is not None else start_step
        restore_rng(resume_state["rng"])
        if master:
            _truncate_metrics(metrics_path, start_step)
    else:
        if master:
            run_dir.mkdir(parents=True, exist_ok=True)
            if (run_dir / "latest").exists():
                raise UserError(f"{run_dir} already holds a run; pass --resume to continue it or "
                                f"choose another --out")
            metrics_path.unlink(missing_ok=True)
        if o.max_steps is None and o.minutes is None:
            raise UserError("give --max-steps N or --minutes M")
        if o.max_steps is not None:
            max_steps = int(o.max_steps)
        else:
            # Time fwd+bwd (no update) on a throwaway batch and one evaluation, then size the run.
            # The first calls build kernels and warm caches: not timed. Then the median of
            # several steps, since one slow step on a shared machine (measured: 0.64 s against
            # a steady 0.40 s) would halve the run.
            for _ in range(2):
                train_step(0, 0.0, update=False)
            times = []
            for _ in range(6):
                t0 = time.perf_counter()
                train_step(0, 0.0, update=False)
                times.append(time.perf_counter() - t0)
            t_step = float(np.median(times)) * 1.03  # + the optimizer update
            t0 = time.perf_counter()
            first_eval = run_eval() if master else {}
            t_eval = time.perf_counter() - t0
            remaining = o.minutes * 60 - (time.perf_counter() - t_start) - 5.0  # final writes
            if o.eval_every is None:
                steps = (remaining - 11 * t_eval) / t_step
            else:
                steps = (remaining - t_eval) / (t_step + t_eval / o.eval_every)
            max_steps = max(1, int(steps))
            if ddp:  # every rank must run the same number of steps
                t = torch.tensor([max_steps])
                dist.broadcast(t, 0)
                max_steps = int(t)
            if master:
                log.info("--minutes %.1f: %.2f s/step, %.1f s/eval -> %d steps", o.minutes,
                         t_step, t_eval, max_steps)
            torch.manual_seed(o.seed)  # the dry run must not shift the RNG stream
        o.max_steps = max_steps
    eval_every = o.eval_every or max(1, max_steps // 10)
    warmup = o.warmup if o.warmup is not None else max(1, min(200, max_steps // 20))
    if resume_state is None:  # a resumed run has its RNG states back already
        random.seed(o.seed)
        np.random.seed(o.seed % 2**32)
    stop_at = min(max_steps, o.stop_after) if o.stop_after is not None else max_steps
    # With --minutes, a slower machine than the timing showed (a shared CPU) must not blow the
    # budget: past 110% of it the run stops with a checkpoint; --resume can finish it exactly.
    deadline = t_start + o.minutes * 60 * 1.1 if (o.minutes and resume_state is None) else None

    if master:
        run_info: dict[str, Any] = {}
        if (run_dir / "run.json").exists():
            run_info = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
        if resume_state is None or not run_info:
            run_info = {
                "command": [sys.executable, *sys.argv],
                "data": str(Path(data).resolve()),
                "manifest": str((Path(data) / "manifest.json").resolve()),
                "manifest_sha256": sha256_file(Path(data) / "manifest.json"),
                "preset": preset, "config": config.to_dict(), "options": o.to_json(),
                "n_params": n_params, "world_size": world, "device": str(device),
                "torch": torch.__version__, "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
                "resumes": [],
            }
        else:
            run_info["resumes"].append({"step": start_step, "command": [sys.executable, *sys.argv],
                                        "at": time.strftime("%Y-%m-%dT%H:%M:%S")})
        write_json_atomic(run_dir / "run.json", run_info)
        log.info("%s: %s, %.2fM params, %d train windows of %d tokens, %d tokens/step, "
                 "steps %d..%d on %s x%d (%s)", run_dir, preset, n_params / 1e6, len(win), T,
                 tokens_per_step, start_step, max_steps, device, world, o.dtype)

    def checkpoint(step: int, elapsed: float) -> None:
        if not master:
            return
        save_checkpoint(run_dir, raw_model, optimizer, {
            "step": step, "preset": preset, "options": o.to_json(),
            "data": {"path": str(Path(data).resolve()), "next_sample": step * o.grad_accum *
                     world * o.batch_size, "manifest_sha256": sha256_file(Path(data) / "manifest.json")},
            "world_size": world, "rng": capture_rng(), "elapsed_s": elapsed,
        }, keep=o.keep_checkpoints)

    last: dict[str, Any] = {}
    recent: list[float] = []
    last_ckpt = time.perf_counter()
    if master and resume_state is None:
        ev = first_eval if first_eval is not None else run_eval()
        if ev:
            _append_jsonl(metrics_path, {"type": "val", "step": 0, **ev})
            last.update(ev)
    bar = progress(total=max_steps, desc="train", unit="step", initial=start_step,
                   disable=None if master else True)
    t_loop = time.perf_counter()
    tokens_done = 0
    step = start_step
    while step < stop_at:
        lr = lr_at(step, lr=o.lr, min_lr=o.min_lr, warmup=warmup, max_steps=max_steps)
        loss, norm = train_step(step, lr)
        step += 1
        tokens_done += tokens_per_step
        dt = time.perf_counter() - t_loop
        tps = tokens_done / dt
        recent = (recent + [loss])[-20:]
        if master:
            _append_jsonl(metrics_path, {
                "type": "train", "step": step, "loss": loss, "lr": lr, "grad_norm": norm,
                "tokens_per_s": tps, "tokens": step * tokens_per_step,
                "elapsed_s": elapsed_before + time.perf_counter() - t_start})
            bar.update(1)
            bar.set_postfix(loss=f"{loss:.3f}", tok_s=f"{tps:,.0f}", refresh=False)
        overrun = deadline is not None and time.perf_counter() > deadline
        if ddp and deadline is not None:  # all ranks stop together
            flag = torch.tensor([int(overrun)])
            dist.all_reduce(flag)
            overrun = bool(flag.item())
        if overrun and step < stop_at:
            log.warning("--minutes budget overrun: stopping at step %d of %d (resume with "
                        "--resume to finish)", step, max_steps)
            stop_at = step
        if step % eval_every == 0 or step == stop_at:
            if master:
                ev = run_eval()
                if ev:
                    _append_jsonl(metrics_path, {"type": "val", "step": step, **ev})
                    last.update(ev)
                    bar.write(f"step {step}: train {loss:.3f}  val {ev['val_loss']:.3f}  top-1 "
                              f"{ev['val_top1']:.3f}  legal {ev['val_legal']:.3f}", file=sys.stderr)
                if (step == stop_at
                        or time.perf_counter() - last_ckpt > o.checkpoint_minutes * 60):
                    checkpoint(step, elapsed_before + time.perf_counter() - t_start)
                    last_ckpt = time.perf_counter()
            if ddp:
                dist.barrier()
    bar.close()
    if prefetch is not None:
        prefetch.shutdown(wait=True, cancel_futures=True)
    elapsed = elapsed_before + time.perf_counter() - t_start
    tps = tokens_done / max(1e-9, time.perf_counter() - t_loop) if tokens_done else 0.0
    final = {
        "run_dir": str(run_dir), "preset": preset, "step": step, "max_steps": max_steps,
        "finished": step >= max_steps, "n_params": n_params,
        "train_loss": float(np.mean(recent)) if recent else None,
        **{k: last.get(k) for k in ("val_loss", "val_top1", "val_legal")},
        "tokens_per_s": tps, "tokens_seen": step * tokens_per_step,
        "model_flops_per_s": tps * flops_per_token, "elapsed_s": elapsed,
        "world_size": world, "dtype": o.dtype, "device": str(device),
    }
    if master:
        write_json_atomic(run_dir / "final_metrics.json", final)
        if final["val_loss"] is not None:
            log.info("final: val loss %.3f, top-1 %.3f, legal %.3f, %.0f tokens/s", final["val_loss"],
                     final["val_top1"], final["val_legal"], tps)
    if ddp:
        dist.barrier()
        dist.destroy_process_group()
    return final


# ---------------------------------------------------------------------------------------------
# CLI.
