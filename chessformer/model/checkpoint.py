"""Training checkpoints: safetensors tensors + JSON, written atomically, never pickled.

    >>> from chessformer.model.checkpoint import save_checkpoint, load_checkpoint
    >>> save_checkpoint("runs/demo", model, optimizer, train_state)     # doctest: +SKIP
    >>> model, optimizer_state, train_state = load_checkpoint("runs/demo")  # doctest: +SKIP

A run folder holds ``ckpt-STEP/`` folders and a ``latest`` file naming the newest one:

``model.safetensors``   the weights (the tied output head is stored once, as ``wte.weight``)
``model.json``          ``GPTConfig``, tokenizer and board-encoding versions, step, parameter count
``optimizer.safetensors`` AdamW moments and step counts, keyed ``"<param index>.<name>"``
``train_state.json``    step, planned steps, options, RNG states (base64 / JSON lists), the
                        optimizer's param groups, wall time so far

A checkpoint is written into a hidden ``.ckpt-STEP.partial`` folder, renamed into place, and only
then does ``latest`` (replaced atomically) point at it: a crash leaves the previous checkpoint
intact. The oldest checkpoints beyond ``keep`` are then deleted.
"""

from __future__ import annotations

import base64
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
from chessformer.formats import run as run_format
from chessformer.model.transformer import (
    GPT,
    load_state_dict_checked,
    read_model_meta,
    resolve_checkpoint_dir,
)
from chessformer.utils import UserError, write_json_atomic

__all__ = ["capture_rng", "load_checkpoint", "restore_rng", "save_checkpoint"]

CHECKPOINT_FORMAT = 1


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


def save_checkpoint(run_dir: str | Path, model: GPT, optimizer: torch.optim.Optimizer | None,
                    train_state: dict[str, Any], *, keep: int = 2, latest: str | None = None,
                    ) -> Path:
    """Write ``RUN/ckpt-STEP`` atomically, point ``RUN/latest`` at it (or at the checkpoint
    named ``latest``, e.g. the best so far), prune old ones (never the one ``latest`` names)."""
    from safetensors.torch import save_file

    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    step = int(train_state["step"])
    name = run_format.checkpoint_name(step)
    final = run_dir / name
    tmp = run_dir / f".{name}.partial"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    weights = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()
               if k != "lm_head.weight"}  # tied to wte.weight; safetensors refuses shared storage
    save_file(weights, str(tmp / ckpt_format.WEIGHTS))
    cfg = model.config
    write_json_atomic(tmp / ckpt_format.META, {
        "format": CHECKPOINT_FORMAT,
        "config": cfg.to_dict(),
        "tokenizer_version": tokenizer.TOKENIZER_VERSION,
        "board_version": BOARD_VERSION if cfg.uses_boards else None,
        "step": step,
        "n_params": model.num_params(),
    })
    state = dict(train_state)
    if optimizer is not None:
        tensors, groups = _optimizer_tensors(optimizer.state_dict())
        save_file(tensors, str(tmp / ckpt_format.OPTIMIZER))
        state["optimizer_param_groups"] = groups
    write_json_atomic(tmp / ckpt_format.TRAIN_STATE, state)
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    run_format.write_latest(run_dir, latest or name)
    if keep > 0:  # keep <= 0: keep every checkpoint
        old = [p for p in run_format.checkpoints(run_dir) if p.name not in (name, latest)]
        for p in old[: max(0, len(old) - (keep - 1))]:
            shutil.rmtree(p, ignore_errors=True)
    return final


def load_checkpoint(path: str | Path, device: torch.device | str = "cpu",
                    ) -> tuple[GPT, dict[str, Any] | None, dict[str, Any]]:
    """(model on ``device``, optimizer state dict or None, train state) of a run/checkpoint dir."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    ckpt = resolve_checkpoint_dir(path)
    meta = read_model_meta(ckpt)
    model = GPT(meta["config"])
    load_state_dict_checked(model, ckpt)
    model.to(device)
    state_path = ckpt / ckpt_format.TRAIN_STATE
    try:
        state = json.loads(state_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{state_path}: missing; this checkpoint cannot be resumed") from None
    except json.JSONDecodeError as e:
        raise UserError(f"{state_path}: corrupt ({e})") from None
    opt_state = None
    opt_path = ckpt / ckpt_format.OPTIMIZER
    if opt_path.exists():
        try:
            tensors = load_file(str(opt_path), device=str(device))
        except (SafetensorError, OSError, RuntimeError, ValueError) as e:
            raise UserError(f"{opt_path}: corrupt optimizer state ({e})") from None
        opt_state = _optimizer_state(tensors, state.pop("optimizer_param_groups", []))
    return model, opt_state, state
