"""Every setting the engine takes from the environment, read here and only here.

=========================  ========================================================
``SNAPSHOTS_STORAGE_ROOT``  folder holding the buckets of ``sys/saveas`` when no
                            ``storage_root`` is given (default: the current folder)
``SNAPSHOTS_DECODERS``      cap on the decoders one job runs at once (default: one per
                            core, at most 4); a whole number >= 1
``SNAPSHOTS_PROBE``         ``auto`` (default): the container's index where usable,
                            else the packet scan; ``scan``: always the packet scan
``SNAPSHOTS_KERNELS``       ``auto`` (default): the compiled kernels when usable, else
                            Numba's JIT with a warning; ``aot``: the compiled kernels
                            or an error; ``jit``: always the JIT
``NUMBA_DISABLE_JIT``       Numba's own switch; when set, the kernels run as plain
                            Python (for coverage), never the compiled module
``MALLOC_MMAP_THRESHOLD_``  glibc's own; when set, the engine leaves the mmap
                            threshold to it (see :mod:`engine.heap`)
=========================  ========================================================

Each is read when it is used, not at import, so a change (a test's
``monkeypatch.setenv``, a batch run telling its workers which kernels to load) is
seen by the next job. Bad values raise ``ValueError`` naming the variable, the
value and what would be valid.

:mod:`kernels` reads its two here when it first chooses a backend, never at import:
the ahead-of-time build imports :mod:`kernels.native` at install time, where the
engine's dependencies are not installed.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

__all__ = [
    "DECODERS_ENV", "PROBE_ENV", "PROBE_PATHS", "KERNELS_CHOICES", "KERNELS_ENV", "MMAP_THRESHOLD_ENV", "STORAGE_ROOT_ENV",
    "decoders", "kernels", "kernels_for_children", "mmap_threshold_set", "numba_jit_disabled", "probe_path", "storage_root",
]

STORAGE_ROOT_ENV = "SNAPSHOTS_STORAGE_ROOT"
DECODERS_ENV = "SNAPSHOTS_DECODERS"
KERNELS_ENV = "SNAPSHOTS_KERNELS"
PROBE_ENV = "SNAPSHOTS_PROBE"
PROBE_PATHS = ("auto", "scan")
KERNELS_CHOICES = ("auto", "aot", "jit")
NUMBA_DISABLE_JIT_ENV = "NUMBA_DISABLE_JIT"
MMAP_THRESHOLD_ENV = "MALLOC_MMAP_THRESHOLD_"


def storage_root() -> str:
    """The folder of the ``sys/saveas`` buckets: ``$SNAPSHOTS_STORAGE_ROOT`` or the current folder."""
    return os.environ.get(STORAGE_ROOT_ENV) or os.getcwd()


def decoders() -> int | None:
    """``$SNAPSHOTS_DECODERS`` as a whole number >= 1, or None when unset (empty counts as unset)."""
    setting = os.environ.get(DECODERS_ENV, "")
    if not setting:
        return None
    if not setting.isdigit() or int(setting) < 1:
        raise ValueError(f"{DECODERS_ENV} must be a whole number >= 1, got {setting!r}")
    return int(setting)


def probe_path() -> str:
    """``$SNAPSHOTS_PROBE``: one of :data:`PROBE_PATHS` (default ``auto``)."""
    setting = os.environ.get(PROBE_ENV, "") or "auto"
    if setting not in PROBE_PATHS:
        raise ValueError(f"{PROBE_ENV} must be one of {', '.join(PROBE_PATHS)}, got {setting!r}")
    return setting


def kernels() -> str:
    """``$SNAPSHOTS_KERNELS``: one of :data:`KERNELS_CHOICES` (default ``auto``)."""
    choice = os.environ.get(KERNELS_ENV, "auto")
    if choice not in KERNELS_CHOICES:
        raise ValueError(f"{KERNELS_ENV} must be auto, aot or jit, got {choice!r}")
    return choice


@contextlib.contextmanager
def kernels_for_children(choice: str) -> Iterator[None]:
    """Set ``$SNAPSHOTS_KERNELS`` for the processes started inside the block (a
    batch's local workers), then restore what was there."""
    if choice not in KERNELS_CHOICES:
        raise ValueError(f"{KERNELS_ENV} must be auto, aot or jit, got {choice!r}")
    saved = os.environ.get(KERNELS_ENV)
    os.environ[KERNELS_ENV] = choice
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop(KERNELS_ENV, None)
        else:
            os.environ[KERNELS_ENV] = saved


def numba_jit_disabled() -> bool:
    """Whether Numba's ``NUMBA_DISABLE_JIT`` is set (to anything but 0)."""
    return os.environ.get(NUMBA_DISABLE_JIT_ENV, "0") not in ("", "0")


def mmap_threshold_set() -> bool:
    """Whether glibc's own ``MALLOC_MMAP_THRESHOLD_`` is set (it then stands)."""
    return MMAP_THRESHOLD_ENV in os.environ
