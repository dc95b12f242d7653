"""64-bit difference hash (dHash) of a luma plane.

The plane is area-averaged to 9 columns x 8 rows with exact fractional
pixel coverage (the semantics of ``cv2.INTER_AREA``) and each row yields 8
bits ``left < right``.  Bits are row-major with the first comparison as the
most significant bit, which is the order of ``str(imagehash.dhash(img))``.

Exactness: coordinates are scaled by the bin counts (x by 9, y by 8), so a
pixel spans 9 (resp. 8) units and a bin spans W (resp. H) units; every
pixel/bin overlap is then an integer weight.  All 72 bins cover the same
area (W*H scaled units), so comparing the integer weighted sums is the same
as comparing the averages, with no rounding and no tie-breaking drift
between the Numba kernel and the NumPy reference.  A bin sum is at most
``255 * W * H`` (4.3e9 at 4096x4096), far inside int64; the per-column
partial sums of the first pass are at most ``255 * H`` and are kept in
int32, hence the 2**23 limit per side.

Any size from 1x1 up works: below 9x8 a pixel simply overlaps several bins.

Names: the modules (this one, its loop :mod:`kernels.loops.difference_hash`, the
tests ``tests/test_kernels_difference_hash.py``) say what is computed; the function
keeps the short name of the processing string's mode (``m_dhash``) and of
``imagehash.dhash``.  A module named ``dhash`` would shadow the function of that
name on the lazily-loading :mod:`kernels` package.
"""

from __future__ import annotations

import numpy as np

from . import native
from ._views import ascending, flat_bytes
from ._checks import check_plane

__all__ = ["dhash", "dhash_reference"]

_ROWS = 8
_COLS = 9
# The kernel's int32 per-column partial sums hold at most 255 * side; this
# keeps them below 2**31 whichever axis ends up accumulated.
_MAX_SIDE = 1 << 23


def _check_luma(luma) -> None:
    check_plane("luma", luma)
    if max(luma.shape) > _MAX_SIDE:
        raise ValueError(f"luma sides must be <= {_MAX_SIDE}, got shape {luma.shape}")


def _bin_sums(luma: np.ndarray) -> np.ndarray:
    """Integer 8x9 area sums of ``luma`` via the kernel, for any strides."""
    # Binning is mirror-symmetric (bin j of a flipped axis is bin n-1-j), so
    # negative strides are undone by flipping the view and, at the end, the
    # 8x9 result.  That gives the kernel ascending addresses only.
    view, flip0, flip1 = ascending(luma)
    # Walk the axis with the smaller stride innermost: np.rot90 views are
    # column-major, and reading them row-wise would miss the cache per pixel.
    transposed = view.strides[0] < view.strides[1]
    if transposed:
        view = view.T
    n0, n1 = view.shape
    nb0, nb1 = (_COLS, _ROWS) if transposed else (_ROWS, _COLS)
    flat, s0, s1 = flat_bytes(view)
    sums = native.kernel("area_sums")(flat, n0, n1, s0, s1, nb0, nb1)
    if transposed:
        sums = sums.T
    if flip1:
        sums = sums[:, ::-1]
    if flip0:
        sums = sums[::-1]
    return sums


def _pack_bits(sums: np.ndarray) -> int:
    bits = sums[:, :-1] < sums[:, 1:]
    return int.from_bytes(np.packbits(bits.ravel()).tobytes(), "big")


def dhash(luma: np.ndarray) -> int:
    """64-bit dHash of a 2-D uint8 luma plane (any strides, any size >= 1x1).

    Raises ValueError for anything but a non-empty 2-D uint8 array.
    """
    _check_luma(luma)
    return _pack_bits(_bin_sums(luma))


def _area_weights_reference(n_src: int, n_bins: int) -> np.ndarray:
    """Dense (n_bins, n_src) int64 overlap of pixel k with bin j, scaled units."""
    pix = np.arange(n_src, dtype=np.int64)[None, :] * n_bins
    bins = np.arange(n_bins, dtype=np.int64)[:, None] * n_src
    overlap = np.minimum(pix + n_bins, bins + n_src) - np.maximum(pix, bins)
    return np.clip(overlap, 0, None)


def dhash_reference(luma: np.ndarray) -> int:
    """Plain NumPy dHash, bit-identical to :func:`dhash` (slow; for tests)."""
    _check_luma(luma)
    h, w = luma.shape
    wy = _area_weights_reference(h, _ROWS)
    wx = _area_weights_reference(w, _COLS)
    sums = wy @ luma.astype(np.int64) @ wx.T
    bits = (sums[:, :-1] < sums[:, 1:]).ravel()
    return int("".join("1" if b else "0" for b in bits), 2)
