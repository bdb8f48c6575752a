"""Training: schedule, end-to-end run, checkpoints kept, exact resume, budget, CLI, DDP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from chessformer.training.train import lr_at, train
from chessformer.utils import UserError

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """One intra-op thread: on a shared 2-core machine, 2 spinning OpenMP threads can be 10x
    slower than one; the tests check results, not speed."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _read_metrics(run: Path, kind: str) -> list[dict]:
    lines = (run / "metrics.jsonl").read_text().splitlines()
    return [r for r in map(json.loads, lines) if r["type"] == kind]


def test_lr_schedule():
    kw = dict(lr=1.0, min_lr=0.1, warmup=10, max_steps=110)
    assert lr_at(0, **kw) == pytest.approx(0.1)
    assert lr_at(9, **kw) == pytest.approx(1.0)
    assert lr_at(60, **kw) == pytest.approx(0.55)
    assert lr_at(110, **kw) == pytest.approx(0.1)
    assert all(lr_at(s, **kw) >= lr_at(s + 1, **kw) for s in range(10, 120))


def test_train_end_to_end(tiny_dataset, tmp_path):
    from chessformer.model.checkpoint import load_model

    run = tmp_path / "run"
    # The plain learner: the loss over every move token, whose fall the thresholds measure.
    final = train(tiny_dataset, run, "tiny", max_steps=24, eval_every=12, lr=3e-3, batch_size=8,
                  legal_softmax=False, move_head="flat")
    assert final.finished and final.step == 24
    losses = [r["loss"] for r in _read_metrics(run, "train")]
    assert len(losses) == 24 and np.mean(losses[-4:]) < np.mean(losses[:4]) - 0.3
    vals = _read_metrics(run, "val")
    assert [v["step"] for v in vals] == [0, 12, 24]
    assert 0 <= vals[-1]["val_legal"] <= 1 and 0 <= vals[-1]["val_top1"] <= 1
    assert vals[-1]["val_loss"] < vals[0]["val_loss"]
    on_disk = json.loads((run / "final_metrics.json").read_text())
    assert on_disk["val_legal"] == final.val_legal == vals[-1]["val_legal"]
    info = json.loads((run / "run.json").read_text())
    assert info["manifest_sha256"] and info["preset"] == "tiny"
    assert (run / "latest").read_text().strip() == "ckpt-0000024"
    assert load_model(run).config.n_layer == 2
    with pytest.raises(UserError, match="already holds a run"):
        train(tiny_dataset, run, "tiny", max_steps=2)


def test_block_size_overrides_the_preset(tiny_dataset, tmp_path):
    from chessformer.model.checkpoint import load_model

    final = train(tiny_dataset, tmp_path / "r", "tiny", max_steps=2, block_size=32, batch_size=4)
    assert final.finished and load_model(tmp_path / "r").config.block_size == 32
    assert json.loads((tmp_path / "r" / "run.json").read_text())["config"]["block_size"] == 32
    with pytest.raises(UserError, match="block-size"):
        train(tiny_dataset, tmp_path / "bad", "tiny", max_steps=2, block_size=1)


def test_keep_checkpoints(tiny_dataset, tmp_path):
    """Checkpoints at every evaluation: the default keeps the newest two, 0 keeps them all."""
    for keep, want in ((2, ["ckpt-0000004", "ckpt-0000006"]),
                       (0, ["ckpt-0000002", "ckpt-0000004", "ckpt-0000006"])):
        run = tmp_path / f"keep{keep}"
        train(tiny_dataset, run, "tiny", max_steps=6, eval_every=2, batch_size=4,
              checkpoint_minutes=0, keep_checkpoints=keep)
        assert sorted(p.name for p in run.glob("ckpt-*")) == want
        assert (run / "latest").read_text().strip() == "ckpt-0000006"


@pytest.mark.parametrize("dtype", ["fp32", "bf16"])
def test_resume_is_exact(tiny_dataset, tmp_path, dtype):
    opts = dict(max_steps=8, eval_every=4, batch_size=4, dtype=dtype, lr=3e-3)
    train(tiny_dataset, tmp_path / "a", "tiny", **opts)
    stopped = train(tiny_dataset, tmp_path / "b", "tiny", stop_after=4, **opts)
    assert not stopped.finished and stopped.step == 4
    resumed = train(tiny_dataset, tmp_path / "b", "tiny", resume=True)
    assert resumed.finished
    a = [r["loss"] for r in _read_metrics(tmp_path / "a", "train")]
    b = [r["loss"] for r in _read_metrics(tmp_path / "b", "train")]
    assert len(a) == len(b) == 8
    assert a == b  # bit-identical, not just close
    assert _read_metrics(tmp_path / "a", "val")[-1]["val_loss"] == \
        _read_metrics(tmp_path / "b", "val")[-1]["val_loss"]
    run = json.loads((tmp_path / "b" / "run.json").read_text())
    assert [r["step"] for r in run["resumes"]] == [4]


