"""Ingestion benchmark: ``chessformer ingest --elo-cap 2000`` against ``pgn-extract`` (same filter,
moves converted to UCI) on ../shared/data/twic_otb_le2200.pgn.zst, in the same run.

    python bench/bench_ingest.py              # the whole file (262k games)
    python bench/bench_ingest.py --quick      # the first 15,000 games
    python bench/bench_ingest.py --repeat 3   # alternate the two tools 3 times, report medians

Prints games/s of both (games read per wall second), the wall-time ratio chessformer/pgn-extract
(target <= 1.0; the median of the rounds' ratios, each round running both tools back to back),
the CPU seconds of each process tree (all cores together: less sensitive than wall time to other
work on a shared machine) and chessformer's peak RSS summed over its process tree (target < 1 GiB).
Always exits 0 and prints whatever it measured.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
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


def run_measured(cmd: list[str], **kw) -> tuple[float, float, int, int]:
    """Run ``cmd``; return (wall seconds, CPU seconds of its process tree, peak tree RSS bytes,
    exit code)."""
    peak = 0
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
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
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)  # every waited-for descendant counts
    cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    done.set()
    th.join()
    return wall, cpu, peak, rc


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="only the first 12 MB (about 15,000 games)")
    ap.add_argument("--source", default=str(DATA), help="a .pgn.zst file")
    ap.add_argument("--elo-cap", type=int, default=2000)
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--repeat", type=int, default=1, help="rounds of both tools (medians)")
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
        pe_cmd = ["bash", "-c", f"zstd -dc '{src}' | '{PGN_EXTRACT}' -s -t '{tags}' -Wuci "
                                f"-o /dev/null"]
        cf, pe = [], []
        for _ in range(max(1, a.repeat)):  # back to back, so both see the same machine
            cf.append(run_measured(cmd, cwd=ROOT, env=env, stderr=subprocess.DEVNULL))
            pe.append(run_measured(pe_cmd, stderr=subprocess.DEVNULL))
        import json

        cf_rc, pe_rc = max(r[3] for r in cf), max(r[3] for r in pe)
        man = json.loads((tmp / "ds" / "manifest.json").read_text()) if cf_rc == 0 else {}
        games = man.get("games_read", 0)
        def med(rows: list[tuple], k: int) -> float:
            return statistics.median(r[k] for r in rows)
        ratios = [c[0] / p[0] for c, p in zip(cf, pe)]
        rows = [("tool", "wall s", "games/s", "CPU s", "peak RSS MiB", "exit"),
                ("chessformer ingest", f"{med(cf, 0):.2f}", f"{games / med(cf, 0):,.0f}",
                 f"{med(cf, 1):.2f}", f"{max(r[2] for r in cf) / 2**20:.0f}", str(cf_rc)),
                ("pgn-extract -Wuci", f"{med(pe, 0):.2f}", f"{games / med(pe, 0):,.0f}",
                 f"{med(pe, 1):.2f}", f"{max(r[2] for r in pe) / 2**20:.0f}", str(pe_rc))]
        print(f"ingestion benchmark: {src.name}, {games:,} games, --elo-cap {a.elo_cap}, "
              f"kept {man.get('kept', '?'):,} (cpus: {os.cpu_count()}, load {os.getloadavg()[0]:.1f}, "
              f"{len(cf)} round(s), medians)")
        for r in rows:
            print(f"{r[0]:<20}{r[1]:>10}{r[2]:>12}{r[3]:>10}{r[4]:>15}{r[5]:>6}")
        print(f"wall-time ratio chessformer/pgn-extract: {statistics.median(ratios):.2f} "
              f"(target <= 1.0; rounds: {', '.join(f'{x:.2f}' for x in ratios)})")
        print(f"CPU-time ratio chessformer/pgn-extract: {med(cf, 1) / max(med(pe, 1), 1e-9):.2f}")
        print(f"chessformer peak RSS (process tree): {max(r[2] for r in cf) / 2**20:.0f} MiB "
              "(target < 1024)")
        print(f"chessformer move checker: {man.get('move_checker', '?')}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
