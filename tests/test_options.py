"""Training options: one source of defaults, preset overrides, resume rules, the command line."""

from __future__ import annotations

import argparse

import pytest

from chessformer.model.transformer import BOARD_FEATURE_SETS, MOVE_HEADS, PRESET_TABLE
from chessformer.training.options import (
    RESUME,
    TrainOptions,
    option_fields,
    resolve_options,
    resumed_options,
)
from chessformer.utils import UserError


def test_preset_defaults_override_class_defaults_and_explicit_options_win():
    assert TrainOptions().lr == 3e-4
    assert resolve_options("tiny", {}).lr == PRESET_TABLE["tiny"].train["lr"]
    assert resolve_options("50M", {}).lr == TrainOptions().lr  # no preset override
    assert resolve_options("tiny", {"lr": 5e-3}).lr == 5e-3
    with pytest.raises(UserError, match="unknown preset"):
        resolve_options("huge", {})
    with pytest.raises(UserError, match="block-size"):
        resolve_options("tiny", {"block_size": 1})


def test_every_option_says_how_resume_treats_it():
    for f in option_fields():
        assert f.metadata["resume"] in RESUME and f.metadata["help"], f.name


def test_head_and_board_choices_are_the_models():
    """options.py spells the choices itself (it imports no torch): they must stay the model's."""
    cli = {f.name: f.metadata["cli"] for f in option_fields()}
    assert tuple(cli["move_head"]["choices"]) == MOVE_HEADS
    assert tuple(cli["board_features"]["choices"]) == BOARD_FEATURE_SETS


def test_resume_rules():
    saved = resolve_options("tiny", {"max_steps": 100, "eval_every": 10, "device": "cpu"}).to_json()
    merged = resumed_options({"lr": 1.0, "eval_every": 5, "device": "auto", "resume": True}, saved)
    assert merged["lr"] == saved["lr"]  # fixed: the checkpoint's
    assert merged["eval_every"] == 5  # kept unless given: given
    assert merged["device"] == "auto" and merged["resume"]  # fresh: never the checkpoint's
    assert merged["max_steps"] == 100 and merged["betas"] == (0.9, 0.95)
    assert resumed_options({"max_steps": 200}, saved)["max_steps"] == 200  # a new schedule
    assert resumed_options({}, {**saved, "gone": 1}).get("gone") is None  # an old option


def test_the_command_line_is_built_from_the_options():
    from chessformer.commands.train import add_arguments

    p = argparse.ArgumentParser()
    add_arguments(p)
    args = p.parse_args(["--data", "d", "--out", "o", "--max-steps", "3", "--betas", "0.8,0.9",
                         "--compile", "--dtype", "fp32"])
    assert {f.name for f in option_fields()} <= set(vars(args))
    assert (args.max_steps, args.betas, args.compile, args.dtype) == (3, (0.8, 0.9), True, "fp32")
    assert args.lr is None and args.resume is None  # not given: the preset / checkpoint decides
    with pytest.raises(SystemExit):
        p.parse_args(["--data", "d", "--out", "o", "--max-steps", "3", "--minutes", "1"])
    assert "3e-05" in p.format_help()  # the help shows the class defaults


def test_board_presets_default_to_the_learner_that_transcended_and_the_plain_one_is_a_flag_away():
    """Presets that read boards train with the legal-move softmax and the tactics head on any
    data; ``--move-head flat --no-legal-softmax`` trains the plain learner."""
    from chessformer.commands.train import add_arguments

    for name, preset in PRESET_TABLE.items():
        o = resolve_options(name, {})
        reads_boards = preset.model["input_mode"] == "moves+board"
        assert (o.legal_softmax, o.move_head) == ((True, "tactics") if reads_boards
                                                  else (False, None)), name
    p = argparse.ArgumentParser()
    add_arguments(p)
    args = vars(p.parse_args(["--data", "d", "--out", "o", "--max-steps", "3", "--move-head",
                              "flat", "--no-legal-softmax"]))
    given = {f.name: args[f.name] for f in option_fields() if args[f.name] is not None}
    o = resolve_options("small", given)
    assert (o.legal_softmax, o.move_head) == (False, "flat")
