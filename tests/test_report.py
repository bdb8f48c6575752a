"""Tests for chessformer.report.report and chessformer rate on synthetic runs (no arena, no engine)."""

from __future__ import annotations

import argparse
import base64
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from chessformer.commands import rate as rate_cmd
from chessformer.rating.counts import score_from_elo
from chessformer.report.report import write_report
from chessformer.report.verdict import verdict_text

STOCKFISH = {"stockfish skill=1 nodes=1000": 1554.0, "stockfish skill=3 nodes=1000": 1867.0}
EXPERTS = {"expert-a": 1350.0, "expert-b": 1450.0}


def _player(name: str, label: str = "cap1000") -> dict:
    if name.startswith("stockfish"):
        return {"kind": "stockfish", "skill": int(name.split("=")[1][0]), "nodes": 1000}
    if name.startswith("expert"):
        return {"kind": "expert", "name": name, "nominal_elo": 1000}
    t, legality = name.split()[1][2:], name.split()[2]
    return {"kind": "model", "run": f"run-{label}", "label": label, "temperature": float(t),
            "legality": legality, "cap": None}


def make_run(root: Path, model: dict[float, float], *, seed: int = 0, experts=EXPERTS,
             games_per_pair: int = 60, label: str = "cap1000", cap: int = 1000,
             unfinished: int = 3) -> Path:
    """A training run folder with metrics, run.json, a data manifest and one evaluation folder
    whose games are drawn from known ratings (model[T] = its Elo at temperature T, masked)."""
    rng = np.random.default_rng(seed)
    run = root / f"run-{label}"
    ev = run / "eval" / "main"
    ev.mkdir(parents=True)
    data = root / f"data-{label}"
    data.mkdir()
    (data / "manifest.json").write_text(json.dumps({"options": {"elo_cap": cap}, "n_games": 1234}))
    (run / "run.json").write_text(json.dumps({"data": str(data), "command": "chessformer train",
                                              "config": {"n_layer": 4}}))
    (run / "metrics.jsonl").write_text("\n".join(json.dumps(
        {"step": s, "train_loss": 3 - s / 500, "val_loss": 3.1 - s / 520, "val_top1": s / 2000,
         "val_legal": 0.5 + s / 2400}) for s in range(0, 1001, 100)) + "\n")
    (run / "final_metrics.json").write_text(json.dumps({"val_loss": 1.2}))
    strengths = {**STOCKFISH, **experts,
                 **{f"{label} T={t:g} masked": e for t, e in model.items()},
                 f"{label} T=1 raw": min(model.values()) - 100}
    models = [p for p in strengths if p.startswith(label)]
    opponents = [p for p in strengths if p not in models]
    pairs = [(m, o) for m in models for o in opponents]
    pairs += [(a, b) for i, a in enumerate(opponents) for b in opponents[i + 1:]]
    recs = []
    for cell, (a, b) in enumerate(pairs):
        for k in range(games_per_pair):
            w, bl = (a, b) if k % 2 == 0 else (b, a)
            p = score_from_elo(strengths[w] - strengths[bl])
            u = rng.random()
            pd = 0.3 * 2 * min(p, 1 - p)
            res = "1-0" if u < p - pd / 2 else ("1/2-1/2" if u < p + pd / 2 else "0-1")
            raw = {"white": w.endswith("raw"), "black": bl.endswith("raw")}
            recs.append({
                "id": f"g{len(recs):06d}", "cell": f"{a} vs {b}", "pair": k // 2, "white": w,
                "black": bl, "result": res, "termination": "checkmate", "plies": 80,
                "seed": int(rng.integers(1 << 30)), "opening": ["e2e4"],
                "players": {"white": _player(w, label), "black": _player(bl, label)},
                "illegal": {s: (2 if raw[s] else 0) for s in ("white", "black")},
                "model_moves": {s: (40 if strengths[n] and n in models else 0)
                                for s, n in (("white", w), ("black", bl))},
                "time_s": 0.1})
    for k in range(unfinished):
        recs.append({**recs[k], "id": f"u{k}", "result": "*", "termination": "aborted"})
    (ev / "games.jsonl").write_text("\n".join(json.dumps(r) for r in recs) + "\n")
    (ev / "games.pgn").write_text('[Event "synthetic"]\n\n1. e4 *\n')
    (ev / "eval.json").write_text(json.dumps({
        "grid": "main", "model_run": str(run), "stockfish": {"path": "/usr/games/stockfish",
                                                            "version": "15.1"},
        "ladder": None, "anchors": STOCKFISH, "seeds": [1, 2, 3], "command": "chessformer eval",
        "started": "2025-01-01T00:00:00", "finished": "2025-01-01T01:00:00"}))
    return run


def _check_files(info: dict, out: Path) -> str:
    html = Path(info["html"]).read_text()
    md = Path(info["md"]).read_text()
    assert (out / "elo_vs_temperature.png").stat().st_size > 10_000
    assert (out / "training_curves.png").stat().st_size > 10_000
    imgs = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert len(imgs) == 2
    assert base64.b64decode(imgs[0])[:8] == b"\x89PNG\r\n\x1a\n"
    assert "![Elo versus temperature](elo_vs_temperature.png)" in md
    assert "games.pgn" in md and 'href="../run-cap1000/eval/main/games.pgn"' in html
    for text in ("15.1", "chessformer eval", "Provenance", "picking the best", "unfinished"):
        assert text in md, text
    return md


