"""Train the project's GPT on the experts' corpus and score it on cloze queries at temperatures.

    >>> model, curve = train_model(rows, vocab_size, TrainSpec(), seed=0)
    >>> acc = query_accuracy(model, qs, temperatures=[0.001, 1.0])   # [Q, 2]

The model is the generic :class:`chessformer.model.gpt.GPTCore` over the corpus's own
vocabulary (plain next-token prediction, no chess parts). What this loop shares with the chess
training loop (:mod:`chessformer.training.train`): the transformer and its
``configure_optimizer`` (AdamW, decay on matrices only), the schedule
(:func:`chessformer.training.schedule.lr_at`: linear warmup, cosine to ``min_lr``), the sampler
(:func:`chessformer.training.batches.sample_ids`: epoch-wise permutations of the rows seeded by
(seed, epoch)), gradient clipping at 1.0, ``<pad>`` targets ignored (``-1``), and the checkpoint
writer. What it drops: windows over long games, boards,
gradient accumulation, autocast, resuming (a KG run takes a minute or two and is redone whole).

Scores are exact: every answer is one token, so the chance that sampling at temperature ``T``
gives the right answer is ``softmax(logits / T)[answer]`` (no sampling noise; ``T = 0.001`` is
the argmax up to ties).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from chessformer.formats.checkpoint import TrainState
from chessformer.kg.corpus import BOS, PAD
from chessformer.kg.queries import Queries
from chessformer.model.checkpoint import save_checkpoint
from chessformer.model.gpt import IGNORE, CoreConfig, GPTCore
from chessformer.training.batches import sample_ids
from chessformer.training.schedule import lr_at

__all__ = ["TrainSpec", "query_accuracy", "train_model"]


@dataclass(frozen=True)
class TrainSpec:
    """The ``[train]`` table of an experiment: model shape and optimisation, in steps."""

    n_layer: int = 2
    n_head: int = 4
    d_model: int = 128
    batch_size: int = 64
    max_steps: int = 1000
    lr: float = 3e-3
    min_lr: float = 3e-4
    warmup: int = 50
    weight_decay: float = 0.1
    log_every: int = 50


def train_model(rows: np.ndarray, n_tokens: int, spec: TrainSpec, seed: int,
                out: Path | None = None) -> tuple[GPTCore, list[dict[str, Any]]]:
    """A model trained for ``spec.max_steps`` steps on ``rows``; (model in eval mode, loss curve).

    ``out``: where the final checkpoint goes (``chessformer.model.checkpoint`` layout).
    """
    torch.manual_seed(seed)
    block = rows.shape[1] - 1
    config = CoreConfig(vocab_size=n_tokens, block_size=block, n_layer=spec.n_layer,
                        n_head=spec.n_head, d_model=spec.d_model)
    model = GPTCore(config)
    opt = model.configure_optimizer(spec.weight_decay, spec.lr, (0.9, 0.95))
    data = torch.from_numpy(rows.astype(np.int64))
    n = len(rows)
    curve: list[dict[str, Any]] = []
    model.train()
    for step in range(spec.max_steps):
        ids = sample_ids(n, seed, step * spec.batch_size, spec.batch_size)
        batch = data[torch.from_numpy(ids)]
        x, y = batch[:, :-1], batch[:, 1:].clone()
        y[y == PAD] = IGNORE
        lr = lr_at(step, lr=spec.lr, min_lr=spec.min_lr, warmup=spec.warmup,
                   max_steps=spec.max_steps)
        for g in opt.param_groups:
            g["lr"] = lr
        _, loss = model(x, targets=y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % spec.log_every == 0 or step == spec.max_steps - 1:
            curve.append({"step": step, "loss": loss.item(), "lr": lr})
    model.eval()
    if out is not None:
        save_checkpoint(out, model, None, TrainState(
            step=spec.max_steps, planned_steps=spec.max_steps,
            options={"kg": asdict(spec), "seed": seed}))
    return model, curve


@torch.no_grad()
def query_accuracy(model: GPTCore, qs: Queries, first_entity: int, temperatures: list[float],
                   batch_size: int = 512) -> np.ndarray:
    """[Q, len(temperatures)]: the chance that sampling at each temperature gives the answer.

    ``first_entity``: the token of entity 0 (``Vocab.first_entity``).
    """
    out = np.zeros((len(qs), len(temperatures)))
    by_len: dict[int, list[int]] = {}
    for k, p in enumerate(qs.prefix):
        by_len.setdefault(len(p), []).append(k)
    temps = torch.tensor(temperatures, dtype=torch.float64)
    for ks in by_len.values():
        for s in range(0, len(ks), batch_size):
            chunk = ks[s:s + batch_size]
            idx = torch.tensor([[BOS, *qs.prefix[k]] for k in chunk])
            logits, _ = model(idx)
            last = logits[:, -1, :].double()  # [B, V]
            logp = torch.log_softmax(last[:, None, :] / temps[None, :, None], dim=-1)  # [B, T, V]
            ans = torch.as_tensor(qs.answer[chunk] + first_entity, dtype=torch.long)
            out[chunk] = logp[torch.arange(len(chunk)), :, ans].exp().numpy()
    return out
