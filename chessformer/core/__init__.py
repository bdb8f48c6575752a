"""Chess primitives every stage shares: the move vocabulary (:mod:`.tokenizer`), the packed board
encoding (:mod:`.boards`) and the rules of a finished game and its PGN (:mod:`.games`). Nothing here
reads or writes a file of the pipeline or imports another stage."""
