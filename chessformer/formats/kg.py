"""A knowledge-graph experiment's folder (written and read by :mod:`chessformer.kg.experiments`).

    OUT/ARM/corpus.npy               the arm's training rows (token ids), one paragraph a row
    OUT/ARM/writer.npy               the expert who wrote each row
    OUT/ARM/corpus_sample.txt        the first rows as text
    OUT/ARM/seed-K/accuracy.npy      the model's accuracy per query and temperature
    OUT/ARM/seed-K/result.json       the recipe it was trained with, timings, the loss curve
    OUT/summary.json                 verdicts and curves of every arm (the report reads it)
"""

from __future__ import annotations

__all__ = ["ACCURACY", "CORPUS", "CORPUS_SAMPLE", "RESULT", "SUMMARY", "WRITER"]

CORPUS = "corpus.npy"
WRITER = "writer.npy"
CORPUS_SAMPLE = "corpus_sample.txt"
ACCURACY = "accuracy.npy"
RESULT = "result.json"
SUMMARY = "summary.json"
