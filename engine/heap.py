"""Keep frame-sized buffers out of the C heap, so a process's memory stays flat.

glibc serves a large ``malloc`` with its own mapping (returned to the system on
``free``) until the first such block is freed; then its "dynamic mmap threshold"
rises to that block's size, and later frames, RGB images and encoder buffers come
from the heaps instead. With several decoder threads, each with its own heap arena,
the freed holes do not fit the next sizes and resident memory ratchets up with the
number of frames (measured: 200 full-size 1080p snapshots, 190 to 440 MB on two
decoders, 160 MB with the threshold pinned at 1 MiB, at the same speed).

Pinning the threshold is process-wide, so the engine's own processes do it (the CLI,
``serve``, batch workers); a program embedding ``engine.snapshot()`` decides for itself
(``MALLOC_MMAP_THRESHOLD_=1048576`` in its environment does the same).
"""

from __future__ import annotations

import ctypes
import sys

from engine import settings

__all__ = ["MMAP_THRESHOLD", "pin_mmap_threshold"]

MMAP_THRESHOLD = 1 << 20
_M_MMAP_THRESHOLD = -3  # glibc malloc.h


def pin_mmap_threshold(threshold: int = MMAP_THRESHOLD) -> bool:
    """Ask glibc to map every allocation of ``threshold`` bytes or more on its own.

    True when it took effect; False elsewhere (not glibc) or when the environment
    already sets glibc's own variable, which then stands.
    """
    if not sys.platform.startswith("linux") or settings.mmap_threshold_set():
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # musl and friends: no mallopt
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return mallopt(_M_MMAP_THRESHOLD, threshold) == 1
