"""chessformer: a benchmark and toolkit for transcendence in chess move transformers."""

__version__ = "0.1.0"
