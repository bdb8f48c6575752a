"""Training: options declared once with their help and resume rule (:mod:`.options`), windows and
batches over a dataset (:mod:`.batches`), validation with the legal-move and base-move probes
(:mod:`.validation`), and the exactly resumable loop (:mod:`.train`), which writes the run folder
of :mod:`chessformer.formats.run`."""
