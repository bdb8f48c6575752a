"""The evaluation protocol's constants, in a leaf module every stage may import.

:data:`VERDICT_TEMPERATURE` is read by the grids (:mod:`chessformer.play.grid`), the
experiments and the verdict (:mod:`chessformer.report.verdict`); :data:`LEVEL_NODES` by the
command line's ``--levels``. They live here, below all of those, so that no stage imports a later
one for a number.
"""

from __future__ import annotations

__all__ = ["LEVEL_NODES", "VERDICT_TEMPERATURE"]

#: The verdict temperature when an evaluation's grid names none (the theory's prediction).
VERDICT_TEMPERATURE = 0.001
#: Stockfish's node limit for ``--levels`` when neither ``--nodes`` nor ``--movetime-ms`` is given.
LEVEL_NODES = 1000
