"""Pytest configuration shared by the test suite and the doctests."""

# __main__ exits the interpreter on import; the other folders hold scripts, not tests.
collect_ignore = ["destructors/__main__.py", "doc", "examples", "benchmarks"]
