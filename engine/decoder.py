"""Decode the frames that answer a plan's target times, with PyAV.

The decoder owns the *how*: it groups the target times into decode runs (one
seek each, :func:`decode_runs`), seeks to the keyframe before each run, reads
forward and resolves every time to the last picture whose pts ≤ it, by pts,
while reading (:mod:`engine.resolver`): never by a frame counter, since seeks
after B-frames or open GOPs land where they land. A target whose own picture
never decodes gets the picture shown before it, as a player would show.
"""

from __future__ import annotations

import bisect
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing, nullcontext
from dataclasses import dataclass, field
from typing import NamedTuple

import av

from engine.errors import UndecodableError
from engine.planner import Plan, StreamFacts, TargetTimes
from engine.resolver import Decision, RunResolver, timeline_hits
from engine.timeline import SKIP_SAFE_CODECS, packets, pictures

#: Packets a run may read beyond the frames its times span before it gives up
#: (broken timestamps must not turn a 5-frame run into a read of the whole file).
RUN_SLACK_PACKETS = 300
#: A seek costs about this many decoded frames (demuxer seek, decoder flush and
#: refill of its frame threads); seeking ahead pays only when it skips more.
SEEK_COST_FRAMES = 4


@dataclass(frozen=True)
class DecodeRun:
    """Seek to seek point ``seek`` (None: the stream's start), decode forward and
    answer the targets in [``low``, ``high``) (None: to the end)."""

    seek: int | None
    low: int
    high: int | None


class Resolved(NamedTuple):
    """A target time and the frame that answers it."""

    time: int
    """The first target time the frame answers (in the plan's clock unit)."""
    frame: av.VideoFrame
    keyframe: bool
    """The container's key flag for the frame (what m_key counts)."""


@dataclass
class DecodeStats:
    frames_decoded: int = 0
    seeks: int = 0
    missed_targets: int = 0
    """Targets no decodable frame of their own could be found for (not written)."""
    damaged: set[object] = field(default_factory=set)
    """Packets the decoder refused or flagged corrupt, and reads that failed: each
    counted once, however often a retry meets it again."""

    @property
    def decode_errors(self) -> int:
        return len(self.damaged)

    def add(self, other: DecodeStats) -> None:
        """Fold another decoder's counts into these (damage still counted once)."""
        self.frames_decoded += other.frames_decoded
        self.seeks += other.seeks
        self.missed_targets += other.missed_targets
        self.damaged |= other.damaged


def decode_runs(times: TargetTimes, facts: StreamFacts, *, per_keyframe: bool = False,
                seek_cost: int = SEEK_COST_FRAMES) -> tuple[DecodeRun, ...]:
    """Group the target times into runs: a run seeks to the last seek point at or
    before its first target and decodes forward; the next target starts a new run
    only when a seek point after the run's last target lets the decoder skip more
    than ``seek_cost`` frames (so dense targets make one long run, not a seek per
    GOP). ``per_keyframe``: a run per keyframe (keyframe-only decoding, where every
    keyframe is a seek point, reads nothing between keyframes)."""
    clock = times.clock
    points = [clock.of_pts(int(p)) for p in facts.seek_points]
    # Frames a seek would skip: those strictly between the last target and the keyframe.
    skip = (seek_cost + 1) * clock.of_pts(facts.start_pts + facts.frame_ticks)
    runs: list[DecodeRun] = []
    target = times.next_at_or_after(0)
    while target is not None:
        key = bisect.bisect_right(points, target) - 1
        seek = None if key < 0 else key
        low = target
        while True:
            boundary = points[key + 1] if key + 1 < len(points) else None
            following = None if boundary is None else times.next_at_or_after(boundary)
            if following is None:
                runs.append(DecodeRun(seek, low, None))
                return tuple(runs)
            last = times.last_before(boundary)
            ahead = bisect.bisect_right(points, following) - 1
            if per_keyframe or points[ahead] - (low if last is None else last) > skip:
                # A run per keyframe answers up to the next keyframe: no target
                # lies between it and the next run's first.
                runs.append(DecodeRun(seek, low, boundary if per_keyframe else following))
                target = following
                break
            key = ahead
    return tuple(runs)


def given_once(found: Iterable[Resolved], stats: DecodeStats) -> Iterator[Resolved]:
    """Each frame at most once: when damage makes a target fall back on a frame
    already given (its own never decodes), that target is missed."""
    given: set[int] = set()
    for resolved in found:
        pts = resolved.pts if isinstance(resolved, Decision) else resolved.frame.pts
        if pts in given:
            stats.missed_targets += 1
            continue
        given.add(pts)
        yield resolved


