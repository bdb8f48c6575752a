"""Files written by an earlier release still read: ``tests/fixtures/release-03b7ff1/`` holds the
JSON stage files that commit 03b7ff1 (the release before the typed records of issue 23) wrote for
``bench/fingerprint.py``'s seeded pipeline (generate -> ingest -> train ``tiny`` -> an evaluation),
copied as they were (the games file cut to its first 12 lines). Each reads into its typed record,
and the record writes back the same JSON, key for key and in order."""

from __future__ import annotations

import json
from pathlib import Path

from chessformer.formats import dataset as dataset_format
from chessformer.formats import games as games_format
from chessformer.formats import generated as generated_format
from chessformer.formats import run as run_format

OLD = Path(__file__).parent / "fixtures" / "release-03b7ff1"


def _same(record, path: Path) -> None:
    raw = json.loads(path.read_text(encoding="utf-8"))
    back = record.to_json()
    assert back == raw and list(back) == list(raw), path


def test_an_old_dataset_manifest_reads():
    _same(dataset_format.read_manifest(OLD / "ds"), OLD / "ds" / "manifest.json")


def test_an_old_generate_summary_reads():
    summary = generated_format.read_summary(OLD / "games.pgn")
    assert summary.games == 40
    _same(summary, OLD / "games.pgn.json")


def test_an_old_run_reads():
    run = OLD / "run"
    _same(run_format.read_run_record(run), run / "run.json")
    _same(run_format.read_final_metrics(run), run / "final_metrics.json")
    rows = run_format.read_metrics(run)
    lines = (run / "metrics.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(x) for x in lines] == [r.to_json() for r in rows]
    assert {type(r).__name__ for r in rows} == {"TrainRow", "ValRow"}


def test_an_old_eval_folder_reads():
    folder = OLD / "run" / "eval" / "fingerprint"
    _same(games_format.read_eval_info(folder), folder / "eval.json")
    records = games_format.read_results(folder)
    lines = (folder / "games.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(records) == len(lines) == 12
    assert [r.to_json() for r in records] == [json.loads(x) for x in lines]
