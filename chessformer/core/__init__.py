"""Chess primitives every stage shares: the move vocabulary (:mod:`.tokenizer`), the packed board
encoding (:mod:`.boards`), the rules of a finished game and its PGN (:mod:`.games`), SAN resolution
(:mod:`.san`), a UCI engine over a pipe (:mod:`.engine`) and the evaluation protocol's constants
(:mod:`.protocol`). Nothing here reads or writes a file of the pipeline or imports another stage."""
