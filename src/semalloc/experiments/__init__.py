"""Experiments: reproductions of the papers' figures (and, later, sweeps)."""
