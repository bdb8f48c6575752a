"""The data stage: PGN in, a tokenized dataset folder out. :mod:`.download` fetches Lichess dumps,
:mod:`.pgn` streams games from PGN of any size, :mod:`.ingest` filters and tokenizes them into a
dataset (:mod:`.dataset` writes and memory-maps it; file names live in
:mod:`chessformer.formats.dataset`), and :mod:`.add_boards` adds the packed boards afterwards."""
