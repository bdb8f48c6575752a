"""Tests for chessformer.report.report and ``chessformer rate`` on a run built by the project's own
writers: expert games from ``generate``, a dataset from ``ingest`` (Elo cap 1000), a ``tiny`` model
from ``train``, and a few real games from the arena against the experts and a ladder rung.

The verdict's statistics on games of known strength are tested in tests/test_verdict.py.
"""

from __future__ import annotations

import argparse
import base64
import csv
import re
import shutil
from pathlib import Path

import pytest

from chessformer.commands import rate as rate_cmd
from chessformer.commands import report as report_cmd
from chessformer.formats import run as run_format
from chessformer.play.engine import find_stockfish
from chessformer.report.report import write_report
from chessformer.report.verdict import DOES_NOT, NOT_SHOWN, TRANSCENDS

pytestmark = pytest.mark.skipif(find_stockfish() is None, reason="Stockfish is not installed")

DEMO_EXPERTS = {"eps80", "eps85", "eps90"}
RUNG = "stockfish depth=1 epsilon=0.5"  # a rung of the shipped ladder for Stockfish 15.1
GRID = {
    "temperatures": [0.001, 1.0], "legality": ["masked", "raw"], "games": 2, "opening_plies": 2,
    "max_plies": 120, "adjudication": {"kind": "stockfish", "depth": 8, "threshold_cp": 400},
    "batch_size": 16, "workers": 2, "seed": 0,
}


def _grid(name: str, opponents: list[dict], matches: list[dict] | None = None):
    from chessformer.play.grid import grid_from_table

    return grid_from_table({"name": name, **GRID, "opponent": opponents,
                            "match": matches or []}, f"test grid {name}")


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    """generate -> ingest (cap 1000) -> train tiny -> 44 real games: the demo's shape, small."""
    from chessformer.data.ingest import ingest
    from chessformer.play.arena import run_eval
    from chessformer.play.generate import generate
    from chessformer.training.train import train

    root = tmp_path_factory.mktemp("report")
    generate("demo", 24, root / "experts.pgn", seed=3, workers=2, max_plies=160)
    ingest([str(root / "experts.pgn")], root / "ds", elo_cap=1000, boards=True, val_fraction=0.25)
    run = root / "run"
    train(root / "ds", run, "tiny", max_steps=6, seed=0, batch_size=4, block_size=128,
          eval_windows=8, checkpoint_minutes=0)
    grid = _grid("main", [{"kind": "experts", "preset": "demo"},
                          {"kind": "expert", "name": RUNG, "base": {"kind": "stockfish",
                                                                    "depth": 1},
                           "noise": {"kind": "epsilon", "epsilon": 0.5}}],
                 [{"players": [{"kind": "experts", "preset": "demo"}, {"kind": "random"}],
                   "games": 2}])
    run_eval(grid, run, run / "eval" / "main", command="chessformer eval-vs-stockfish (test)")
    return run


@pytest.fixture(scope="module")
def report(run, tmp_path_factory) -> dict:
    return write_report([run], tmp_path_factory.mktemp("out") / "report", n_boot=100, seed=1)


def test_report_files_plots_and_links(report):
    html = Path(report["html"]).read_text()
    md = Path(report["md"]).read_text()
    out = Path(report["md"]).parent
    assert (out / "elo_vs_temperature.png").stat().st_size > 10_000
    assert (out / "training_curves.png").stat().st_size > 10_000
    imgs = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert len(imgs) == 2 and base64.b64decode(imgs[0])[:8] == b"\x89PNG\r\n\x1a\n"
    assert "![Elo versus temperature](elo_vs_temperature.png)" in md
    assert "eval/main/games.pgn" in md
    for text in ("15.1", "chessformer eval-vs-stockfish (test)", "Provenance", "unfinished"):
        assert text in md, text
    # masked mode cannot sample an illegal move
    assert re.search(r"\| run \(masked\) \| 0\.001 \| \d+ \| 0 \| 100\.00% \| 0 \|", md)


def test_cap_and_checkpoint_come_from_what_ingest_and_train_wrote(run, report):
    md = Path(report["md"]).read_text()
    latest = run_format.read_latest(run)
    assert latest and latest.startswith("ckpt-")
    assert f"Run run: checkpoint {latest}; " in md and "(elo_cap 1000, " in md
    assert {line.cap for line in report["rated"].lines} == {1000.0}


def test_verdict_is_at_the_temperature_fixed_in_advance_against_training_experts(report):
    md = Path(report["md"]).read_text()
    assert len(report["verdicts"]) == 2  # masked and raw
    for v in report["verdicts"]:
        assert v["temperature"] == 0.001 and v["player"].startswith("run T=0.001 ")
        assert v["text"].startswith("T=0.001 (fixed in advance): ")
        assert v["reference"] == "expert" and v["reference_name"] in DEMO_EXPERTS
        assert v["word"] in (TRANSCENDS, DOES_NOT, NOT_SHOWN)
        assert v["word"] == (TRANSCENDS if v["lo"] > 0 else DOES_NOT if v["hi"] < 0
                             else NOT_SHOWN)
        assert v["text"].split(": ")[1].startswith(v["word"])
        assert f"**{v['line']}: {v['text']}**" in md
        # The exploratory line stands apart, with a simultaneous interval.
        e = v["exploratory"]
        assert e["k"] == 2 and e["level_each"] == pytest.approx(0.975)
        assert e["text"] not in md.split("## Exploratory")[0]
        assert e["text"] in md.split("## Exploratory")[1]
    # The ladder rung is an anchor, never a verdict's reference.
    assert RUNG in report["anchors"]


