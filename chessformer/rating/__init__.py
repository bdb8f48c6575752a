"""The rating stage: games in, Elo ratings out. Statistics are pure functions over results and
counts (:mod:`.counts`, :mod:`.graph`, :mod:`.bradley_terry`, :mod:`.bootstrap`, :mod:`.glicko`);
:mod:`.collect` turns evaluation folders into results, :mod:`.anchors` says which ratings hold the
scale, :mod:`.table` is the table ``rate`` prints, and :mod:`.calibrate` rates a Stockfish ladder
(``ladder-<version>.json``, :mod:`chessformer.formats.ladder`) that later fits anchor on."""
