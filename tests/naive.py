"""Naive helpers shared by the kernel tests.

Deliberately slow and literal: exact rational arithmetic and explicit loops,
so they can check the fast kernels and their NumPy references alike.
"""

from __future__ import annotations

from fractions import Fraction

import numba
import numpy as np
import pytest

# Pure-Python kernels (NUMBA_DISABLE_JIT=1) are far too slow for 1080p
# frames; those cases still run whenever the JIT is on.
requires_jit = pytest.mark.skipif(
    numba.config.DISABLE_JIT, reason="full-size frames are too slow without the JIT"
)


def padded(arr: np.ndarray, extra: int = 13) -> np.ndarray:
    """The same pixels as a row-padded plane view, like decoder output."""
    h, w = arr.shape[:2]
    base = np.full((h, w + extra) + arr.shape[2:], 77, dtype=arr.dtype)
    base[:, :w] = arr
    return base[:, :w]


def strided_variants(arr: np.ndarray) -> dict[str, np.ndarray]:
    """Views with the layouts callers produce, mapped to the contiguous image
    holding the same pixels (what the kernel must behave like)."""
    variants = {
        "contiguous": (arr, arr),
        "padded": (padded(arr), arr),
        "fortran": (np.asfortranarray(arr), arr),
        "step": (arr[::2, ::3], np.ascontiguousarray(arr[::2, ::3])),
    }
    for k in (1, 2, 3):
        view = np.rot90(arr, k)
        variants[f"rot90_{k}"] = (view, np.ascontiguousarray(view))
    variants["rot90_padded"] = (np.rot90(padded(arr)), np.ascontiguousarray(np.rot90(arr)))
    if arr.ndim == 3:
        variants["bgr_view"] = (arr[:, :, ::-1], np.ascontiguousarray(arr[:, :, ::-1]))
    return variants


def area_average_exact(img: np.ndarray, rows: int, cols: int) -> list[list[Fraction]]:
    """INTER_AREA semantics with exact rationals: bin (i, j) averages the
    image over [j*W/cols, (j+1)*W/cols) x [i*H/rows, (i+1)*H/rows)."""
    h, w = img.shape

    def overlap(k: int, lo: Fraction, hi: Fraction) -> Fraction:
        return max(Fraction(0), min(Fraction(k + 1), hi) - max(Fraction(k), lo))

    out = []
    for i in range(rows):
        y_lo, y_hi = Fraction(i * h, rows), Fraction((i + 1) * h, rows)
        row = []
        for j in range(cols):
            x_lo, x_hi = Fraction(j * w, cols), Fraction((j + 1) * w, cols)
            total = Fraction(0)
            for y in range(h):
                wy = overlap(y, y_lo, y_hi)
                if wy:
                    for x in range(w):
                        wx = overlap(x, x_lo, x_hi)
                        if wx:
                            total += wy * wx * int(img[y, x])
            row.append(total / ((y_hi - y_lo) * (x_hi - x_lo)))
        out.append(row)
    return out


def dhash_exact(img: np.ndarray) -> int:
    """dHash from the exact rational 9x8 area averages, MSB first."""
    avg = area_average_exact(img, 8, 9)
    value = 0
    for row in avg:
        for left, right in zip(row[:-1], row[1:]):
            value = (value << 1) | int(left < right)
    return value
