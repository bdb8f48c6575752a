"""The named model presets: a model shape (:class:`chessformer.model.transformer.GPTConfig`
fields) and the training defaults measured to suit it, the one table of them.

    >>> from chessformer.model.presets import PRESETS, PRESET_TABLE
    >>> GPTConfig(**PRESETS["tiny"])                                  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["PRESETS", "PRESET_TABLE", "Preset"]


@dataclass(frozen=True)
class Preset:
    """A named model size and the training defaults measured to suit it.

    ``model`` holds :class:`GPTConfig` fields; ``train`` overrides
    :class:`chessformer.training.options.TrainOptions` defaults (explicit options override both).
    """

    model: dict[str, Any]
    train: dict[str, Any] = field(default_factory=dict)


#: Small models take a higher lr and, on a CPU, small batches: at equal tokens, batch 4 x 512
#: reached val loss 3.60 where 16 x 512 was still at 5.37 (60 vs 240 updates).
_CPU_TRAINING = dict(batch_size=8, lr=1e-3, min_lr=1e-4)
#: The learner of every board-input preset unless told otherwise (``--move-head flat
#: --no-legal-softmax`` trains the plain one): the softmax over each position's pseudo-legal
#: moves and the ``tactics`` move head. On the demo's experts it transcended where the plain
#: learner did not (docs/results.md, "Learner options").
_BOARD_LEARNER = dict(legal_softmax=True, move_head="tactics")

#: The named presets, the one table of them. ``50M``/``302M`` are the paper's (``moves`` mode).
#: ``small`` is the CPU demo preset: measured on 554k tokens of Lichess games, it matched the
#: 6-layer/384 ``base`` per token (val loss 3.71 vs 3.60, legal argmax 82% vs 83%) at 2.1x its
#: speed, and on 2 CPU cores speed is what a 10-minute run buys. ``tiny`` trains in seconds, for
#: tests.
PRESET_TABLE: dict[str, Preset] = {
    "tiny": Preset(dict(n_layer=2, n_head=2, d_model=64, block_size=128, input_mode="moves+board"),
                   {**_CPU_TRAINING, **_BOARD_LEARNER}),
    "small": Preset(dict(n_layer=4, n_head=4, d_model=256, block_size=512,
                         input_mode="moves+board"), {**_CPU_TRAINING, **_BOARD_LEARNER}),
    "small-moves": Preset(dict(n_layer=4, n_head=4, d_model=256, block_size=512,
                               input_mode="moves"), _CPU_TRAINING),
    "base": Preset(dict(n_layer=6, n_head=6, d_model=384, block_size=512,
                        input_mode="moves+board"), {**_CPU_TRAINING, **_BOARD_LEARNER}),
    "50M": Preset(dict(n_layer=16, n_head=8, d_model=512, block_size=1024, input_mode="moves")),
    "302M": Preset(dict(n_layer=24, n_head=16, d_model=1024, block_size=1024, input_mode="moves")),
}
#: ``GPTConfig`` fields per preset name (the ``model`` half of :data:`PRESET_TABLE`).
PRESETS: dict[str, dict[str, Any]] = {name: p.model for name, p in PRESET_TABLE.items()}
