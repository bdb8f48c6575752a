"""A checkpoint folder, ``RUN/ckpt-STEP/`` (written by ``train``; read by every stage that loads
a model: resume, ``eval-vs-stockfish``, ``uci``, ``report``, the experiments).

    ckpt-STEP/model.safetensors      the weights (the tied output matrix stored once)
    ckpt-STEP/model.json             format, model config, tokenizer and board versions, step
                                     (a :class:`ModelMeta`)
    ckpt-STEP/optimizer.safetensors  AdamW's state tensors (absent in a weights-only checkpoint)
    ckpt-STEP/train_state.json       step, data position, RNG states, options, param groups
                                     (a :class:`TrainState`)

:mod:`chessformer.model.checkpoint` writes and reads them with these names; the folder's name
and the ``latest`` pointer belong to :mod:`chessformer.formats.run`.

The schema version of the folder is ``model.json``'s ``format`` (:data:`CHECKPOINT_FORMAT`):
``train_state.json`` is read under the same version (it holds none of its own, so that the files
this release writes stay byte for byte those of the release before the records). A missing,
unknown or mistyped field of either file is a one-line :class:`RecordError` naming the file and
the field.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from chessformer.formats.records import Record, RecordError

__all__ = ["CHECKPOINT_FORMAT", "GENERIC_MODEL", "META", "OPTIMIZER", "TRAIN_STATE", "WEIGHTS",
           "ModelMeta", "TrainState", "is_checkpoint"]

#: The schema version of a checkpoint folder (``model.json``'s ``format``).
CHECKPOINT_FORMAT = 1
#: ``ModelMeta.model`` of a generic GPT (``chessformer.model.gpt.GPTCore``, e.g. the KG testbed's).
GENERIC_MODEL = "gpt"

WEIGHTS = "model.safetensors"
META = "model.json"
OPTIMIZER = "optimizer.safetensors"
TRAIN_STATE = "train_state.json"


def is_checkpoint(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a checkpoint folder (it holds the weights)."""
    return (Path(path) / WEIGHTS).exists()


@dataclass(frozen=True, kw_only=True)
class ModelMeta(Record):
    """``model.json``: what the weights are (written with them; read by every loader)."""

    OMIT_NONE: ClassVar[tuple[str, ...]] = ("model",)

    #: the folder's schema version, :data:`CHECKPOINT_FORMAT`
    format: int
    #: the model's config: ``GPTConfig`` fields (chess) or ``CoreConfig`` fields (generic)
    config: dict[str, Any]
    #: ``chessformer.core.tokenizer.TOKENIZER_VERSION`` of a chess model; None for a generic one
    tokenizer_version: int | None
    #: ``chessformer.core.boards.BOARD_VERSION`` where the model reads boards, else None
    board_version: int | None
    #: the training step the weights are from
    step: int
    #: the parameter count (the tied output matrix counted once)
    n_params: int
    #: which model: absent for the chess GPT, :data:`GENERIC_MODEL` for a generic one
    model: str | None = None

    @classmethod
    def read(cls, data: Any, where: str) -> ModelMeta:
        """:meth:`from_json`, refusing a ``format`` this chessformer cannot read."""
        meta = cls.from_json(data, where)
        if meta.format != CHECKPOINT_FORMAT:
            raise RecordError(f"{where}: checkpoint format {meta.format}, this chessformer reads "
                              f"format {CHECKPOINT_FORMAT}")
        return meta


@dataclass(frozen=True, kw_only=True)
class TrainState(Record):
    """``train_state.json``: where a run stands (written with each checkpoint; read to resume).
    The trainer writes every field; a checkpoint written for its weights alone may hold just the
    step (the fields it leaves out are absent, not null)."""

    OMIT_NONE: ClassVar[tuple[str, ...]] = (
        "preset", "options", "data", "world_size", "rng", "elapsed_s", "planned_steps",
        "optimizer_param_groups")

    #: optimizer steps taken
    step: int
    #: the model preset's name (``chessformer.model.presets``)
    preset: str | None = None
    #: the run's resolved options (``TrainOptions.to_json()``; the KG testbed: its own)
    options: dict[str, Any] | None = None
    #: the dataset: ``path``, ``next_sample`` (global sample index) and ``manifest_sha256``
    data: dict[str, Any] | None = None
    #: processes that trained the run
    world_size: int | None = None
    #: torch / numpy / python RNG states (``chessformer.model.checkpoint.capture_rng``)
    rng: dict[str, Any] | None = None
    #: training wall seconds so far
    elapsed_s: float | None = None
    #: the steps the run was planned for (the KG testbed's checkpoints)
    planned_steps: int | None = None
    #: the optimizer's param groups (lr, betas, weight decay...) beside its tensors
    optimizer_param_groups: list[Any] | None = None
