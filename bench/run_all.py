"""``make bench``: every benchmark in one run, each printing its own table.

    python bench/run_all.py [--quick]

Speed targets are checked here, by ratios measured in the same run, never by timed tests.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHES = [
    ("ingestion (chessformer vs pgn-extract)", ["bench_ingest.py"], ["--quick"]),
    ("training (fraction of bf16 matmul peak)", ["bench_train.py"], []),
    ("arena (games/s, model share)", ["bench_arena.py"], ["--games", "64"]),
    ("report (write + headless browser screenshot)", ["bench_report.py"], []),
    ("position scorer (scored positions/s, stability against 10x nodes, analyze humans)",
     ["bench_scorer.py"],
     ["--quick"]),
]


def main() -> int:
    quick = "--quick" in sys.argv[1:]
    failed = []
    for title, script, quick_args in BENCHES:
        print(f"\n=== {title} ===", flush=True)
        t0 = time.perf_counter()
        cmd = [sys.executable, str(HERE / script[0]), *(quick_args if quick else [])]
        if subprocess.run(cmd).returncode != 0:
            failed.append(title)
        print(f"({time.perf_counter() - t0:.0f} s)", flush=True)
    if failed:
        print("\nbenchmarks that failed to run: " + ", ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
