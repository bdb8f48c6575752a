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
from chessformer.report.report import write_report
from chessformer.report.verdict import DOES_NOT, NOT_SHOWN, TRANSCENDS

pytestmark = pytest.mark.stockfish

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
          eval_windows=8, checkpoint_minutes=0, base_move_probe=True)
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
    assert (out / "score_grid.png").stat().st_size > 10_000
    imgs = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    # The score grid is a coloured table in the HTML, the PNG in the Markdown.
    assert len(imgs) == 3 and base64.b64decode(imgs[0])[:8] == b"\x89PNG\r\n\x1a\n"
    assert "![Goodness of fit](goodness_of_fit.png)" in md
    assert "![Results per opponent and temperature](score_grid.png)" in md
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
        assert v.temperature == 0.001 and v.player.startswith("run T=0.001 ")
        assert v.text.startswith("T=0.001 (fixed in advance): ")
        assert v.reference == "expert" and v.reference_name in DEMO_EXPERTS
        assert v.word in (TRANSCENDS, DOES_NOT, NOT_SHOWN)
        fit_word = TRANSCENDS if v.lo > 0 else DOES_NOT if v.hi < 0 else NOT_SHOWN
        # The fit's word, unless the head-to-head score is on the other side of even.
        assert v.word == fit_word or (v.word == NOT_SHOWN and (
            "the verdict is not shown" in v.text or "no head-to-head games" in v.text))
        assert "head to head" in v.text or "no head-to-head games" in v.text
        assert v.text.split(": ")[1].startswith(v.word)
        assert f"**{v.line}: {v.text}**" in md
        # The exploratory line stands apart, with a simultaneous interval.
        e = v.exploratory
        assert e.k == 2 and e.level_each == pytest.approx(0.975)
        assert e.text not in md.split("## Exploratory")[0]
        assert e.text in md.split("## Exploratory")[1]
    # The ladder rung is an anchor, never a verdict's reference.
    assert RUNG in report["anchors"]


def test_report_json_has_head_to_head_fit_widening_and_terminations(report):
    from chessformer.formats.report import read_report_summary
    from chessformer.rating.counts import elo_from_score

    s = read_report_summary(Path(report["md"]).parent)
    md = Path(report["md"]).read_text()
    assert [v["text"] for v in s.verdicts] == [v.text for v in report["verdicts"]]
    # Head to head: every opponent of the fixed temperature, the reference marked.
    for v in report["verdicts"]:
        rows = [h for h in s.head_to_head if h.player == v.player]
        assert {h.opponent for h in rows} >= {v.reference_name, RUNG}
        ref = next(h for h in rows if h.reference)
        assert ref.opponent == v.reference_name and ref.fitted == pytest.approx(v.diff)
        assert ref.games == v.h2h_games and ref.score == pytest.approx(v.h2h_score)
        if ref.elo is not None:
            assert ref.elo == pytest.approx(elo_from_score(ref.score))
    assert "## Head to head beside the fit" in md
    # Goodness of fit: a residual for every pair that met, and the test's p-value.
    gof = s.goodness_of_fit
    met = {tuple(sorted((g.white, g.black))) for g in report["rated"].res.games}
    assert {(p.a, p.b) for p in gof.pairs} == met
    assert gof.df == report["rated"].fit_check.df and (gof.p_value is None
                                                       or 0 <= gof.p_value <= 1)
    assert f"X² = {gof.chi2:.1f} on {gof.df} degrees of freedom" in md
    # The rung's ladder games were resampled: its interval has width, and the report says by
    # how much the model's intervals grew.
    assert s.ladder is not None and s.ladder.endswith("ladder-15.1.json")
    rung = next(w for w in s.widening if w.what == f"rating of rung {RUNG}")
    assert rung.fixed_lo == rung.fixed_hi and rung.ladder_hi - rung.ladder_lo > 100
    model = [w for w in s.widening if w.what.startswith("rating of run T=0.001")]
    assert model and all(w.ladder_hi - w.ladder_lo > w.fixed_hi - w.fixed_lo for w in model)
    assert "## Intervals with the ladder's uncertainty" in md
    # The shipped ladder fails its own anchor check: the report says the scale is its own.
    assert "The Elo scale is this ladder's own" in s.scale and "offset" in s.scale
    assert s.scale in md
    # Terminations: every game of every cell counted once.
    records = report["rated"].res.records
    assert sum(t.games for t in s.terminations) == len(records)
    for t in s.terminations:
        assert t.games == (t.checkmate + t.stalemate + t.threefold_repetition + t.fifty_moves
                           + t.insufficient_material + t.adjudicated + t.move_cap + t.forfeit
                           + sum(t.other.values()))
        assert len(t.adjudicated_plies) == t.adjudicated
    assert sum(t.adjudicated for t in s.terminations) == sum(
        r.termination == "adjudicated" for r in records)
    assert "## Terminations" in md


