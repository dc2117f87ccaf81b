"""Root pytest configuration.

OpenBLAS with two threads is many times slower than one for the small matrix
products of this package when the two cores are shared (measured: a training
run 25× slower); pin one BLAS thread for the test session unless the caller
chose otherwise.  This runs before any test module imports NumPy.

Hypothesis profiles
-------------------
``default``
    Hypothesis' own defaults: random examples (a fresh seed per run), the
    example database in ``.hypothesis/``; per-test ``@settings`` (mostly
    ``max_examples`` and ``deadline=None``) still apply.
``ci``
    Loaded when the environment variable ``CI`` is set (``.ci/run`` sets
    ``CI=1``) or when ``HYPOTHESIS_PROFILE=ci``.  A *fixed, reproducible* set
    of examples — ``derandomize=True`` derives every example from the test's
    source, so a CI run is repeatable bit for bit and a failure seen in CI is
    seen again locally with ``HYPOTHESIS_PROFILE=ci python -m pytest ...`` —
    with ``database=None`` (nothing read from or written to ``.hypothesis/``,
    so earlier local failures cannot change what CI tests), ``deadline=None``
    (the two cores are shared: timing is noise, performance lives in
    ``benchmarks/``), ``print_blob=True`` (a failure prints the
    ``@reproduce_failure`` blob) and the ``too_slow`` health check off for the
    same reason as the deadline.  ``max_examples`` is not changed: each test's
    own ``@settings(max_examples=...)`` is the number of examples CI runs.

Other switches, all set by ``.ci/run``: ``STABILITY_REQUIRE_BROWSER=1`` (a
missing Chromium/Playwright fails the browser tests instead of skipping them,
``tests/report/conftest.py``) and ``STABILITY_REQUIRE_TORCH=1`` (a missing
PyTorch fails the autograd tests instead of skipping them,
``tests/_support.require_torch``).  ``.ci/check_skips.py`` then fails CI if
any test was skipped at all.
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

try:  # Hypothesis is a test extra
    from hypothesis import HealthCheck, settings

    settings.register_profile(
        "ci",
        derandomize=True,
        database=None,
        deadline=None,
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow],
    )
    _profile = os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else None)
    if _profile:
        settings.load_profile(_profile)
except ImportError:  # pragma: no cover
    pass


# Doctests of the torch adapters need PyTorch, an optional dependency: without it they are skipped
# (with the reason), and with STABILITY_REQUIRE_TORCH=1 (set by .ci/run) they run and fail instead.
_TORCH_DOCTEST_MODULES = ("stability/torch.py", "stability/cells/torch.py")


def pytest_collection_modifyitems(config, items):
    import importlib.util

    if os.environ.get("STABILITY_REQUIRE_TORCH") == "1" or importlib.util.find_spec("torch") is not None:
        return
    import pytest

    skip = pytest.mark.skip(reason="could not import 'torch': the torch adapters' doctests need PyTorch")
    for item in items:
        path = str(getattr(item, "path", "")).replace(os.sep, "/")
        if type(item).__name__ == "DoctestItem" and path.endswith(_TORCH_DOCTEST_MODULES):
            item.add_marker(skip)
