"""Checkpoint folders: the typed records of model.json and train_state.json, files written by
the real trainer and by the release at 03b7ff1 loading, one-line errors, generic models."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from chessformer.formats.checkpoint import (
    CHECKPOINT_FORMAT,
    GENERIC_MODEL,
    META,
    TRAIN_STATE,
    ModelMeta,
    TrainState,
)
from chessformer.model.checkpoint import (
    load_any_model,
    load_checkpoint,
    load_model,
    save_checkpoint,
)
from chessformer.model.gpt import CoreConfig, GPTCore
from chessformer.model.transformer import GPT
from chessformer.utils import UserError

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "ckpt-03b7ff1"


def _fixture_inputs() -> tuple[torch.Tensor, torch.Tensor]:
    """The fixed input of ``expected.json``, from the script that made the fixture."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_ckpt", FIXTURE.parent / "make_ckpt_03b7ff1.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.inputs()


def _same_text(path: Path, record) -> None:
    """The record written back is the file, byte for byte (``write_json_atomic``'s form)."""
    assert json.dumps(record.to_json(), indent=2) + "\n" == path.read_text(encoding="utf-8")


def test_train_writes_a_checkpoint_that_loads(tiny_dataset, tmp_path):
    from chessformer.training.train import train

    run = tmp_path / "run"
    torch.set_num_threads(1)
    train(tiny_dataset, run, "tiny", max_steps=2, batch_size=4, eval_every=2)
    model, opt_state, state = load_checkpoint(run)
    assert isinstance(model, GPT) and model.training
    assert isinstance(state, TrainState) and state.step == 2 and state.preset == "tiny"
    assert state.options["max_steps"] == 2 and state.world_size == 1 and state.rng is not None
    assert state.data is not None and state.data["next_sample"] == 8
    assert state.optimizer_param_groups is None  # went into the optimizer state
    opt = model.configure_optimizer(0.1, 1e-3, (0.9, 0.95))
    opt.load_state_dict(opt_state)
    ckpt = run / "ckpt-0000002"
    meta = ModelMeta.read(json.loads((ckpt / META).read_text()), "model.json")
    assert meta.format == CHECKPOINT_FORMAT and meta.model is None and meta.step == 2
    assert meta.n_params == model.num_params() and meta.config == model.config.to_dict()
    _same_text(ckpt / META, meta)
    _same_text(ckpt / TRAIN_STATE,
               TrainState.from_json(json.loads((ckpt / TRAIN_STATE).read_text()), "t"))
    loaded = load_model(run)
    idx = torch.randint(3, 100, (1, 5))
    boards = torch.zeros(1, 5, 114, dtype=torch.uint8)
    with torch.no_grad():
        assert torch.equal(loaded(idx, boards)[0], model.eval()(idx, boards)[0])


def test_the_release_at_03b7ff1_wrote_files_that_load(tmp_path):
    """tests/fixtures/make_ckpt_03b7ff1.py made the fixture with that release's code."""
    ckpt = tmp_path / "ckpt-0000001"
    shutil.copytree(FIXTURE, ckpt)
    model, opt_state, state = load_checkpoint(ckpt)
    assert state.step == 1 and state.preset == "tiny" and state.elapsed_s == 0.25
    assert model.config.move_head == "tactics" and model.config.d_model == 4
    opt = model.configure_optimizer(0.1, 1e-3, (0.9, 0.95))
    opt.load_state_dict(opt_state)
    assert opt.param_groups[0]["betas"] == (0.9, 0.95)
    idx, boards = _fixture_inputs()
    expected = json.loads((ckpt / "expected.json").read_text())
    with torch.no_grad():
        logits, _ = model.eval()(idx, boards)
    assert logits.double().sum().item() == pytest.approx(expected["logits_sum"], rel=1e-6)
    assert torch.allclose(logits[0, :, :16], torch.tensor(expected["logits_0"]), atol=1e-6)
    # the records give back the files as that release wrote them
    _same_text(ckpt / META, ModelMeta.read(json.loads((ckpt / META).read_text()), "m"))
    raw = json.loads((ckpt / TRAIN_STATE).read_text())
    _same_text(ckpt / TRAIN_STATE, TrainState.from_json(raw, "t"))
    # and the KG testbed's train state of that release (step, planned steps, options)
    kg = TrainState.from_json({"step": 800, "planned_steps": 800,
                               "options": {"kg": {"n_layer": 2}, "seed": 0}}, "t")
    assert kg.planned_steps == 800 and kg.preset is None and kg.rng is None


@pytest.mark.parametrize("file, edit, match", [
    (META, lambda d: d.pop("step"), r"model\.json: ModelMeta has no field 'step'"),
    (META, lambda d: d.update(n_params="many"), r"model\.json: field 'n_params' .* should be int"),
    (META, lambda d: d.update(format=2), r"model\.json: checkpoint format 2"),
    (META, lambda d: d.update(extra=1), r"model\.json: unknown field 'extra'"),
    (META, lambda d: d["config"].update(n_layer=None),
     r"model\.json config: field 'n_layer' of a GPTConfig should be int"),
    (META, lambda d: d["config"].update(move_head="x"), r"model\.json: unreadable model config"),
    (TRAIN_STATE, lambda d: d.pop("step"), r"train_state\.json: TrainState has no field 'step'"),
    (TRAIN_STATE, lambda d: d.update(rng=[1]), r"train_state\.json: field 'rng' .* should be"),
])
def test_a_missing_or_mistyped_field_is_one_line(tmp_path, file, edit, match):
    ckpt = tmp_path / "ckpt-0000001"
    shutil.copytree(FIXTURE, ckpt)
    data = json.loads((ckpt / file).read_text())
    edit(data)
    (ckpt / file).write_text(json.dumps(data))
    with pytest.raises(UserError, match=match) as e:
        load_checkpoint(ckpt)
    assert "\n" not in str(e.value) and str(ckpt / file) in str(e.value)


def test_weights_alone_cannot_be_resumed(tiny_dataset, tmp_path):
    from chessformer.model.transformer import GPTConfig
    from chessformer.training.train import train

    save_checkpoint(tmp_path / "run", GPT(GPTConfig(n_layer=1, n_head=1, d_model=8,
                                                    block_size=16)), None, {"step": 1})
    with pytest.raises(UserError, match="has no 'preset'.*cannot be resumed"):
        train(tiny_dataset, tmp_path / "run", "tiny", resume=True, max_steps=2)


def test_a_generic_model_saves_and_loads(tmp_path):
    torch.manual_seed(0)
    model = GPTCore(CoreConfig(vocab_size=40, block_size=8, n_layer=1, n_head=2, d_model=16))
    ckpt = save_checkpoint(tmp_path / "run", model, None, TrainState(step=3, planned_steps=3))
    meta = json.loads((ckpt / META).read_text())
    assert meta["model"] == GENERIC_MODEL and meta["tokenizer_version"] is None
    assert meta["config"]["vocab_size"] == 40
    loaded = load_any_model(tmp_path / "run")
    assert type(loaded) is GPTCore and loaded.lm_head.weight is loaded.wte.weight
    idx = torch.randint(0, 40, (2, 8))
    with torch.no_grad():
        assert torch.equal(loaded(idx)[0], model.eval()(idx)[0])
    with pytest.raises(UserError, match="generic GPT"):
        load_model(tmp_path / "run")