def test_report_transcends(tmp_path):
    # The model at T=0.1 is 300 Elo above the best expert: the verdict must say it transcends.
    run = make_run(tmp_path, {1.0: 1250.0, 0.3: 1550.0, 0.1: 1750.0})
    out = tmp_path / "report"
    info = write_report([run], out, n_boot=200, seed=1)
    md = _check_files(info, out)
    v = next(v for v in info["verdicts"] if v["legality"] == "masked")
    assert v["reference"] == "expert" and v["reference_name"] == "expert-b"
    assert v["temperature"] == 0.1 and v["lo"] > 0 and v["transcends"]
    assert v["text"] == f"transcends by {v['diff']:+.0f} Elo, 95% CI [{v['lo']:+.0f}, {v['hi']:+.0f}]"
    assert v["text"] in md and v["text"] in Path(info["html"]).read_text()
    assert info["unfinished"] == 3
    assert info["anchors"] == STOCKFISH
    rated = {r["player"]: r for r in info["ratings"]}
    assert rated["stockfish skill=1 nodes=1000"]["elo"] == 1554.0
    assert abs(rated["cap1000 T=0.1 masked"]["elo"] - 1750) < 120
    # legal-move rate: raw mode drew 2 illegal samples beside its 40 legal moves a game -> 40/42.
    assert "95.24%" in md and "100.00%" in md


def test_report_does_not_transcend(tmp_path):
    # The best temperature is 150 Elo below the best expert.
    run = make_run(tmp_path, {1.0: 1000.0, 0.1: 1300.0}, seed=2)
    out = tmp_path / "out"
    info = write_report([run], out, n_boot=200, seed=1)
    _check_files(info, out)
    v = next(v for v in info["verdicts"] if v["legality"] == "masked")
    assert not v["transcends"] and v["hi"] < 0
    assert v["text"].startswith("does not transcend: ")
    assert f"{v['diff']:+.0f} Elo against expert-b" in v["text"]
    assert "whole interval is below zero" in v["text"]


def test_report_against_cap_when_no_experts(tmp_path):
    run = make_run(tmp_path, {1.0: 1300.0, 0.1: 1600.0}, seed=3, experts={})
    info = write_report([run], tmp_path / "r", n_boot=100)
    v = next(v for v in info["verdicts"] if v["legality"] == "masked")
    assert v["reference"] == "cap" and v["reference_elo"] == 1000.0
    assert v["transcends"] and v["lo"] > 0
    assert "different pool" in Path(info["md"]).read_text()


def test_verdict_wording_follows_numbers():
    assert verdict_text(112.4, 41.2, 180.0, "x") == (True, "transcends by +112 Elo, 95% CI [+41, +180]")
    ok, text = verdict_text(30.0, -10.0, 70.0, "expert-b (1450)")
    assert not ok and text == ("does not transcend: +30 Elo against expert-b (1450), 95% CI "
                               "[-10, +70] (the interval includes zero)")
    ok, text = verdict_text(0.4, 0.0, 20.0, "x")  # lower bound exactly 0: not above zero
    assert not ok


def test_rate_cli_prints_table_and_csv(tmp_path, capsys):
    run = make_run(tmp_path, {1.0: 1300.0, 0.1: 1600.0}, seed=4, games_per_pair=20)
    parser = argparse.ArgumentParser()
    rate_cmd.add_arguments(parser)
    args = parser.parse_args([str(run / "eval" / "main"), "--boot", "50", "--csv",
                              str(tmp_path / "r.csv")])
    assert rate_cmd.main(args) == 0
    text = capsys.readouterr().out
    assert "anchors: eval.json anchors" in text and "3 unfinished" in text
    assert "cap1000 T=0.1 masked" in text and "cap1000 T=1 raw" in text
    rows = (tmp_path / "r.csv").read_text().splitlines()
    assert rows[0].startswith("player,elo,lo,hi,games")
    assert len(rows) == 1 + 2 + 2 + 3  # header, stockfish, experts, model players
    # An explicit anchor overrides eval.json.
    args = parser.parse_args([str(run / "eval" / "main" / "games.jsonl"), "--boot", "20",
                              "--anchor", "expert-a=1000"])
    rate_cmd.main(args)
    assert re.search(r"expert-a\s+1000\s+anchor", capsys.readouterr().out)


def test_rate_ladder_file(tmp_path, capsys):
    run = make_run(tmp_path, {1.0: 1300.0}, seed=5, games_per_pair=10)
    ladder = tmp_path / "ladder-15.1.json"
    ladder.write_text(json.dumps({"stockfish_version": "15.1", "games": "x", "rungs": [
        {"name": "stockfish skill=1 nodes=1000", "settings": {}, "elo": 1500.0, "lo": 1450,
         "hi": 1550, "anchor": True}]}))
    parser = argparse.ArgumentParser()
    rate_cmd.add_arguments(parser)
    rate_cmd.main(parser.parse_args([str(run / "eval" / "main"), "--boot", "10",
                                     "--ladder", str(ladder)]))
    out = capsys.readouterr().out
    assert f"anchors: ladder {ladder}" in out
    assert re.search(r"stockfish skill=1 nodes=1000\s+1500\s+anchor", out)


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium for the headless screenshot")
def test_report_renders_in_headless_browser(tmp_path):
    run = make_run(tmp_path, {1.0: 1250.0, 0.1: 1750.0}, games_per_pair=20)
    info = write_report([run], tmp_path / "report", n_boot=50)
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        "bench_report", Path(__file__).resolve().parents[1] / "bench" / "bench_report.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    png = bench.screenshot(Path(info["html"]), tmp_path / "shot.png")
    stats = bench.png_stats(png)
    assert stats["width"] == 1200 and stats["distinct_colours"] > 50
