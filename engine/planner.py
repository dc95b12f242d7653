"""The seek planner: request + stream facts in, ordered targets and decode runs out.

Pure: no PyAV, no I/O. All time comparisons are exact integer arithmetic in a
common unit (ticks·num·1000 = ms·den), so 29.97 fps and friends never round the
wrong way (SPEC §2: "the frame at t" is the last frame whose pts ≤ t).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Callable

import numpy as np

from engine.errors import ProcessError
from engine.params import Mode, Request, SeekMode


@dataclass(frozen=True)
class StreamFacts:
    """What the planner needs to know about the chosen video stream.

    ``pts`` holds every frame's presentation timestamp in ``time_base`` ticks,
    ascending; ``keyframe`` flags the frames decodable on their own; ``end_pts`` is
    D, the end of the last frame (its pts + duration). ``dts`` (optional, the
    decoder's business, not the planner's) holds each frame's decode timestamp,
    which some demuxers (MPEG-TS) seek by.
    """

    time_base: Fraction
    pts: np.ndarray
    keyframe: np.ndarray
    end_pts: int
    dts: np.ndarray | None = None
    forward: bool = False
    """Times come from decoding every picture (engine.timeline): frames are found
    by their position in the decode from the start, never by seeking."""
    leading: int = 0
    """Frames 0 … leading−1 are shown before the first keyframe of a stream cut
    mid-GOP: they reference pictures the file does not hold (SPEC §2: pictures the
    engine cannot vouch for)."""

    def __post_init__(self) -> None:
        pts = np.asarray(self.pts, dtype=np.int64)
        keyframe = np.asarray(self.keyframe, dtype=bool)
        if pts.ndim != 1 or pts.size == 0:
            raise ValueError("pts: need a non-empty 1-D sequence of frame timestamps")
        if keyframe.shape != pts.shape:
            raise ValueError(f"keyframe: shape {keyframe.shape} does not match pts {pts.shape}")
        if np.any(np.diff(pts) <= 0):
            raise ValueError("pts: must be strictly ascending (presentation order, no duplicates)")
        if self.end_pts <= pts[-1]:
            raise ValueError(f"end_pts: {self.end_pts} must be after the last pts {pts[-1]}")
        if self.time_base <= 0:
            raise ValueError(f"time_base: must be positive, got {self.time_base}")
        object.__setattr__(self, "pts", pts)
        object.__setattr__(self, "keyframe", keyframe)
        if self.dts is not None:
            dts = np.asarray(self.dts, dtype=np.int64)
            if dts.shape != pts.shape:
                raise ValueError(f"dts: shape {dts.shape} does not match pts {pts.shape}")
            object.__setattr__(self, "dts", dts)

    @property
    def frame_count(self) -> int:
        return int(self.pts.size)

    def ms(self, ticks: int | np.ndarray) -> float | np.ndarray:
        """Milliseconds from the first frame of a pts (time 0 is the first frame)."""
        return (np.asarray(ticks, dtype=np.float64) - self.pts[0]) * float(self.time_base) * 1000.0

    @property
    def duration_ms(self) -> float:
        return float(self.ms(self.end_pts))


@dataclass(frozen=True)
class Target:
    """One snapshot to take: source frame ``frame`` (index into the facts' pts)."""

    frame: int
    requested_ms: float


@dataclass(frozen=True)
class DecodeRun:
    """Seek to keyframe ``seek_frame`` and decode forward through every frame in
    ``frames`` (ascending, all at or after the keyframe)."""

    seek_frame: int
    frames: tuple[int, ...]


@dataclass(frozen=True)
class Plan:
    """Targets in time order (each source frame once) and how to decode them."""

    targets: tuple[Target, ...]
    runs: tuple[DecodeRun, ...]
    keyframes_only: bool = False
    warnings: tuple[str, ...] = field(default=())
    planned: int | None = None
    """Targets the request asks for before a ``last_only`` cut (None: as many as
    ``targets``); m_dhash's are chosen after scoring, so it is not cut here."""


def plan(request: Request, facts: StreamFacts, *, last_only: bool = False) -> Plan:
    """The ordered targets of SPEC §2 and the decode runs that reach them.

    ``last_only``: the target keeps only the last snapshot, so only that one is
    planned (m_dhash still scores every candidate: the selection needs them all).
    """
    clock = _Clock(facts)
    start = clock.scaled_ms(request.start_ms)
    if start >= clock.end:
        raise ProcessError(
            f"ss: {request.start_ms} ms is at or past the end of the video "
            f"({facts.duration_ms:.0f} ms); valid: 0 ≤ ss < {facts.duration_ms:.0f}"
        )
    frames, requested = _MODES[request.mode](request, facts, clock)
    warnings: list[str] = []
    fast = request.seek is SeekMode.FAST and request.mode is not Mode.KEY
    if fast:
        frames = _fast_keyframe(facts.keyframe)[frames]
    frames, requested = _first_occurrences(frames, requested)
    if request.count and request.mode is not Mode.DHASH:
        frames, requested = frames[: request.count], requested[: request.count]
    if frames.size == 0:
        warnings.append(f"no frame matches m_{request.mode.value} from ss_{request.start_ms}")
    planned = int(frames.size)
    if last_only and request.mode is not Mode.DHASH and frames.size > 1:
        frames, requested = frames[-1:], requested[-1:]
    targets = tuple(Target(int(f), float(r)) for f, r in zip(frames, requested))
    keyframes_only = request.mode is Mode.KEY or fast
    return Plan(
        targets=targets,
        runs=decode_runs(frames, facts.keyframe),
        keyframes_only=keyframes_only,
        warnings=tuple(warnings),
        planned=planned,
    )


class _Clock:
    """Exact time arithmetic: a time in ms is scaled by den, a pts by num·1000."""

    def __init__(self, facts: StreamFacts) -> None:
        self.num = facts.time_base.numerator
        self.den = facts.time_base.denominator
        scaled = [(int(p) - int(facts.pts[0])) * self.num * 1000 for p in (facts.pts[-1], facts.end_pts)]
        # Python ints never overflow; fall back to them when int64 could.
        dtype = np.int64 if max(scaled) < 2**62 // 4 else object
        self.frames = (facts.pts.astype(dtype) - int(facts.pts[0])) * (self.num * 1000)
        self.end = scaled[1]

    def scaled_ms(self, ms: int) -> int:
        return ms * self.den

    def to_ms(self, scaled: int | np.ndarray) -> float | np.ndarray:
        return np.asarray(scaled, dtype=np.float64) / self.den

    def frame_at(self, scaled: int | np.ndarray) -> int | np.ndarray:
        """Index of the last frame whose time ≤ the given scaled time."""
        return np.searchsorted(self.frames, scaled, side="right") - 1


# --- modes: (request, facts, clock) -> (frame indices, requested ms), time order ----


def _inter_frames(request: Request, facts: StreamFacts, clock: _Clock) -> tuple[np.ndarray, np.ndarray]:
    """Frames hit by t_k = ss + k·inter (t_k < D); inter 0 = every frame from ss.

    Works per frame, not per target, so a 1 ms interval over hours costs what the
    frame count costs: frame i is hit iff the first t_k ≥ its time falls before the
    next frame's time.
    """
    start = clock.scaled_ms(request.start_ms)
    first = int(clock.frame_at(start))
    times = clock.frames[first:]
    following = np.append(clock.frames[first + 1 :], clock.end)
    if request.interval_ms == 0:
        hit = np.ones(times.size, dtype=bool)
        requested = np.maximum(times, start)
    else:
        step = request.interval_ms * clock.den
        if step + start >= 2**62:
            # Past int64 (fine time bases with huge intervals): exact Python ints.
            times, following = times.astype(object), following.astype(object)
        k = -((start - times) // step)  # ceil((time - start) / step)
        k[0] = 0  # the frame at ss itself (its time may be before ss)
        requested = start + k * step
        hit = requested < following
    frames = np.arange(first, facts.frame_count)[hit]
    return frames, clock.to_ms(requested[hit])


def _key_frames(request: Request, facts: StreamFacts, clock: _Clock) -> tuple[np.ndarray, np.ndarray]:
    """Every keyframe whose pts ≥ ss."""
    start = clock.scaled_ms(request.start_ms)
    frames = np.flatnonzero(facts.keyframe & (clock.frames >= start))
    return frames, clock.to_ms(clock.frames[frames])


def _avg_frames(request: Request, facts: StreamFacts, clock: _Clock) -> tuple[np.ndarray, np.ndarray]:
    """t_k = ss + (k + ½)·(D − ss)/n, k = 0…n−1, compared exactly (all scaled by 2n).

    Per frame like inter, so any n costs what the frame count costs: frame i is hit
    iff the first t_k at or after its time (k < n) falls before the next frame.
    """
    n = request.count
    start = clock.scaled_ms(request.start_ms)
    span = clock.end - start
    first = int(clock.frame_at(start))
    # 2n·times can pass int64 for long videos and large n: use Python ints then.
    dtype = np.int64 if 2 * n * clock.end < 2**62 else object
    times = clock.frames[first:].astype(dtype)
    following = np.append(clock.frames[first + 1 :], clock.end).astype(dtype)
    c = -((2 * n * start - 2 * n * times) // span)  # ceil(2n·(time − ss) / span)
    k = np.maximum(c // 2, 0)  # smallest k with (2k + 1) ≥ c
    doubled = 2 * n * start + (2 * k + 1) * span  # 2n·t_k
    hit = (k < n) & (doubled < 2 * n * following)
    frames = np.arange(first, facts.frame_count)[hit]
    requested = (doubled[hit] / (2 * n * clock.den)).astype(np.float64)
    return frames, requested


_MODES: dict[Mode, Callable[[Request, StreamFacts, _Clock], tuple[np.ndarray, np.ndarray]]] = {
    Mode.INTER: _inter_frames,
    Mode.KEY: _key_frames,
    Mode.AVG: _avg_frames,
    # dhash scores the inter candidates; engine.select chooses among them.
    Mode.DHASH: _inter_frames,
}


# --- helpers -------------------------------------------------------------------


def _preceding_keyframe(keyframe: np.ndarray) -> np.ndarray:
    """For each frame, the index of the last keyframe at or before it (0 if none)."""
    index = np.where(keyframe, np.arange(keyframe.size), 0)
    return np.maximum.accumulate(index)


def _fast_keyframe(keyframe: np.ndarray) -> np.ndarray:
    """sm_fast: for each frame, the keyframe at or before it; before the first
    keyframe (a stream cut mid-GOP, an edit list starting on a B-frame), the first
    keyframe, the nearest one there is."""
    preceding = _preceding_keyframe(keyframe)
    if keyframe.any():
        first = int(np.argmax(keyframe))
        preceding[:first] = first
    return preceding


def _first_occurrences(frames: np.ndarray, requested: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Drop repeats of a frame (SPEC §2: a source frame is written once), keep order."""
    frames = np.asarray(frames, dtype=np.int64)
    if frames.size == 0:
        return frames, np.asarray(requested, dtype=np.float64)
    _, first = np.unique(frames, return_index=True)
    keep = np.sort(first)
    return frames[keep], np.asarray(requested, dtype=np.float64)[keep]


#: A seek costs about this many decoded frames (demuxer seek, decoder flush and
#: refill of its frame threads); seeking ahead pays only when it skips more.
SEEK_COST_FRAMES = 4


def decode_runs(frames: np.ndarray, keyframe: np.ndarray, *, seek_cost: int = SEEK_COST_FRAMES) -> tuple[DecodeRun, ...]:
    """Group ascending target frames into runs: a run seeks to the keyframe before
    its first frame and decodes forward; the next target starts a new run only when
    a keyframe after the last decoded frame lets the decoder skip more than
    ``seek_cost`` frames (so dense targets make one long run, not a seek per GOP)."""
    preceding = _preceding_keyframe(np.asarray(keyframe, dtype=bool))
    runs: list[DecodeRun] = []
    current: list[int] = []
    seek = 0
    position = -1
    for frame in (int(f) for f in frames):
        if frame < position:
            raise ValueError(f"frames: must ascend, {frame} came after {position}")
        key = int(preceding[frame])
        if not current or key - position - 1 > seek_cost:
            if current:
                runs.append(DecodeRun(seek, tuple(current)))
            seek, current = key, []
        current.append(frame)
        position = frame
    if current:
        runs.append(DecodeRun(seek, tuple(current)))
    return tuple(runs)
