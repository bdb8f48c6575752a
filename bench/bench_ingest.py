"""Ingestion benchmark: ``chessformer ingest --elo-cap 2000`` against ``pgn-extract`` (same filter,
moves converted to UCI) on ../shared/data/twic_otb_le2200.pgn.zst, in the same run.

    python bench/bench_ingest.py            # the whole file (262k games)
    python bench/bench_ingest.py --quick    # the first 30,000 games

Prints games/s of both (games read per wall second), the wall-time ratio chessformer/pgn-extract
(target <= 1.0) and chessformer's peak RSS summed over its process tree (target < 1 GiB).
Always exits 0 and prints whatever it measured.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "twic_otb_le2200.pgn.zst"
PGN_EXTRACT = shutil.which("pgn-extract") or "/usr/games/pgn-extract"


def _tree_rss(pid: int) -> int:
    """Resident bytes of ``pid`` and all its descendants (from /proc)."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return total


def run_measured(cmd: list[str], **kw) -> tuple[float, int, int]:
    """Run ``cmd``; return (wall seconds, peak tree RSS bytes, exit code)."""
    peak = 0
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, **kw)
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss(proc.pid))
            done.wait(0.05)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    rc = proc.wait()
    wall = time.perf_counter() - t0
    done.set()
    th.join()
    return wall, peak, rc


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="only the first 30,000 games")
    ap.add_argument("--source", default=str(DATA), help="a .pgn.zst file")
    ap.add_argument("--elo-cap", type=int, default=2000)
    ap.add_argument("--workers", type=int, default=None)
    a = ap.parse_args()
    src = Path(a.source)
    if not src.exists():
        print(f"bench_ingest: {src} is absent; nothing measured")
        return 0
    tmp = Path(tempfile.mkdtemp(prefix="bench_ingest."))
    try:
        if a.quick:  # a plain-PGN subset, the same for both tools
            import zstandard

            from chessformer.data import pgn

            text = zstandard.ZstdDecompressor().stream_reader(open(src, "rb")).read(12 << 20)
            sub = tmp / "subset.pgn.zst"
            sub.write_bytes(zstandard.ZstdCompressor().compress(text[: pgn.last_boundary(text)]))
            src = sub
        tags = tmp / "tags.txt"
        tags.write_text(f'WhiteElo <= "{a.elo_cap}"\nBlackElo <= "{a.elo_cap}"\n')
        env = {**os.environ, "CHESSFORMER_PROGRESS": "0"}
        cmd = [sys.executable, "-m", "chessformer", "ingest", str(src), "--elo-cap", str(a.elo_cap),
               "--out", str(tmp / "ds"), "--overwrite"]
        if a.workers is not None:
            cmd += ["--workers", str(a.workers)]
        cf_wall, cf_rss, cf_rc = run_measured(cmd, cwd=ROOT, env=env, stderr=subprocess.DEVNULL)
        import json

        man = json.loads((tmp / "ds" / "manifest.json").read_text()) if cf_rc == 0 else {}
        games = man.get("games_read", 0)
        pe_cmd = ["bash", "-c", f"zstd -dc '{src}' | '{PGN_EXTRACT}' -s -t '{tags}' -Wuci "
                                f"-o /dev/null"]
        pe_wall, pe_rss, pe_rc = run_measured(pe_cmd, stderr=subprocess.DEVNULL)
        rows = [("tool", "wall s", "games/s", "peak RSS MiB", "exit"),
                ("chessformer ingest", f"{cf_wall:.2f}", f"{games / cf_wall:,.0f}",
                 f"{cf_rss / 2**20:.0f}", str(cf_rc)),
                ("pgn-extract -Wuci", f"{pe_wall:.2f}", f"{games / pe_wall:,.0f}",
                 f"{pe_rss / 2**20:.0f}", str(pe_rc))]
        print(f"ingestion benchmark: {src.name}, {games:,} games, --elo-cap {a.elo_cap}, "
              f"kept {man.get('kept', '?'):,} (cpus: {os.cpu_count()}, load {os.getloadavg()[0]:.1f})")
        for r in rows:
            print(f"{r[0]:<20}{r[1]:>10}{r[2]:>12}{r[3]:>15}{r[4]:>6}")
        print(f"wall-time ratio chessformer/pgn-extract: {cf_wall / pe_wall:.2f} (target <= 1.0)")
        print(f"chessformer peak RSS (process tree): {cf_rss / 2**20:.0f} MiB (target < 1024)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
