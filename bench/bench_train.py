"""Training throughput of a preset as a fraction of this machine's matmul peak, measured in one run.

    .venv/bin/python bench/bench_train.py                       # small preset, bf16, CPU
    .venv/bin/python bench/bench_train.py --preset 50M --device cuda --batch-size 16
    .venv/bin/python bench/bench_train.py --compile --steps 20

Measures (1) the peak of a square matmul in the training dtype (4096^2 by default, same threads,
same device) and (2) full training steps (forward, backward, clipping, AdamW) of the preset on synthetic batches of
the real shapes: random move tokens and random packed boards, each step followed by a matmul
burst of the same length (medians of both are reported: fair on a shared machine). Achieved FLOP/s counts the model
FLOPs of ``model.model_flops_per_token`` (6 N + attention), the usual MFU definition, so
recomputation or wasted work does not count. Prints a table; ``--json`` writes the numbers too.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def matmul_peak_fn(n: int, dtype, device):
    """A function timing one burst of ``n x n`` matmuls; returns FLOP/s."""
    import torch

    a = torch.randn(n, n, device=device).to(dtype)
    b = torch.randn(n, n, device=device).to(dtype)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    for _ in range(2):
        a @ b
    sync()

    def burst(seconds: float) -> float:
        reps, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds or reps < 2:
            a @ b
            reps += 1
            sync()  # on a GPU, launches outrun the kernels: without it the queue grows unbounded
        return 2 * n**3 * reps / (time.perf_counter() - t0)

    return burst


def main(argv: list[str] | None = None) -> int:
    # One straight-line script (arguments, model, timing loop, table), read top to bottom.
    import torch

    from chessformer.core import tokenizer
    from chessformer.core.boards import BOARD_BYTES
    from chessformer.model.transformer import (
        BOARD_FEATURE_SETS,
        GPT,
        MOVE_HEADS,
        PRESETS,
        GPTConfig,
        model_flops_per_token,
    )

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default="small", choices=sorted(PRESETS))
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--block-size", type=int, help="sequence length (default: the preset's)")
    p.add_argument("--steps", type=int, default=8, help="timed steps (after 2 warm-up steps)")
    p.add_argument("--dtype", choices=("bf16", "fp32"), default="bf16")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument("--compile", action="store_true")
    p.add_argument("--legal-softmax", action="store_true", help="loss over pseudo-legal moves "
                   "(the mask is computed from the boards every step, as in training)")
    p.add_argument("--move-head", choices=MOVE_HEADS, default="flat")
    p.add_argument("--board-features", choices=BOARD_FEATURE_SETS, default="basic")
    p.add_argument("--threads", type=int, help="torch intra-op threads (default: torch's)")
    p.add_argument("--matmul-n", type=int, default=4096)
    p.add_argument("--json", help="also write the results to this file")
    args = p.parse_args(argv)

    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available()
                          else ("cpu" if args.device == "auto" else args.device))
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
    dt = torch.bfloat16 if args.dtype == "bf16" else torch.float32
    kw = dict(PRESETS[args.preset])
    if args.block_size:
        kw["block_size"] = args.block_size
    kw.update(move_head=args.move_head, board_features=args.board_features)
    config = GPTConfig(**kw)
    torch.manual_seed(0)
    model = GPT(config).to(device)
    opt = model.configure_optimizer(0.1, 3e-4, (0.9, 0.95))
    step_model = torch.compile(model) if args.compile else model
    autocast = ((lambda: torch.autocast(device.type, dtype=torch.bfloat16)) if args.dtype == "bf16"
                else contextlib.nullcontext)
    B, T = args.batch_size, config.block_size
    g = torch.Generator().manual_seed(0)
    idx = torch.randint(3, tokenizer.VOCAB_SIZE, (B, T + 1), generator=g)
    boards = torch.randint(0, 256, (B, T, BOARD_BYTES), generator=g, dtype=torch.uint8)
    boards[..., 113] %= 9
    x, y, boards = idx[:, :-1].to(device), idx[:, 1:].to(device), boards.to(device)

    def step() -> float:
        with autocast():
            _, loss = step_model(x, boards if config.uses_boards or args.legal_softmax else None,
                                 y, legal_only=args.legal_softmax)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss.item()  # forces completion (CUDA sync)

    for _ in range(2):
        step()
    # Interleave steps and matmul bursts of about the same length, so that both see the same
    # load on a shared machine; report medians.
    burst = matmul_peak_fn(args.matmul_n, dt, device)
    step_times, peaks = [], []
    for _ in range(args.steps):
        t0 = time.perf_counter()
        step()
        step_times.append(time.perf_counter() - t0)
        peaks.append(burst(min(step_times[-1], 2.0)))
    dt_step = statistics.median(step_times)
    peak = statistics.median(peaks)

    n_params = model.num_params()
    tokens_per_s = B * T / dt_step
    flops = tokens_per_s * model_flops_per_token(config, n_params, T)
    rows = [
        ("device", f"{device} x{torch.get_num_threads()} threads" if device.type == "cpu"
         else torch.cuda.get_device_name(device)),
        ("preset", f"{args.preset} ({config.n_layer} layers, {config.n_head} heads, d_model "
                   f"{config.d_model}, {config.input_mode}){' + compile' if args.compile else ''}"),
        ("options", f"head {config.move_head}, board {config.board_features}"
                    f"{', legal softmax' if args.legal_softmax else ''}"),
        ("params", f"{n_params / 1e6:.2f} M"),
        ("batch", f"{B} x {T} tokens, {args.dtype}"),
        ("step time", f"{dt_step * 1e3:.0f} ms"),
        ("train tokens/s", f"{tokens_per_s:,.0f}"),
        ("model FLOP/s", f"{flops / 1e9:,.0f} GFLOP/s"),
        (f"{args.dtype} matmul peak ({args.matmul_n}^2)", f"{peak / 1e9:,.0f} GFLOP/s"),
        ("fraction of peak (MFU)", f"{flops / peak:.1%}"),
    ]
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"{k:<{width}}  {v}")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "preset": args.preset, "device": str(device), "threads": torch.get_num_threads(),
            "params": n_params, "batch_size": B, "block_size": T, "dtype": args.dtype,
            "compile": args.compile, "legal_softmax": args.legal_softmax,
            "move_head": config.move_head, "board_features": config.board_features,
            "step_s": dt_step, "tokens_per_s": tokens_per_s,
            "model_flops_per_s": flops, "matmul_peak_flops_per_s": peak, "mfu": flops / peak,
        }, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
