"""Checkpoints, saved and loaded: safetensors tensors + JSON, written atomically, never pickled.

    >>> from chessformer.model.checkpoint import save_checkpoint, load_checkpoint, load_model
    >>> save_checkpoint("runs/demo", model, optimizer, train_state)     # doctest: +SKIP
    >>> model, optimizer_state, train_state = load_checkpoint("runs/demo")  # doctest: +SKIP
    >>> model = load_model("runs/demo")                                  # doctest: +SKIP

A run folder holds ``ckpt-STEP/`` folders and a ``latest`` file naming the newest one:

``model.safetensors``   the weights (the tied output head is stored once, as ``wte.weight``)
``model.json``          ``GPTConfig`` (or a generic model's ``CoreConfig``), tokenizer and
                        board-encoding versions, step, parameter count
                        (:class:`chessformer.formats.checkpoint.ModelMeta`)
``optimizer.safetensors`` AdamW moments and step counts, keyed ``"<param index>.<name>"``
``train_state.json``    step, preset, options, data position, RNG states (base64 / JSON lists),
                        the optimizer's param groups, wall time so far
                        (:class:`chessformer.formats.checkpoint.TrainState`)

A checkpoint is written into a hidden ``.ckpt-STEP.partial`` folder, renamed into place, and only
then does ``latest`` (replaced atomically) point at it: a crash leaves the previous checkpoint
intact. The oldest checkpoints beyond ``keep`` are then deleted.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch

from chessformer.core import tokenizer
from chessformer.core.boards import BOARD_VERSION
from chessformer.formats import checkpoint as ckpt_format
from chessformer.formats import records as records_format
from chessformer.formats import run as run_format
from chessformer.model.gpt import CoreConfig, GPTCore
from chessformer.model.transformer import GPT, GPTConfig
from chessformer.utils import UserError, write_json_atomic

__all__ = ["capture_rng", "load_any_model", "load_checkpoint", "load_model",
           "load_state_dict_checked", "model_meta", "read_model_meta", "read_train_state",
           "resolve_checkpoint_dir", "restore_rng", "save_checkpoint"]


def capture_rng() -> dict[str, Any]:
    """torch / numpy (legacy global) / python RNG states as JSON-safe values."""
    py = random.getstate()
    np_state = np.random.get_state()
    return {
        "torch": base64.b64encode(torch.get_rng_state().numpy().tobytes()).decode("ascii"),
        "numpy": [np_state[0], np_state[1].tolist(), *map(_plain, np_state[2:])],
        "python": [py[0], list(py[1]), py[2]],
    }


def _plain(x: Any) -> Any:
    return x.item() if hasattr(x, "item") else x


def restore_rng(state: dict[str, Any]) -> None:
    torch_bytes = base64.b64decode(state["torch"])
    torch.set_rng_state(torch.frombuffer(bytearray(torch_bytes), dtype=torch.uint8))
    n = state["numpy"]
    np.random.set_state((n[0], np.asarray(n[1], dtype=np.uint32), *n[2:]))
    p = state["python"]
    random.setstate((p[0], tuple(p[1]), p[2]))


def _optimizer_tensors(opt_state: dict[str, Any]) -> tuple[dict[str, torch.Tensor], list[dict]]:
    tensors: dict[str, torch.Tensor] = {}
    for pid, st in opt_state["state"].items():
        for key, value in st.items():
            if not torch.is_tensor(value):
                value = torch.tensor(value)
            tensors[f"{pid}.{key}"] = value.detach().cpu().contiguous()
    groups = []
    for g in opt_state["param_groups"]:
        groups.append({k: (list(v) if isinstance(v, tuple) else v) for k, v in g.items()})
    return tensors, groups


def _optimizer_state(tensors: dict[str, torch.Tensor], groups: list[dict]) -> dict[str, Any]:
    state: dict[int, dict[str, torch.Tensor]] = {}
    for name, t in tensors.items():
        pid, key = name.split(".", 1)
        state.setdefault(int(pid), {})[key] = t
    groups = [{k: (tuple(v) if k == "betas" else v) for k, v in g.items()} for g in groups]
    return {"state": state, "param_groups": groups}


def save_checkpoint(run_dir: str | Path, model: GPTCore, optimizer: torch.optim.Optimizer | None,
                    train_state: ckpt_format.TrainState | dict[str, Any], *, keep: int = 2,
                    latest: str | None = None) -> Path:
    """Write ``RUN/ckpt-STEP`` atomically, point ``RUN/latest`` at it (or at the checkpoint
    named ``latest``, e.g. the best so far), prune old ones (never the one ``latest`` names).

    ``model``: the chess :class:`GPT` or a generic :class:`GPTCore`; ``train_state``: a
    :class:`TrainState` or its JSON fields."""
    from safetensors.torch import save_file

    if not isinstance(train_state, ckpt_format.TrainState):
        train_state = ckpt_format.TrainState.from_json(train_state, "save_checkpoint train_state")
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    step = train_state.step
    name = run_format.checkpoint_name(step)
    final = run_dir / name
    tmp = run_dir / f".{name}.partial"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    weights = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()
               if k != "lm_head.weight"}  # tied to wte.weight; safetensors refuses shared storage
    save_file(weights, str(tmp / ckpt_format.WEIGHTS))
    write_json_atomic(tmp / ckpt_format.META, model_meta(model, step).to_json())
    if optimizer is not None:
        tensors, groups = _optimizer_tensors(optimizer.state_dict())
        save_file(tensors, str(tmp / ckpt_format.OPTIMIZER))
        train_state = dataclasses.replace(train_state, optimizer_param_groups=groups)
    write_json_atomic(tmp / ckpt_format.TRAIN_STATE, train_state.to_json())
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    run_format.write_latest(run_dir, latest or name)
    if keep > 0:  # keep <= 0: keep every checkpoint
        old = [p for p in run_format.checkpoints(run_dir) if p.name not in (name, latest)]
        for p in old[: max(0, len(old) - (keep - 1))]:
            shutil.rmtree(p, ignore_errors=True)
    return final


def model_meta(model: GPTCore, step: int) -> ckpt_format.ModelMeta:
    """``model.json`` of ``model`` at ``step``."""
    cfg = model.config
    chess = isinstance(model, GPT)
    return ckpt_format.ModelMeta(
        format=ckpt_format.CHECKPOINT_FORMAT, config=cfg.to_dict(),
        tokenizer_version=tokenizer.TOKENIZER_VERSION if chess else None,
        board_version=BOARD_VERSION if chess and cfg.uses_boards else None,
        step=step, n_params=model.num_params(),
        model=None if chess else ckpt_format.GENERIC_MODEL)


def _read_json(path: Path, missing: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path}: missing{missing}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise UserError(f"{path}: corrupt ({e})") from None


def read_train_state(ckpt: Path) -> ckpt_format.TrainState:
    """``ckpt/train_state.json`` (one-line ``UserError`` where it is missing or malformed)."""
    path = ckpt / ckpt_format.TRAIN_STATE
    return ckpt_format.TrainState.from_json(
        _read_json(path, "; this checkpoint cannot be resumed"), str(path))


def load_checkpoint(path: str | Path, device: torch.device | str = "cpu",
                    ) -> tuple[GPT, dict[str, Any] | None, ckpt_format.TrainState]:
    """(model on ``device``, optimizer state dict or None, train state) of a run/checkpoint dir.

    The train state's ``optimizer_param_groups`` went into the optimizer state (it is None)."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    ckpt = resolve_checkpoint_dir(path)
    model = load_model(ckpt, device)
    model.train()
    state = read_train_state(ckpt)
    opt_state = None
    opt_path = ckpt / ckpt_format.OPTIMIZER
    if opt_path.exists():
        try:
            tensors = load_file(str(opt_path), device=str(device))
        except (SafetensorError, OSError, RuntimeError, ValueError) as e:
            raise UserError(f"{opt_path}: corrupt optimizer state ({e})") from None
        opt_state = _optimizer_state(tensors, state.optimizer_param_groups or [])
    return model, opt_state, dataclasses.replace(state, optimizer_param_groups=None)