def test_a_model_that_lost_everything_is_rated_by_the_prior_only(report):
    rows = {r["player"]: r for r in report["ratings"]}
    for v in report["verdicts"]:
        r = rows[v["player"]]
        assert r["prior_only"] == (r["wins"] == r["games"] or r["losses"] == r["games"])
        if r["prior_only"]:
            assert "rated by the prior only" in v["text"]


def test_head_to_head_table_has_every_temperature_and_opponent(report):
    md = Path(report["md"]).read_text()
    table = md.split("## Head to head")[1].split("\n## ")[0]
    rows = [r for r in table.splitlines() if r.startswith("| run (")]
    # 2 legality modes x 2 temperatures x 4 opponents
    assert len(rows) == 16
    for r in rows:
        cells = [c.strip() for c in r.strip("|").split("|")]
        w, d, l_, games = int(cells[5]), int(cells[6]), int(cells[7]), int(cells[4])
        assert w + d + l_ == games == 2
        score = float(cells[8])
        lo, hi = map(float, cells[9].strip("[]").split(", "))
        assert score == pytest.approx((w + 0.5 * d) / games, abs=1e-3) and lo <= score <= hi
    assert sum("(fixed)" in r for r in rows) == 8


def test_report_cli_prints_the_verdict_and_the_exploratory_line_apart(run, tmp_path, capsys):
    parser = argparse.ArgumentParser()
    report_cmd.add_arguments(parser)
    assert report_cmd.main(parser.parse_args([str(run), "--out", str(tmp_path / "r"),
                                              "--boot", "50"])) == 0
    lines = capsys.readouterr().out.splitlines()
    verdicts = [x for x in lines if x.startswith("verdict ")]
    explore = [x for x in lines if x.startswith("  (not a verdict) run (")
               and ": exploratory, best of 2 temperatures: " in x]
    assert len(verdicts) == 2 and all("T=0.001 (fixed in advance): " in x for x in verdicts)
    assert len(explore) == 2 and lines.index(explore[0]) > lines.index(verdicts[-1])


def test_no_cap_verdict_without_a_ladder_for_the_stockfish_version(run, tmp_path, monkeypatch):
    # No ladder for the installed Stockfish: the arena records no anchors, and the model (which
    # met no expert of its training data here) has no verdict against its cap, with the reason.
    from chessformer.play.arena import run_eval
    from chessformer.formats import ladder

    monkeypatch.setattr(ladder, "search_dirs", lambda: [tmp_path / "no-ladders"])
    folder = run / "eval" / "nocap"
    run_eval(_grid("nocap", [{"kind": "stockfish", "skill": 0, "depth": 1}]), run, folder)
    info = write_report([folder], tmp_path / "r", n_boot=20)
    assert info["anchors"] == {}
    for v in info["verdicts"]:
        assert v["word"] is None and v["reference"] is None
        assert "no verdict against the training cap 1000" in v["text"]
        assert "no calibrated ladder for Stockfish 15.1" in v["cap_blocked"]
    shutil.rmtree(folder)


def test_rate_cli_prints_table_and_csv(run, tmp_path, capsys):
    parser = argparse.ArgumentParser()
    rate_cmd.add_arguments(parser)
    folder = run / "eval" / "main"
    assert rate_cmd.main(parser.parse_args([str(folder), "--boot", "50", "--csv",
                                            str(tmp_path / "r.csv")])) == 0
    text = capsys.readouterr().out
    assert "anchors: eval.json anchors" in text and "0 unfinished" in text
    assert "run T=0.001 masked" in text and "run T=1 raw" in text and RUNG in text
    with open(tmp_path / "r.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert {r["player"] for r in rows} >= DEMO_EXPERTS | {RUNG, "random"}
    assert len(rows) == 3 + 1 + 1 + 4  # experts, random, the rung, the model's 4 players
    # An explicit anchor overrides eval.json; --ladder auto finds the shipped ladder.
    rate_cmd.main(parser.parse_args([str(folder / "games.jsonl"), "--boot", "20",
                                     "--anchor", "eps85=1000"]))
    assert re.search(r"eps85\s+1000\s+anchor", capsys.readouterr().out)
    rate_cmd.main(parser.parse_args([str(folder), "--boot", "20", "--ladder", "auto"]))
    assert "anchors: ladder " in capsys.readouterr().out


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium for the headless screenshot")
def test_report_renders_in_headless_browser(report, tmp_path):
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        "bench_report", Path(__file__).resolve().parents[1] / "bench" / "bench_report.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    png = bench.screenshot(Path(report["html"]), tmp_path / "shot.png")
    stats = bench.png_stats(png)
    assert stats["width"] == 1200 and stats["distinct_colours"] > 50
