"""m_dhash selection (SPEC §2): score each candidate against the previous one, keep
the events above ``thr``, or the ``num`` highest of them in time order.

The scoring and selection rules are pure (hashes in, scores and chosen positions
out); :class:`DhashSelector` feeds them frames, hashing each with
``kernels.dhash``.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from typing import NamedTuple

import av

import kernels
from engine.imaging import frame_luma, quarter_turns
from kernels import dhash_score, hash_to_hex

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


class Scored(NamedTuple):
    """A candidate after hashing: its 64-bit dhash (hex), its score, and whether
    it is written now (streaming selection)."""

    dhash: str
    score: float
    write_now: bool


class DhashSelector:
    """m_dhash as a streaming selector: :meth:`feed` each candidate frame in time
    order, :meth:`finish` after the last.

    Without ``num`` every event is known as soon as it is scored, so ``feed`` says
    to write it at once (one pass); with ``num``, or when only the last snapshot
    is kept, the choice needs every score: ``finish`` gives the positions of the
    chosen candidates, decoded again in a second pass.
    """

    def __init__(self, threshold: int, count: int, *, autorotate: bool, last_only: bool = False) -> None:
        self.threshold = threshold
        self.count = count
        self.streaming = count == 0 and not last_only
        self._last_only = last_only
        self._autorotate = autorotate
        self._scorer = Scorer()
        self._scores: list[float] = []
        self._hashes: list[str] = []
        self.chosen: int | None = None
        """How many events the selection chose (before a last-only cut)."""

    def feed(self, frame: av.VideoFrame) -> Scored:
        turns = quarter_turns(frame, self._autorotate)
        value = kernels.dhash(frame_luma(frame, turns))
        score = self._scorer.score(value)
        write_now = self.streaming and is_event(len(self._scores), score, self.threshold)
        self._scores.append(score)
        self._hashes.append(hash_to_hex(value))
        return Scored(self._hashes[-1], score, write_now)

    def finish(self) -> list[tuple[int, Scored]]:
        """The chosen candidates (position among those fed, and its score), in
        time order; empty for a streaming selection (already written)."""
        if self.streaming:
            return []
        chosen = select_events(self._scores, self.threshold, self.count)
        self.chosen = len(chosen)
        if self._last_only:
            chosen = chosen[-1:]
        return [(i, Scored(self._hashes[i], self._scores[i], True)) for i in chosen]

    def shortfall(self) -> str | None:
        """The warning when fewer events than ``num`` were found."""
        if self.chosen is None or self.chosen >= self.count:
            return None
        return (f"m_dhash: only {self.chosen} event(s) (the first candidate and those scoring above "
                f"thr_{self.threshold}) of the num_{self.count} asked")