def resolve(
    plan: Plan, facts: StreamFacts, *, open_container: Callable[[], av.container.InputContainer],
    container: av.container.InputContainer, stream_index: int, careful: bool, stats: DecodeStats,
    dry: bool = False,
) -> Iterator[Resolved]:
    """The frames that answer the plan's times, in time order, each once: decoded
    by one decoder, or by one per core when the plan makes several runs.
    ``dry``: only say which pictures answer (:class:`Decision`, by pts), from the
    packets read, decoding nothing."""
    from engine.parallel import decoder_count, parallel_resolve

    decoder = Decoder(container, stream_index, keyframes_only=plan.keyframes_only, careful=careful,
                      stats=stats, reopen=open_container, dry=dry)
    if facts.forward:
        if dry:
            return given_once((Decision(int(facts.timeline.pts[d.pts]), d.time, d.keyframe) for d in timeline_hits(
                plan.times, facts.timeline, facts, keyframes_only=plan.keyframes_only,
                first_key_covers=_first_key_covers(plan))), stats)
        return given_once(decoder.forward(plan, facts), stats)
    # A run per keyframe needs keyframe windows in presentation time: seek points
    # that are decode times (an MP4 index) do not bound a keyframe's pts.
    per_keyframe = plan.keyframes_only and facts.keyframes_listed and not facts.seek_by_time
    runs = decode_runs(plan.times, facts, per_keyframe=per_keyframe)
    # Damaged files stay on one careful decoder: its damage accounting and slice
    # threads are what the hostile-input tests pin down.
    workers = 1 if plan.keyframes_only or careful or dry else decoder_count(len(runs))
    if workers > 1:
        return parallel_resolve(open_container, stream_index, plan, facts, runs, stats, workers, container)
    return given_once((r for run in runs for r in decoder.run(run, plan, facts)), stats)


