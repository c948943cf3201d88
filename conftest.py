"""Pytest configuration shared by the test suite and the doctests."""

import os

import numpy as np

# __main__ exits the interpreter on import; the other folders hold scripts, not tests.
collect_ignore = ["destructors/__main__.py", "doc", "examples", "benchmarks"]

# Hypothesis profiles for the property tests (tests/test_properties.py).
# "ci", the default (and what CI=true runs), is bounded: a fixed number of
# derandomized examples per test, so its run time and its verdict are the
# same on every run. "thorough" explores many more, with fresh random
# examples each run: HYPOTHESIS_PROFILE=thorough pytest tests/test_properties.py
try:
    from hypothesis import HealthCheck, Phase, settings
except ImportError:  # hypothesis is a test extra; without it those tests are skipped
    pass
else:
    _SLOW_DATA = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example]
    settings.register_profile(
        "ci", max_examples=20, derandomize=True, deadline=None, print_blob=True,
        suppress_health_check=_SLOW_DATA,
        # No shrinking: a failure is reported as drawn, in bounded time
        # (rerun it under "thorough", which shrinks, for a minimal example).
        phases=[Phase.explicit, Phase.reuse, Phase.generate],
    )
    settings.register_profile(
        "thorough", max_examples=200, deadline=None, print_blob=True,
        suppress_health_check=_SLOW_DATA,
    )
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


# ``pytest --blas-threads=N`` runs the whole session with N BLAS threads
# (threadpoolctl, within this process), without touching the machine's BLAS
# environment variables: CI runs the fixture, persistence and property tests
# once more with one thread, since a BLAS may round otherwise with another
# thread count. The default leaves the machine's setting alone.
def pytest_addoption(parser):
    parser.addoption(
        "--blas-threads", type=int, default=None, metavar="N",
        help="limit BLAS to N threads for the whole session (default: the machine's setting)",
    )


def pytest_configure(config):
    threads = config.getoption("--blas-threads", default=None)
    if threads is not None:
        from threadpoolctl import threadpool_limits

        config._blas_limits = threadpool_limits(limits=threads, user_api="blas")


def pytest_report_header(config):
    from threadpoolctl import threadpool_info

    blas = [f"{lib['internal_api']} {lib['version']} ({lib.get('architecture')}), {lib['num_threads']} thread(s)"
            for lib in threadpool_info() if lib["user_api"] == "blas"]
    return [f"numpy {np.__version__}; BLAS: {'; '.join(blas) or 'none found'}"]
