"""The library version, kept apart so packaging can read it without importing NumPy."""

__version__ = "0.1.0.dev0"
