"""engine/settings.py: the environment's settings, read in one place, checked, lazily."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from engine import settings

REPO = Path(__file__).resolve().parents[1]
#: Modules of issue #11's restructuring that still read their own variable until it
#: lands (engine/api.py: settings.storage_root(); engine/parallel.py: settings.decoders()).


def test_storage_root(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(settings.STORAGE_ROOT_ENV, raising=False)
    assert settings.storage_root() == str(tmp_path)
    monkeypatch.setenv(settings.STORAGE_ROOT_ENV, "")
    assert settings.storage_root() == str(tmp_path)
    monkeypatch.setenv(settings.STORAGE_ROOT_ENV, "/srv/buckets")
    assert settings.storage_root() == "/srv/buckets"


@pytest.mark.parametrize(("value", "expected"), [(None, None), ("", None), ("1", 1), ("12", 12)])
def test_decoders(monkeypatch, value, expected):
    if value is None:
        monkeypatch.delenv(settings.DECODERS_ENV, raising=False)
    else:
        monkeypatch.setenv(settings.DECODERS_ENV, value)
    assert settings.decoders() == expected


@pytest.mark.parametrize("bad", ["0", "-1", "two", "1.5", " 2"])
def test_decoders_refused(monkeypatch, bad):
    monkeypatch.setenv(settings.DECODERS_ENV, bad)
    with pytest.raises(ValueError, match=re.escape(f"SNAPSHOTS_DECODERS must be a whole number >= 1, got {bad!r}")):
        settings.decoders()


def test_kernels(monkeypatch):
    monkeypatch.delenv(settings.KERNELS_ENV, raising=False)
    assert settings.kernels() == "auto"
    for choice in settings.KERNELS_CHOICES:
        monkeypatch.setenv(settings.KERNELS_ENV, choice)
        assert settings.kernels() == choice
    monkeypatch.setenv(settings.KERNELS_ENV, "AOT")
    with pytest.raises(ValueError, match="SNAPSHOTS_KERNELS must be auto, aot or jit, got 'AOT'"):
        settings.kernels()


@pytest.mark.parametrize("before", [None, "aot"])
def test_kernels_for_children_restores(monkeypatch, before):
    if before is None:
        monkeypatch.delenv(settings.KERNELS_ENV, raising=False)
    else:
        monkeypatch.setenv(settings.KERNELS_ENV, before)
    with settings.kernels_for_children("jit"):
        assert os.environ[settings.KERNELS_ENV] == "jit"
    assert os.environ.get(settings.KERNELS_ENV) == before
    with pytest.raises(ValueError, match="got 'fast'"):
        with settings.kernels_for_children("fast"):
            pass


@pytest.mark.parametrize(("value", "expected"), [(None, False), ("", False), ("0", False), ("1", True)])
def test_numba_jit_disabled(monkeypatch, value, expected):
    if value is None:
        monkeypatch.delenv("NUMBA_DISABLE_JIT", raising=False)
    else:
        monkeypatch.setenv("NUMBA_DISABLE_JIT", value)
    assert settings.numba_jit_disabled() is expected


def test_mmap_threshold_set(monkeypatch):
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    assert not settings.mmap_threshold_set()
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "65536")
    assert settings.mmap_threshold_set()


def test_no_other_module_reads_the_environment():
    readers = set()
    for path in [*REPO.glob("engine/**/*.py"), *REPO.glob("kernels/**/*.py")]:
        name = path.relative_to(REPO).as_posix()
        text = path.read_text()
        if re.search(r"os\.environ\.get|os\.getenv|os\.environ\[|in os\.environ\b", text):
            readers.add(name)
    assert readers == {"engine/settings.py"}
