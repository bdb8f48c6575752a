"""Training steps of a preset: the `tactics` head against the flat one, and the fraction of this
machine's matmul peak (MFU), all measured in one run.

    .venv/bin/python bench/bench_train.py                       # small preset, bf16, CPU
    .venv/bin/python bench/bench_train.py --preset 50M --device cuda --batch-size 16
    .venv/bin/python bench/bench_train.py --compile --steps 20

Builds one model per move head (``--heads``, default the preset's learner ``tactics`` and the
plain ``flat``; both with the legal-move softmax where the preset reads boards, as the demo
trains) and runs rounds of: a full training step (forward, backward, clipping, AdamW) of each
head, then a burst of square matmuls in the training dtype (4096^2 by default, same threads,
same device) as long as the last step. Steps and bursts so see the same load on a shared
machine; every figure is a median over the rounds, and the head ratio is the median of the
per-round ratios. Batches have the real shapes and real positions: seeded random legal games
packed into windows (a random board of bytes would hold dozens of pieces, and a legal-move
mask hundreds of moves). Achieved FLOP/s counts the model FLOPs of
``model.model_flops_per_token`` (6 N + attention), the usual MFU definition, so recomputation
or wasted work does not count. Targets (issue 25): the tactics step at most 1.2x the flat one;
the preset's learner at least 35% of the bf16 peak on a CPU. Prints a table; ``--json`` writes
the numbers too.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

RATIO_TARGET = 1.2
MFU_TARGET = 0.35


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


def random_game_windows(B: int, T: int, seed: int = 0):
    """(tokens [B, T + 1], boards [B, T, BOARD_BYTES]) of seeded random legal games packed end
    to end: ``boards[b, t]`` is the position after ``tokens[b, t]``, as in a dataset."""
    import chess
    import numpy as np

    from chessformer.core import tokenizer
    from chessformer.core.boards import encode_board

    rng = random.Random(seed)
    tokens = np.zeros((B, T + 1), np.int64)
    boards = np.zeros((B, T + 1, encode_board(chess.Board()).size), np.uint8)
    for b in range(B):
        board, t = chess.Board(), 0
        tokens[b, 0], boards[b, 0] = tokenizer.BOS, encode_board(board)
        while t < T:
            moves = list(board.legal_moves)
            if not moves or board.ply() >= 200:
                board = chess.Board()
                t += 1
                tokens[b, t], boards[b, t] = tokenizer.BOS, encode_board(board)
                continue
            move = rng.choice(moves)
            board.push(move)
            t += 1
            tokens[b, t], boards[b, t] = tokenizer.encode_move(move), encode_board(board)
    return tokens, boards[:, :-1]


def main(argv: list[str] | None = None) -> int:
    # One straight-line script (arguments, models, timing loop, table), read top to bottom.
    import torch

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
    p.add_argument("--steps", type=int, default=7, help="timed rounds (after 2 warm-up steps)")
    p.add_argument("--dtype", choices=("bf16", "fp32"), default="bf16")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument("--compile", action="store_true")
    p.add_argument("--legal-softmax", action=argparse.BooleanOptionalAction, default=None,
                   help="loss over pseudo-legal moves, the mask computed from the boards every "
                   "step as in training (default: where the preset reads boards)")
    p.add_argument("--heads", default=None, help="comma list of move heads, the first the one "
                   f"the ratio is of ({', '.join(MOVE_HEADS)}; default: tactics,flat where the "
                   "preset reads boards, else flat)")
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
    reads_boards = kw.get("input_mode") == "moves+board"
    heads = args.heads.split(",") if args.heads else (["tactics", "flat"] if reads_boards
                                                      else ["flat"])
    legal = reads_boards if args.legal_softmax is None else args.legal_softmax
    autocast = ((lambda: torch.autocast(device.type, dtype=torch.bfloat16)) if args.dtype == "bf16"
                else contextlib.nullcontext)
    B, T = args.batch_size, kw["block_size"]
    tokens, boards = random_game_windows(B, T)
    x, y = torch.from_numpy(tokens[:, :-1]).to(device), torch.from_numpy(tokens[:, 1:]).to(device)
    boards = torch.from_numpy(boards).to(device)

    runs = {}
    for head in heads:
        config = GPTConfig(**kw, move_head=head, board_features=args.board_features)
        torch.manual_seed(0)
        model = GPT(config).to(device)
        runs[head] = dict(config=config, model=model,
                          opt=model.configure_optimizer(0.1, 3e-4, (0.9, 0.95)),
                          step_model=torch.compile(model) if args.compile else model, times=[])

    def step(r) -> float:
        with autocast():
            _, loss = r["step_model"](x, boards if r["config"].uses_boards or legal else None,
                                      y, legal_only=legal)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(r["model"].parameters(), 1.0)
        r["opt"].step()
        r["opt"].zero_grad(set_to_none=True)
        return loss.item()  # forces completion (CUDA sync)

    for r in runs.values():
        for _ in range(2):
            step(r)
    burst = matmul_peak_fn(args.matmul_n, dt, device)
    peaks = []
    for _ in range(args.steps):
        for r in runs.values():
            t0 = time.perf_counter()
            step(r)
            r["times"].append(time.perf_counter() - t0)
        peaks.append(burst(min(statistics.mean(r["times"][-1] for r in runs.values()), 2.0)))
    peak = statistics.median(peaks)

    first = runs[heads[0]]
    results = {"preset": args.preset, "device": str(device), "threads": torch.get_num_threads(),
               "batch_size": B, "block_size": T, "dtype": args.dtype, "compile": args.compile,
               "legal_softmax": legal, "board_features": args.board_features,
               "matmul_peak_flops_per_s": peak, "heads": {}}
    rows = [
        ("device", f"{device} x{torch.get_num_threads()} threads" if device.type == "cpu"
         else torch.cuda.get_device_name(device), ""),
        ("preset", f"{args.preset} ({kw['n_layer']} layers, {kw['n_head']} heads, d_model "
                   f"{kw['d_model']}, {first['config'].input_mode})"
                   f"{' + compile' if args.compile else ''}", ""),
        ("options", f"board {args.board_features}{', legal softmax' if legal else ''}", ""),
        ("batch", f"{B} x {T} tokens of random legal games, {args.dtype}, {args.steps} rounds", ""),
        (f"{args.dtype} matmul peak ({args.matmul_n}^2)", f"{peak / 1e9:,.0f} GFLOP/s", ""),
    ]
    for head, r in runs.items():
        n_params = r["model"].num_params()
        dt_step = statistics.median(r["times"])
        flops = B * T / dt_step * model_flops_per_token(r["config"], n_params, T)
        target = (f">= {MFU_TARGET:.0%} (bf16, CPU)" if head == heads[0] and args.dtype == "bf16"
                  and device.type == "cpu" else "")
        rows += [(f"{head}: params", f"{n_params / 1e6:.2f} M", ""),
                 (f"{head}: step time", f"{dt_step * 1e3:.0f} ms", ""),
                 (f"{head}: model FLOP/s", f"{flops / 1e9:,.0f} GFLOP/s", ""),
                 (f"{head}: fraction of peak (MFU)", f"{flops / peak:.1%}", target)]
        results["heads"][head] = {"params": n_params, "step_s": dt_step,
                                  "step_times_s": r["times"], "tokens_per_s": B * T / dt_step,
                                  "model_flops_per_s": flops, "mfu": flops / peak}
    for head in heads[1:]:
        ratio = statistics.median(a / b for a, b in zip(first["times"], runs[head]["times"]))
        rows.append((f"{heads[0]} / {head} step time", f"{ratio:.2f}x",
                     f"<= {RATIO_TARGET}" if (heads[0], head) == ("tactics", "flat") else ""))
        results[f"ratio_{heads[0]}_{head}"] = ratio
    width = max(len(k) for k, _, _ in rows)
    vwidth = max(len(v) for _, v, _ in rows)
    for k, v, target in rows:
        print(f"{k:<{width}}  {v:<{vwidth}}  {target}".rstrip())
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