def test_resume_needs_a_checkpoint(tiny_dataset, tmp_path):
    with pytest.raises(UserError, match="no checkpoint"):
        train(tiny_dataset, tmp_path / "none", "tiny", resume=True)


def test_minutes_budget_sets_and_records_the_step_count(tiny_dataset, tmp_path):
    budget = 0.2 * 60
    final = train(tiny_dataset, tmp_path / "m", "tiny", minutes=budget / 60, batch_size=4,
                  eval_every=20)
    assert final.finished and final.max_steps >= 1
    # Sized to the budget from the pace of the first steps (no wall-time bound here: on a
    # shared machine any such bound is flaky; the budget's arithmetic is in the code)
    assert final.max_steps == final.step and final.step_s > 0
    state = json.loads((tmp_path / "m" / f"ckpt-{final.step:07d}" / "train_state.json").read_text())
    assert state["options"]["max_steps"] == final.max_steps


def test_auto_threads_probes_one_thread_and_records_it(tiny_dataset, tmp_path):
    import torch

    before = torch.get_num_threads()  # the tests run with 1 thread: give the tuner a choice
    torch.set_num_threads(2)
    try:
        final = train(tiny_dataset, tmp_path / "t", "tiny", max_steps=16, batch_size=4,
                      eval_every=16, auto_threads=True, move_head="tactics", legal_softmax=True)
    finally:
        torch.set_num_threads(before)
    rows = [json.loads(line) for line in (tmp_path / "t" / "metrics.jsonl").read_text().splitlines()]
    threads = {r["step"]: r["threads"] for r in rows if r["type"] == "train"}
    assert [threads[s] for s in (11, 12, 13)] == [1, 1, 1]  # steps 10-12: the first probe
    assert threads[10] == 2
    assert all(n in (1, 2) for n in threads.values())
    assert isinstance(final.thread_switches, list)


def test_cli_errors_are_user_errors(tmp_path, tiny_dataset):
    from chessformer.cli import main

    assert main(["train", "--data", str(tmp_path / "missing"), "--preset", "tiny",
                 "--out", str(tmp_path / "r"), "--max-steps", "1"]) == 2
    assert main(["train", "--data", str(tiny_dataset), "--preset", "tiny",
                 "--out", str(tmp_path / "r")]) == 2  # neither --max-steps nor --minutes


def _torchrun(args: list[str], nproc: int, tmp_path: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CHESSFORMER_PROGRESS": "0",
           "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone",
           f"--nproc_per_node={nproc}", "-m", "chessformer", "train", *args]
    return subprocess.run(cmd, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=240)


def test_ddp_two_cpu_processes_match_gradient_accumulation(tiny_dataset, tmp_path):
    """2 gloo processes x batch 4 == 1 process x 2 micro-batches of 4: same data, same losses."""
    common = ["--data", str(tiny_dataset), "--preset", "tiny", "--max-steps", "4",
              "--eval-every", "4", "--batch-size", "4", "--dtype", "fp32", "--lr", "3e-3"]
    out = tmp_path / "ddp"
    r = _torchrun([*common, "--out", str(out)], 2, tmp_path)
    if r.returncode != 0 and any(s in r.stderr for s in ("DistNetworkError", "EADDRINUSE",
                                                           "rendezvous")):
        # a port taken by another process on a shared machine: environmental, try once more
        out = tmp_path / "ddp-retry"
        r = _torchrun([*common, "--out", str(out)], 2, tmp_path)
    assert r.returncode == 0, (r.stdout[-2000:], r.stderr[-4000:])
    train(tiny_dataset, tmp_path / "single", "tiny", max_steps=4, eval_every=4, batch_size=4,
          grad_accum=2, dtype="fp32", lr=3e-3)
    ddp = [r["loss"] for r in _read_metrics(out, "train")]
    single = [r["loss"] for r in _read_metrics(tmp_path / "single", "train")]
    assert len(ddp) == 4  # written once, by rank 0
    np.testing.assert_allclose(ddp, single, rtol=1e-4)
    assert json.loads((out / "run.json").read_text())["world_size"] == 2