class Decoder:
    """One decoder (PyAV codec contexts are never shared across threads)."""

    def __init__(
        self,
        container: av.container.InputContainer,
        stream_index: int,
        *,
        keyframes_only: bool = False,
        careful: bool = False,
        stats: DecodeStats | None = None,
        threads: int = 0,
        reopen: Callable[[], av.container.InputContainer] | None = None,
        dry: bool = False,
    ) -> None:
        self._container = container
        self._dry = dry
        self._reopen = reopen
        self._careful = careful
        self._stream = container.streams[stream_index]
        self._context = self._stream.codec_context
        if not self._context.is_open:
            # Frame threading is the fast path, but when a damaged packet ends the
            # stream FFmpeg drops the frames its threads still hold: a file that
            # looks damaged is decoded with slice threads, which lose nothing.
            self._context.thread_type = "SLICE" if careful else "AUTO"
            self._context.thread_count = threads  # 0: FFmpeg picks (one per core)
        # NONKEY: the decoder drops every non-key frame without reconstructing it.
        # Otherwise NONREF for packets no target needs: frames nothing refers to
        # (most B-frames) are skipped, the rest are decoded as references.
        if self._context.name in SKIP_SAFE_CODECS:
            self._skip_untargeted = "NONKEY" if keyframes_only else "NONREF"
        else:
            self._skip_untargeted = "DEFAULT"
        self._keyframes_only = keyframes_only
        self._context.skip_frame = self._skip_untargeted
        self.stats = stats if stats is not None else DecodeStats()
        self._prefer_alternate = False

    def cover(self, name: str) -> av.VideoFrame:
        """The attached picture of an audio file."""
        self._context.skip_frame = "DEFAULT"
        for packet in packets(self._container, self._stream, self.stats.damaged):
            for frame in self._decoded(self._fed(packet)):
                return frame
        for frame in self._decoded_drain():
            return frame
        raise UndecodableError(f"source {name!r}: the cover picture cannot be decoded")

    # --- read forward -------------------------------------------------------------

    def forward(self, plan: Plan, facts: StreamFacts) -> Iterator[Resolved]:
        """Targets found by their position in the decode from the start, the same
        sequence :func:`engine.timeline.picture_timeline` timed; each frame is
        given its time on that timeline."""
        timeline = facts.timeline
        hits = timeline_hits(plan.times, timeline, facts, keyframes_only=plan.keyframes_only,
                             first_key_covers=_first_key_covers(plan))
        wanted = next(hits, None)
        if wanted is None:
            return
        container = self._reopen() if self._reopen is not None else self._container
        if container is self._container:
            self._seek(None)
        with closing(container) if container is not self._container else nullcontext(container):
            stream = container.streams[self._stream.index]
            for ordinal, frame in enumerate(pictures(container, stream, self.stats.damaged, careful=self._careful)):
                self.stats.frames_decoded += 1
                if frame.is_corrupt:
                    self.stats.damaged.add(("frame", ordinal))
                if ordinal == wanted.pts:
                    frame.pts = int(timeline.pts[ordinal])
                    yield Resolved(wanted.time, frame, wanted.keyframe)
                    wanted = next(hits, None)
                    if wanted is None:
                        return
        self.stats.missed_targets += 1 + sum(1 for _ in hits)

    # --- decode runs ---------------------------------------------------------------

    def run(self, run: DecodeRun, plan: Plan, facts: StreamFacts) -> Iterator[Resolved]:
        """The frames answering one run's targets, in order; a frame may come
        twice when damage makes two targets fall back on it."""
        times = plan.times
        for rung, seek_to, keyframe in self._seek_ladder(run, plan, facts):
            self._seek(seek_to)
            resolver = RunResolver(times, facts, low=run.low, high=run.high, keyframes_only=plan.keyframes_only,
                                   first_key_covers=_first_key_covers(plan))
            closes = None
            if (keyframe is not None and keyframe == run.seek and self._keyframes_only and facts.keyframes_listed
                    and keyframe + 1 < facts.seek_points.size):
                # Landed on the run's own keyframe, the next one known: nothing
                # between can answer.
                closes = (int(facts.seek_points[keyframe]), times.clock.of_pts(int(facts.seek_points[keyframe + 1])))
            start = facts.start_pts if keyframe is None else int(facts.seek_points[keyframe])
            budget = None if run.high is None else (
                (times.clock.to_ticks(run.high) - start) // facts.frame_ticks + 1 + RUN_SLACK_PACKETS)
            attempt = _Attempt(rung, run, times, resolver, self.stats, closes)
            attempt.policy = self._skip_untargeted
            yield from self._attempt(attempt, budget, check_landing=seek_to is not None)
            if attempt.landed:
                if rung in ("point", "alternate"):
                    self._prefer_alternate = rung == "alternate"
                return
        # Nothing decodable reaches these targets: skip them, the job goes on.
        self.stats.missed_targets += 1

    def _seek_ladder(self, run: DecodeRun, plan: Plan, facts: StreamFacts) -> list[tuple[str, int | None, int | None]]:
        """(rung, where to seek, the seek point it stands for), best guess first.
        Where the seek points are decode times (an MP4 index), the demuxer finds
        the keyframe shown at or before a time: the run's first target's own time
        first (m_key's: just before the next keyframe). Then the point itself
        (demuxers index by pts, as Matroska, or by decode time, as MPEG-TS), its
        alternate, an earlier keyframe (open GOPs, demuxers that mislabel the first
        picture after a seek), and the file's start, which always works. The
        rung that last landed goes first."""
        point = run.seek
        # The stream's first picture, asked of the stream itself: a generic seek to
        # 0 may skip an edit list's discard-flagged keyframe the first pictures need.
        earliest = [facts.start_pts, *facts.seek_points[:1].tolist()]
        if facts.seek_alternates is not None:
            earliest += facts.seek_alternates[:1].tolist()
        first = ("first", min(earliest) - facts.frame_ticks, None)
        if point is None:
            return [first, ("start", None, None)]
        ladder: list[tuple[str, int | None, int | None]] = [("point", int(facts.seek_points[point]), point)]
        if facts.seek_alternates is not None and facts.seek_alternates[point] != facts.seek_points[point]:
            ladder.insert(0 if self._prefer_alternate else 1, ("alternate", int(facts.seek_alternates[point]), point))
        if facts.seek_by_time:
            if getattr(plan.times, "from_first", False):
                upto = int(facts.seek_points[point + 1]) - 1 if point + 1 < facts.seek_points.size else facts.last_pts
            else:
                upto = plan.times.clock.to_ticks(plan.times.next_at_or_after(run.low))
            if upto is not None and upto > int(facts.seek_points[point]):
                ladder.insert(0, ("time", upto, point))
        if point > 0:
            before = int(facts.seek_points[point - 1])
            if facts.seek_alternates is not None:
                before = min(before, int(facts.seek_alternates[point - 1]))
            ladder.append(("earlier", before, point - 1))
        return [*ladder, first, ("start", None, None)]

    def _attempt(self, attempt: _Attempt, budget: int | None, *, check_landing: bool) -> Iterator[Resolved]:
        """Read, decide, feed and match from the current position; sets
        ``attempt.landed`` unless the seek landed late."""
        resolver = attempt.resolver
        if self._dry:
            yield from self._decide_only(attempt, budget, check_landing=check_landing)
            return
        queue: deque[av.Packet] = deque()
        ended = True
        for read, packet in enumerate(packets(self._container, self._stream, self.stats.damaged)):
            if budget is not None and read >= budget:
                break
            timeless = packet.pts is None and packet.dts is None
            stamp = packet.pts if packet.pts is not None else packet.dts
            # A discard-flagged packet (before an edit list's start) is decoded as a
            # reference: landing on it is landing before the pictures it serves.
            if attempt.first_packet is None and not timeless and packet.size:
                attempt.first_packet = stamp
                if check_landing and attempt.late(stamp):
                    return  # landed late: try the next rung
                if attempt.closes is not None and attempt.closes[0] in (packet.pts, packet.dts):
                    resolver.close_before(attempt.closes[1])
            if attempt.first_shown is None and not timeless and packet.size and not packet.is_discard:
                attempt.first_shown = stamp
            if packet.size and not packet.is_discard and not timeless:
                attempt.want(resolver.add(stamp, packet.dts, packet.is_keyframe))
            queue.append(packet)
            while queue and not resolver.pending(_stamp(queue[0])):
                yield from self._feed(queue.popleft(), attempt)
                if attempt.abandoned:
                    return
            if resolver.done:
                ended = False
                break
        if ended:
            attempt.want(resolver.finish())
        # Feed what the wanted pictures still need (everything up to the last of
        # them in decode order, and a timeless second field right after it).
        last = max((i for i, p in enumerate(queue) if _stamp(p) in attempt.wanted), default=-1)
        for number, packet in enumerate(queue):
            if number > last and (packet.pts is not None or packet.dts is not None):
                break
            yield from self._feed(packet, attempt)
            if attempt.abandoned:
                return
        yield from attempt.match(self._decoded_drain())
        if attempt.abandoned:
            return
        attempt.landed = attempt.landed or not check_landing
        if attempt.landed:
            yield from attempt.rest()

    def _feed(self, packet: av.Packet, attempt: _Attempt) -> Iterator[Resolved]:
        """Decode a packet: in full when it is wanted, else as the skip policy
        allows (a packet with no time, a second field, goes as the one before it)."""
        if not (packet.pts is None and packet.dts is None):
            attempt.policy = "DEFAULT" if _stamp(packet) in attempt.wanted else self._skip_untargeted
        if self._context.skip_frame != attempt.policy:
            self._context.skip_frame = attempt.policy
        yield from attempt.match(self._decoded(self._fed(packet)))

    def _decide_only(self, attempt: _Attempt, budget: int | None, *, check_landing: bool) -> Iterator[Decision]:
        """The decisions of a run from its packets alone (a dry run)."""
        resolver = attempt.resolver
        for read, packet in enumerate(packets(self._container, self._stream, self.stats.damaged)):
            if budget is not None and read >= budget:
                break
            stamp = _stamp(packet)
            if stamp is None or not packet.size:
                continue
            if attempt.first_packet is None:
                attempt.first_packet = stamp
                if check_landing and attempt.late(stamp):
                    return
                if attempt.closes is not None and attempt.closes[0] in (packet.pts, packet.dts):
                    resolver.close_before(attempt.closes[1])
            if not packet.is_discard:
                yield from (d for d in resolver.add(stamp, packet.dts, packet.is_keyframe) if d.time is not None)
            if resolver.done:
                break
        else:
            yield from (d for d in resolver.finish() if d.time is not None)
        attempt.landed = True

    def _seek(self, pts: int | None) -> None:
        self.stats.seeks += 1
        try:
            if pts is None:
                self._container.seek(0, backward=True)
            else:
                self._container.seek(pts, backward=True, stream=self._stream)
        except av.error.FFmpegError:
            # Unseekable input: start over from the beginning if even that works;
            # else read on from where we are (pts matching still holds).
            try:
                self._container.seek(0, backward=True)
            except av.error.FFmpegError:
                self.stats.damaged.add(("seek", pts))

    def _fed(self, packet: av.Packet) -> list[av.VideoFrame]:
        try:
            return packet.decode()
        except av.error.FFmpegError:
            self.stats.damaged.add(("packet", packet.pos, packet.pts, packet.size))
            return []

    def _decoded_drain(self) -> Iterator[av.VideoFrame]:
        """The frames the decoder still holds (none after the end-of-stream flush);
        the next seek makes it ready for packets again."""
        try:
            frames = self._context.decode(None)
        except av.error.EOFError:
            frames = []
        except av.error.FFmpegError:
            self.stats.damaged.add(("drain", self._context.name))
            frames = []
        return self._decoded(frames)

    def _decoded(self, frames: Iterable[av.VideoFrame]) -> Iterator[av.VideoFrame]:
        for frame in frames:
            self.stats.frames_decoded += 1
            if frame.is_corrupt:
                # Decoded, but concealed over missing data: shown, and reported.
                self.stats.damaged.add(("frame", frame.pts))
            yield frame


def _stamp(packet: av.Packet) -> int | None:
    return packet.pts if packet.pts is not None else packet.dts


def _first_key_covers(plan: Plan) -> bool:
    """sm_fast: a target before the stream's first keyframe takes that keyframe,
    the nearest there is (m_key names keyframes at or after ss only)."""
    return plan.keyframes_only and not getattr(plan.times, "from_first", False)


class _Attempt:
    """One rung of a run: the decisions made, matched with the pictures decoded."""

    def __init__(self, rung: str, run: DecodeRun, times: TargetTimes, resolver: RunResolver,
                 stats: DecodeStats, closes: tuple[int, int] | None) -> None:
        self.rung = rung
        self.closes = closes
        """(the run's keyframe's seek point, the next keyframe's time): landing on
        the first closes the resolver before the second."""
        self._stats = stats
        self.resolver = resolver
        self._first_target = times.next_at_or_after(run.low)
        self._at_frames = getattr(times, "from_first", False)
        self._clock = times.clock
        self._wanted: deque[Decision] = deque()
        self.wanted: dict[int, Decision] = {}
        self.policy = "DEFAULT"
        self.first_packet: int | None = None
        self.first_shown: int | None = None
        """The first packet read that is shown (not discard-flagged)."""
        self.landed = False
        self.abandoned = False
        self._previous: av.VideoFrame | None = None

    def late(self, stamp: int) -> bool:
        """The first packet after the seek comes after the run's first target: the
        picture shown then is before it (m_key's targets are keyframes themselves)."""
        return (not self._at_frames and self._first_target is not None
                and self._clock.of_pts(stamp) > self._first_target)

    def want(self, decisions: Iterable[Decision]) -> None:
        """Decisions made: those answering a target are decoded and matched."""
        for decision in decisions:
            if decision.time is not None:
                self.wanted[decision.pts] = decision
                self._wanted.append(decision)

    def match(self, frames: Iterable[av.VideoFrame]) -> Iterator[Resolved]:
        wanted = self._wanted
        for frame in frames:
            pts = frame.pts
            if pts is None:
                continue
            if self._previous is None and not self.landed:
                # The first picture after a seek is the keyframe (or one shown before
                # it): one after it means the seek landed late, or the demuxer gave
                # the keyframe a later picture's time (MPEG-PS right after a seek).
                first = self.first_shown
                if (first is not None and self.rung != "start" and not self._at_frames
                        and self._clock.of_pts(pts) > min(self._clock.of_pts(first), self._first_target or 0)):
                    self.abandoned = True
                    return
                self.landed = True
            while wanted and pts > wanted[0].pts:
                yield from self._fallback(wanted.popleft())
            if wanted and pts == wanted[0].pts:
                decision = wanted.popleft()
                yield Resolved(decision.time, frame, decision.keyframe)
            self._previous = frame

    def _fallback(self, decision: Decision) -> Iterator[Resolved]:
        """A wanted picture that never came: the one shown before it answers."""
        if self._previous is None:
            self._stats.missed_targets += 1
            return
        yield Resolved(decision.time, self._previous, bool(self._previous.key_frame))

    def rest(self) -> Iterator[Resolved]:
        """End of the run: wanted pictures that never came take the last picture."""
        while self._wanted:
            yield from self._fallback(self._wanted.popleft())
