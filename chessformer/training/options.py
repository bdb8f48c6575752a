"""Training options: one dataclass is the single source of names, defaults, help and resume rules.

    >>> from chessformer.training.options import TrainOptions, resolve_options
    >>> o = resolve_options("tiny", {"max_steps": 6})
    >>> (o.max_steps, o.lr)          # the preset's lr, the class default for the rest
    (6, 0.001)

Each field's metadata says how ``--resume`` treats it (``RESUME``):

``fixed``     changes the math of training: a resumed run always takes it from its checkpoint
``kept``      taken from the checkpoint unless given again (``eval_every``, ``compile``...)
``fresh``     never taken from the checkpoint (``resume`` itself, ``device``, ``threads``...)
``max_steps`` is ``fixed`` unless given: a new count extends or shortens the schedule.

and its help text, from which ``chessformer train``'s argparse options are built
(:mod:`chessformer.commands.train`). A preset's training defaults (``Preset.train`` in
:mod:`chessformer.model.transformer`) override the class defaults; explicit options override both.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from chessformer.utils import UserError, log

__all__ = ["RESUME", "TrainOptions", "option_fields", "resolve_options", "resumed_options"]

RESUME = ("fixed", "kept", "fresh")


def _opt(default: Any, help: str, resume: str = "kept", **cli: Any) -> Any:
    """A field with its help text, its resume rule and extra argparse keywords (``cli``)."""
    assert resume in RESUME, resume
    return field(default=default, metadata={"help": help, "resume": resume, "cli": cli})


@dataclass
class TrainOptions:
    """Every training option. ``None`` means "derived at run time" where the help says so."""

    max_steps: int | None = _opt(None, "optimizer steps to run", "fixed")
    minutes: float | None = _opt(
        None, "time budget: sets the step count once, after timing the first steps", "fresh")
    block_size: int | None = _opt(
        None, "context length in tokens (default: the preset's; shorter is cheaper per token and "
        "sees less of the game's history)", "fixed")
    batch_size: int = _opt(32, "windows per micro-batch per process", "fixed")
    grad_accum: int = _opt(1, "micro-batches per optimizer step", "fixed")
    lr: float = _opt(3e-4, "peak learning rate", "fixed")
    min_lr: float = _opt(3e-5, "final learning rate of the cosine", "fixed")
    warmup: int | None = _opt(None, "warmup steps (default: 5%% of the steps, at most 200)",
                              "fixed")
    weight_decay: float = _opt(0.1, "AdamW weight decay on matrices", "fixed")
    betas: tuple[float, float] = _opt((0.9, 0.95), "AdamW betas, as 0.9,0.95", "fixed")
    grad_clip: float = _opt(1.0, "max gradient norm", "fixed")
    dtype: str = _opt("bf16", "autocast dtype", "fixed", choices=("bf16", "fp32"))
    compile: bool = _opt(False, "torch.compile the model")
    seed: int = _opt(1337, "seed for init and data order", "fixed")
    eval_every: int | None = _opt(None, "steps between evaluations (default: 10 per run)")
    eval_windows: int = _opt(64, "val windows for loss and top-1", "fixed")
    legal_positions: int = _opt(1024, "val positions checked for a legal argmax", "fixed")
    device: str = _opt("auto", "where to train", "fresh", choices=("auto", "cpu", "cuda"))
    threads: int | None = _opt(
        None, "CPU threads for torch (default: all cores; on a busy shared machine 1 can be "
        "faster than 2)", "fresh")
    auto_threads: bool = _opt(
        False, "on a CPU, time a few steps with 1 thread every 100 steps and keep the faster "
        "count (1 can be several times faster when another process holds a core)", "fresh")
    resume: bool = _opt(False, "continue the run in --out exactly from its newest checkpoint",
                        "fresh")
    stop_after: int | None = _opt(None, "stop after this step (checkpointed); --resume continues",
                                  "fresh")
    keep_best: bool = _opt(
        False, "point `latest` at the checkpoint with the lowest validation loss (a checkpoint "
        "is written at every new best; the newest ones are kept too, for --resume)")
    base_move_probe: bool = _opt(
        False, "for data from simulated experts: label the val positions once with Stockfish "
        "depth 1 (the experts' base move) and log how often the model's legal argmax plays it "
        "(probe_model_base) beside how often the experts did (probe_experts_base)")
    legal_softmax: bool = _opt(
        False, "train with a softmax over each position's pseudo-legal moves only (needs boards "
        "in the dataset, in either input mode); the logits of illegal moves are then untrained: "
        "play it with legality masked (the default), not raw", "fixed")
    move_head: str | None = _opt(
        None, "output head (default: the preset's, else flat): flat, or from-to (adds a "
        "low-rank from-square x to-square score per move), or tactics (adds a score per class of "
        "what the move does: piece moved and taken, cheapest enemy attacker of the to-square, "
        "defended, threatened, check; moves+board only)", "fixed",
        choices=("flat", "from-to", "tactics"))
    board_features: str | None = _opt(
        None, "board input of moves+board models (default: the preset's, else basic): basic, "
        "or tactics (adds hanging and attacked-piece planes)", "fixed",
        choices=("basic", "tactics"))
    ema: float = _opt(
        0.0, "decay of an exponential moving average of the weights, evaluated beside them "
        "(ema_* keys in metrics.jsonl); 0: none", "fixed")
    keep_checkpoints: int = _opt(
        2, "newest checkpoints to keep (0 keeps all, to choose one by validation loss afterwards)")
    checkpoint_minutes: float = _opt(
        5.0, "checkpoint at evaluations at most this often (always at the end)")

    def to_json(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["betas"] = list(self.betas)
        return d


def option_fields() -> tuple[dataclasses.Field, ...]:
    """The fields of :class:`TrainOptions`, in declaration order (the command line's order)."""
    return dataclasses.fields(TrainOptions)


def _rule(name: str) -> str:
    return next(f.metadata["resume"] for f in option_fields() if f.name == name)


def resumed_options(given: dict[str, Any], saved: dict[str, Any]) -> dict[str, Any]:
    """The options of a resumed run: ``saved`` (its checkpoint's) merged with ``given`` ones."""
    out = dict(given)
    names = {f.name for f in option_fields()}
    for k, v in saved.items():
        if k not in names:
            continue  # an option this version no longer has
        rule = _rule(k)
        if rule == "fresh":
            continue
        if k == "max_steps" and k in given:
            if given[k] != v:
                log.warning("resume: --max-steps %s replaces %s (the lr schedule changes)",
                            given[k], v)
            continue
        if rule == "fixed" or k not in given:
            if k in given and given[k] != v:
                log.warning("resume: ignoring %s=%r, the run was started with %r", k, given[k], v)
            out[k] = tuple(v) if k == "betas" else v
    out.pop("minutes", None)
    return out


def resolve_options(preset: str, given: dict[str, Any]) -> TrainOptions:
    """``given`` (explicit, non-``None`` options) over the preset's defaults over the class's."""
    from chessformer.model.presets import PRESET_TABLE

    if preset not in PRESET_TABLE:
        raise UserError(f"unknown preset {preset!r}; choose one of {sorted(PRESET_TABLE)}")
    o = TrainOptions(**{**PRESET_TABLE[preset].train, **given})
    o.betas = tuple(o.betas)  # type: ignore[assignment]
    if o.block_size is not None and o.block_size < 2:
        raise UserError(f"--block-size must be at least 2, not {o.block_size}")
    return o
