"""Train a move transformer on a tokenized dataset.

    chessformer train --data data/datasets/demo --preset small --out runs/demo --max-steps 2000
    chessformer train --data data/datasets/demo --preset small --out runs/demo --resume
    torchrun --nproc_per_node 2 -m chessformer train --data DIR --preset 50M --out RUN

or from Python: ``train("data/datasets/demo", "runs/demo", "small", max_steps=2000) -> final
metrics``. Options: :class:`chessformer.training.options.TrainOptions`.

AdamW (betas 0.9/0.95, weight decay 0.1 on matrices), linear warmup then cosine decay to
``--min-lr`` at the last step, gradient clipping and accumulation, bf16 autocast (2.5x faster
than fp32 on these CPUs), optional ``torch.compile``, DDP when launched by ``torchrun``. Batches:
:mod:`chessformer.training.batches`; validation: :mod:`chessformer.training.validation`.

Outputs in ``RUN`` (file names and readers: :mod:`chessformer.formats.run`): ``metrics.jsonl``
(one line per step and per evaluation), ``run.json`` (command, dataset manifest hash, options),
``ckpt-STEP/`` + ``latest`` (:mod:`chessformer.model.checkpoint`) and ``final_metrics.json``.
``final_metrics.json`` records the wall time (``elapsed_s``) and the steady pace (``step_s``, the
median step): a run of fixed ``--max-steps`` does not depend on one noisy moment of a shared
machine, and its pace tells how many steps fit a budget. ``--minutes M`` instead times a few
steps and one evaluation, then fixes the step count so the whole run takes about ``M`` minutes;
the count is stored in the checkpoint so ``--resume`` keeps the same learning-rate schedule.

``--resume`` continues from the newest checkpoint; a run that already reached its last step is
left as it is. ``--keep-best`` points ``latest`` (what loading a run means) at the checkpoint
with the lowest validation loss. ``--base-move-probe`` labels the val positions once with
Stockfish depth 1 and logs how often the model's legal argmax plays that move.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import random
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from chessformer.data.dataset import GameDataset
from chessformer.formats import checkpoint as ckpt_format
from chessformer.formats import dataset as dataset_format
from chessformer.formats import run as run_format
from chessformer.training.batches import build_windows, make_batch, sample_ids
from chessformer.training.options import (
    TrainOptions,
    option_fields,
    resolve_options,
    resumed_options,
)
from chessformer.training.schedule import lr_at
from chessformer.training.threads import ThreadTuner
from chessformer.training.validation import build_val_set, evaluate, label_base_moves
from chessformer.utils import UserError, code_version, log, progress, python_call

__all__ = ["Trainer", "lr_at", "train"]


def train(data: str | os.PathLike[str], out: str | os.PathLike[str], preset: str = "small", *,
          command: str | None = None, **opts: Any) -> run_format.FinalMetrics:
    """Train (or resume) a run; returns the final metrics (also in ``RUN/final_metrics.json``).

    ``opts`` are :class:`TrainOptions` fields; unset (``None``) ones take the preset's defaults,
    then the class defaults. ``command`` is what ``run.json`` records as the run's (or the
    resume's) command: the caller's command line (``chessformer train ...``, ``chessformer
    experiment ...``); by default, that this function was called from Python.
    """
    from chessformer.model.checkpoint import load_checkpoint

    unknown = set(opts) - {f.name for f in option_fields()}
    if unknown:
        raise TypeError(f"unknown training options {sorted(unknown)}")
    given = {k: v for k, v in opts.items() if v is not None}
    run_dir = Path(out)
    resumed = None
    if given.get("resume"):
        if not run_format.has_latest(run_dir) or not run_format.checkpoints(run_dir):
            raise UserError(f"--resume: {run_dir} has no checkpoint ('latest' file) to resume")
        # The newest checkpoint, not `latest`: with --keep-best that names an earlier one.
        newest = run_format.checkpoints(run_dir)[-1]
        resumed = load_checkpoint(newest)
        state = resumed[2]
        for name in ("preset", "options", "rng"):
            if getattr(state, name) is None:
                raise UserError(f"--resume: {newest / ckpt_format.TRAIN_STATE} has no {name!r}: "
                                f"a checkpoint of weights alone cannot be resumed")
        preset = state.preset
        given = resumed_options(given, state.options)
        final = run_format.read_final_metrics(run_dir)
        if state.step >= given["max_steps"] and final is not None and final.finished:
            log.info("%s: finished at step %d already; nothing to do", run_dir, state.step)
            return final
    o = resolve_options(preset, given)
    return Trainer(data, run_dir, preset, o, resumed,
                   command=command or python_call("chessformer.training.train.train")).run()


class Trainer:
    """One training run: set-up (new or resumed), the step, evaluation, checkpoints, final metrics.

    ``resumed`` is :func:`chessformer.model.checkpoint.load_checkpoint`'s (model, optimizer
    state, train state) of the checkpoint to continue, or ``None`` for a new run.
    """

    def __init__(self, data: str | os.PathLike[str], run_dir: Path, preset: str, o: TrainOptions,
                 resumed: tuple[Any, dict[str, Any] | None, ckpt_format.TrainState] | None, *,
                 command: str) -> None:
        import torch

        from chessformer.model.gpt import model_flops_per_token
        from chessformer.model.presets import PRESETS
        from chessformer.model.transformer import GPT, GPTConfig

        self.data, self.run_dir, self.preset, self.o = Path(data), run_dir, preset, o
        self.command = command
        ckpt_model, opt_state, self.resume_state = resumed if resumed is not None else (None, None, None)
        overrides = {k: getattr(o, k) for k in ("block_size", "move_head", "board_features")
                     if getattr(o, k) is not None}
        if ckpt_model is not None:
            self.config = ckpt_model.config
        else:
            try:
                self.config = GPTConfig(**{**PRESETS[preset], **overrides})
            except ValueError as e:  # an option the preset's model cannot take
                given = " ".join(f"--{k.replace('_', '-')} {v}" for k, v in overrides.items())
                raise UserError(f"preset {preset!r} cannot train with {given}: {e}") from None
        self.with_boards = self.config.uses_boards or o.legal_softmax
        self._set_up_processes()
        self.ds = GameDataset.open(data)
        self._check_dataset()
        train_games = self.ds.split_indices("train")
        if len(train_games) == 0:
            raise UserError(f"{data}: no training games")
        self.T = T = self.config.block_size
        self.win = build_windows(self.ds.offsets, train_games, T)
        self.val = (build_val_set(self.ds, T, o.eval_windows, o.legal_positions,
                                  self.config.uses_boards) if self.master else None)
        if self.master and self.val is None:
            log.warning("%s has no val games: val metrics are skipped", data)
        if self.val is not None and o.base_move_probe:
            label_base_moves(self.val)

        torch.manual_seed(o.seed)
        self.model = model = ckpt_model if ckpt_model is not None else GPT(self.config)
        model.to(self.device)
        self.optimizer = model.configure_optimizer(o.weight_decay, o.lr, o.betas)
        if opt_state is not None:
            self.optimizer.load_state_dict(opt_state)
        self.train_model: Any = torch.compile(model) if o.compile else model
        if self.ddp:
            from torch.nn.parallel import DistributedDataParallel as DDP

            self.train_model = DDP(self.train_model, device_ids=[self.device.index]
                                   if self.device.type == "cuda" else None)
        self.n_params = model.num_params()
        self.tokens_per_step = o.batch_size * T * o.grad_accum * self.world
        self.flops_per_token = model_flops_per_token(self.config, self.n_params, T)
        # On a GPU the next micro-batch is built on a host thread while this one runs (a batch is
        # a pure function of (step, micro), so prefetching changes nothing); on a CPU the cores
        # are the model's.
        self.prefetch = ThreadPoolExecutor(max_workers=1) if self.device.type == "cuda" else None
        self.ahead: tuple[tuple[int, int], Any] | None = None  # (key, future) being built
        self.last_eval: dict[str, Any] = {}
        self.best: tuple[float, str] | None = None  # (best_metric, checkpoint) for --keep-best
        self.step_times: list[float] = []
        # EMA of the weights (--ema), in memory only: evaluated beside the weights, not saved.
        self.ema = ([p.detach().clone() for p in model.parameters()] if o.ema > 0 else None)

    # -- set-up -------------------------------------------------------------------------------
    def _set_up_processes(self) -> None:
        """Device, DDP process group (``torchrun`` sets WORLD_SIZE/RANK/LOCAL_RANK), threads."""
        import torch
        import torch.distributed as dist

        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.ddp = self.world > 1
        self.device = device = _resolve_device(self.o.device)
        if self.ddp:
            if device.type == "cuda":
                self.device = device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
                torch.cuda.set_device(device)
            if not dist.is_initialized():
                dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
        self.master = self.rank == 0
        if self.o.threads:
            torch.set_num_threads(self.o.threads)
        self.tuner = None
        if self.o.auto_threads and device.type == "cpu" and not self.ddp \
                and torch.get_num_threads() > 1:
            self.tuner = ThreadTuner((torch.get_num_threads(), 1))
        self.autocast = _autocast_factory(device, self.o.dtype)
        if device.type == "cuda":
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True

    def _check_dataset(self) -> None:
        if self.config.uses_boards and self.ds.boards is None:
            raise UserError(f"{self.data}: dataset has no boards.u8, but preset {self.preset!r} "
                            f"reads boards ({self.config.input_mode}); re-run ingest with --boards "
                            f"or pick a moves preset")
        if self.o.legal_softmax and self.ds.boards is None:
            raise UserError(f"{self.data}: dataset has no boards.u8, which --legal-softmax needs; "
                            f"add them with `chessformer boards {self.data}`")
        state = self.resume_state
        if state is None:
            return
        data = state.data or {}
        saved_hash = data.get("manifest_sha256")
        if saved_hash and saved_hash != dataset_format.manifest_sha256(self.data):
            raise UserError(f"--resume: {self.data} is not the dataset this run was trained on "
                            f"({data.get('path')}); its manifest.json differs")
        if (state.world_size or 1) != self.world:
            log.warning("resume: %d processes now, %s before: the run goes on, but not on exactly "
                        "the same batches", self.world, state.world_size)

    # -- data ---------------------------------------------------------------------------------
    def host_batch(self, key: tuple[int, int]) -> list[Any]:
        """The (inputs, boards, targets) tensors of micro-batch ``key = (step, micro)`` on the host."""
        import torch

        step, micro = key
        o = self.o
        first = ((step * o.grad_accum + micro) * self.world + self.rank) * o.batch_size
        ids = sample_ids(len(self.win), o.seed, first, o.batch_size)
        arrays = make_batch(self.ds, self.win, ids, self.T, self.with_boards)
        pin = self.device.type == "cuda"
        return [None if a is None else (torch.from_numpy(a).pin_memory() if pin else torch.from_numpy(a))
                for a in arrays]

    def micro_batch(self, step: int, micro: int) -> list[Any]:
        key = (step, micro)
        ahead = self.ahead
        arrays = ahead[1].result() if ahead is not None and ahead[0] == key else self.host_batch(key)
        if self.prefetch is not None:
            nxt = (step, micro + 1) if micro + 1 < self.o.grad_accum else (step + 1, 0)
            self.ahead = (nxt, self.prefetch.submit(self.host_batch, nxt))
        return [None if a is None else a.to(self.device, non_blocking=True) for a in arrays]

    # -- the step -----------------------------------------------------------------------------
    def train_step(self, step: int, lr: float, update: bool = True) -> tuple[float, float]:
        """One optimizer step (all micro-batches); returns (mean loss, gradient norm)."""
        import torch
        import torch.distributed as dist

        o = self.o
        for g in self.optimizer.param_groups:
            g["lr"] = lr
        loss_sum = 0.0
        for micro in range(o.grad_accum):
            x, bd, y = self.micro_batch(step, micro)
            sync = (not self.ddp or micro == o.grad_accum - 1)
            ctx = contextlib.nullcontext() if sync else self.train_model.no_sync()
            with ctx:
                with self.autocast():
                    _, loss = self.train_model(x, bd, y, legal_only=o.legal_softmax)
                (loss / o.grad_accum).backward()
            loss_sum += loss.item()
        norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), o.grad_clip).item()
        if update:
            self.optimizer.step()
            if self.ema is not None:
                torch._foreach_lerp_(self.ema, [p.detach() for p in self.model.parameters()],
                                     1.0 - o.ema)
        self.optimizer.zero_grad(set_to_none=True)
        mean = torch.tensor(loss_sum / o.grad_accum)
        if self.ddp:
            dist.all_reduce(mean)
            mean /= self.world
        return float(mean), norm

    def plan_steps(self, t_start: float) -> tuple[int, dict[str, Any] | None]:
        """(max_steps, the first evaluation if planning ran one) of a new run."""
        import torch
        import torch.distributed as dist

        o = self.o
        if o.max_steps is None and o.minutes is None:
            raise UserError("give --max-steps N or --minutes M")
        if o.max_steps is not None:
            return int(o.max_steps), None
        # Time fwd+bwd (no update) on a throwaway batch and one evaluation, then size the run.
        # The first calls build kernels and warm caches: not timed. Then the median of several
        # steps, since one slow step on a shared machine (measured: 0.64 s against a steady
        # 0.40 s) would halve the run.
        for _ in range(2):
            self.train_step(0, 0.0, update=False)
        times = []
        for _ in range(6):
            t0 = time.perf_counter()
            self.train_step(0, 0.0, update=False)
            times.append(time.perf_counter() - t0)
        t_step = float(np.median(times)) * 1.03  # + the optimizer update
        t0 = time.perf_counter()
        first_eval = self.evaluate() if self.master else {}
        t_eval = time.perf_counter() - t0
        remaining = o.minutes * 60 - (time.perf_counter() - t_start) - 5.0  # final writes
        if o.eval_every is None:
            steps = (remaining - 11 * t_eval) / t_step
        else:
            steps = (remaining - t_eval) / (t_step + t_eval / o.eval_every)
        max_steps = max(1, int(steps))
        if self.ddp:  # every rank must run the same number of steps
            t = torch.tensor([max_steps])
            dist.broadcast(t, 0)
            max_steps = int(t)
        if self.master:
            log.info("--minutes %.1f: %.2f s/step, %.1f s/eval -> %d steps", o.minutes, t_step,
                     t_eval, max_steps)
        torch.manual_seed(o.seed)  # the dry run must not shift the RNG stream
        return max_steps, first_eval

    # -- evaluation and logging ----------------------------------------------------------------
    def evaluate(self) -> dict[str, Any]:
        if self.val is None:
            return {}
        ev = evaluate(self.model, self.val, self.device, self.autocast, self.o.batch_size)
        if self.ema is not None:  # the averaged weights, swapped in for one evaluation
            import torch

            params = list(self.model.parameters())
            saved = [p.detach().clone() for p in params]
            with torch.no_grad():
                torch._foreach_copy_(params, self.ema)
                ema_ev = evaluate(self.model, self.val, self.device, self.autocast,
                                  self.o.batch_size)
                torch._foreach_copy_(params, saved)
            ev.update({f"ema_{k}": v for k, v in ema_ev.items() if not k.endswith("positions")
                       and k != "val_tokens" and k != "probe_experts_base"})
        return ev

    def log_eval(self, step: int, ev: dict[str, Any]) -> None:
        if ev:
            run_format.append_metrics(self.run_dir, run_format.ValRow(step=step, **ev))
            self.last_eval.update(ev)

    def write_run_info(self, start_step: int, max_steps: int) -> None:
        import torch

        run_info = run_format.read_run_record(self.run_dir)
        if self.resume_state is None or run_info is None:
            run_info = run_format.RunRecord(
                command=self.command, code_version=code_version(),
                data=str(self.data.resolve()),
                manifest=str(dataset_format.manifest_path(self.data).resolve()),
                manifest_sha256=dataset_format.manifest_sha256(self.data),
                preset=self.preset, config=self.config.to_dict(), options=self.o.to_json(),
                n_params=self.n_params, world_size=self.world, device=str(self.device),
                torch=torch.__version__, started=time.strftime("%Y-%m-%dT%H:%M:%S"))
        else:
            run_info = dataclasses.replace(run_info, resumes=[*run_info.resumes, {
                "step": start_step, "command": self.command, "code_version": code_version(),
                "at": time.strftime("%Y-%m-%dT%H:%M:%S")}])
        run_format.write_run_record(self.run_dir, run_info)
        log.info("%s: %s, %.2fM params, %d train windows of %d tokens, %d tokens/step, "
                 "steps %d..%d on %s x%d (%s)", self.run_dir, self.preset, self.n_params / 1e6,
                 len(self.win), self.T, self.tokens_per_step, start_step, max_steps, self.device,
                 self.world, self.o.dtype)

    # -- checkpoints ---------------------------------------------------------------------------
    def checkpoint(self, step: int, elapsed: float) -> None:
        from chessformer.model.checkpoint import capture_rng, save_checkpoint

        o = self.o
        state = ckpt_format.TrainState(
            step=step, preset=self.preset, options=o.to_json(),
            data={"path": str(self.data.resolve()), "next_sample": step * o.grad_accum *
                  self.world * o.batch_size,
                  "manifest_sha256": dataset_format.manifest_sha256(self.data)},
            world_size=self.world, rng=capture_rng(), elapsed_s=elapsed)
        save_checkpoint(self.run_dir, self.model, self.optimizer, state,
                        keep=o.keep_checkpoints,
                        latest=self.best[1] if self.best is not None else None)

    @property
    def best_metric(self) -> str:
        """What --keep-best minimises: the validation loss of the distribution the model is trained
        on (over legal moves only with --legal-softmax, where the full-vocabulary loss means little)."""
        return "val_legal_loss" if self.o.legal_softmax else "val_loss"

    def is_new_best(self, step: int, ev: dict[str, Any]) -> bool:
        """With --keep-best: whether ``ev`` beats every checkpointed evaluation (it becomes one)."""
        key = self.best_metric
        if not self.o.keep_best or key not in ev:
            return False
        if self.best is not None and ev[key] >= self.best[0]:
            return False
        self.best = (ev[key], run_format.checkpoint_name(step))
        return True

    # -- the run -------------------------------------------------------------------------------
    def start(self, t_start: float) -> tuple[int, int, float]:
        """Restore a resumed run's position or plan a new one: (start step, max steps, elapsed)."""
        from chessformer.model.checkpoint import restore_rng

        state, o = self.resume_state, self.o
        if state is not None:
            start_step = state.step
            max_steps = int(o.max_steps) if o.max_steps is not None else start_step
            restore_rng(state.rng)
            if self.master:
                run_format.truncate_metrics(self.run_dir, start_step)
                self.restore_evaluations()
            o.max_steps = max_steps
            return start_step, max_steps, float(state.elapsed_s or 0.0)
        if self.master:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            if run_format.has_latest(self.run_dir):
                raise UserError(f"{self.run_dir} already holds a run; pass --resume to continue "
                                f"it or choose another --out")
            run_format.metrics_path(self.run_dir).unlink(missing_ok=True)
        max_steps, first_eval = self.plan_steps(t_start)
        o.max_steps = max_steps
        random.seed(o.seed)  # a resumed run has its RNG states back already
        np.random.seed(o.seed % 2**32)
        if self.master:
            self.write_run_info(0, max_steps)
            self.log_eval(0, first_eval if first_eval is not None else self.evaluate())
        return 0, max_steps, 0.0

    def restore_evaluations(self) -> None:
        """A resumed run's last evaluation and (--keep-best) best checkpoint, from its metrics."""
        kept = {p.name for p in run_format.checkpoints(self.run_dir)}
        for row in run_format.read_metrics(self.run_dir):
            if not isinstance(row, run_format.ValRow):
                continue
            ev = row.evaluation()
            self.last_eval.update(ev)
            if run_format.checkpoint_name(row.step) in kept:
                self.is_new_best(row.step, ev)

    def run(self) -> run_format.FinalMetrics:
        """Train from the start (or the checkpoint) to the last step; the final metrics."""
        import torch
        import torch.distributed as dist

        o = self.o
        t_start = time.perf_counter()
        step, max_steps, elapsed_before = self.start(t_start)
        if self.master and self.resume_state is not None:
            self.write_run_info(step, max_steps)
        eval_every = o.eval_every or max(1, max_steps // 10)
        warmup = o.warmup if o.warmup is not None else max(1, min(200, max_steps // 20))
        stop_at = min(max_steps, o.stop_after) if o.stop_after is not None else max_steps
        # With --minutes, a slower machine than the timing showed (a shared CPU) must not blow
        # the budget: past 110% of it the run stops with a checkpoint; --resume can finish it.
        deadline = (t_start + o.minutes * 60 * 1.1 if (o.minutes and self.resume_state is None)
                    else None)
        recent: list[float] = []
        last_ckpt = time.perf_counter()
        bar = progress(total=max_steps, desc="train", unit="step", initial=step,
                       disable=None if self.master else True)
        t_loop = time.perf_counter()
        tokens_done = 0
        while step < stop_at:
            lr = lr_at(step, lr=o.lr, min_lr=o.min_lr, warmup=warmup, max_steps=max_steps)
            if self.tuner is not None:
                torch.set_num_threads(self.tuner.threads_for(step))
            t0 = time.perf_counter()
            loss, norm = self.train_step(step, lr)
            self.step_times.append(time.perf_counter() - t0)
            if self.tuner is not None:
                self.tuner.record(step, self.step_times[-1])
            step += 1
            tokens_done += self.tokens_per_step
            tps = tokens_done / (time.perf_counter() - t_loop)
            recent = (recent + [loss])[-20:]
            if self.master:
                run_format.append_metrics(self.run_dir, run_format.TrainRow(
                    step=step, loss=loss, lr=lr, grad_norm=norm, tokens_per_s=tps,
                    tokens=step * self.tokens_per_step,
                    elapsed_s=elapsed_before + time.perf_counter() - t_start,
                    threads=torch.get_num_threads() if self.tuner is not None else None))
                bar.update(1)
                bar.set_postfix(loss=f"{loss:.3f}", tok_s=f"{tps:,.0f}", refresh=False)
            overrun = deadline is not None and time.perf_counter() > deadline
            if self.ddp and deadline is not None:  # all ranks stop together
                flag = torch.tensor([int(overrun)])
                dist.all_reduce(flag)
                overrun = bool(flag.item())
            if overrun and step < stop_at:
                log.warning("--minutes budget overrun: stopping at step %d of %d (resume with "
                            "--resume to finish)", step, max_steps)
                stop_at = step
            if step % eval_every == 0 or step == stop_at:
                if self.master:
                    best = self.evaluate_and_report(step, loss, bar)
                    if (step == stop_at or best
                            or time.perf_counter() - last_ckpt > o.checkpoint_minutes * 60):
                        self.checkpoint(step, elapsed_before + time.perf_counter() - t_start)
                        last_ckpt = time.perf_counter()
                if self.ddp:
                    dist.barrier()
        bar.close()
        if self.prefetch is not None:
            self.prefetch.shutdown(wait=True, cancel_futures=True)
        tps = tokens_done / max(1e-9, time.perf_counter() - t_loop) if tokens_done else 0.0
        final = self.final_metrics(step, max_steps, recent, tps,
                                   elapsed_before + time.perf_counter() - t_start)
        if self.ddp:
            dist.barrier()
            dist.destroy_process_group()
        return final

    def evaluate_and_report(self, step: int, loss: float, bar: Any) -> bool:
        """Evaluate, log, print a line; True when it is a new best (to checkpoint)."""
        ev = self.evaluate()
        self.log_eval(step, ev)
        if ev:
            probe = (f"  base move {ev['probe_model_base']:.3f} (experts "
                     f"{ev['probe_experts_base']:.3f})" if "probe_model_base" in ev else "")
            bar.write(f"step {step}: train {loss:.3f}  val {ev['val_loss']:.3f}  top-1 "
                      f"{ev['val_top1']:.3f}  legal {ev['val_legal']:.3f}{probe}", file=sys.stderr)
        return self.is_new_best(step, ev)

    def final_metrics(self, step: int, max_steps: int, recent: list[float], tps: float,
                      elapsed: float) -> run_format.FinalMetrics:
        """The run's totals and last evaluation; written to ``final_metrics.json`` by rank 0."""
        final = run_format.FinalMetrics(
            run_dir=str(self.run_dir), preset=self.preset, step=step, max_steps=max_steps,
            finished=step >= max_steps, n_params=self.n_params,
            train_loss=float(np.mean(recent)) if recent else None,
            **{k: self.last_eval.get(k) for k in ("val_loss", "val_top1", "val_legal")},
            **{k: v for k, v in self.last_eval.items() if k.startswith("probe_")},
            tokens_per_s=tps, tokens_seen=step * self.tokens_per_step,
            model_flops_per_s=tps * self.flops_per_token, elapsed_s=elapsed,
            # the steady pace (median step, this session), for sizing --max-steps to a budget
            step_s=float(np.median(self.step_times)) if self.step_times else None,
            world_size=self.world, dtype=self.o.dtype, device=str(self.device),
            checkpoint=run_format.read_latest(self.run_dir),
            # --auto-threads: (step, thread count) from then on
            thread_switches=self.tuner.switches if self.tuner is not None else None,
            best=(None if self.best is None else
                  {"metric": self.best_metric, "value": self.best[0], "checkpoint": self.best[1]}))
        if self.master:
            run_format.write_final_metrics(self.run_dir, final)
            if final.val_loss is not None:
                # With --legal-softmax the loss over all moves is not what was trained (illegal
                # logits are untrained): report the loss and top-1 over legal moves instead.
                legal = self.o.legal_softmax and "val_legal_loss" in self.last_eval
                loss, top1 = ((self.last_eval["val_legal_loss"], self.last_eval["val_legal_top1"])
                              if legal else (final.val_loss, final.val_top1))
                probe = (f", base move {final.probe_model_base:.3f} (experts "
                         f"{final.probe_experts_base:.3f})" if final.probe_model_base is not None
                         else "")
                log.info("final: val loss %.3f, top-1 %.3f%s, legal argmax %.3f%s, "
                         "%.0f tokens/s, %.0f s", loss, top1, " (over legal moves)" if legal
                         else "", final.val_legal, probe, tps, elapsed)
        return final


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
