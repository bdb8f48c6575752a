"""The knowledge-graph testbed: transcendence on facts instead of chess moves.

A seeded synthetic graph (:mod:`.graph`), simulated experts with their own corrupted copies of it
(:mod:`.experts`), the paragraphs they write (:mod:`.corpus`), cloze queries and the experts' and
their majority vote's scores (:mod:`.queries`), the project's GPT trained on the corpus and scored
at several temperatures (:mod:`.train`), bootstrap verdicts (:mod:`.stats`, :mod:`.analysis`),
experiments from ``evals/kg/*.toml`` (:mod:`.experiments`) and their reports (:mod:`.report`).
Command line: ``chessformer kg run EXPERIMENT``.
"""
