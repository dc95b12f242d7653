"""Pinning glibc's mmap threshold (engine/heap.py)."""

from __future__ import annotations

import ctypes
import subprocess
import sys

import pytest

from engine import heap

glibc = sys.platform.startswith("linux") and hasattr(ctypes.CDLL(None), "gnu_get_libc_version")


@pytest.mark.skipif(not glibc, reason="mallopt is glibc's")
def test_pins_the_threshold_in_a_fresh_process():
    # mallopt is process-wide: try it where it cannot disturb the test run.
    code = "from engine.heap import pin_mmap_threshold; print(pin_mmap_threshold())"
    env = {"PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == "True"


def test_environment_setting_stands(monkeypatch):
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "65536")
    assert heap.pin_mmap_threshold() is False


def test_not_linux_is_a_no_op(monkeypatch):
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    monkeypatch.setattr(heap.sys, "platform", "darwin")
    assert heap.pin_mmap_threshold() is False