def test_a_model_that_lost_everything_is_rated_by_the_prior_only(report):
    rows = {r["player"]: r for r in report["ratings"]}
    for v in report["verdicts"]:
        r = rows[v.player]
        assert r["prior_only"] == (r["wins"] == r["games"] or r["losses"] == r["games"])
        if r["prior_only"]:
            assert "rated by the prior only" in v.text


def _md_section(md: str, title: str) -> str:
    return md.split(f"## {title}")[1].split("\n## ")[0]


def test_results_grid_has_a_coloured_cell_per_temperature_and_opponent(report):
    from chessformer.report.plots import score_colour

    md = Path(report["md"]).read_text()
    table = _md_section(md, "Results per opponent and temperature")
    head = next(r for r in table.splitlines() if r.startswith("| model, temperature"))
    columns = [c.strip() for c in head.strip("|").split("|")][1:]
    # 4 opponents, strongest first, each with its role and Elo
    assert len(columns) == 4
    assert any(c.startswith(f"{RUNG} ladder rung, ") for c in columns)
    assert sum(c.split(" ")[0] in DEMO_EXPERTS and " training expert, " in c
               for c in columns) == 3
    elos = [float(c.rsplit(", ", 1)[1]) for c in columns]
    assert elos == sorted(elos, reverse=True)
    rows = [r for r in table.splitlines() if r.startswith("| run (")]
    assert len(rows) == 4  # 2 legality modes x 2 temperatures: one row each, not one per opponent
    assert sum("(fixed)" in r for r in rows) == 2
    html = Path(report["html"]).read_text()
    for r in rows:
        for cell in [c.strip() for c in r.strip("|").split("|")][1:]:
            m = re.fullmatch(r"(\d\.\d\d) (\d+)/(\d+)/(\d+) of (\d+) \[(\S+), (\S+)\]", cell)
            assert m, cell
            score, (w, d, l_, n), (lo, hi) = (float(m[1]), map(int, m.groups()[1:5]),
                                               map(float, m.groups()[5:]))
            assert w + d + l_ == n == 2
            assert score == pytest.approx((w + 0.5 * d) / n, abs=0.006) and lo <= score <= hi
            assert f"background:{score_colour((w + 0.5 * d) / n)}" in html
    # red for a lost cell, green for a won one
    assert score_colour(0.0)[1:3] > score_colour(0.0)[3:5]
    assert score_colour(1.0)[3:5] > score_colour(1.0)[1:3]


def test_ratings_name_each_players_role_and_why_glicko_differs(report):
    md = Path(report["md"]).read_text()
    table = _md_section(md, "Ratings")
    role = {c[0]: c[1] for r in table.splitlines() if r.startswith("| ") and "---" not in r
            for c in [[x.strip() for x in r.strip("|").split("|")]]}
    assert role[RUNG] == "ladder rung"
    assert {role[e] for e in DEMO_EXPERTS} == {"training expert"}
    assert role["run T=0.001 masked"] == "model"
    assert "Why Glicko-2 can rank players differently from the joint fit" in table


