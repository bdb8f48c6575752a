"""The package as a user installs it: a wheel built offline, installed outside the checkout.

The wheel is installed with ``pip --target`` into a temporary folder and run from another folder
with that folder first on ``PYTHONPATH`` (so the checkout's editable install cannot answer); its
dependencies come from the test environment, so nothing is downloaded.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import chess
import pytest
import tomllib

from chessformer.cli import COMMANDS

REPO = Path(__file__).resolve().parent.parent


def test_every_subpackage_is_listed_in_pyproject():
    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(REPO).parts) for p in (REPO / "chessformer").rglob("__init__.py")}
    assert found - listed == set(), "add these packages to [tool.setuptools] packages"


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    pytest.importorskip("setuptools")
    tmp = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "--no-index", "-q", "-w", str(tmp / "dist"), str(REPO)], check=True,
                   cwd=tmp, capture_output=True)
    wheel = next((tmp / "dist").glob("chessformer-*.whl"))
    target = tmp / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q",
                    "--target", str(target), str(wheel)], check=True, capture_output=True)
    work = tmp / "elsewhere"
    work.mkdir()
    env = dict(os.environ, PYTHONPATH=str(target), CHESSFORMER_PROGRESS="0")

    def run(*args: str, check: bool = True, input: str | None = None,
            ) -> subprocess.CompletedProcess:
        proc = subprocess.run([str(target / "bin" / "chessformer"), *args], cwd=work, env=env,
                              capture_output=True, text=True, timeout=600, input=input)
        if check and proc.returncode != 0:
            raise AssertionError(f"chessformer {' '.join(args)} exited {proc.returncode}:\n"
                                 f"{proc.stderr[-2000:]}")
        return proc

    run.target, run.work = target, work  # type: ignore[attr-defined]
    return run


def test_the_installed_console_script_runs_the_installed_copy(installed):
    proc = subprocess.run([sys.executable, "-c", "import chessformer.utils as u; "
                           "print(u.__file__); print(u.in_checkout())"],
                          cwd=installed.work, env=dict(os.environ, PYTHONPATH=str(installed.target)),
                          capture_output=True, text=True, check=True)
    path, in_checkout = proc.stdout.split()
    assert Path(path).is_relative_to(installed.target)
    assert in_checkout == "False"


def test_help_of_every_command_through_the_console_script(installed):
    top = installed("--help").stdout
    for name in COMMANDS:
        assert name in top
        out = installed(name, "--help").stdout
        assert out.startswith(f"usage: chessformer {name}"), out[:200]
    uci = subprocess.run([str(installed.target / "bin" / "chessformer-uci"), "--help"],
                         cwd=installed.work, env=dict(os.environ, PYTHONPATH=str(installed.target)),
                         capture_output=True, text=True)
    assert uci.returncode == 0 and "--model" in uci.stdout, uci.stderr[-500:]


@pytest.mark.stockfish
def test_the_pipeline_runs_from_the_wheel_with_its_packaged_configs(installed):
    """generate (packaged expert preset) -> ingest -> train tiny -> eval (packaged grid) -> report."""
    assert "stockfish" in installed("doctor").stdout.lower()
    installed("generate", "--experts", "demo", "--games", "6", "--workers", "1", "--out", "g.pgn")
    installed("ingest", "g.pgn", "--elo-cap", "1000", "--boards", "--out", "ds")
    installed("train", "--data", "ds", "--preset", "tiny", "--max-steps", "2", "--batch-size", "2",
              "--block-size", "64", "--eval-windows", "2", "--out", "run")
    installed("eval-vs-stockfish", "--model", "run", "--grid", "fast", "--levels", "0",
              "--nodes", "1", "--temperatures", "1.0", "--legality", "masked", "--games", "2",
              "--workers", "1")
    assert (installed.work / "run" / "eval" / "fast" / "games.jsonl").is_file()
    installed("report", "run", "--out", "rep")
    assert (installed.work / "rep" / "report.md").is_file()
    # The same run as an engine: the preset's default learner (the tactics head) answers a FEN.
    uci = installed("uci", "--model", "run", input="uci\nisready\nposition fen "
                    "r1bqkbnr/pppp1ppp/2n5/4p3/4P3/5N2/PPPP1PPP/RNBQKB1R w KQkq - 2 3\ngo\nquit\n")
    move = uci.stdout.split("bestmove ")[-1].split()[0]
    board = chess.Board("r1bqkbnr/pppp1ppp/2n5/4p3/4P3/5N2/PPPP1PPP/RNBQKB1R w KQkq - 2 3")
    assert chess.Move.from_uci(move) in board.legal_moves, uci.stdout[-500:]


def test_kg_list_names_the_packaged_experiments(installed):
    listed = installed("kg", "list").stdout.split()
    assert listed == sorted(p.stem for p in (REPO / "evals" / "kg").glob("*.toml")) and listed
