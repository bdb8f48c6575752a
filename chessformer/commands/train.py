"""``chessformer train``: the command line of :mod:`chessformer.training.train`."""

from __future__ import annotations
import argparse
import json
import os
from chessformer.training.train import (
    train,
)


def _betas(s: str) -> tuple[float, float]:
    try:
        a, b = (float(v) for v in s.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--betas wants two numbers like 0.9,0.95, got {s!r}") from None
    return a, b


def add_arguments(p: argparse.ArgumentParser) -> None:
    from chessformer.model.transformer import PRESETS

    p.add_argument("--data", required=True, help="dataset folder written by `chessformer ingest`")
    p.add_argument("--preset", default="small", choices=sorted(PRESETS),
                   help="model size and input mode (default: small, the CPU demo preset)")
    p.add_argument("--out", required=True, help="run folder: checkpoints, metrics.jsonl, run.json")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--max-steps", type=int, help="optimizer steps to run")
    g.add_argument("--minutes", type=float,
                   help="time budget: sets the step count after timing the first steps")
    p.add_argument("--block-size", type=int, help="context length in tokens (default: the "
                   "preset's; shorter is cheaper per token and sees less of the game's history)")
    p.add_argument("--batch-size", type=int, help="windows per micro-batch per process "
                   "(default: the preset's, else 32)")
    p.add_argument("--grad-accum", type=int, help="micro-batches per optimizer step (default 1)")
    p.add_argument("--lr", type=float, help="peak learning rate (default: the preset's, else 3e-4)")
    p.add_argument("--min-lr", type=float, help="final learning rate of the cosine (default 3e-5)")
    p.add_argument("--warmup", type=int, help="warmup steps (default: 5%% of steps, at most 200)")
    p.add_argument("--weight-decay", type=float, help="AdamW weight decay on matrices (default 0.1)")
    p.add_argument("--betas", type=_betas, help="AdamW betas (default 0.9,0.95)")
    p.add_argument("--grad-clip", type=float, help="max gradient norm (default 1.0)")
    p.add_argument("--dtype", choices=("bf16", "fp32"), help="autocast dtype (default bf16)")
    p.add_argument("--compile", action="store_true", default=None, help="torch.compile the model")
    p.add_argument("--seed", type=int, help="seed for init and data order (default 1337)")
    p.add_argument("--eval-every", type=int, help="steps between evaluations+checkpoints "
                   "(default: 10 per run)")
    p.add_argument("--eval-windows", type=int, help="val windows for loss/top-1 (default 64)")
    p.add_argument("--checkpoint-minutes", type=float,
                   help="checkpoint at evaluations at most this often (default 5; always at the end)")
    p.add_argument("--keep-checkpoints", type=int,
                   help="newest checkpoints to keep (default 2; 0 keeps all, to choose one by "
                   "validation loss afterwards)")
    p.add_argument("--resume", action="store_true", default=None,
                   help="continue the run in --out exactly from its latest checkpoint")
    p.add_argument("--stop-after", type=int, help="stop after this step (checkpointed); "
                   "--resume continues")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), help="default auto")
    p.add_argument("--threads", type=int, help="CPU threads for torch (default: all cores; on a "
                   "busy shared machine 1 can be faster than 2)")


def main(args: argparse.Namespace) -> int:
    opts = {k: getattr(args, k) for k in (
        "max_steps", "minutes", "block_size", "batch_size", "grad_accum", "lr", "min_lr", "warmup",
        "weight_decay", "betas", "grad_clip", "dtype", "compile", "seed", "eval_every",
        "eval_windows", "checkpoint_minutes", "keep_checkpoints", "resume", "stop_after", "device", "threads")}
    final = train(args.data, args.out, args.preset, **opts)
    if int(os.environ.get("RANK", "0")) == 0:
        print(json.dumps(final, indent=2))
    return 0
