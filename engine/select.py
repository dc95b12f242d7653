"""m_dhash selection (SPEC §2): score each candidate against the previous one, keep
the events above ``thr``, or the ``num`` highest of them in time order.

Pure: hashes in, scores and chosen positions out; the hashing kernel is
``kernels.dhash``.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence

from kernels import dhash_score

#: The first candidate has nothing to differ from: it is always an event.
FIRST_SCORE = 100.0


class Scorer:
    """Streaming scores: each hash against the one before it."""

    def __init__(self) -> None:
        self._previous: int | None = None

    def score(self, hash_value: int) -> float:
        if isinstance(hash_value, bool) or not isinstance(hash_value, int) or not 0 <= hash_value < 1 << 64:
            raise ValueError(f"hash_value: expected a 64-bit unsigned int, got {hash_value!r}")
        previous, self._previous = self._previous, hash_value
        return FIRST_SCORE if previous is None else dhash_score(previous, hash_value)


def scores(hashes: Iterable[int]) -> list[float]:
    scorer = Scorer()
    return [scorer.score(h) for h in hashes]


def is_event(position: int, score: float, threshold: int) -> bool:
    """Above the threshold; the first candidate always is an event (SPEC §2),
    even at thr_100, where no score can be above."""
    return position == 0 or score > threshold


def select_events(candidate_scores: Sequence[float], threshold: int, count: int) -> list[int]:
    """Positions of the chosen candidates, ascending.

    ``count`` 0: every event (the first candidate, and each scoring above
    ``threshold``); ``count`` n: the n highest-scoring events, ties going to the
    earlier candidate.
    """
    events = [i for i, s in enumerate(candidate_scores) if is_event(i, s, threshold)]
    if count and len(events) > count:
        # Largest score first; among equal scores the smaller (earlier) position.
        events = heapq.nsmallest(count, events, key=lambda i: (-candidate_scores[i], i))
    return sorted(events)
