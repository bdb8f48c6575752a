"""The rating stage: games in, Elo ratings out. Statistics are pure functions over results and
counts (:mod:`.counts`, :mod:`.graph`, :mod:`.bradley_terry`, :mod:`.bootstrap`, :mod:`.glicko`);
:mod:`.collect` turns evaluation folders into results, :mod:`.anchors` says which ratings hold the
scale, :mod:`.table` is the table ``rate`` prints, and :mod:`.ladder_fit` holds the statistics of a
Stockfish ladder's calibration (:mod:`chessformer.experiments.calibrate` plays its games and
writes ``ladder-<version>.json``, :mod:`chessformer.formats.ladder`, that later fits anchor on)."""
