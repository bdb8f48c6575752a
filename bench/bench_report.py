"""Benchmark and browser check of ``chessformer report`` on a synthetic run.

    .venv/bin/python bench/bench_report.py [--games-per-pair 60] [--boot 1000] [--out DIR]

Builds a synthetic run (games drawn from known ratings, written through the format modules:
a model at five temperatures against three experts of its training data and two anchored Stockfish
rungs), times ``write_report``, and, if chromium is installed, renders report.html headless to a
PNG screenshot and checks it is not blank and shows the score grid's cell colours. Prints one JSON
line with the timings and the screenshot's statistics.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def screenshot(html: Path, png: Path, *, width: int = 1200, height: int = 2000,
               timeout: float = 120.0) -> Path:
    """Render ``html`` with headless chromium (no network, throwaway profile) to ``png``."""
    exe = chromium()
    if exe is None:
        raise FileNotFoundError("chromium not found")
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
               "--no-first-run", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", f"--user-data-dir={profile}", f"--screenshot={png}",
               f"--window-size={width},{height}", html.resolve().as_uri()]
        subprocess.run(cmd, check=True, timeout=timeout, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    if not png.is_file():
        raise RuntimeError(f"chromium wrote no screenshot: {' '.join(cmd)}")
    return png


def png_stats(path: Path) -> dict[str, int]:
    """Width, height and number of distinct RGB colours of a PNG: a blank page has one or two."""
    w, h, colours = _decode(path)
    return {"width": w, "height": h, "distinct_colours": -1 if colours is None else len(colours)}


def png_colours(path: Path) -> set[bytes]:
    """The RGB colours (3 bytes each) of a PNG, sampled every 4th row and every 2nd pixel."""
    colours = _decode(path)[2]
    if colours is None:
        raise ValueError(f"{path}: not an 8-bit RGB or RGBA PNG")
    return colours


def _decode(path: Path) -> tuple[int, int, set[bytes] | None]:
    """Width, height and sampled colours of a PNG (8-bit RGB/RGBA; None otherwise), decoded
    with zlib only (the standard five filters)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat = 8, b""
    while pos < len(data):
        n = int.from_bytes(data[pos:pos + 4], "big")
        kind = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h = int.from_bytes(body[:4], "big"), int.from_bytes(body[4:8], "big")
            depth, ctype = body[8], body[9]
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    if depth != 8 or ctype not in (2, 6):
        return w, h, None
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(idat)
    stride = w * bpp
    prev = bytearray(stride)
    colours: set[bytes] = set()
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else (b if pb <= pc else c))) & 255
        if y % 4 == 0:  # sampling every 4th row is plenty to tell a page from a blank
            colours.update(bytes(line[i:i + 3]) for i in range(0, stride, bpp * 2))
        prev = line
    return w, h, colours


def cell_colours_shown(html: Path, png: Path) -> tuple[int, int]:
    """(how many of the report's coloured table cells' colours the screenshot shows, how many
    there are): the score grid is on screen when the two agree."""
    import re

    cells = set(re.findall(r"background:(#[0-9a-f]{6})", html.read_text()))
    seen = png_colours(png)
    return sum(bytes.fromhex(c[1:]) in seen for c in cells), len(cells)


STOCKFISH = {"stockfish skill=1 nodes=1000": 1554.0, "stockfish skill=3 nodes=1000": 1867.0}
EXPERTS = {"expert-a": 1350.0, "expert-b": 1450.0, "expert-c": 1400.0}


def make_run(root: Path, model: dict[float, float], *, games_per_pair: int = 60,
             seed: int = 0) -> Path:
    """A run folder (run.json, a dataset manifest and games.csv naming the experts, one
    evaluation) whose games are drawn from known ratings: ``model[T]`` is the Elo at T."""
    import numpy as np

    from chessformer.formats import dataset as dataset_format
    from chessformer.formats import games as games_format
    from chessformer.formats import run as run_format
    from chessformer.rating.counts import score_from_elo

    rng = np.random.default_rng(seed)
    data, run = root / "data", root / "run"
    data.mkdir(parents=True)
    dataset_format.write_manifest(data, {"options": {"elo_cap": 1000}, "n_games": 2})
    (data / dataset_format.GAMES_CSV).write_text("white,black\nexpert-a,expert-b\n"
                                                 "expert-c,expert-a\n")
    run_format.write_run_record(run, run_format.RunRecord(
        command="synthetic", data=str(data), preset="tiny", config={}, options={}))
    players = {**{f"model T={t:g} masked": ({"kind": "model", "label": "model", "run": "run",
                                             "temperature": t, "legality": "masked"}, e)
                  for t, e in model.items()},
               **{n: ({"kind": "expert", "name": n}, e) for n, e in EXPERTS.items()},
               **{n: ({"kind": "stockfish"}, e) for n, e in STOCKFISH.items()}}
    names = list(players)
    recs = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            if players[a][0]["kind"] == players[b][0]["kind"] == "model":
                continue
            for k in range(games_per_pair):
                w, bl = (a, b) if k % 2 == 0 else (b, a)
                p = score_from_elo(players[w][1] - players[bl][1])
                pd, u = 0.3 * 2 * min(p, 1 - p), rng.random()
                res = "1-0" if u < p - pd / 2 else ("1/2-1/2" if u < p + pd / 2 else "0-1")
                recs.append({"id": f"g{len(recs):06d}", "index": len(recs), "cell": f"{a} vs {b}",
                             "pair": k // 2, "white": w, "black": bl, "result": res,
                             "termination": "checkmate", "plies": 80, "seed": k, "opening": [],
                             "players": {"white": players[w][0], "black": players[bl][0]},
                             "illegal": {"white": 0, "black": 0},
                             "model_moves": {"white": 40, "black": 40}, "moves": [],
                             "time_s": 0.0})
    folder = games_format.default_eval_dir(run, "main")
    folder.mkdir(parents=True)
    games_format.write_results(folder, recs)
    games_format.write_eval_info(folder, {"grid": "main", "anchors": STOCKFISH,
                                          "stockfish": {"version": "15.1"}})
    return run


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--games-per-pair", type=int, default=60)
    ap.add_argument("--boot", type=int, default=1000)
    ap.add_argument("--out", type=Path, help="keep the run and report here (default: temp dir)")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    from chessformer.report.report import write_report

    with tempfile.TemporaryDirectory() as tmp:
        root = args.out or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        run = make_run(root, {0.001: 1700.0, 0.01: 1690.0, 0.1: 1650.0, 0.3: 1550.0,
                              1.0: 1250.0}, games_per_pair=args.games_per_pair)
        t0 = time.perf_counter()
        info = write_report([run], root / "report", n_boot=args.boot, seed=0)
        result: dict = {"games": info["games"], "boot": args.boot,
                        "write_report_s": round(time.perf_counter() - t0, 2),
                        "verdicts": [v["text"] for v in info["verdicts"]]}
        if chromium():
            t0 = time.perf_counter()
            png = screenshot(Path(info["html"]), root / "report" / "screenshot.png", height=3000)
            result["screenshot_s"] = round(time.perf_counter() - t0, 2)
            result["screenshot"] = str(png) if args.out else "(temporary)"
            result.update(png_stats(png))
            shown, cells = cell_colours_shown(Path(info["html"]), png)
            result["grid_cell_colours_shown"] = f"{shown}/{cells}"
            ok = result["distinct_colours"] > 50 and cells > 0 and shown == cells
            result["screenshot_ok"] = ok
        else:
            result["screenshot"] = "skipped: chromium not installed"
            ok = True
        print(json.dumps(result))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
