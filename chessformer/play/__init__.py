"""The play stage: games between models, Stockfish, UCI engines and simulated experts. Players are
data (:mod:`.spec`, :mod:`.players`, :mod:`.presets`) with their move policies (:mod:`.experts`,
:mod:`.ensemble`, UCI through :mod:`chessformer.core.engine`); :mod:`.generate` writes expert games as PGN for
``ingest``; the arena (:mod:`.grid` -> :mod:`.tasks` -> :mod:`.workers` + :mod:`.arena`) plays a
trained model over an evaluation grid into ``games.jsonl`` + ``eval.json``
(:mod:`chessformer.formats.games`), shards of which :mod:`.merge` joins; :mod:`.uci` serves a model
as a UCI engine. Model moves come from :mod:`chessformer.model.inference` only."""
