"""Fingerprint every stage's output, to show that a redesign changes no behaviour.

    python bench/fingerprint.py OUT_DIR > before.json      # on the old commit
    python bench/fingerprint.py OUT_DIR2 > after.json      # on the new one
    python bench/fingerprint.py --compare before.json after.json

Runs generate -> ingest (with and without boards) -> train ``tiny`` -> an evaluation on a short
form of the ``demo`` grid (experts, a ladder rung, Stockfish, the random mover) -> rate -> report,
all seeded, and prints the sha256 of every file they wrote. JSON and JSON-lines files are hashed
without their volatile values (wall times, speeds, dates, code versions, absolute paths); the
rest byte for byte. Files whose content is volatile as a whole (logs, plots, HTML) are listed by
name only. Two runs of the same code on one machine give the same fingerprint.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

#: The checkout that runs (its path appears in provenance).
REPO = Path(__file__).resolve().parents[1]
#: Keys whose values differ between two runs of the same code (timings, speeds, provenance).
VOLATILE = {"time_s", "elapsed_s", "tokens_per_s", "step_s", "model_flops_per_s", "date",
            "created", "code_version", "command", "seconds", "wall_s", "games_per_s",
            "moves_per_s", "timings", "started", "finished", "finished_at", "host", "machine",
            "python", "torch", "model_share", "model_seconds", "engine_seconds", "rate", "eta_s",
            "mfu", "threads_s", "thread_switches", "platform", "written", "duration_s", "stages",
            "model_s",
            # a hash of the dataset's manifest, whose own fingerprint is taken without its dates
            "manifest_sha256"}
#: Files listed by name only: their bytes hold times or renderings.
BY_NAME = {".png", ".html", ".log", ".svg", ".pdf"}


#: The ``demo`` grid, shortened, with Stockfish at depth 1 for its Skill Level 0 opponent: a Skill
#: Level below 20 picks among moves with a generator Stockfish seeds from the clock, so those
#: games never replay (two runs of one commit differed in 4 of 264 games).
GRID = """
name = "fingerprint"
temperatures = [0.001, 1.0]
verdict_temperature = 0.001
legality = ["masked", "raw"]
games = 2
opening_plies = 2
max_plies = 60
adjudication = { kind = "stockfish", depth = 12, threshold_cp = 400 }
batch_size = 16
workers = 2
seed = 7

[[opponent]]
kind = "experts"
preset = "demo"

[[opponent]]
kind = "expert"
name = "stockfish depth=1 epsilon=0.5"
base = { kind = "stockfish", depth = 1 }
noise = { kind = "epsilon", epsilon = 0.5 }

[[opponent]]
kind = "stockfish"
depth = 1

[[match]]
players = [{ kind = "experts", preset = "demo" }, { kind = "random" }]
games = 2
"""


def _scrub(obj, root: str):
    if isinstance(obj, dict):
        return {k: _scrub(v, root) for k, v in obj.items() if k not in VOLATILE}
    if isinstance(obj, list):
        return [_scrub(v, root) for v in obj]
    if isinstance(obj, str):
        return obj.replace(root, "<out>").replace(str(REPO), "<repo>")
    return obj


def file_hash(path: Path, root: Path) -> str:
    if path.suffix in BY_NAME:
        return "(present)"
    data = path.read_bytes()
    if path.suffix == ".json":
        data = json.dumps(_scrub(json.loads(data), str(root)), sort_keys=True).encode()
    elif path.suffix == ".jsonl":
        data = b"\n".join(json.dumps(_scrub(json.loads(line), str(root)), sort_keys=True).encode()
                          for line in data.splitlines() if line.strip())
    elif path.suffix in (".md", ".csv", ".pgn", ".txt"):
        text = data.decode().replace(str(root), "<out>").replace(str(REPO), "<repo>")
        text = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\+00:00)?", "<time>", text)
        data = re.sub(r"\d+\.\d+\.\d+\+g[0-9a-f]+(\.dirty)?", "<version>", text).encode()
    return hashlib.sha256(data).hexdigest()


def run_pipeline(out: Path) -> None:
    env = {**os.environ, "CHESSFORMER_PROGRESS": "0"}

    def cf(*args: str, stdout: Path | None = None) -> None:
        with open(stdout or os.devnull, "w") as f:
            subprocess.run([sys.executable, "-m", "chessformer", *args], check=True, env=env,
                           stdout=f)

    cf("generate", "--experts", "demo", "--games", "40", "--seed", "5", "--workers", "2",
       "--max-plies", "200", "--out", str(out / "games.pgn"))
    cf("ingest", str(out / "games.pgn"), "--elo-cap", "1000", "--boards", "--workers", "2",
       "--out", str(out / "ds"))
    cf("ingest", str(out / "games.pgn"), "--elo-cap", "1000", "--workers", "2",
       "--out", str(out / "ds-moves"))
    cf("train", "--data", str(out / "ds"), "--preset", "tiny", "--max-steps", "6", "--seed", "0",
       "--batch-size", "4", "--eval-every", "3", "--eval-windows", "8", "--threads", "1",
       "--checkpoint-minutes", "0", "--keep-checkpoints", "0", "--out", str(out / "run"))
    (out / "grid.toml").write_text(GRID)
    cf("eval-vs-stockfish", "--model", str(out / "run"), "--grid", str(out / "grid.toml"))
    cf("rate", str(out / "run" / "eval" / "fingerprint"), "--ladder", "auto", "--boot", "50",
       "--csv", str(out / "rate.csv"), stdout=out / "rate.txt")
    cf("report", str(out / "run"), "--out", str(out / "report"), "--boot", "50")


def fingerprint(out: Path) -> dict[str, str]:
    return {str(p.relative_to(out)): file_hash(p, out)
            for p in sorted(out.rglob("*")) if p.is_file()}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("out", nargs="?", help="empty folder for the pipeline's outputs")
    p.add_argument("--compare", nargs=2, metavar=("BEFORE", "AFTER"),
                   help="two fingerprints to compare instead")
    args = p.parse_args()
    if args.compare:
        a, b = (json.loads(Path(f).read_text()) for f in args.compare)
        differ = sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))
        for k in differ:
            print(f"differs: {k}: {a.get(k, '(missing)')[:12]} vs {b.get(k, '(missing)')[:12]}")
        print(f"{len(a.keys() & b.keys()) - len(set(differ) & a.keys() & b.keys())} files "
              f"identical, {len(differ)} differ or are missing")
        return 1 if differ else 0
    if not args.out:
        p.error("give an output folder or --compare")
    out = Path(args.out).resolve()
    if out.exists() and any(out.iterdir()):
        p.error(f"{out} is not empty")
    out.mkdir(parents=True, exist_ok=True)
    run_pipeline(out)
    print(json.dumps(fingerprint(out), indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
