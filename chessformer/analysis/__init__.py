"""Move-level analyses of a model's games: the position scorer and the favor analysis."""
