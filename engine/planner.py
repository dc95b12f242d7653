"""The seek planner: a request and what is known of the stream in, target times out.

Pure: no PyAV, no I/O. The planner says *when* (the times SPEC §2 names); the
decoder says *how* (which runs to decode, where to seek) and *which frame* answers
each time, by pts, while decoding (:mod:`engine.resolver`). All comparisons are
exact integer arithmetic in one scaled unit (:class:`Clock`), so 29.97 fps and
friends never round the wrong way ("the frame at t" is the last frame whose
pts ≤ t).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Callable, Protocol

import numpy as np

from engine.errors import ProcessError
from engine.params import Mode, Request, SeekMode


@dataclass(frozen=True)
class PictureTimeline:
    """Every picture of a stream read forward (:mod:`engine.timeline`): its time on
    one continuous timeline and its key flag, by position in the decode from the
    start."""

    pts: np.ndarray
    keyframe: np.ndarray

    def __post_init__(self) -> None:
        pts = np.asarray(self.pts, dtype=np.int64)
        keyframe = np.asarray(self.keyframe, dtype=bool)
        if pts.ndim != 1 or pts.size == 0:
            raise ValueError("pts: need a non-empty 1-D sequence of picture times")
        if keyframe.shape != pts.shape:
            raise ValueError(f"keyframe: shape {keyframe.shape} does not match pts {pts.shape}")
        if np.any(np.diff(pts) <= 0):
            raise ValueError("pts: must be strictly ascending")
        object.__setattr__(self, "pts", pts)
        object.__setattr__(self, "keyframe", keyframe)


@dataclass(frozen=True)
class StreamFacts:
    """What is known of the chosen video stream before decoding any target.

    Times are in ``time_base`` ticks. ``seek_points`` are where decode runs may
    start: one timestamp per known keyframe, ascending, each at or before its
    keyframe's pts (the container's index gives decode times or presentation
    times; the packet scan gives pts, with decode times as ``seek_alternates``).
    """

    time_base: Fraction
    start_pts: int
    """Time 0: the first picture's pts."""
    last_pts: int
    """The last picture's pts: packets after it never yield a picture."""
    end_pts: int
    """D: the end of the last picture (SPEC §2)."""
    frame_ticks: int
    """A typical frame's duration (how far a seek must skip to pay)."""
    seek_points: np.ndarray
    seek_alternates: np.ndarray | None = None
    """A second timestamp per seek point, tried when a seek by the first lands
    wrong (a demuxer that seeks by decode time)."""
    seek_by_time: bool = False
    """The seek points are decode times, while the demuxer seeks by presentation
    time (an MP4 index): seeking to a target's own time lands on the keyframe
    shown at or before it."""
    keyframes_listed: bool = False
    """Every keyframe of the stream is a seek point (the index lists every packet):
    keyframe-only decoding may then seek from keyframe to keyframe."""
    first_keyframe_pts: int | None = None
    """The first keyframe shown (None: none known)."""
    starts_mid_gop: bool = False
    """The stream's first packet is no keyframe: pictures shown before the first
    keyframe are decoded from references the file does not hold."""
    timeline: PictureTimeline | None = None
    """Read forward: every picture's time, found by position, never by seeking."""

    def __post_init__(self) -> None:
        if self.time_base <= 0:
            raise ValueError(f"time_base: must be positive, got {self.time_base}")
        if not self.start_pts <= self.last_pts < self.end_pts:
            raise ValueError(
                f"times: need start_pts ≤ last_pts < end_pts, got {self.start_pts}, {self.last_pts}, {self.end_pts}")
        if self.frame_ticks < 1:
            raise ValueError(f"frame_ticks: must be ≥ 1, got {self.frame_ticks}")
        points = np.asarray(self.seek_points, dtype=np.int64)
        if points.ndim != 1 or np.any(np.diff(points) < 0):
            raise ValueError("seek_points: must be an ascending 1-D sequence")
        object.__setattr__(self, "seek_points", points)
        if self.seek_alternates is not None:
            alternates = np.asarray(self.seek_alternates, dtype=np.int64)
            if alternates.shape != points.shape:
                raise ValueError(f"seek_alternates: shape {alternates.shape} does not match {points.shape}")
            object.__setattr__(self, "seek_alternates", alternates)

    def unvouched(self, pts: int) -> bool:
        """A picture the engine cannot vouch for (SPEC §2): shown before the first
        keyframe of a stream cut mid-GOP."""
        return self.starts_mid_gop and self.first_keyframe_pts is not None and pts < self.first_keyframe_pts

    @property
    def forward(self) -> bool:
        return self.timeline is not None

    def ms(self, ticks: int | np.ndarray) -> float | np.ndarray:
        """Milliseconds from time 0 of a pts."""
        return (np.asarray(ticks, dtype=np.float64) - self.start_pts) * float(self.time_base) * 1000.0

    @property
    def duration_ms(self) -> float:
        return float(self.ms(self.end_pts))


@dataclass(frozen=True)
class Clock:
    """Exact times in one integer unit: a time of t ms is t·den·scale, a pts p is
    (p − start)·num·1000·scale (``scale`` keeps m_avg's half steps whole)."""

    time_base: Fraction
    start_pts: int
    scale: int = 1

    def of_pts(self, pts: int) -> int:
        return (int(pts) - self.start_pts) * self.time_base.numerator * 1000 * self.scale

    def of_ms(self, ms: int) -> int:
        return ms * self.time_base.denominator * self.scale

    def to_ms(self, time: int) -> float:
        return float(Fraction(time, self.time_base.denominator * self.scale))

    def to_ticks(self, time: int) -> int:
        """The last pts at or before a time (for budgets and seeks)."""
        return self.start_pts + time // (self.time_base.numerator * 1000 * self.scale)


