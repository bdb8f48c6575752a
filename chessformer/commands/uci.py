"""``chessformer uci``: the command line of :mod:`chessformer.play.uci` (a model as a UCI engine).

    chessformer uci --model runs/demo [--temperature 0.001] [--legality masked|raw]

``--model`` defaults to ``$CHESSFORMER_MODEL``, so a GUI that launches an engine as one bare
command can run ``chessformer-uci`` with the model named in the environment.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from chessformer.model.inference import LEGALITY, MAX_RAW_TRIES, ModelSettings
from chessformer.play.uci import DEFAULT_SETTINGS, ENGINE_NAME, UciServer
from chessformer.utils import UserError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default=os.environ.get("CHESSFORMER_MODEL"),
                        help="training run folder (or checkpoint folder) (default: "
                             "$CHESSFORMER_MODEL)")
    parser.add_argument("--temperature", type=float, default=DEFAULT_SETTINGS.temperature,
                        help="sampling temperature (UCI option Temperature; default "
                             f"{DEFAULT_SETTINGS.temperature:g})")
    parser.add_argument("--legality", choices=LEGALITY, default=DEFAULT_SETTINGS.legality,
                        help="masked: legal moves only; raw: the paper's protocol, "
                             f"{MAX_RAW_TRIES} samples while illegal, then a forfeit (bestmove "
                             f"0000) (UCI option Legality; default {DEFAULT_SETTINGS.legality})")
    parser.add_argument("--seed", type=int, default=0, help="sampling seed (UCI option Seed)")
    parser.add_argument("--device", default="cpu", help="torch device for the model")


def main(args: argparse.Namespace) -> int:
    if not args.model:
        raise UserError("pass --model RUN (or set CHESSFORMER_MODEL)")
    if not Path(args.model).exists():
        raise UserError(f"model {args.model} does not exist (train one with `chessformer train`)")
    if not args.temperature > 0:
        raise UserError(f"--temperature must be > 0, got {args.temperature}")
    from chessformer.model.checkpoint import load_model

    model = load_model(args.model, device=args.device)
    server = UciServer(model, name=f"{ENGINE_NAME} {Path(args.model).resolve().name}",
                       settings=ModelSettings(args.temperature, args.legality), seed=args.seed,
                       device=args.device)
    server.run(sys.stdin)
    return 0

