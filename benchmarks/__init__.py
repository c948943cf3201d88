"""Reproducible benchmarks of the destructors library: ``python -m benchmarks``."""
