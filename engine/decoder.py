"""Decode exactly the frames a plan names, with PyAV.

Each decode run seeks to the keyframe before its first target and decodes forward,
matching frames by pts (never by a frame counter: seeks after B-frames or open GOPs
land where they land). "The frame at t" is the last decoded frame whose pts ≤ the
target's pts, so a target whose own packet never yields a frame still gets the
frame a player would show.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import closing, nullcontext
from dataclasses import dataclass, field

import av
import numpy as np

from engine.errors import UndecodableError
from engine.planner import DecodeRun, Plan, StreamFacts
from engine.timeline import SKIP_SAFE_CODECS, packets, pictures


#: Packets a run may read beyond the frames its plan spans before it gives up
#: (broken timestamps must not turn a 5-frame run into a read of the whole file).
RUN_SLACK_PACKETS = 300


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


def given_once(
    found: Iterable[tuple[int, av.VideoFrame]], stats: DecodeStats
) -> Iterator[tuple[int, av.VideoFrame]]:
    """The (target index, frame) pairs of a plan, each frame given at most once:
    when damage makes a target fall back on a frame already given (its own never
    decodes), that target is missed."""
    given: set[int] = set()
    for index, frame in found:
        if frame.pts in given:
            stats.missed_targets += 1
            continue
        given.add(frame.pts)
        yield index, frame


class Decoder:
    """One decoder per job (PyAV codec contexts are not shared across threads)."""

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
    ) -> None:
        self._container = container
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
        self._context.skip_frame = self._skip_untargeted
        self.stats = stats if stats is not None else DecodeStats()
        self._prefer_dts = False

    def targets(self, plan: Plan, facts: StreamFacts) -> Iterator[tuple[int, av.VideoFrame]]:
        """(target frame index, decoded frame) for every target of the plan, in
        order, each frame once (:func:`given_once`)."""
        if facts.forward:
            return given_once(self._forward(plan, facts), self.stats)
        found = (pair for run in plan.runs for pair in self.run(run, facts))
        return given_once(found, self.stats)

    def _forward(self, plan: Plan, facts: StreamFacts) -> Iterator[tuple[int, av.VideoFrame]]:
        """Targets found by their position in the decode from the start, the same
        sequence :func:`engine.timeline.picture_timeline` timed; each frame is
        given its time on that timeline."""
        wanted = sorted({t.frame for t in plan.targets})
        if not wanted:
            return
        container = self._reopen() if self._reopen is not None else self._container
        if container is self._container:
            self._seek(None)
        with closing(container) if container is not self._container else nullcontext(container):
            stream = container.streams[self._stream.index]
            position = 0
            for ordinal, frame in enumerate(pictures(container, stream, self.stats.damaged, careful=self._careful)):
                self.stats.frames_decoded += 1
                if frame.is_corrupt:
                    self.stats.damaged.add(("frame", ordinal))
                if ordinal == wanted[position]:
                    frame.pts = int(facts.pts[ordinal])
                    yield ordinal, frame
                    position += 1
                    if position == len(wanted):
                        return
        self.stats.missed_targets += len(wanted) - position

    def cover(self) -> av.VideoFrame:
        """The attached picture of an audio file."""
        self._context.skip_frame = "DEFAULT"
        for frame in self._frames(None):
            return frame
        raise UndecodableError(f"source {self._container.name!r}: the cover picture cannot be decoded")

    def run(self, run: DecodeRun, facts: StreamFacts) -> Iterator[tuple[int, av.VideoFrame]]:
        """(target frame index, frame) for each target of one decode run, in order;
        a frame may come twice when damage makes two targets fall back on it."""
        pending = [(frame, int(facts.pts[frame])) for frame in run.frames]
        wanted = {pts for _, pts in pending}
        for rung, seek_to, keyframe in self._seek_ladder(run.seek_frame, facts):
            self._seek(seek_to)
            first = 0 if keyframe is None else keyframe
            budget = run.frames[-1] - first + 1 + RUN_SLACK_PACKETS
            # The first picture after a seek is the keyframe (or a picture before
            # it): one after it means the seek landed late, or the demuxer gave
            # the keyframe a later picture's time (MPEG-PS right after a seek).
            latest = pending[0][1] if keyframe is None else min(pending[0][1], int(facts.pts[keyframe]))
            landed = False
            previous: av.VideoFrame | None = None
            for frame in self._frames(wanted, budget):
                pts = frame.pts
                if pts is None:
                    continue
                if previous is None and pts > latest:
                    break  # landed late: try the next rung
                if not landed:
                    landed = True
                    if rung != "start":
                        self._prefer_dts = rung == "dts"
                while pending and pts > pending[0][1]:
                    yield pending.pop(0)[0], previous
                if pending and pts == pending[0][1]:
                    yield pending.pop(0)[0], frame
                if not pending:
                    return
                previous = frame
            if landed:
                # End of stream (or of the run's budget): the last frame is shown
                # until the end.
                for index, _ in pending:
                    yield index, previous
                return
        # Nothing decodable reaches these targets: skip them, the job goes on.
        self.stats.missed_targets += len(pending)

    def _seek_ladder(self, keyframe: int, facts: StreamFacts) -> list[tuple[str, int | None, int | None]]:
        """(rung, where to seek, the keyframe it should land on), best guess first:
        demuxers index by pts (MP4, Matroska) or by dts (MPEG-TS); an earlier
        keyframe serves open GOPs and demuxers that mislabel the first picture after
        a seek; the file's start always works. The rung that last landed goes first."""
        by_pts = int(facts.pts[keyframe])
        by_dts = by_pts if facts.dts is None else int(facts.dts[keyframe])
        ladder: list[tuple[str, int | None, int | None]] = [("pts", by_pts, keyframe)]
        if by_dts != by_pts:
            ladder.insert(1 if not self._prefer_dts else 0, ("dts", by_dts, keyframe))
        earlier = np.flatnonzero(facts.keyframe[:keyframe])
        if earlier.size:
            before = int(earlier[-1])
            stamp = int(facts.pts[before]) if facts.dts is None else min(int(facts.dts[before]), int(facts.pts[before]))
            ladder.append(("earlier", stamp, before))
        return [*ladder, ("start", None, None)]

    def _packets(self, budget: int | None) -> Iterator[av.Packet]:
        for read, packet in enumerate(packets(self._container, self._stream, self.stats.damaged)):
            if budget is not None and read >= budget:
                return
            yield packet

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

    def _frames(self, wanted: set[int] | None, budget: int | None = None) -> Iterator[av.VideoFrame]:
        """Decoded frames from the current position, reading at most ``budget``
        packets; packets whose pts is in ``wanted`` are decoded in full, others as
        the skip policy allows. A demux failure ends the read (counted).

        Once every wanted packet has been fed, the decoder is drained instead of
        fed more: a decoder holds frames back for reordering (with NONKEY, until
        further keyframes arrive), and what it holds is all a run still needs,
        since references come before the frames that use them in decode order.
        """
        context = self._context
        skipping = context.skip_frame
        unfed = set(wanted) if wanted else None
        completing = False
        for packet in self._packets(budget):
            if completing:
                # A packet with no time after the last wanted one is the second
                # field of its picture: the picture is complete only with it.
                if packet.pts is not None or packet.dts is not None:
                    break
            elif wanted is not None:
                policy = "DEFAULT" if packet.pts in wanted else self._skip_untargeted
                if policy != skipping:
                    context.skip_frame = skipping = policy
            try:
                frames = packet.decode()
            except av.error.FFmpegError:
                self.stats.damaged.add(("packet", packet.pos, packet.pts, packet.size))
                frames = []
            yield from self._counted(frames)
            # A discard-flagged packet (before an edit list's start) may repeat a
            # wanted time: it is not the picture that is shown.
            if unfed is not None and not packet.is_discard:
                unfed.discard(packet.pts)
                completing = not unfed
        yield from self._counted(self._drain())

    def _drain(self) -> list[av.VideoFrame]:
        """The frames the decoder still holds (none after the end-of-stream flush);
        the next seek makes it ready for packets again."""
        try:
            return self._context.decode(None)
        except av.error.EOFError:
            return []
        except av.error.FFmpegError:
            self.stats.damaged.add(("drain", self._context.name))
            return []

    def _counted(self, frames: list[av.VideoFrame]) -> Iterator[av.VideoFrame]:
        for frame in frames:
            self.stats.frames_decoded += 1
            if frame.is_corrupt:
                # Decoded, but concealed over missing data: shown, and reported.
                self.stats.damaged.add(("frame", frame.pts))
            yield frame

