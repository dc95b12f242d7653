"""Which picture answers each target time, decided from packet times as they are read.

Pure: no PyAV. "The frame at t" is the last picture whose pts ≤ t (SPEC §2): a
picture answers the targets from its own time until the next picture's. Reading
a decode run's packets in decode order, the next picture's time is final once a
packet with a later decode time has been read: decode times never go back and no
picture is shown before it is decoded (pts ≥ dts), so every packet still to come
has a pts at or after the largest decode time read so far. Each packet is thus
known to be wanted or not a few packets after it is read (the decoder's
reordering depth), before it is fed: the decoder decodes the wanted ones in full
and may skip the rest.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import dataclass

from engine.planner import PictureTimeline, StreamFacts, TargetTimes


@dataclass(frozen=True)
class Decision:
    """A candidate picture, decided: the target time it answers first, or None."""

    pts: int
    time: int | None
    keyframe: bool


class RunResolver:
    """Decides, packet by packet, which pictures answer the targets in [low, high)
    of one decode run.

    ``keyframes_only``: only keyframes answer (m_key, sm_fast); with
    ``first_key_covers``, the stream's first keyframe also answers the targets
    before it (sm_fast on a stream cut mid-GOP).
    """

    def __init__(
        self, times: TargetTimes, facts: StreamFacts, *, low: int | None = None, high: int | None = None,
        keyframes_only: bool = False, first_key_covers: bool = False,
    ) -> None:
        self._times = times
        self._clock = times.clock
        self._low = low
        self._high = high
        self._first_pts = facts.start_pts
        self._last_pts = facts.last_pts
        self._end = self._clock.of_pts(facts.end_pts)
        self._keyframes_only = keyframes_only
        self._first_key = facts.first_keyframe_pts if first_key_covers else None
        self._heap: list[tuple[int, bool]] = []
        self._seen: set[int] = set()
        self._pending: set[int] = set()
        self._closed: int | None = None
        self.done = False
        """Every target of the run is answered: no later packet is wanted."""

    def add(self, pts: int | None, dts: int | None, keyframe: bool) -> list[Decision]:
        """A packet read (in decode order): the decisions it makes final."""
        if dts is not None:
            # A packet with no decode time says nothing of those to come.
            closed = self._clock.of_pts(dts if pts is None else min(dts, pts))
            if self._closed is None or closed > self._closed:
                self._closed = closed
        if (pts is not None and pts not in self._seen and self._first_pts <= pts <= self._last_pts
                and (keyframe or not self._keyframes_only)):
            self._seen.add(pts)
            self._pending.add(pts)
            heapq.heappush(self._heap, (pts, keyframe))
        return self._decide(final=False)

    def close_before(self, time: int) -> None:
        """No candidate still to come is shown before ``time`` (the next keyframe,
        when every keyframe is known and only keyframes answer)."""
        if self._closed is None or time > self._closed:
            self._closed = time

    def pending(self, pts: int | None) -> bool:
        """A candidate read but not decided yet (its packet must wait to be fed)."""
        return pts in self._pending

    def finish(self) -> list[Decision]:
        """The end of the stream (or of what the run may read): decide the rest."""
        return self._decide(final=True)

    def _decide(self, *, final: bool) -> list[Decision]:
        decided: list[Decision] = []
        heap = self._heap
        while heap and not self.done:
            pts, keyframe = heap[0]
            frame = self._clock.of_pts(pts)
            if pts == self._first_key:
                frame = min(frame, 0)
            if self._high is not None and frame >= self._high:
                self.done = True
                break
            successor = min(heap[1:3])[0] if len(heap) > 1 else None
            following = None if successor is None else self._clock.of_pts(successor)
            if following is not None and (final or (self._closed is not None and following <= self._closed)):
                pass
            elif final:
                following = self._end
            elif self._high is not None and self._closed is not None and self._closed >= self._high:
                following = self._high  # what comes after is no target of this run
            else:
                break
            heapq.heappop(heap)
            self._pending.discard(pts)
            time = self._times.hit(frame, following)
            if time is not None and ((self._low is not None and time < self._low)
                                     or (self._high is not None and time >= self._high)):
                time = None
            decided.append(Decision(pts, time, keyframe))
            if self.done:
                break
            upcoming = self._times.next_at_or_after(following)
            if upcoming is None or (self._high is not None and upcoming >= self._high):
                self.done = True
        return decided


def timeline_hits(
    times: TargetTimes, timeline: PictureTimeline, facts: StreamFacts, *,
    keyframes_only: bool = False, first_key_covers: bool = False,
) -> Iterator[Decision]:
    """The pictures of a stream read forward that answer targets, by position
    (:class:`Decision` with ``pts`` = the position in the decode from the start)."""
    clock = times.clock
    candidates = [i for i in range(timeline.pts.size) if timeline.keyframe[i] or not keyframes_only]
    end = clock.of_pts(facts.end_pts)
    first_key = candidates[0] if keyframes_only and first_key_covers and candidates else None
    for number, position in enumerate(candidates):
        frame = clock.of_pts(int(timeline.pts[position]))
        if position == first_key:
            frame = min(frame, 0)
        following = clock.of_pts(int(timeline.pts[candidates[number + 1]])) if number + 1 < len(candidates) else end
        time = times.hit(frame, following)
        if time is not None:
            yield Decision(position, time, bool(timeline.keyframe[position]))
        elif times.next_at_or_after(following) is None:
            return
