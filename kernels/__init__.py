"""Numba kernels of the frame-extraction engine (arrays in, arrays out).

Importing this package compiles nothing: every kernel is a lazy ``@njit``
that compiles (or loads from the on-disk cache) on its first call.
"""

from .dhash import dhash, dhash_reference, dhash_score, hamming, hash_to_hex
from .scale import MAX_SIDE, SCALE_TYPES, Layout, layout, render, render_reference
from .yuv import render_yuv, render_yuv_reference

__all__ = [
    "dhash",
    "dhash_reference",
    "dhash_score",
    "hamming",
    "hash_to_hex",
    "MAX_SIDE",
    "SCALE_TYPES",
    "Layout",
    "layout",
    "render",
    "render_reference",
    "render_yuv",
    "render_yuv_reference",
]
