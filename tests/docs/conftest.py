"""Shared by the tutorial and site tests: one cache of executed tutorials, so the site build reuses them."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def docs_cache(tmp_path_factory):
    """The STABILITY_DOCS_CACHE of this test session (tutorial tests fill it; the site build reads it)."""
    return tmp_path_factory.mktemp("docs-cache")
