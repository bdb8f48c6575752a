"""``chessformer train``: the command line of :mod:`chessformer.training.train`.

Every option but ``--data``/``--preset``/``--out`` is built from the fields of
:class:`chessformer.training.options.TrainOptions` (name, type, help, default).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import types
import typing


def _betas(s: str) -> tuple[float, float]:
    try:
        a, b = (float(v) for v in s.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--betas wants two numbers like 0.9,0.95, got {s!r}") from None
    return a, b


#: Options given as one of two: a step count or a time budget.
_EXCLUSIVE = ("max_steps", "minutes")


def _scalar_type(f: dataclasses.Field) -> type:
    """The field's type without ``| None`` (annotations are strings: ``from __future__``)."""
    from chessformer.training.options import TrainOptions

    hint = typing.get_type_hints(TrainOptions)[f.name]
    if isinstance(hint, types.UnionType):
        hint = next(a for a in typing.get_args(hint) if a is not type(None))
    return hint


def _default_text(f: dataclasses.Field, preset_defaults: set[str]) -> str:
    from chessformer.model.presets import PRESET_TABLE

    if isinstance(f.default, bool):
        on = [name for name, p in PRESET_TABLE.items() if p.train.get(f.name, f.default)]
        return f" (default: on for the presets {', '.join(on)}, else off)" if on else ""
    if f.default is None:
        return ""
    value = ",".join(map(str, f.default)) if isinstance(f.default, tuple) else f.default
    if f.name in preset_defaults:
        return f" (default: the preset's, else {value})"
    return f" (default {value})"


def add_arguments(p: argparse.ArgumentParser) -> None:
    from chessformer.model.presets import PRESET_TABLE
    from chessformer.training.options import option_fields

    p.add_argument("--data", required=True, help="dataset folder written by `chessformer ingest`")
    p.add_argument("--preset", default="small", choices=sorted(PRESET_TABLE),
                   help="model size and input mode (default: small, the CPU demo preset)")
    p.add_argument("--out", required=True, help="run folder: checkpoints, metrics.jsonl, run.json")
    preset_defaults = {k for preset in PRESET_TABLE.values() for k in preset.train}
    exclusive = p.add_mutually_exclusive_group()
    for f in option_fields():
        flag = "--" + f.name.replace("_", "-")
        where = exclusive if f.name in _EXCLUSIVE else p
        help_text = f.metadata["help"] + _default_text(f, preset_defaults)
        kind = _scalar_type(f)
        # default=None everywhere: an option not given is not passed, so the preset's default
        # and, on --resume, the checkpoint's value apply.
        if kind is bool:  # --flag and --no-flag: a preset's default can be turned off
            where.add_argument(flag, action=argparse.BooleanOptionalAction, default=None,
                               help=help_text)
        elif f.name == "betas":
            where.add_argument(flag, type=_betas, help=help_text)
        else:
            where.add_argument(flag, type=kind, help=help_text, **f.metadata["cli"])


def main(args: argparse.Namespace) -> int:
    from chessformer.training.options import option_fields
    from chessformer.training.train import train
    from chessformer.utils import command_line

    opts = {f.name: getattr(args, f.name) for f in option_fields()}
    final = train(args.data, args.out, args.preset, command=command_line(), **opts)
    if int(os.environ.get("RANK", "0")) == 0:
        print(json.dumps(final.to_json(), indent=2))
    return 0
