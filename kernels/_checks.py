"""Argument checks shared by the kernels' public wrappers (ValueError, never assert)."""

from __future__ import annotations

import numpy as np


def check_plane(name: str, plane: object) -> None:
    """A non-empty 2-D uint8 array (any strides), or ValueError naming ``name``."""
    if not isinstance(plane, np.ndarray):
        raise ValueError(f"{name} must be a numpy.ndarray, got {type(plane).__name__}")
    if plane.ndim != 2:
        raise ValueError(f"{name} must be a 2-D plane (height, width), got shape {plane.shape}")
    if plane.dtype != np.uint8:
        raise ValueError(f"{name} must have dtype uint8, got {plane.dtype}")
    if plane.shape[0] < 1 or plane.shape[1] < 1:
        raise ValueError(f"{name} must not be empty, got shape {plane.shape}")
