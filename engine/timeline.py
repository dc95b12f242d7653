"""The timeline read from pictures: for sources whose packets cannot be trusted.

Most containers give every packet a presentation time the decoder keeps, and the
probe's packet scan is then the timeline (fast: no decoding). Some do not: AVI and
raw elementary streams store no presentation times (the demuxer guesses), packed
B-frames and broken ``ctts`` tables give pictures other times than their packets,
concatenated segments jump back, some codecs' keyframe flags lie, some files
cannot seek. For those the engine reads forward: one decode from the start gives
the pictures, each timed as FFmpeg's own ``best_effort_timestamp`` would time it,
jumps made one continuous timeline; a second decode from the start finds each
target by its position in that same sequence.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction

import av
import numpy as np
from av.stream import Discard

from engine.errors import UndecodableError
from engine.planner import PictureTimeline, StreamFacts

#: Frame duration assumed when neither the pictures nor the stream give one.
FALLBACK_FRAME_SECONDS = Fraction(1, 25)
#: Decoders that keep each picture's pts right when frames are skipped: they
#: reorder by their own picture order. Elsewhere (MPEG-2, MPEG-4 part 2…) a skipped
#: frame leaves its packet's time in FFmpeg's queue and the next picture comes out
#: with it (an I-frame labelled with the pts of the P-frame after it), so every
#: packet is decoded in full there.
SKIP_SAFE_CODECS = frozenset({"h264", "hevc"})
#: Read failures in a row after which a stream is taken to end there.
MAX_READ_FAILURES = 8


def read_failure_key(last: av.Packet | None) -> tuple[object, ...]:
    """One name for a failed read, whoever meets it (the scan, any decode run):
    the last packet read before it."""
    return ("read", None if last is None else last.pos, None if last is None else last.pts)


def packets(
    container: av.container.InputContainer, stream: av.stream.Stream, damaged: set[object]
) -> Iterator[av.Packet]:
    """The stream's packets from the current position to the end, reading on past a
    failed read (a truncated sample of another stream, a damaged block): each
    failure is added to ``damaged``; :data:`MAX_READ_FAILURES` in a row end it."""
    only(container, stream)
    failures = 0
    last = None
    while failures < MAX_READ_FAILURES:
        try:
            for packet in container.demux(stream):
                failures = 0
                last = packet
                yield packet
            return
        except av.error.EOFError:
            return
        except av.error.FFmpegError:
            damaged.add(read_failure_key(last))
            failures += 1


def only(container: av.container.InputContainer, stream: av.stream.Stream) -> None:
    """Have the demuxer skip every other stream: their samples are not read at all
    (a truncated audio sample must not end the video), nor synchronised on seeks."""
    for other in container.streams:
        wanted = Discard.default if other.index == stream.index else Discard.all
        if other.discard != wanted:
            other.discard = wanted


@dataclass(frozen=True)
class PictureTimes:
    stamps: list[int]
    """One time per picture, strictly ascending."""
    jumps: int
    """Times at or before the previous picture's, made continuous (a repeat at the
    last picture not counted)."""
    untimed_last: bool
    """The last picture had no time of its own (a flushed packed B-frame)."""


def picture_times(raw: list[tuple[int | None, int | None, int]], step: int) -> PictureTimes:
    """One continuous timeline for pictures in the order the decoder gives them,
    from each picture's (pts, decode time, duration).

    Each picture is timed as FFmpeg's ``guess_correct_pts`` times it (its
    ``best_effort_timestamp``: pts, unless pts have gone backwards more often than
    the decode times). Where that series steps back before its last picture
    while the decode times never do (packed B-frames, whose pts newer decoders
    reorder), the decode times are the timeline. A picture with neither time
    comes one frame after the previous; a time at or before the previous
    picture's (concatenated segments, a wrap) starts a new segment one frame
    after it.
    """
    step = max(1, step)

    def inversions(series: list[int | None]) -> int:
        known = [t for t in series if t is not None]
        return sum(b <= a for a, b in zip(known, known[1:]))

    dts = [d for _, d, _ in raw]
    best_effort = _best_effort(raw)
    # A step back before the last picture (a flushed last picture may repeat a
    # time) while the decode times never step back is reordering, not a segment.
    reordered = inversions(best_effort[:-1]) > 0 and inversions(dts) == 0
    chosen = dts if reordered and any(d is not None for d in dts) else best_effort
    stamps: list[int] = []
    offset = 0
    jumps = 0
    untimed = False
    for value, (_, _, duration) in zip(chosen, raw):
        frame = duration or step
        untimed = value is None
        if value is None:
            stamp = stamps[-1] + frame if stamps else 0
        else:
            stamp = value + offset
            if stamps and stamp <= stamps[-1]:
                offset += stamps[-1] + frame - stamp
                stamp = stamps[-1] + frame
                # The last picture, flushed from the decoder, may repeat a time: a
                # decoder's stray, not a second segment worth a warning.
                jumps += len(stamps) < len(raw) - 1
        stamps.append(stamp)
    return PictureTimes(stamps, jumps, untimed)


def _best_effort(raw: list[tuple[int | None, int | None, int]]) -> list[int | None]:
    """FFmpeg's ``guess_correct_pts``, picture by picture."""
    faulty_pts = faulty_dts = 0
    last_pts = last_dts = None
    times: list[int | None] = []
    for pts, dts, _ in raw:
        if dts is not None:
            faulty_dts += last_dts is not None and dts <= last_dts
            last_dts = dts
        if pts is not None:
            faulty_pts += last_pts is not None and pts <= last_pts
            last_pts = pts
        times.append(pts if pts is not None and (faulty_pts <= faulty_dts or dts is None) else dts)
    return times


