"""Separable antialiased resampling of an RGB source window into an image.

Filter (chosen per axis from the scale ``s`` = source pixels per output pixel):

* ``s >= 1`` (downscale or 1:1): exact **area (box) filter**.  Output pixel
  ``i`` covers the source interval ``[lo + i*s, lo + (i+1)*s)``; source pixel
  ``k`` (which covers ``[k, k+1)``) weighs by its overlap with it, divided by
  ``s``.  That is the coverage rule of ``cv2.INTER_AREA``, including
  fractional windows, so downscales do not alias.
* ``s < 1`` (upscale): **triangle filter** of support 1 source pixel, i.e.
  bilinear like Pillow's ``BILINEAR``: output centre ``c = lo + (i+0.5)*s``,
  weight ``max(0, 1 - |k + 0.5 - c|)``; taps falling outside the image are
  dropped and the rest renormalised.

At ``s == 1`` both rules give the same weights, so the switch is seamless.
Weights are non-negative, so there is no ringing: a flat image stays flat and
a monotonic ramp stays monotonic.

Weights are built per call in NumPy (O(out * taps)) as compact tap lists and
applied by a Numba kernel: vertical pass first (whole source rows, unit
stride, vectorised) into one float32 row buffer, then the horizontal pass,
then round-half-up and clip to uint8.  Doing the vertical pass first keeps
the scalar (per-tap, per-channel) work proportional to the output size.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from numpy.lib.stride_tricks import as_strided

from . import native
from ._views import ascending

__all__ = ["axis_taps", "axis_weights_reference", "resample_into"]

# Overlaps smaller than this are float noise from window edges that land on
# pixel boundaries; keeping them would only widen tap spans.
_EPS = 1e-9


def _check_window(src_len: int, lo: float, hi: float, n_out: int) -> float:
    if not (0.0 <= lo < hi <= src_len) or n_out < 1:
        raise ValueError(
            f"bad resampling window [{lo}, {hi}) of {src_len} px into {n_out} px"
        )
    return (hi - lo) / n_out


# A video's frames share their geometry: computing the taps costs more than
# applying them (0.1 ms an axis against ~1.5 ms a 1080p frame), so they are
# computed once per geometry.
@functools.lru_cache(maxsize=256)
def axis_taps(src_len: int, lo: float, hi: float, n_out: int, mirrored: bool = False):
    """Compact taps for one axis: ``(start, count, weights)``, read-only.

    With ``mirrored`` the taps address the source axis read backwards (pixel
    ``k`` is ``src_len - 1 - k``), for views with a negative stride.

    Output ``i`` is ``sum(weights[i, t] * src[start[i] + t] for t < count[i])``.
    ``start``/``count`` are int64 (n_out,), ``weights`` float32
    (n_out, max(count)) with zero padding; each row sums to 1.
    """
    scale = _check_window(src_len, lo, hi, n_out)
    i = np.arange(n_out, dtype=np.float64)
    if scale >= 1.0:
        a = lo + i * scale
        b = lo + (i + 1.0) * scale
        first = np.floor(a)
        # An interval of length s touches at most ceil(s) + 1 unit pixels.
        ntap = int(math.ceil(scale)) + 1
        k = first[:, None] + np.arange(ntap)
        w = np.minimum(k + 1.0, b[:, None]) - np.maximum(k, a[:, None])
    else:
        c = lo + (i + 0.5) * scale
        # |k + 0.5 - c| < 1 implies floor(c) - 1 <= k <= floor(c) + 1.
        ntap = 3
        k = np.floor(c)[:, None] - 1.0 + np.arange(ntap)
        w = 1.0 - np.abs(k + 0.5 - c[:, None])
    w = np.where((w > _EPS) & (k >= 0) & (k < src_len), w, 0.0)
    nz = w > 0.0
    # Trim each row to its non-zero span so the kernel never reads outside
    # the source and does no work on zero weights.
    first_t = np.argmax(nz, axis=1)
    last_t = ntap - 1 - np.argmax(nz[:, ::-1], axis=1)
    rows = np.arange(n_out)
    start = k[rows, first_t].astype(np.int64)
    count = (last_t - first_t + 1).astype(np.int64)
    width = int(count.max())
    t = np.arange(width)
    shifted = np.take_along_axis(w, np.minimum(first_t[:, None] + t, ntap - 1), axis=1)
    shifted = np.where(t < count[:, None], shifted, 0.0)
    shifted /= shifted.sum(axis=1, keepdims=True)
    taps = (start, count, np.ascontiguousarray(shifted, dtype=np.float32))
    if mirrored:
        taps = _mirror(taps, src_len)
    for array in taps:
        array.flags.writeable = False
    return taps


def axis_weights_reference(src_len: int, lo: float, hi: float, n_out: int) -> np.ndarray:
    """Dense (n_out, src_len) float64 weight matrix of the same filter (for tests)."""
    scale = _check_window(src_len, lo, hi, n_out)
    i = np.arange(n_out, dtype=np.float64)[:, None]
    k = np.arange(src_len, dtype=np.float64)[None, :]
    if scale >= 1.0:
        a = lo + i * scale
        b = lo + (i + 1.0) * scale
        w = np.clip(np.minimum(k + 1.0, b) - np.maximum(k, a), 0.0, None)
    else:
        c = lo + (i + 0.5) * scale
        w = np.clip(1.0 - np.abs(k + 0.5 - c), 0.0, None)
    return w / w.sum(axis=1, keepdims=True)


def _mirror(taps, src_len: int):
    """Re-express taps in the coordinates of the source axis read backwards."""
    start, count, w = taps
    new_start = src_len - (start + count)
    # Reverse each row's live taps in place of the original order.
    t = np.arange(w.shape[1])
    idx = np.clip(count[:, None] - 1 - t, 0, None)
    new_w = np.take_along_axis(w, idx, axis=1)
    new_w = np.where(t < count[:, None], new_w, np.float32(0.0))
    return new_start, count, np.ascontiguousarray(new_w, dtype=np.float32)


def resample_into(src: np.ndarray, out: np.ndarray, y_window, x_window) -> None:
    """Resample a window of ``src`` (H, W, 3) uint8, any strides, into ``out`` (h, w, 3) uint8.

    ``y_window``/``x_window`` are the ``(lo, hi)`` source intervals of
    :func:`axis_taps` along H and W.  ``out`` may be a view (e.g. the content
    area of a padded canvas).  No validation: the public wrappers do it.
    """
    dst = out
    h, w = src.shape[:2]
    # Make every stride non-negative so a contiguous alias of the bytes can
    # start at element [0, 0, 0]: flipped spatial axes become mirrored taps,
    # a flipped channel axis (BGR->RGB views) a flipped destination.
    view, flip_y, flip_x = ascending(src)
    if view.strides[2] < 0:
        view = view[:, :, ::-1]
        dst = dst[:, :, ::-1]
    y_taps = axis_taps(h, *y_window, out.shape[0], flip_y)
    x_taps = axis_taps(w, *x_window, out.shape[1], flip_x)
    # The vertical pass streams along axis 1; for column-major views
    # (np.rot90) swap the roles of the axes so it still streams memory.
    if view.strides[0] < view.strides[1]:
        view = view.transpose(1, 0, 2)
        dst = dst.transpose(1, 0, 2)
        y_taps, x_taps = x_taps, y_taps
    s0, s1, s2 = view.strides
    n0, n1, _ = view.shape
    span = (n0 - 1) * s0 + (n1 - 1) * s1 + 2 * s2 + 1
    flat = as_strided(view, shape=(span,), strides=(1,), writeable=False)
    native.kernel("resample_rgb")(flat, s0, s1, s2, dst, *y_taps, *x_taps)
