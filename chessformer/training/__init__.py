"""Training: options declared once with their help and resume rule (:mod:`.options`), windows and
batches over a dataset (:mod:`.batches`), validation with the legal-move and base-move probes
(:mod:`.validation`), legal-move masks from packed boards (:mod:`.legal`), and the exactly
resumable loop (:mod:`.train`), writing the run folder of :mod:`chessformer.formats.run`."""
