"""``chessformer doctor``: what this machine has for chessformer, and what is missing.

    chessformer doctor

Prints Stockfish's path and version, torch's version and device, the ``chess`` package version,
and the other libraries; exits 1 when something required is missing, with what to do about it.
"""

from __future__ import annotations

import argparse
import importlib
import platform

from chessformer.core.engine import INSTALL_HINT, find_stockfish, stockfish_version

REQUIRED = ("chess", "torch", "numpy", "pandas", "matplotlib", "zstandard", "safetensors", "tqdm")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stockfish", help="Stockfish binary to check (default: search)")


def check(stockfish: str | None = None) -> tuple[list[tuple[str, str]], list[str]]:
    """``(rows, problems)``: rows of (component, state) and a list of what is missing."""
    rows: list[tuple[str, str]] = [("python", platform.python_version())]
    problems: list[str] = []
    sf = find_stockfish(stockfish)
    if sf is None:
        rows.append(("stockfish", "MISSING"))
        problems.append(f"Stockfish: {INSTALL_HINT}")
    else:
        try:
            rows.append(("stockfish", f"{stockfish_version(sf)} at {sf}"))
        except Exception as e:  # a binary that does not speak UCI
            rows.append(("stockfish", f"BROKEN at {sf}: {e}"))
            problems.append(f"Stockfish at {sf} does not answer UCI: {e}")
    for name in REQUIRED:
        try:
            mod = importlib.import_module(name)
        except Exception as e:
            rows.append((name, "MISSING"))
            problems.append(f"{name}: not importable ({e}); run `make setup`")
            continue
        version = getattr(mod, "__version__", "?")
        if name == "torch":
            device = "cuda" if mod.cuda.is_available() else "cpu"
            bf16 = device == "cuda" and mod.cuda.is_bf16_supported() or device == "cpu"
            version = f"{version} (device {device}, {mod.get_num_threads()} threads, bf16 {'yes' if bf16 else 'no'})"
        rows.append((name, version))
    return rows, problems


def main(args: argparse.Namespace) -> int:
    rows, problems = check(args.stockfish)
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    if problems:
        print("\nmissing:")
        for p in problems:
            print(f"  - {p}")
        return 1
    print("\nall good")
    return 0
