"""Shared fixtures."""

from __future__ import annotations

import os
from pathlib import Path

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


@pytest.fixture(params=["auto", "scan"], ids=["index", "scan"])
def probe_path(request, monkeypatch):
    """Run a test on both probe paths: the container's index where usable (auto),
    and the full packet scan (engine.settings.PROBE_ENV)."""
    monkeypatch.setenv("SNAPSHOTS_PROBE", request.param)
    return request.param


# Child processes (`snapshots …`, servers, batch workers) run this checkout's code,
# not whatever checkout the console script was installed from (a worktree shares
# the main checkout's virtual environment).
_ROOT = str(Path(__file__).resolve().parent.parent)
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (_ROOT, os.environ.get("PYTHONPATH")) if p)

# Hypothesis: CI runs (CI=true) are reproducible: the same examples every run, no
# per-example deadline (shared 2-core runners stall), a bounded example count (the
# default; tests that need fewer or more say so with @settings).
from hypothesis import settings  # noqa: E402

settings.register_profile("ci", derandomize=True, max_examples=100, deadline=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
