"""Games between experts (``generate``): replayable whatever the worker scheduling."""

from __future__ import annotations

import pytest

from chessformer.formats import generated as generated_format
from chessformer.formats import read_json
from chessformer.play.generate import generate


@pytest.mark.stockfish
def test_generate_does_not_depend_on_worker_scheduling(tmp_path):
    """The same seed gives byte-identical PGN with 1 worker and with 3 (hash tables are cleared
    per game, so a worker's earlier games cannot change Stockfish's answers)."""
    generate("demo", 12, tmp_path / "one.pgn", seed=5, workers=1, max_plies=120)
    generate("demo", 12, tmp_path / "three.pgn", seed=5, workers=3, max_plies=120)
    assert (tmp_path / "one.pgn").read_text() == (tmp_path / "three.pgn").read_text()


@pytest.mark.stockfish
def test_generate_writes_its_summary_beside_the_pgn(tmp_path):
    out = tmp_path / "g.pgn"
    assert not generated_format.is_complete(out)
    summary = generate("demo", 4, out, seed=1, workers=1, max_plies=40)
    assert generated_format.is_complete(out)
    assert generated_format.summary_path(out) == tmp_path / "g.pgn.json"
    assert read_json(generated_format.summary_path(out), "summary") == summary.to_json()
    assert generated_format.read_summary(out) == summary
    assert sum(summary.results.values()) == 4
