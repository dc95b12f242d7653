"""The integer area-sum loop of the difference hash (see :mod:`kernels.difference_hash`)."""

from __future__ import annotations

import numpy as np
from numba import njit

from .._config import JIT

__all__ = ["area_sums"]


# Lines that lie wholly inside one axis-0 bin (all but at most two a bin) are
# summed unweighted in uint16, twice the SIMD width of int32, then folded into
# the bin's int32 sums with their common weight; 257 lines of 255 just fit.
_RUN_ROWS = 257


@njit(**JIT)
def _flush(acc, run, b, rows, nb0):
    """acc[b] += nb0 * run, then clear the run."""
    if rows == 0:
        return
    row = acc[b]
    w = np.int32(nb0)
    for x in range(run.shape[0]):
        row[x] += w * np.int32(run[x])
        run[x] = 0


@njit(**JIT)
def area_sums(flat, n0, n1, s0, s1, nb0, nb1):
    # Pass 1 walks the plane once in memory order and folds each line into
    # the (at most two, for n0 >= nb0) axis-0 bins it overlaps.  Lines are
    # taken as slices rather than flat[base + x] so Numba can drop its
    # negative-index wraparound, which otherwise blocks vectorisation; int32
    # partial sums (<= 255 * n0, see _MAX_SIDE) double the SIMD width.
    acc = np.zeros((nb0, n1), dtype=np.int32)
    run = np.zeros(n1, dtype=np.uint16)
    run_bin = 0
    run_rows = 0
    for y in range(n0):
        lo = y * nb0
        hi = lo + nb0
        base = y * s0
        b = lo // n0
        while b < nb0 and b * n0 < hi:
            w = np.int32(min(hi, (b + 1) * n0) - max(lo, b * n0))
            row = acc[b]
            if s1 == 1 and w == nb0:
                if b != run_bin or run_rows == _RUN_ROWS:
                    _flush(acc, run, run_bin, run_rows, nb0)
                    run_bin = b
                    run_rows = 0
                dense = flat[base:base + n1]
                for x in range(n1):
                    run[x] += np.uint16(dense[x])
                run_rows += 1
            elif s1 == 1:
                dense = flat[base:base + n1]
                for x in range(n1):
                    row[x] += w * np.int32(dense[x])
            elif s1 == 0:
                # Broadcast input (np.broadcast_to): a slice step can't be 0.
                v = w * np.int32(flat[base])
                for x in range(n1):
                    row[x] += v
            else:
                line = flat[base:base + (n1 - 1) * s1 + 1:s1]
                for x in range(n1):
                    row[x] += w * np.int32(line[x])
            b += 1
    _flush(acc, run, run_bin, run_rows, nb0)
    # Pass 2 only touches nb0 * n1 partial sums, so no need to be clever.
    sums = np.zeros((nb0, nb1), dtype=np.int64)
    for x in range(n1):
        lo = x * nb1
        hi = lo + nb1
        b = lo // n1
        while b < nb1 and b * n1 < hi:
            w = min(hi, (b + 1) * n1) - max(lo, b * n1)
            for i in range(nb0):
                sums[i, b] += w * np.int64(acc[i, x])
            b += 1
    return sums