@pytest.mark.slow
def test_compiled_training_matches_eager(tiny_dataset, tmp_path):
    """--compile changes kernels, not the math: the losses agree with eager to fp32 noise."""
    opts = dict(max_steps=3, eval_every=3, batch_size=4, dtype="fp32")
    eager = train(tiny_dataset, tmp_path / "eager", "tiny", **opts)
    compiled = train(tiny_dataset, tmp_path / "compiled", "tiny", compile=True, **opts)
    a = [r["loss"] for r in _read_metrics(tmp_path / "eager", "train")]
    b = [r["loss"] for r in _read_metrics(tmp_path / "compiled", "train")]
    np.testing.assert_allclose(a, b, rtol=1e-3)
    assert compiled.val_loss == pytest.approx(eager.val_loss, rel=1e-3)


def test_resume_refuses_another_dataset(tiny_dataset, tmp_path):
    import shutil

    train(tiny_dataset, tmp_path / "r", "tiny", max_steps=2, batch_size=2)
    other = tmp_path / "other"
    shutil.copytree(tiny_dataset, other)
    manifest = json.loads((other / "manifest.json").read_text())
    (other / "manifest.json").write_text(json.dumps({**manifest, "command": "made elsewhere"}))
    with pytest.raises(UserError, match="not the dataset"):
        train(other, tmp_path / "r", "tiny", resume=True, max_steps=4)


def test_keep_best_with_legal_softmax_ranks_by_the_legal_loss(tiny_dataset, tmp_path):
    """Trained on legal moves only, the full-vocabulary loss means little: --keep-best ranks the
    checkpoints by the loss over legal moves."""
    run = tmp_path / "legal"
    final = train(tiny_dataset, run, "tiny", max_steps=6, eval_every=1, batch_size=4, lr=0.05,
                  warmup=1, keep_best=True, legal_softmax=True, checkpoint_minutes=1000,
                  keep_checkpoints=1)
    vals = {r["step"]: r["val_legal_loss"] for r in _read_metrics(run, "val") if r["step"] > 0}
    best = min(vals, key=vals.get)
    assert final.best == {"metric": "val_legal_loss", "value": vals[best],
                             "checkpoint": f"ckpt-{best:07d}"}
    assert (run / "latest").read_text().strip() == f"ckpt-{best:07d}"


def test_keep_best_points_latest_at_the_lowest_val_loss(tiny_dataset, tmp_path):
    """A learning rate high enough to make the val loss rise again: `latest` stays on the best
    checkpoint, the newest is kept too, and --resume continues from the newest."""
    run = tmp_path / "best"
    opts = dict(max_steps=8, eval_every=1, batch_size=4, lr=0.05, warmup=1, keep_best=True,
                checkpoint_minutes=1000, keep_checkpoints=1, legal_softmax=False)
    final = train(tiny_dataset, run, "tiny", stop_after=3, **opts)
    vals = {r["step"]: r["val_loss"] for r in _read_metrics(run, "val") if r["step"] > 0}
    best = min(vals, key=vals.get)
    assert best < 3, f"the val loss should rise at this lr: {vals}"  # else the test shows nothing
    assert (run / "latest").read_text().strip() == f"ckpt-{best:07d}"
    assert final.best == {"metric": "val_loss", "value": vals[best], "checkpoint": f"ckpt-{best:07d}"}
    assert final.checkpoint == f"ckpt-{best:07d}"
    assert sorted(p.name for p in run.glob("ckpt-*")) == [f"ckpt-{best:07d}", "ckpt-0000003"]
    resumed = train(tiny_dataset, run, "tiny", resume=True)
    assert resumed.step == 8 and len(_read_metrics(run, "train")) == 8
    vals = {r["step"]: r["val_loss"] for r in _read_metrics(run, "val") if r["step"] > 0}
    best = min(vals, key=vals.get)
    assert (run / "latest").read_text().strip() == f"ckpt-{best:07d}"