def resolve_checkpoint_dir(path: str | Path) -> Path:
    """A run dir (follows ``RUN/latest``) or a checkpoint dir (holds ``model.safetensors``)."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path}: no such run or checkpoint directory")
    if ckpt_format.is_checkpoint(path):
        return path
    name = run_format.read_latest(path)
    if name is not None:
        ckpt = path / name
        if not name or not ckpt_format.is_checkpoint(ckpt):
            raise UserError(f"{path / run_format.LATEST} points at {name!r}, which is not a "
                            f"complete checkpoint")
        return ckpt
    raise UserError(f"{path} is neither a run directory (no 'latest' file) nor a checkpoint "
                    f"directory (no model.safetensors); train one with `chessformer train`")


def read_model_meta(ckpt: Path) -> tuple[ckpt_format.ModelMeta, GPTConfig | CoreConfig]:
    """``ckpt/model.json`` and its config (a :class:`GPTConfig` for a chess model, checked
    against this chessformer's tokenizer and board encoding; a :class:`CoreConfig` for a generic
    one); a one-line ``UserError`` otherwise."""
    meta_path = ckpt / ckpt_format.META
    meta = ckpt_format.ModelMeta.read(_read_json(meta_path, " (incomplete checkpoint)"),
                                      str(meta_path))
    generic = meta.model == ckpt_format.GENERIC_MODEL
    if meta.model is not None and not generic:
        raise UserError(f"{meta_path}: unknown model {meta.model!r}")
    try:  # the config's fields typed as the record's are
        config = records_format.from_json(CoreConfig if generic else GPTConfig, meta.config,
                                          f"{meta_path} config")
    except ValueError as e:  # a value the config refuses (``__post_init__``)
        raise UserError(f"{meta_path}: unreadable model config ({e})") from None
    if generic:
        return meta, config
    if meta.tokenizer_version != tokenizer.TOKENIZER_VERSION:
        raise UserError(f"{ckpt}: trained with tokenizer version {meta.tokenizer_version}, "
                        f"this chessformer has {tokenizer.TOKENIZER_VERSION}")
    if config.uses_boards and meta.board_version != BOARD_VERSION:
        raise UserError(f"{ckpt}: trained with board encoding {meta.board_version}, "
                        f"this chessformer has {BOARD_VERSION}")
    if config.vocab_size != tokenizer.VOCAB_SIZE:
        raise UserError(f"{ckpt}: vocab size {config.vocab_size} != {tokenizer.VOCAB_SIZE}")
    return meta, config


def load_state_dict_checked(model: GPTCore, ckpt: Path, device: torch.device | str = "cpu") -> None:
    """Load ``ckpt/model.safetensors`` into ``model``; a missing, extra or misshapen tensor is a
    ``UserError`` naming the file."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    weights_path = ckpt / ckpt_format.WEIGHTS
    try:
        state = load_file(str(weights_path), device=str(device))
    except (SafetensorError, OSError, RuntimeError, ValueError) as e:
        raise UserError(f"{weights_path}: corrupt weights file ({e})") from None
    state.setdefault("lm_head.weight", state.get("wte.weight"))  # tied: stored once
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    bad = [k for k in expected if k in state and state[k] is not None
           and tuple(state[k].shape) != tuple(expected[k].shape)]
    if missing or unexpected or bad:
        raise UserError(f"{weights_path} does not match its model.json config: missing "
                        f"{missing[:5]}, unexpected {unexpected[:5]}, wrong shape {bad[:5]}")
    model.load_state_dict(state)


def load_any_model(path: str | Path, device: torch.device | str = "cpu") -> GPTCore:
    """The model of a run dir or checkpoint dir, chess or generic, in eval mode on ``device``
    (fp32 weights)."""
    ckpt = resolve_checkpoint_dir(path)
    _, config = read_model_meta(ckpt)
    model = GPT(config) if isinstance(config, GPTConfig) else GPTCore(config)
    load_state_dict_checked(model, ckpt, device="cpu")
    return model.to(device).eval()


def load_model(path: str | Path, device: torch.device | str = "cpu") -> GPT:
    """The chess model of a run dir or checkpoint dir, in eval mode on ``device`` (fp32
    weights); a generic model's checkpoint is a ``UserError``."""
    model = load_any_model(path, device)
    if not isinstance(model, GPT):
        raise UserError(f"{resolve_checkpoint_dir(path)}: a generic GPT's checkpoint (no chess "
                        f"tokenizer), not a chess model")
    return model
