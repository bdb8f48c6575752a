"""The Makefile's targets that can be checked without running them (``make -n``)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


def dry_run(*args: str) -> str:
    return subprocess.run(["make", "-n", "--no-print-directory", *args], cwd=REPO, check=True,
                          capture_output=True, text=True).stdout


def removed(*args: str) -> list[str]:
    line = next(ln for ln in dry_run("clean-demo", *args).splitlines() if ln.startswith("rm "))
    return line.split()[2:]


def test_clean_demo_removes_only_what_the_demo_made():
    paths = removed()
    assert paths == ["data/generated/demo-16000-s0.pgn", "data/generated/demo-16000-s0.pgn.json",
                     "data/datasets/demo-16000-s0-cap1000", "runs/demo-16000-s0-cap1000-small",
                     "reports/demo-16000-s0-cap1000-small"]


def test_clean_demo_never_removes_a_users_own_pgn(tmp_path):
    own = tmp_path / "lichess.pgn.zst"
    paths = removed(f"DATA={own}")
    assert str(own) not in paths and paths == ["data/datasets/lichess-cap1000",
                                               "runs/lichess-cap1000-small", "reports/lichess-cap1000-small"]


def test_data_adds_boards_only_for_presets_that_read_them(tmp_path):
    pgn = tmp_path / "games.pgn"
    pgn.write_text("")  # only needs to exist: make -n runs nothing

    def ingest_line(preset: str) -> str:
        out = dry_run("data", f"DATA={pgn}", f"PRESET={preset}", "VENV=.venv")
        return next(ln for ln in out.splitlines() if "chessformer ingest" in ln)

    assert "--boards" in ingest_line("small")
    assert "--boards" not in ingest_line("50M")
    assert "--boards" not in ingest_line("small-moves")


def test_setup_cuda_forces_a_cuda_build_from_the_cuda_index():
    """pip keeps an installed CPU torch that satisfies a looser spec: setup-cuda must force it."""
    out = dry_run("setup-cuda", "VENV=.venv", "CUDA_INDEX=https://example.invalid/cu999")
    line = next(ln for ln in out.splitlines() if "pip install" in ln and "torch" in ln
                and "--index-url" in ln)
    assert "--force-reinstall" in line and "https://example.invalid/cu999" in line


def test_check_gpu_says_what_to_do_on_a_machine_without_cuda():
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU")
    venv = Path(sys.executable).parent.parent
    proc = subprocess.run(["make", "--no-print-directory", "check-gpu", f"VENV={venv}"], cwd=REPO,
                          capture_output=True, text=True)
    assert proc.returncode != 0
    assert "CUDA not available" in proc.stdout and "make setup-cuda" in proc.stdout


def test_train_uses_one_learner_on_any_data_and_machine(tmp_path):
    """The demo's data or a user's own, the CPU recipe or the GPU one: the train line resolves
    to the same learner (the board preset's default); only generated games add the probe."""
    import argparse
    import shlex

    from chessformer.commands.train import add_arguments
    from chessformer.training.options import option_fields, resolve_options

    own = tmp_path / "lichess.pgn"
    own.write_text("")
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    for data in ([], [f"DATA={own}"]):
        for gpu in ("0", "1"):
            line = next(ln for ln in dry_run("train", "VENV=.venv", f"DEMO_GPU={gpu}", *data)
                        .splitlines() if " train --data " in ln)
            argv = shlex.split(line.split(" train ", 1)[1])
            args = vars(parser.parse_args(argv))
            given = {f.name: args[f.name] for f in option_fields() if args[f.name] is not None}
            o = resolve_options(args["preset"], given)
            assert (o.legal_softmax, o.move_head, o.keep_best) == (True, "tactics", True), line
            assert o.base_move_probe is not data, line  # generated games only


def test_demo_writes_the_favor_analysis_into_the_report_folder_before_the_report():
    out = dry_run("demo", "VENV=.venv", "DEMO_GPU=0", "FAVOR_STATES=123")
    lines = out.splitlines()
    favor = next(i for i, ln in enumerate(lines) if "chessformer analyze favor" in ln)
    report = next(i for i, ln in enumerate(lines) if "chessformer report" in ln)
    assert favor < report
    assert ("analyze favor runs/demo-16000-s0-cap1000-small --out "
            "reports/demo-16000-s0-cap1000-small --states 123") in lines[favor]
    assert "--out reports/demo-16000-s0-cap1000-small" in lines[report]