def test_resume_of_a_finished_run_changes_nothing(tiny_dataset, tmp_path):
    run = tmp_path / "done"
    train(tiny_dataset, run, "tiny", max_steps=3, batch_size=4)
    before = {p.relative_to(run): p.read_bytes() for p in run.rglob("*") if p.is_file()}
    again = train(tiny_dataset, run, "tiny", resume=True)
    after = {p.relative_to(run): p.read_bytes() for p in run.rglob("*") if p.is_file()}
    assert after == before
    assert again.val_loss is not None and again.finished
    # asking for more steps does resume it
    longer = train(tiny_dataset, run, "tiny", resume=True, max_steps=5)
    assert longer.step == 5 and longer.val_loss is not None


def test_final_metrics_report_the_pace(tiny_dataset, tmp_path):
    final = train(tiny_dataset, tmp_path / "p", "tiny", max_steps=3, batch_size=4)
    assert final.step_s > 0 and final.elapsed_s >= 3 * final.step_s


@pytest.mark.stockfish
def test_base_move_probe_is_logged(tiny_dataset, tmp_path):
    from chessformer.core.engine import find_stockfish

    if find_stockfish() is None:
        pytest.skip("no Stockfish")
    final = train(tiny_dataset, tmp_path / "probe", "tiny", max_steps=2, batch_size=4,
                  base_move_probe=True, legal_softmax=True)
    vals = _read_metrics(tmp_path / "probe", "val")
    assert all(0 <= v["probe_model_base"] <= 1 for v in vals)
    # random movers pick Stockfish's move about once in their ~30 legal moves
    assert 0.005 < vals[0]["probe_experts_base"] < 0.15
    assert vals[0]["probe_positions"] == vals[0]["val_legal_positions"] > 100
    assert final.probe_model_base == vals[-1]["probe_model_base"]


def test_ema_is_evaluated_beside_the_weights_and_changes_no_step(tiny_dataset, tmp_path):
    opts = dict(max_steps=3, eval_every=3, batch_size=4, dtype="fp32")
    train(tiny_dataset, tmp_path / "plain", "tiny", **opts)
    train(tiny_dataset, tmp_path / "ema", "tiny", ema=0.5, **opts)
    plain = [r["loss"] for r in _read_metrics(tmp_path / "plain", "train")]
    assert [r["loss"] for r in _read_metrics(tmp_path / "ema", "train")] == plain
    last = _read_metrics(tmp_path / "ema", "val")[-1]
    assert last["val_loss"] == _read_metrics(tmp_path / "plain", "val")[-1]["val_loss"]
    assert last["ema_val_loss"] != last["val_loss"] and "ema_val_legal_top1" in last


def test_run_json_is_a_typed_record_that_reads_older_files(tiny_dataset, tmp_path):
    """run.json reads back into the RunRecord that wrote it (the same bytes); a file from an
    older release (an argv list as the command, no resumes or torch version) still reads; a
    renamed key is a one-line error naming the file and the key."""
    from chessformer.formats import run as run_format
    from chessformer.formats.records import RecordError

    run = tmp_path / "run"
    train(tiny_dataset, run, "tiny", max_steps=2, batch_size=4, eval_windows=4,
          checkpoint_minutes=0, command="chessformer train (test)")
    rec = run_format.read_run_record(run)
    assert rec is not None and rec.command == "chessformer train (test)" and rec.legal_softmax
    written = (run / "run.json").read_bytes()
    run_format.write_run_record(tmp_path / "copy", rec)
    assert (tmp_path / "copy" / "run.json").read_bytes() == written
    raw = json.loads(written)
    old = {k: v for k, v in raw.items() if k not in ("resumes", "torch", "world_size")}
    old["command"] = ["chessformer", "train", "--data", "d"]
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "run.json").write_text(json.dumps(old))
    older = run_format.read_run_record(tmp_path / "old")
    assert older.resumes == [] and older.torch is None and older.preset == "tiny"
    raw["options_used"] = raw.pop("options")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "run.json").write_text(json.dumps(raw))
    with pytest.raises(RecordError, match="run.json: .*'options_used'"):
        run_format.read_run_record(tmp_path / "bad")


