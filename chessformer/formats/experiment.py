"""A taxonomy experiment's folder (written by :mod:`chessformer.experiments.taxonomy`).

    OUT/experiment.json   the arms, their models' ratings and verdicts, probe and entropy, timings
    OUT/experiment.md     the same as a page (:mod:`chessformer.experiments.markdown`)

Beside them, each arm's PGN, dataset and run folders, and ``OUT/report/`` (the ``report``
command's output over every model).
"""

from __future__ import annotations

__all__ = ["EXPERIMENT_JSON", "EXPERIMENT_MD"]

EXPERIMENT_JSON = "experiment.json"
EXPERIMENT_MD = "experiment.md"