def leading_frames(keyframe: np.ndarray, starts_on_keyframe: bool) -> int:
    """How many frames come before the first keyframe when the stream's first
    packet is not one (a stream cut mid-GOP): pictures decoded from references the
    file does not hold."""
    if starts_on_keyframe or not keyframe.any():
        return 0
    return int(np.argmax(keyframe))


def frame_step(stream: av.video.stream.VideoStream, time_base: Fraction) -> int:
    """One frame in ticks, from the stream's stated rate (25 fps if none)."""
    rate = stream.average_rate or stream.base_rate or stream.guessed_rate
    seconds = 1 / Fraction(rate) if rate else FALLBACK_FRAME_SECONDS
    return max(1, round(seconds / time_base))


@dataclass(frozen=True)
class ForwardRead:
    facts: StreamFacts
    jumps: int
    """Times that jumped back and were made continuous."""


def pictures(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream, damaged: set[object],
    key_packets: list[bool] | None = None, *, careful: bool = False,
) -> Iterator[av.VideoFrame]:
    """Every picture the decoder gives from the start, in order: the one sequence
    both passes of a forward read count in, so it decodes everything. Frame threads
    give the pictures FFmpeg's CLI gives (the leading pictures of an open GOP too);
    a ``careful`` read (a damaged or truncated source) uses slice threads, whose
    concealment of damage does not depend on thread timing and which drop nothing
    at a damaged end. ``key_packets`` collects the key flags of the packets fed."""
    context = stream.codec_context
    if not context.is_open:
        context.thread_type = "SLICE" if careful else "AUTO"
    context.skip_frame = "DEFAULT"
    for packet in packets(container, stream, damaged):
        if key_packets is not None and packet.size:
            key_packets.append(packet.is_keyframe)
        try:
            frames = packet.decode()
        except av.error.FFmpegError:
            damaged.add(("packet", packet.pos, packet.pts, packet.size))
            continue
        yield from frames
    try:
        yield from context.decode(None)
    except av.error.FFmpegError:
        return


def picture_timeline(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream, damaged: set[object],
    *, careful: bool = False,
) -> ForwardRead:
    """Decode the stream from where the container stands (its start) and time
    every picture (:func:`picture_times`)."""
    time_base = Fraction(stream.time_base) if stream.time_base else Fraction(1, 90000)
    step = frame_step(stream, time_base)
    raw: list[tuple[int | None, int | None, int]] = []
    keys: list[bool] = []
    key_packets: list[bool] = []
    for frame in pictures(container, stream, damaged, key_packets, careful=careful):
        raw.append((frame.pts, frame.dts, frame.duration or 0))
        keys.append(bool(frame.key_frame) or frame.pict_type == av.video.frame.PictureType.I)
        if frame.is_corrupt:
            damaged.add(("frame", len(raw) - 1))
    if not raw:
        raise UndecodableError(f"source {container.name!r}: the video stream has no decodable frames")
    if not any(keys):
        # Decoders that mark no picture key (CineForm) take their packets' flags;
        # they do not reorder, so picture n is packet n.
        keys = (key_packets + [False] * len(keys))[: len(keys)]
    times = picture_times(raw, step)
    stamps = times.stamps
    last_duration = raw[-1][2]
    if last_duration <= 0 or times.untimed_last:
        last_duration = int(np.median(np.diff(stamps))) if len(stamps) > 1 else step
    pts = np.asarray(stamps, dtype=np.int64)
    keyframe = np.asarray(keys, dtype=bool)
    first_key = int(np.argmax(keyframe)) if keyframe.any() else None
    facts = StreamFacts(
        time_base=time_base,
        start_pts=int(pts[0]),
        last_pts=int(pts[-1]),
        end_pts=stamps[-1] + max(1, last_duration),
        frame_ticks=step,
        seek_points=np.zeros(0, dtype=np.int64),
        first_keyframe_pts=None if first_key is None else int(pts[first_key]),
        starts_mid_gop=leading_frames(keyframe, bool(key_packets) and key_packets[0]) > 0,
        timeline=PictureTimeline(pts, keyframe),
    )
    return ForwardRead(facts, times.jumps)