class TargetTimes(Protocol):
    """Ascending target times in a :class:`Clock`'s unit."""

    clock: Clock

    def next_at_or_after(self, time: int) -> int | None:
        """The first target time ≥ ``time`` (None: none left)."""

    def last_before(self, time: int) -> int | None:
        """The last target time < ``time`` (None: none)."""

    def hit(self, frame: int, following: int) -> int | None:
        """The first target a frame shown from ``frame`` until ``following``
        answers (its requested time), or None."""


@dataclass(frozen=True)
class Spaced:
    """first, first + step, … (``count`` of them, or while < ``end``)."""

    clock: Clock
    first: int
    step: int
    end: int
    count: int | None = None

    def _last(self) -> int | None:
        if self.first >= self.end:
            return None
        k = (self.end - self.first - 1) // self.step
        if self.count is not None:
            k = min(k, self.count - 1)
        return self.first + k * self.step

    def next_at_or_after(self, time: int) -> int | None:
        k = max(0, -((self.first - time) // self.step))
        found = self.first + k * self.step
        last = self._last()
        return found if last is not None and found <= last else None

    def last_before(self, time: int) -> int | None:
        last = self._last()
        if last is None or time <= self.first:
            return None
        k = (time - self.first - 1) // self.step
        return min(self.first + k * self.step, last)

    def hit(self, frame: int, following: int) -> int | None:
        found = self.next_at_or_after(frame)
        return found if found is not None and found < following else None


@dataclass(frozen=True)
class Every:
    """Every instant from ``first`` until ``end``: every frame shown then, the one
    shown at ``first`` included unless ``from_first`` (m_key: frames at or after)."""

    clock: Clock
    first: int
    end: int
    from_first: bool = False

    def next_at_or_after(self, time: int) -> int | None:
        found = max(time, self.first)
        return found if found < self.end else None

    def last_before(self, time: int) -> int | None:
        found = min(time, self.end) - 1
        return found if found >= self.first else None

    def hit(self, frame: int, following: int) -> int | None:
        if self.from_first and frame < self.first:
            return None
        found = self.next_at_or_after(frame)
        return found if found is not None and found < following else None


@dataclass(frozen=True)
class Listed:
    """Explicit times (ascending), e.g. the frames a selection chose."""

    clock: Clock
    times: tuple[int, ...]

    def next_at_or_after(self, time: int) -> int | None:
        index = bisect.bisect_left(self.times, time)
        return self.times[index] if index < len(self.times) else None

    def last_before(self, time: int) -> int | None:
        index = bisect.bisect_left(self.times, time)
        return self.times[index - 1] if index > 0 else None

    def hit(self, frame: int, following: int) -> int | None:
        found = self.next_at_or_after(frame)
        return found if found is not None and found < following else None


@dataclass(frozen=True)
class Plan:
    """The target times of a job and how they are to be answered."""

    times: TargetTimes
    keyframes_only: bool = False
    """m_key, sm_fast: only keyframes answer targets (decoded alone)."""
    count: int = 0
    """Stop after this many distinct frames (0: all)."""
    warnings: tuple[str, ...] = field(default=())


def plan(request: Request, facts: StreamFacts) -> Plan:
    """The target times SPEC §2 names for the request."""
    clock = Clock(facts.time_base, facts.start_pts)
    end = clock.of_pts(facts.end_pts)
    if clock.of_ms(request.start_ms) >= end:
        raise ProcessError(
            f"ss: {request.start_ms} ms is at or past the end of the video "
            f"({facts.duration_ms:.0f} ms); valid: 0 ≤ ss < {facts.duration_ms:.0f}"
        )
    times = _MODES[request.mode](request, facts, clock)
    keyframes_only = request.mode is Mode.KEY or request.seek is SeekMode.FAST
    # dhash's num counts events, chosen after scoring: every candidate is decoded.
    count = 0 if request.mode is Mode.DHASH else request.count
    return Plan(times=times, keyframes_only=keyframes_only, count=count)


# --- modes: (request, facts, clock) -> target times ------------------------------


def _inter_times(request: Request, facts: StreamFacts, clock: Clock) -> TargetTimes:
    """t_k = ss + k·inter while t_k < D; inter 0: every frame from the one at ss."""
    start, end = clock.of_ms(request.start_ms), clock.of_pts(facts.end_pts)
    if request.interval_ms == 0:
        return Every(clock, start, end)
    return Spaced(clock, start, clock.of_ms(request.interval_ms), end)


def _key_times(request: Request, facts: StreamFacts, clock: Clock) -> TargetTimes:
    """Every keyframe whose pts ≥ ss (keyframes only answer)."""
    return Every(clock, clock.of_ms(request.start_ms), clock.of_pts(facts.end_pts), from_first=True)


def _avg_times(request: Request, facts: StreamFacts, clock: Clock) -> TargetTimes:
    """t_k = ss + (k + ½)·(D − ss)/n, k = 0…n−1, whole in a clock scaled by 2n."""
    n = request.count
    doubled = Clock(clock.time_base, clock.start_pts, 2 * n)
    start, end = doubled.of_ms(request.start_ms), doubled.of_pts(facts.end_pts)
    span = (end - start) // (2 * n)  # D − ss in the unscaled unit, ·1 (exact: end − start is a multiple of 2n)
    return Spaced(doubled, start + span, 2 * span, end, count=n)


_MODES: dict[Mode, Callable[[Request, StreamFacts, Clock], TargetTimes]] = {
    Mode.INTER: _inter_times,
    Mode.KEY: _key_times,
    Mode.AVG: _avg_times,
    # dhash scores the inter candidates; engine.dhash_selection chooses among them.
    Mode.DHASH: _inter_times,
}
