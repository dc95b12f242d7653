"""Views the loops can walk: ascending addresses, one flat byte alias (no copies)."""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided


def ascending(plane: np.ndarray) -> tuple[np.ndarray, bool, bool]:
    """``plane`` with non-negative strides on its first two axes, and whether axis 0 and axis 1
    were flipped to get there (the caller mirrors its taps or results to match)."""
    view = plane
    flip0 = view.strides[0] < 0
    if flip0:
        view = view[::-1]
    flip1 = view.strides[1] < 0
    if flip1:
        view = view[:, ::-1]
    return view, flip0, flip1


def flat_bytes(view: np.ndarray) -> tuple[np.ndarray, int, int]:
    """The bytes a non-negative-strided 2-D uint8 view spans, as a read-only 1-D
    alias starting at its first element, and the view's strides. One array type
    for every layout: the loops compile once, and unit-stride rows vectorise."""
    s0, s1 = view.strides
    n0, n1 = view.shape
    size = (n0 - 1) * s0 + (n1 - 1) * s1 + 1
    return as_strided(view, shape=(size,), strides=(1,), writeable=False), s0, s1
