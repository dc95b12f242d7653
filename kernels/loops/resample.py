"""The separable resampling loop of packed or strided RGB (see :mod:`kernels.resample`)."""

from __future__ import annotations

import numpy as np
from numba import njit

from .._config import JIT

__all__ = ["resample_rgb"]


@njit(**JIT)
def resample_rgb(flat, s0, s1, s2, out, y_start, y_count, y_w, x_start, x_count, x_w):
    out_h = out.shape[0]
    out_w = out.shape[1]
    x_lo = x_start[0]
    x_hi = x_start[0] + x_count[0]
    for ox in range(out_w):
        x_lo = min(x_lo, x_start[ox])
        x_hi = max(x_hi, x_start[ox] + x_count[ox])
    span = x_hi - x_lo
    # Packed RGB rows (the usual case) are one unit-stride run of bytes,
    # which the vertical pass can process as a flat vectorised loop.
    packed = s1 == 3 and s2 == 1
    buf = np.empty(span * 3, dtype=np.float32)
    for oy in range(out_h):
        buf[:] = 0.0
        for t in range(y_count[oy]):
            wy = y_w[oy, t]
            base = (y_start[oy] + t) * s0 + x_lo * s1
            if packed:
                line = flat[base:base + span * 3]
                for j in range(span * 3):
                    buf[j] += wy * np.float32(line[j])
            else:
                for x in range(span):
                    p = base + x * s1
                    for ch in range(3):
                        buf[x * 3 + ch] += wy * np.float32(flat[p + ch * s2])
        for ox in range(out_w):
            a0 = np.float32(0.0)
            a1 = np.float32(0.0)
            a2 = np.float32(0.0)
            p = (x_start[ox] - x_lo) * 3
            for t in range(x_count[ox]):
                wx = x_w[ox, t]
                a0 += wx * buf[p]
                a1 += wx * buf[p + 1]
                a2 += wx * buf[p + 2]
                p += 3
            out[oy, ox, 0] = np.uint8(min(max(np.floor(a0 + np.float32(0.5)), 0.0), 255.0))
            out[oy, ox, 1] = np.uint8(min(max(np.floor(a1 + np.float32(0.5)), 0.0), 255.0))
            out[oy, ox, 2] = np.uint8(min(max(np.floor(a2 + np.float32(0.5)), 0.0), 255.0))
