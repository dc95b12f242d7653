"""Numba kernels of the frame-extraction engine (arrays in, arrays out).

The public surface is the table below. Names load from their module on first use
(PEP 562): importing this package imports no Numba, so a job that never resizes or
hashes (full-size frames, cover art) never pays Numba's import and start-up; and no
kernel compiles before its first call (then it loads from the on-disk cache).
"""

from __future__ import annotations

import importlib

#: Public name -> the module defining it.
_EXPORTS = {
    "dhash": "difference_hash",
    "dhash_reference": "difference_hash",
    "dhash_score": "hashbits",
    "hamming": "hashbits",
    "hash_to_hex": "hashbits",
    "MAX_SIDE": "scale",
    "SCALE_TYPES": "scale",
    "Layout": "scale",
    "layout": "scale",
    "render": "scale",
    "render_reference": "scale",
    "render_yuv": "yuv",
    "render_yuv_reference": "yuv",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> object:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'kernels' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
