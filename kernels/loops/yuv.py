"""The fused YUV planes -> scaled RGB loop (see :mod:`kernels.yuv`).

``render_yuv_planes`` walks the kernel rows: vertical pass of each plane
into a float32 row buffer (unit stride, vectorised), horizontal pass on the
shared taps, colour conversion, and a write into the output canvas, directly
or through a transposed tile.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .._config import JIT

__all__ = ["render_yuv_planes"]


@njit(**JIT)
def _vertical(flat, s0, s1, start, count, weights, row, x_lo, span, buf):
    """buf[:span] = sum over the row's taps of weight * source row from x_lo."""
    for j in range(span):
        buf[j] = 0.0
    for t in range(count[row]):
        wy = weights[row, t]
        base = (start[row] + t) * s0 + x_lo * s1
        if s1 == 1:
            line = flat[base:base + span]
            for j in range(span):
                buf[j] += wy * np.float32(line[j])
        else:
            for j in range(span):
                buf[j] += wy * np.float32(flat[base + j * s1])


# The horizontal taps of a call all have the same (zero-padded) width, so
# the branches on it are perfectly predictable, unlike a per-output tap
# count.  Inlined at the Numba IR level: a real call per output pixel would
# also pay the reference counting of its array arguments.
@njit(inline="always", **JIT)
def _dot(buf, p, w, o, width):
    """sum(w[o, t] * buf[p + t] for t < width)."""
    if width == 1:
        return w[o, 0] * buf[p]
    if width == 2:
        return w[o, 0] * buf[p] + w[o, 1] * buf[p + 1]
    if width == 3:
        return w[o, 0] * buf[p] + w[o, 1] * buf[p + 1] + w[o, 2] * buf[p + 2]
    if width == 4:
        return (w[o, 0] * buf[p] + w[o, 1] * buf[p + 1]) + (
            w[o, 2] * buf[p + 2] + w[o, 3] * buf[p + 3])
    acc = np.float32(0.0)
    for t in range(width):
        acc += w[o, t] * buf[p + t]
    return acc


@njit(inline="always", **JIT)
def _dot2(buf_a, buf_b, p, w, o, width):
    """_dot of two buffers sharing the taps (the two chroma planes)."""
    if width == 1:
        w0 = w[o, 0]
        return w0 * buf_a[p], w0 * buf_b[p]
    if width == 2:
        w0 = w[o, 0]
        w1 = w[o, 1]
        return (w0 * buf_a[p] + w1 * buf_a[p + 1], w0 * buf_b[p] + w1 * buf_b[p + 1])
    if width == 3:
        w0 = w[o, 0]
        w1 = w[o, 1]
        w2 = w[o, 2]
        return (w0 * buf_a[p] + w1 * buf_a[p + 1] + w2 * buf_a[p + 2],
                w0 * buf_b[p] + w1 * buf_b[p + 1] + w2 * buf_b[p + 2])
    acc_a = np.float32(0.0)
    acc_b = np.float32(0.0)
    for t in range(width):
        wt = w[o, t]
        acc_a += wt * buf_a[p + t]
        acc_b += wt * buf_b[p + t]
    return acc_a, acc_b


@njit(**JIT)
def _to_u8(x):
    v = np.floor(x + np.float32(0.5))
    return np.uint8(min(max(v, np.float32(0.0)), np.float32(255.0)))


# Indices below are masked with _NONNEG (a no-op for real indices) so that
# LLVM can prove them non-negative and drop Numba's negative-index
# wraparound from the per-pixel loop.
_NONNEG = (1 << 62) - 1
# Kernel rows buffered before a transposed write-back.
_TILE = 16


@njit(**JIT)
def _horizontal_row(buf_y, yh_start, yh_w, buf_u, buf_v, ch_start, ch_w, row_y, row_u, row_v):
    """Horizontal pass of one row of each plane (scalar: the taps gather)."""
    yw = yh_w.shape[1]
    cw = ch_w.shape[1]
    for c in range(yh_start.shape[0]):
        row_y[c] = _dot(buf_y, yh_start[c] & _NONNEG, yh_w, c, yw)
        row_u[c], row_v[c] = _dot2(buf_u, buf_v, ch_start[c] & _NONNEG, ch_w, c, cw)


@njit(**JIT)
def _convert_row(row_y, row_u, row_v, coef, dst):
    """YCbCr -> packed RGB uint8 for one row (a plain loop that vectorises)."""
    ky = coef[0]
    r_v = coef[1]
    r_0 = coef[2]
    g_u = coef[3]
    g_v = coef[4]
    g_0 = coef[5]
    b_u = coef[6]
    b_0 = coef[7]
    for c in range(row_y.shape[0]):
        yy = ky * row_y[c]
        uu = row_u[c]
        vv = row_v[c]
        dst[3 * c] = _to_u8(yy + r_v * vv + r_0)
        dst[3 * c + 1] = _to_u8(yy + g_u * uu + g_v * vv + g_0)
        dst[3 * c + 2] = _to_u8(yy + b_u * uu + b_0)


@njit(**JIT)
def render_yuv_planes(
    fy, ys0, ys1, yv_start, yv_count, yv_w, yh_start, yh_w, y_lo, y_span,
    fu, us0, us1, fv, vs0, vs1, cv_start, cv_count, cv_w, ch_start, ch_w, c_lo, c_span,
    coef, out, o_base, o_s0, o_s1,
):
    n_cols = yh_start.shape[0]
    # Zero tails: the zero-padded taps of the last columns may reach past
    # the span; they must read finite values.
    buf_y = np.zeros(y_span + yh_w.shape[1], dtype=np.float32)
    buf_u = np.zeros(c_span + ch_w.shape[1], dtype=np.float32)
    buf_v = np.zeros(c_span + ch_w.shape[1], dtype=np.float32)
    row_y = np.empty(n_cols, dtype=np.float32)
    row_u = np.empty(n_cols, dtype=np.float32)
    row_v = np.empty(n_cols, dtype=np.float32)
    # Transposed walk (o_s1 != 3): kernel rows are output columns.  Their
    # pixels are packed into a tile of _TILE rows and flushed as runs of
    # _TILE adjacent pixels per output row, not one scattered pixel at a time.
    tile = np.empty((_TILE, n_cols * 3), dtype=np.uint8)
    n_rows = yv_start.shape[0]
    for r in range(n_rows):
        _vertical(fy, ys0, ys1, yv_start, yv_count, yv_w, r, y_lo, y_span, buf_y)
        _vertical(fu, us0, us1, cv_start, cv_count, cv_w, r, c_lo, c_span, buf_u)
        _vertical(fv, vs0, vs1, cv_start, cv_count, cv_w, r, c_lo, c_span, buf_v)
        _horizontal_row(buf_y, yh_start, yh_w, buf_u, buf_v, ch_start, ch_w,
                        row_y, row_u, row_v)
        if o_s1 == 3:
            p = o_base + r * o_s0
            _convert_row(row_y, row_u, row_v, coef, out[p:p + n_cols * 3])
            continue
        k = r % _TILE
        _convert_row(row_y, row_u, row_v, coef, tile[k])
        if k == _TILE - 1 or r == n_rows - 1:
            r0 = r - k
            for c in range(n_cols):
                q = o_base + r0 * o_s0 + c * o_s1
                for i in range(k + 1):
                    out[q + i * o_s0] = tile[i, 3 * c]
                    out[q + i * o_s0 + 1] = tile[i, 3 * c + 1]
                    out[q + i * o_s0 + 2] = tile[i, 3 * c + 2]
