"""No worker or engine outlives the command that started it, however the command dies.

Each test starts a real command, waits until its worker processes (and their Stockfish
processes) exist, kills the command's main process with SIGKILL (as the OOM killer or a
preempting scheduler does: no handler runs), and checks that every process it had started is
gone within a few seconds. Linux only: descendants are read from ``/proc``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
       "CHESSFORMER_PROGRESS": "0"}
#: Seconds a child may outlive its killed parent.
GRACE = 8.0

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")


def _processes() -> dict[int, tuple[int, str, str]]:
    """pid -> (parent pid, state letter, command name) of every process now."""
    out = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1: stat.rindex(")")]
        state, ppid = stat[stat.rindex(")") + 2:].split()[:2]
        out[int(d.name)] = (int(ppid), state, name)
    return out


def _descendants(pid: int) -> dict[int, str]:
    """pid -> command name of every living process below ``pid``."""
    procs = _processes()
    found: dict[int, str] = {}
    frontier = [pid]
    while frontier:
        parent = frontier.pop()
        for p, (ppid, state, name) in procs.items():
            if ppid == parent and p not in found and state not in "ZX":
                found[p] = name
                frontier.append(p)
    return found


def _alive(pids: set[int]) -> dict[int, str]:
    procs = _processes()
    return {p: procs[p][2] for p in pids if p in procs and procs[p][1] not in "ZX"}


def kill_and_watch(cmd: list[str], ready, *, feed: bytes | None = None,
                   timeout: float = 180.0) -> tuple[dict[int, str], dict[int, str]]:
    """Start ``cmd``; once ``ready(descendants)`` holds, SIGKILL it. Returns (the descendants at
    the kill, those still alive ``GRACE`` seconds later)."""
    proc = subprocess.Popen(cmd, cwd=ROOT, env=ENV, stdin=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    kids: dict[int, str] = {}
    try:
        if feed is not None:
            proc.stdin.write(feed)  # and keep stdin open: the command waits for more
            proc.stdin.flush()
        deadline = time.monotonic() + timeout
        while not ready(kids := _descendants(proc.pid)):
            if proc.poll() is not None:
                pytest.fail(f"{cmd[3:5]} ended (exit {proc.returncode}) before its workers "
                            f"were seen: {proc.stderr.read().decode()[-1500:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"no workers seen within {timeout:.0f} s: {kids}")
            time.sleep(0.2)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + GRACE
        while (left := _alive(set(kids))) and time.monotonic() < deadline:
            time.sleep(0.2)
        return kids, left
    finally:  # whatever the outcome, leave nothing running (survivors are no longer below it)
        for p in _alive(set(kids) | set(_descendants(proc.pid)) | {proc.pid}):
            os.kill(p, signal.SIGKILL)
        if proc.stdin:
            proc.stdin.close()
        proc.stderr.close()


def engines(n: int):
    """Ready once at least ``n`` Stockfish processes run below the command."""
    return lambda kids: sum("stockfish" in name for name in kids.values()) >= n


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "chessformer", *args]


def _die_young() -> None:
    time.sleep(600)


def test_a_worker_of_the_shared_context_dies_with_a_parent_killed_by_sigkill():
    """The mechanism itself, without a command: a parent that starts a Pool and a Process from
    mp_context() (one of them from a thread other than the main one) and is then killed."""
    code = (
        "import threading, time\n"
        "from chessformer.utils import mp_context\n"
        "from tests.test_lifetimes import _die_young\n"
        "ctx = mp_context()\n"
        "pool = ctx.Pool(2)\n"
        "pool.apply_async(_die_young)\n"
        "ctx.Process(target=_die_young, daemon=True).start()\n"
        "t = threading.Thread(target=lambda: ctx.Process(target=_die_young).start())\n"
        "t.start(); t.join()\n"
        "time.sleep(600)\n")
    kids, left = kill_and_watch([sys.executable, "-c", code], lambda k: len(k) >= 4)
    assert len(kids) >= 4 and not left, f"outlived their parent: {left}"


@pytest.mark.stockfish
def test_generate_leaves_no_worker_or_engine_after_sigkill(tmp_path):
    kids, left = kill_and_watch(
        cli("generate", "--experts", "demo", "--games", "4000", "--workers", "2",
            "--out", str(tmp_path / "g.pgn")), engines(2))
    assert not left, f"outlived the killed generate: {left} (of {kids})"


@pytest.mark.stockfish
def test_eval_vs_stockfish_leaves_no_worker_or_engine_after_sigkill(tmp_path, tiny_dataset):
    run = tmp_path / "run"
    subprocess.run(cli("train", "--data", str(tiny_dataset), "--preset", "tiny", "--max-steps",
                       "2", "--batch-size", "4", "--eval-windows", "4", "--checkpoint-minutes",
                       "0", "--out", str(run)), check=True, cwd=ROOT, env=ENV,
                   capture_output=True)
    kids, left = kill_and_watch(cli("eval-vs-stockfish", "--model", str(run), "--grid", "fast",
                                    "--workers", "2"), engines(2))
    assert not left, f"outlived the killed eval-vs-stockfish: {left} (of {kids})"


def test_ingest_leaves_no_parser_after_sigkill(tmp_path):
    """Reading a PGN from a pipe that stays open: the parsers wait for more when it dies."""
    pgn = b'[Event "x"]\n[WhiteElo "900"]\n[BlackElo "900"]\n[Result "1-0"]\n\n1. e4 e5 1-0\n\n'
    kids, left = kill_and_watch(cli("ingest", "-", "--elo-cap", "1000", "--workers", "2",
                                    "--out", str(tmp_path / "ds")), lambda k: len(k) >= 2,
                                feed=pgn * 200)
    assert not left, f"outlived the killed ingest: {left} (of {kids})"


@pytest.mark.stockfish
def test_calibrate_leaves_no_worker_or_engine_after_sigkill(tmp_path):
    kids, left = kill_and_watch(
        cli("calibrate", "--workers", "2", "--games-per-pair", "2", "--out",
            str(tmp_path / "ladder.json"), "--work", str(tmp_path / "work")), engines(2))
    assert not left, f"outlived the killed calibrate: {left} (of {kids})"


@pytest.mark.stockfish
def test_an_experiment_leaves_no_worker_or_engine_after_sigkill(tmp_path):
    kids, left = kill_and_watch(cli("experiment", "diversity", "--size", "tiny", "--out",
                                    str(tmp_path / "exp")), engines(2))
    assert not left, f"outlived the killed experiment: {left} (of {kids})"
