"""What the analyses' tests share (imported by test files): the environment of a ``chessformer``
subprocess, and a kill -9 in the middle of its scoring."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from chessformer.formats import scores as scores_format

ROOT = Path(__file__).resolve().parents[1]


def cli_env(**extra: str) -> dict[str, str]:
    """The environment of a ``python -m chessformer`` subprocess: this checkout first on the
    path, no progress bars."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]), "CHESSFORMER_PROGRESS": "0",
        **extra}


def kill_mid_scoring(cmd: Sequence[str], out: Path, *, at_least: int = 3,
                     within: float = 60.0) -> list[scores_format.ScoredPosition]:
    """Start ``cmd``, kill -9 it once its score cache in ``out`` holds ``at_least`` lines (or
    after ``within`` seconds), and return what the cache kept."""
    proc = subprocess.Popen(cmd, env=cli_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    cache = scores_format.scores_path(out)
    deadline = time.time() + within
    while time.time() < deadline:
        if cache.exists() and len(cache.read_bytes().splitlines()) >= at_least:
            break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    return scores_format.read_scored(cache)
