"""The experiments stage: the taxonomy's experiments on simulated experts, each a TOML description
(:mod:`.spec`) run end to end by :mod:`.taxonomy` (generate, ingest, train per seed, evaluate, rate)
and written up by :mod:`.markdown`; :mod:`.arms` rates models grouped by arm, :mod:`.probe` compares
experts, ensemble and models move by move, and :mod:`.entropy` measures the diversity of games.
:mod:`.calibrate` rates a ladder of Stockfish settings the same way (``chessformer calibrate``).
It drives the other stages through their library functions, never through their command lines."""
