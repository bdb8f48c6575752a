"""The learning-rate schedule every training loop uses (the chess trainer, the KG testbed).

    >>> lr_at(0, lr=1e-3, min_lr=1e-4, warmup=10, max_steps=100)
    0.0001
"""

from __future__ import annotations

import math

__all__ = ["lr_at"]


def lr_at(step: int, *, lr: float, min_lr: float, warmup: int, max_steps: int) -> float:
    """Linear warmup over ``warmup`` steps, then cosine from ``lr`` down to ``min_lr``."""
    if step < warmup:
        return lr * (step + 1) / warmup
    if step >= max_steps:
        return min_lr
    t = (step - warmup) / max(1, max_steps - warmup)
    return min_lr + 0.5 * (1 + math.cos(math.pi * t)) * (lr - min_lr)
