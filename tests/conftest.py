"""Shared fixtures."""

from __future__ import annotations

import pytest

from oracle import SAMPLE_DIR
from sample_media.catalog import SAMPLES


@pytest.fixture
def sample():
    """Path of a committed sample file by name."""

    def path(name: str) -> str:
        assert name in SAMPLES, name
        return str(SAMPLE_DIR / name)

    return path
