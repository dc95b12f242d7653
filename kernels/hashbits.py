"""64-bit hash helpers (plain Python: no Numba, so scoring loads no JIT)."""

from __future__ import annotations

import numpy as np

_MASK64 = (1 << 64) - 1


def _check_hash(name: str, h) -> int:
    if isinstance(h, (bool, np.bool_)) or not isinstance(h, (int, np.integer)):
        raise ValueError(f"{name} must be an int, got {type(h).__name__}")
    h = int(h)
    if not 0 <= h <= _MASK64:
        raise ValueError(f"{name} must be in [0, 2**64), got {h}")
    return h


def hash_to_hex(h: int) -> str:
    """16 lowercase hex digits, as ``str(imagehash.dhash(img))`` prints."""
    return f"{_check_hash('h', h):016x}"


def hamming(a: int, b: int) -> int:
    """Number of differing bits between two 64-bit hashes."""
    return (_check_hash("a", a) ^ _check_hash("b", b)).bit_count()


def dhash_score(prev: int, cur: int) -> float:
    """Percentage (0..100) of the 64 bits that differ between two hashes."""
    return 100.0 * hamming(prev, cur) / 64.0