def test_training_curves_show_the_base_move_probe_and_its_reference(run, report, tmp_path):
    import dataclasses

    from chessformer.report.plots import plot_training

    metrics = run_format.read_metrics(run)
    probed = [m for m in metrics if getattr(m, "probe_model_base", None) is not None]
    assert probed and all(0 <= m.probe_experts_base <= 1 for m in probed)
    md = Path(report["md"]).read_text()
    assert "how often the experts themselves played it" in _md_section(md, "Training curves")
    # Without the probe (e.g. Lichess data): two panels, no reference line, no error.
    plain = [dataclasses.replace(m, probe_model_base=None, probe_experts_base=None,
                                 probe_positions=None)
             if isinstance(m, run_format.ValRow) else m for m in metrics]
    assert plot_training(tmp_path / "plain.png", {"run": plain})
    assert plot_training(tmp_path / "probe.png", {"run": metrics})

    def width(p: Path) -> int:
        return int.from_bytes(p.read_bytes()[16:20], "big")

    assert width(tmp_path / "probe.png") > 1.2 * width(tmp_path / "plain.png")


def test_a_legal_softmax_run_plots_its_loss_and_top1_over_legal_moves(run, tmp_path,
                                                                       monkeypatch):
    from matplotlib.figure import Figure

    from chessformer.report.plots import plot_training
    from chessformer.report.report import read_run
    from chessformer.training.train import train

    # The fixture's run trains the preset's default learner (legal softmax); beside it the
    # plain one, trained the same way with the softmax over every move.
    train(run_format.run_dataset(run), tmp_path / "plain", "tiny", max_steps=4, seed=0,
          batch_size=4, block_size=128, eval_windows=8, eval_every=2, checkpoint_minutes=0,
          legal_softmax=False)
    infos = {"plain": read_run(tmp_path / "plain"), "legal": read_run(run)}
    assert infos["legal"].legal_softmax and not infos["plain"].legal_softmax
    labels: list[str] = []
    save = Figure.savefig

    def record(fig, *args, **kwargs):
        labels.extend(line.get_label() for ax in fig.axes for line in ax.get_lines())
        return save(fig, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", record)
    assert plot_training(tmp_path / "t.png", {n: i.metrics for n, i in infos.items()},
                         {n for n, i in infos.items() if i.legal_softmax})
    assert {"legal val (legal moves)", "legal top-1 (legal moves)", "plain val",
            "plain legal"} <= set(labels)
    assert "legal val" not in labels and "legal legal" not in labels


def test_provenance_names_code_versions_and_commands(report):
    from chessformer.utils import code_version

    prov = _md_section(Path(report["md"]).read_text(), "Provenance")
    assert f"This report: chessformer {code_version()}; command: chessformer report " in prov
    assert (f"Evaluation main: chessformer {code_version()}; command: chessformer "
            "eval-vs-stockfish (test)") in prov
    assert re.search(r"Run run: checkpoint ckpt-\S+; data .*; (chessformer \S+|code version not "
                     r"recorded); command: \S", prov)
    # trained by a Python call, not by the command line pytest runs under
    assert "command: python: chessformer.training.train.train(...)" in prov


def test_report_cli_prints_the_verdict_and_the_exploratory_line_apart(run, tmp_path, capsys,
                                                                      monkeypatch):
    parser = argparse.ArgumentParser()
    report_cmd.add_arguments(parser)
    argv = [str(run), "--out", str(tmp_path / "r"), "--boot", "50"]
    monkeypatch.setattr("sys.argv", ["/venv/bin/chessformer", "report", *argv])
    assert report_cmd.main(parser.parse_args(argv)) == 0
    # The provenance records the command as typed, not the venv's script path.
    md = (tmp_path / "r" / "report.md").read_text()
    assert f"command: chessformer report {run} --out {tmp_path / 'r'} --boot 50" in md
    lines = capsys.readouterr().out.splitlines()
    verdicts = [x for x in lines if x.startswith("verdict ")]
    explore = [x for x in lines if x.startswith("  (not a verdict) run (")
               and ": exploratory, best of 2 temperatures: " in x]
    assert len(verdicts) == 2 and all("T=0.001 (fixed in advance): " in x for x in verdicts)
    assert len(explore) == 2 and lines.index(explore[0]) > lines.index(verdicts[-1])


def test_no_cap_verdict_without_a_ladder_for_the_stockfish_version(run, tmp_path, monkeypatch):
    # No ladder for the installed Stockfish: the arena records no anchors, and the model (which
    # met no expert of its training data here) has no verdict against its cap, with the reason.
    from chessformer.formats import ladder
    from chessformer.play.arena import run_eval

    monkeypatch.setattr(ladder, "search_dirs", lambda: [tmp_path / "no-ladders"])
    folder = run / "eval" / "nocap"
    run_eval(_grid("nocap", [{"kind": "stockfish", "skill": 0, "depth": 1}]), run, folder)
    info = write_report([folder], tmp_path / "r", n_boot=20)
    assert info["anchors"] == {}
    for v in info["verdicts"]:
        assert v.word is None and v.reference is None
        assert "no verdict against the training cap 1000" in v.text
        assert "no calibrated ladder for Stockfish 15.1" in v.cap_blocked
    shutil.rmtree(folder)


def test_a_model_below_every_opponent_gets_a_warning_naming_the_grid_to_use(run, tmp_path,
                                                                            capsys):
    """Against the ladder's strongest fast rung the tiny model loses every game: the rating is the
    prior's, and both the report and ``rate`` say which rungs and grid would measure it."""
    from chessformer.formats.ladder import find_ladder, load_ladder
    from chessformer.play.arena import run_eval

    strong = "stockfish skill=5 nodes=1000"
    folder = tmp_path / "strong"
    run_eval(_grid("strong", [{"kind": "stockfish", "skill": 5, "nodes": 1000}]), run, folder)
    info = write_report([folder], tmp_path / "r", n_boot=20)
    models = [x for x in info["ratings"] if x["player"].startswith("run T=")]
    assert len(models) == 4 and all(x["losses"] == x["games"] == 2 for x in models)
    rungs = load_ladder(find_ladder("15.1"))
    [warning] = info["rated"].warnings
    assert warning.startswith(", ".join(x["player"] for x in models) + ": lost every game, so "
                              "the rating is set by the prior")
    assert f"(weakest: {strong}, {rungs[strong]:.0f})" in warning
    assert f"rungs rated below {rungs[strong]:.0f}: the demo grid (evals/demo.toml)" in warning
    named = re.findall(r"(stockfish [^()]+|random) \((\d+)\)", warning.split("such as")[1])
    assert len(named) >= 2
    assert all(rungs[n] == pytest.approx(float(e), abs=0.5) and float(e) < rungs[strong]
               for n, e in named)
    md = Path(info["md"]).read_text()
    assert md.count("Warning: " + warning) == 2  # under the verdict and under the ratings
    assert '<p class="warning">Warning: ' in Path(info["html"]).read_text()
    for cmd, extra in ((rate_cmd, []), (report_cmd, ["--out", str(tmp_path / "cli")])):
        parser = argparse.ArgumentParser()
        cmd.add_arguments(parser)
        cmd.main(parser.parse_args([str(folder), "--boot", "20", *extra]))
        assert f"warning: {warning}" in capsys.readouterr().out.splitlines()


def test_a_model_above_every_opponent_is_sent_to_the_strongest_shipped_grid():
    """The other direction, on the shipped ladder and grids: won every game against the fast
    grid's rungs -> the paper grid (0.1 s a move) and rungs above the strongest one met."""
    from chessformer.formats.ladder import find_ladder, load_ladder
    from chessformer.rating.bootstrap import bootstrap
    from chessformer.rating.counts import GameResult
    from chessformer.rating.table import out_of_range, table_rows
    from chessformer.report.ranges import grid_ranges

    rungs = load_ladder(find_ladder("15.1"))
    met = ["stockfish skill=1 nodes=1000", "stockfish skill=3 nodes=1000"]
    games = [GameResult("m", o, 1.0) if k % 2 else GameResult(o, "m", 0.0)
             for o in met for k in range(6)]
    anchors = {o: rungs[o] for o in met}
    rows = table_rows(bootstrap(games, anchors, n_boot=10, seed=0), anchors, games)
    [warning] = out_of_range(rows, games, rungs, grid_ranges(rungs))
    top = rungs[met[1]]
    assert warning.startswith("m: won every game, so the rating is set by the prior")
    assert f"(strongest: {met[1]}, {top:.0f}). Evaluate against rungs rated above {top:.0f}: " \
           "the paper grid (evals/paper.toml)" in warning
    named = re.findall(r"(stockfish [^()]+) \((\d+)\)", warning.split("such as")[1])
    assert named and all(float(e) > top for _, e in named)
    assert out_of_range(rows, games) == [warning.split(": the paper grid")[0] + "."]


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
    """The report as a browser shows it: a page of text and figures, with the score grid's
    cell colours on screen."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "bench_report", Path(__file__).resolve().parents[1] / "bench" / "bench_report.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    png = bench.screenshot(Path(report["html"]), tmp_path / "shot.png", height=3000)
    stats = bench.png_stats(png)
    assert (stats["width"], stats["height"]) == (1200, 3000)
    assert stats["distinct_colours"] > 50  # not a blank page
    shown, cells = bench.cell_colours_shown(Path(report["html"]), png)
    assert cells > 0 and shown == cells


def test_training_experts_are_matched_by_specification_and_a_missing_one_blocks_the_verdict(
        run, report, tmp_path):
    """The run's data came from ``generate demo`` (eps80, eps85, eps90): the main evaluation
    played all three with the same specifications; one that plays eps80 only, and one whose
    'eps80' is another expert under that name, cannot give a verdict."""
    from chessformer.play.arena import run_eval

    notes = report["rated"].expert_notes
    assert notes and all("matched by full specification" in n and "3 of 3 played" in n
                         for n in notes)
    only = run / "eval" / "only80"
    run_eval(_grid("only80", [{"kind": "experts", "preset": "demo", "only": ["eps80"]}]), run,
             only)
    info = write_report([only], tmp_path / "r", n_boot=20)
    for v in info["verdicts"]:
        assert v.word == NOT_SHOWN and not v.transcends
        assert v.text.startswith("not shown: training expert(s) eps85 (spec ")
        assert "eps90 (spec " in v.text and "were not played by the evaluation" in v.text
    fake = run / "eval" / "fake80"
    run_eval(_grid("fake80", [{"kind": "expert", "name": "eps80",
                               "base": {"kind": "stockfish", "depth": 1},
                               "noise": {"kind": "epsilon", "epsilon": 0.1}}]), run, fake)
    info = write_report([fake], tmp_path / "r2", n_boot=20)
    assert info["rated"].experts == []  # the name alone does not make it a training expert
    assert "0 of 3 played" in info["rated"].expert_notes[0]
    for v in info["verdicts"]:  # against the cap, if at all: and then not shown, naming eps80
        assert v.word in (None, NOT_SHOWN) and not v.transcends
        assert v.word is None or "eps80 (spec " in v.text
    shutil.rmtree(only)
    shutil.rmtree(fake)


def test_a_cap_verdict_stands_behind_the_statement_of_the_scale(run, tmp_path):
    """Against the ladder rung only (no expert), the reference is the training cap; the 15.1
    ladder's anchors fail its check, so the cap sentence says the scale is the ladder's own.
    (The run's generate summary is set aside, so its experts are matched by name and none was
    played: the paper's case of real PGN data.)"""
    from chessformer.play.arena import run_eval

    folder = run / "eval" / "rungonly"
    run_eval(_grid("rungonly", [{"kind": "expert", "name": RUNG,
                                 "base": {"kind": "stockfish", "depth": 1},
                                 "noise": {"kind": "epsilon", "epsilon": 0.5}}]), run, folder)
    summary = run.parent / "experts.pgn.json"
    aside = summary.with_name("aside.json")
    summary.rename(aside)
    try:
        info = write_report([folder], tmp_path / "r", n_boot=20)
    finally:
        aside.rename(summary)
        shutil.rmtree(folder)
    for v in info["verdicts"]:
        assert v.reference == "cap"
        assert v.text.endswith("(on this ladder's own scale, whose offset to the paper's, and so "
                               "to the cap, is unknown)")
    assert "training experts matched by name" in info["rated"].expert_notes[0]