def test_metrics_and_final_metrics_are_typed_records_that_read_back_byte_for_byte(
        tiny_dataset, tmp_path):
    """Every metrics.jsonl row reads into a TrainRow or ValRow and writes back the same bytes
    (a resume's truncation rewrites them); final_metrics.json is a FinalMetrics; a renamed or
    mistyped key is a one-line error naming the file, the line and the field."""
    from chessformer.formats import run as run_format
    from chessformer.formats.records import RecordError

    run = tmp_path / "run"
    final = train(tiny_dataset, run, "tiny", max_steps=3, eval_every=2, batch_size=4, ema=0.5,
                  keep_best=True)
    rows = run_format.read_metrics(run)
    assert [type(r).__name__ for r in rows] == ["ValRow", "TrainRow", "TrainRow", "ValRow",
                                                "TrainRow", "ValRow"]
    assert rows[-1].ema_val_loss is not None and rows[1].threads is None
    written = (run / "metrics.jsonl").read_bytes()
    run_format.truncate_metrics(run, 3)
    assert (run / "metrics.jsonl").read_bytes() == written
    assert run_format.read_final_metrics(run) == final and final.best is not None
    raw = json.loads((run / "final_metrics.json").read_text())
    assert raw == final.to_json() and list(raw) == list(final.to_json())

    lines = written.decode().splitlines()
    bad = json.loads(lines[1])
    bad["train_loss"] = bad.pop("loss")
    (run / "metrics.jsonl").write_text("\n".join([lines[0], json.dumps(bad)]) + "\n")
    with pytest.raises(RecordError, match=r"metrics.jsonl:2: .*'train_loss'"):
        run_format.read_metrics(run)
    raw["step"] = "three"
    (run / "final_metrics.json").write_text(json.dumps(raw))
    with pytest.raises(RecordError, match=r"final_metrics.json: field 'step'"):
        run_format.read_final_metrics(run)


REAL_PGN = REPO.parent / "shared" / "data" / "lichess_2017-05_excerpt.pgn"


@pytest.mark.skipif(not REAL_PGN.exists(), reason="../shared/data is absent")
@pytest.mark.parametrize("dtype", ["fp32", "bf16"])
def test_the_demo_learner_trains_as_with_the_whole_tactics_head(tmp_path, monkeypatch, dtype):
    """The tactics head scores only the legal-move softmax's tokens; trained on real games from
    the same seed, the run is the one it was when every token was scored: the same loss at every
    step, to the last bit (tolerance 0; fp32 and bf16 autocast). The trained run, loaded as the
    arena loads it, decodes move by move (KV cache) the logits the training forward gives on the
    legal moves of a real game (1e-4: the cached attention sums in another order)."""
    import chess
    import chess.pgn
    import torch

    from chessformer.core import tokenizer
    from chessformer.core.boards import encode_board
    from chessformer.data.ingest import ingest
    from chessformer.formats.run import read_metrics
    from chessformer.model.checkpoint import load_model
    from chessformer.model.inference import BatchDecoder
    from chessformer.model.transformer import TacticsHead

    data = tmp_path / "ds"
    ingest([str(REAL_PGN)], data, elo_cap=None, boards=True, limit=40, workers=0)
    opts = dict(max_steps=4, batch_size=2, block_size=64, eval_every=4, eval_windows=4,
                legal_positions=16, checkpoint_minutes=0, dtype=dtype)  # the preset's learner
    train(data, tmp_path / "new", "tiny", **opts)
    with monkeypatch.context() as m:
        m.setattr(TacticsHead, "add_at", lambda self, logits, h, boards, mask:
                  logits + self(h, boards))  # every token scored, as before
        train(data, tmp_path / "old", "tiny", **opts)
    curves = [[(r.step, r.loss) for r in read_metrics(tmp_path / run) if r.type == "train"]
              for run in ("new", "old")]
    assert len(curves[0]) == 4 and curves[0] == curves[1]

    model = load_model(tmp_path / "new")
    assert model.config.move_head == "tactics"
    with open(REAL_PGN, encoding="utf-8") as f:
        game = chess.pgn.read_game(f)
    moves = [m.uci() for m in game.mainline_moves()][:40]
    board, rows = chess.Board(), [encode_board(chess.Board())]
    for uci in moves:
        board.push_uci(uci)
        rows.append(encode_board(board))
    tokens = [tokenizer.BOS] + [tokenizer.uci_to_id(u) for u in moves]
    x, y = torch.tensor([tokens[:-1]]), torch.tensor([tokens[1:]])
    boards = torch.from_numpy(np.stack(rows[:-1]))[None]
    trained, _ = model.train()(x, boards, y, legal_only=True)
    decoder = BatchDecoder(model.eval())
    decoder.start(1)
    for t in range(len(moves)):
        step = torch.from_numpy(decoder.step([tokens[t]], [rows[t]])[0])
        inside = torch.isfinite(trained[0, t]).detach()
        assert inside.sum() > 3
        assert torch.allclose(step[inside], trained[0, t][inside].detach(), atol=1e-4)
