"""A checkpoint folder, ``RUN/ckpt-STEP/`` (written by ``train``; read by every stage that loads
a model: resume, ``eval-vs-stockfish``, ``uci``, ``report``, the experiments).

    ckpt-STEP/model.safetensors      the weights (the tied output matrix stored once)
    ckpt-STEP/model.json             format, model config, tokenizer and board versions, step
    ckpt-STEP/optimizer.safetensors  AdamW's state tensors (absent in a weights-only checkpoint)
    ckpt-STEP/train_state.json       step, data position, RNG states, options, param groups

:mod:`chessformer.model.checkpoint` writes and reads them with these names; the folder's name
and the ``latest`` pointer belong to :mod:`chessformer.formats.run`.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["META", "OPTIMIZER", "TRAIN_STATE", "WEIGHTS", "is_checkpoint"]

WEIGHTS = "model.safetensors"
META = "model.json"
OPTIMIZER = "optimizer.safetensors"
TRAIN_STATE = "train_state.json"


def is_checkpoint(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a checkpoint folder (it holds the weights)."""
    return (Path(path) / WEIGHTS).exists()
