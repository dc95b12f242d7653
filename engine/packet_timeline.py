"""The timeline read from packets: time 0, D and the keyframes, with no decoding but
of the first and last pictures.

Packets are read (demuxed, not decoded) either all of them (the scan, for
containers with no usable index) or only the head and the last GOPs (with an
index, :mod:`engine.container_index`). Then the first pictures are decoded to
find time 0, and the last GOP when the packets give reason to doubt the end
(SPEC §2); pictures that do not come out with their packets' times send the
stream to the picture timeline (:mod:`engine.timeline`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from contextlib import closing
from fractions import Fraction
from typing import NamedTuple

import av
import numpy as np

from engine.planner import StreamFacts
from engine.timeline import SKIP_SAFE_CODECS, frame_step, packets

#: Packets at the end of a stream whose state makes its end doubtful.
TAIL_PACKETS = 16
#: A last packet claiming more than this many typical frame durations is doubtful.
OUTSIZED_DURATION = 4
#: Packets decoded from the start to find the first picture, and from the last
#: keyframes to find the last, before the packets are judged untrustworthy.
SETTLE_PACKETS = 600
#: Pictures decoded from the start to check that each comes out with its own
#: packet's time, in order: reordering the container does not describe (B-frames
#: with no composition times, a broken ``ctts``) shows within the first few.
HEAD_PICTURES = 8
#: Keyframes tried back from the end to find the last picture.
SETTLE_TAIL_KEYFRAMES = 3


class PacketTimes(NamedTuple):
    """What a stretch of packets, read in decode order, says."""

    pts: np.ndarray
    """Presentation times, ascending, one per packet that is a frame."""
    keyframe: np.ndarray
    dts: np.ndarray
    """Each one's decode time (at most its pts)."""
    last_duration: int
    """The duration of the packet shown last (a typical frame's if none)."""
    typical: int
    """A typical frame's duration: the median step between times."""
    doubtful_end: bool
    """The stretch may end in packets that never decode: one of its last packets
    came flagged corrupt, a read failed, or the last claims an outsized duration."""
    starts_on_keyframe: bool
    read: int
    """Packets read, discard-flagged ones included."""
    positions: tuple[tuple[int | None, bool], ...]
    """(byte position, key flag) of every packet read with data, in order."""


class NoTimeline(NamedTuple):
    reason: str
    """Why the packets cannot be the timeline."""
    read: int


def read_times(
    read_packets: Iterable[av.Packet], stream: av.video.stream.VideoStream, damaged: set[object]
) -> PacketTimes | NoTimeline:
    """The packets' times, or why they cannot be the timeline."""
    pts: list[int] = []
    tail_corrupt: deque[bool] = deque(maxlen=TAIL_PACKETS)
    dts: list[int] = []
    keys: list[bool] = []
    durations: list[int] = []
    positions: list[tuple[int | None, bool]] = []
    last_dts = None
    starts_on_keyframe = None
    failures = len(damaged)
    for packet in read_packets:
        if packet.size:
            tail_corrupt.append(packet.is_corrupt)
            positions.append((packet.pos, packet.is_keyframe))
            if starts_on_keyframe is None:
                starts_on_keyframe = packet.is_keyframe
        # Empty packets flush the decoder; discard-flagged ones precede an edit
        # list's start and are never shown; packets with no time at all are the
        # second field of a field pair, part of the picture before them.
        if packet.size == 0 or packet.is_discard or (packet.pts is None and packet.dts is None):
            continue
        if packet.dts is not None:
            if last_dts is not None and packet.dts < last_dts:
                return NoTimeline("decode times jump back (concatenated segments or a wrap)", len(positions))
            last_dts = packet.dts
        stamp = packet.pts if packet.pts is not None else packet.dts
        pts.append(stamp)
        dts.append(stamp if packet.dts is None else min(packet.dts, stamp))
        keys.append(packet.is_keyframe)
        durations.append(packet.duration or 0)
    if not pts:
        return NoTimeline("no packet carries a time", len(positions))
    order = np.argsort(np.asarray(pts, dtype=np.int64), kind="stable")
    stamps = np.asarray(pts, dtype=np.int64)[order]
    if np.any(np.diff(stamps) <= 0):
        return NoTimeline("several packets share a presentation time", len(positions))
    time_base = Fraction(stream.time_base) if stream.time_base else Fraction(1, 90000)
    last_duration = durations[int(order[-1])]
    typical = max(1, int(np.median(np.diff(stamps)))) if stamps.size > 1 else frame_step(stream, time_base)
    outsized = last_duration > OUTSIZED_DURATION * typical
    return PacketTimes(
        pts=stamps, keyframe=np.asarray(keys, dtype=bool)[order], dts=np.asarray(dts, dtype=np.int64)[order],
        last_duration=last_duration if last_duration > 0 else typical, typical=typical,
        doubtful_end=any(tail_corrupt) or len(damaged) > failures or outsized,
        starts_on_keyframe=bool(starts_on_keyframe), read=len(positions), positions=tuple(positions),
    )


def scan(container: av.container.InputContainer, stream: av.video.stream.VideoStream,
         damaged: set[object]) -> PacketTimes | NoTimeline:
    """Every packet of the stream from the current position (no decoding)."""
    return read_times(packets(container, stream, damaged), stream, damaged)


class Head(NamedTuple):
    pictures: list[tuple[int, int]]
    """(pts, duration) of the first pictures decoded from the start."""
    times: PacketTimes | NoTimeline
    """The packets read to decode them."""


def head(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream,
    reopen: Callable[[], av.container.InputContainer] | None, damaged: set[object], *, at_start: bool = False,
) -> Head:
    """The first pictures, decoded from the start by a fresh container (a seek to
    0 may land on the first keyframe and skip the pictures an edit list shows
    before it), with the packets that gave them. ``at_start``: ``container`` is
    fresh, nothing read yet."""
    read: list[av.Packet] = []
    if at_start:
        pictures = decoded_pictures(container, stream, stop_after=HEAD_PICTURES, read=read)
    elif reopen is not None:
        with closing(reopen()) as fresh:
            fresh_stream = fresh.streams[stream.index]
            # Frame and slice threads give different leading pictures: decode as the job will.
            fresh_stream.codec_context.thread_type = stream.codec_context.thread_type
            pictures = decoded_pictures(fresh, fresh_stream, stop_after=HEAD_PICTURES, read=read)
    else:
        container.seek(0, backward=True)
        pictures = decoded_pictures(container, stream, stop_after=HEAD_PICTURES, read=read)
    return Head(pictures, read_times(read, stream, damaged))


class Ends(NamedTuple):
    start_pts: int
    last_pts: int
    end_pts: int


def settle(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream,
    first: Head, last: PacketTimes, reopen: Callable[[], av.container.InputContainer] | None,
    clean: av.container.InputContainer | None = None,
) -> Ends | str:
    """Time 0 and D from pictures (SPEC §2): time 0 is the first picture; the end
    is the last packet's end, unless ``last`` (the last packets read) gives reason
    to doubt it: then the last GOP is decoded and D ends with the last picture. A
    clean end (every last packet whole, no read failure, an ordinary last
    duration) is taken from the packets: decoding a long last GOP on every job
    would cost more than the job. Pictures whose times are not packet times, or
    come out of order, mean the packets cannot be the timeline (the reason)."""
    pictures = [t for t, _ in first.pictures]
    if not pictures:
        return "no picture decodes from the start"
    known = set(first.times.pts.tolist()) if isinstance(first.times, PacketTimes) else set()
    if any(t not in known for t in pictures) or pictures != sorted(pictures):
        return "pictures do not carry their packets' times"
    start = pictures[0]
    tail_known = set(last.pts.tolist())
    end_picture = None if last.doubtful_end else (int(last.pts[-1]), last.last_duration)
    keyframes = np.flatnonzero(last.keyframe)[::-1][:SETTLE_TAIL_KEYFRAMES] if last.doubtful_end else []
    for keyframe in keyframes:
        try:
            container.seek(int(last.pts[keyframe]), backward=True, stream=stream)
        except av.error.FFmpegError:
            return "the container cannot seek"
        decoded = decoded_pictures(container, stream)
        tail = [t for t, _ in decoded]
        if any(t not in tail_known for t in tail) or tail != sorted(tail):
            return "pictures do not carry their packets' times"
        if tail and tail[-1] >= last.pts[keyframe]:
            end_picture = decoded[-1]
            break
    if end_picture is None:
        return "no picture decodes near the end"
    doubt = keyframe_doubt(container, stream, last, reopen, clean)
    if doubt is not None:
        return doubt
    last_pts, duration = end_picture
    if duration <= 0:
        later = np.searchsorted(last.pts, last_pts, side="right")
        duration = last.last_duration if later >= last.pts.size else int(last.pts[later] - last_pts)
    end = last_pts + duration
    stated = stated_end(container, stream)
    if stated is not None and last_pts < stated < end:
        end = stated
    if last_pts < start:
        return "no picture decodes near the end"
    return Ends(start, last_pts, end)


def packet_facts(times: PacketTimes, first: Head, ends: Ends, time_base: Fraction) -> StreamFacts:
    """The facts of a stream whose every packet was read: every keyframe is a seek
    point (by pts, then by decode time)."""
    keys = np.flatnonzero(times.keyframe)
    return StreamFacts(
        time_base=time_base, start_pts=ends.start_pts, last_pts=ends.last_pts, end_pts=ends.end_pts,
        frame_ticks=times.typical, seek_points=times.pts[keys], seek_alternates=times.dts[keys],
        keyframes_listed=True, first_keyframe_pts=int(times.pts[keys[0]]) if keys.size else None,
        starts_mid_gop=not times.starts_on_keyframe,
    )


def keyframe_doubt(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream, last: PacketTimes,
    reopen: Callable[[], av.container.InputContainer] | None,
    clean: av.container.InputContainer | None = None,
) -> str | None:
    """Why decode runs cannot seek to keyframes (None: they can). The last keyframe
    is decoded as a decode run reaches it (a seek while the decoder holds another
    GOP's state) and by a fresh decoder seeking there (``clean``, a container nothing
    was decoded from yet, else one opened anew): a decoder whose state
    survives a seek, or parameter sets only in some keyframes, give two different
    pictures. It costs a few keyframe pictures. (Keyframe flags that name pictures
    needing earlier data are the codec list's business: ``untrusted_packets``.)"""
    keys = np.flatnonzero(last.keyframe)
    final = int(keys[-1]) if keys.size else 0
    try:
        if keys.size < 2 or (reopen is None and clean is None):
            found = _keyframe_after_seek(container, stream, last, final)
            return None if found is not None else "no seek reaches the last keyframe"
        if _keyframe_after_seek(container, stream, last, int(keys[-2])) is None:  # the state a run leaves
            return "no seek reaches a keyframe"
        carried = _keyframe_after_seek(container, stream, last, final)
        if clean is not None:  # a container nothing was decoded from yet
            clean_luma = _keyframe_after_seek(clean, clean.streams[stream.index], last, final)
        else:
            with closing(reopen()) as fresh:
                clean_luma = _keyframe_after_seek(fresh, fresh.streams[stream.index], last, final)
    except av.error.FFmpegError:
        return "the container cannot seek"
    if clean_luma is None or clean_luma != carried:
        return "a keyframe does not decode the same after a seek"
    return None


def _keyframe_after_seek(container: av.container.InputContainer, stream: av.video.stream.VideoStream,
                         times: PacketTimes, index: int) -> bytes | None:
    """The luma of keyframe ``index`` decoded right after a seek to it, by pts and
    then by decode time (the decoder's first rungs); None where no seek reaches it.
    A failed seek raises (FFmpegError)."""
    target = int(times.pts[index])
    decode = int(times.dts[index])
    for start in ([target] if decode == target else [target, decode]):
        container.seek(start, backward=True, stream=stream)
        found = _luma_at(container, stream, target)
        if found is not None:
            return found
    return None


def _luma_at(container: av.container.InputContainer, stream: av.video.stream.VideoStream, pts: int) -> bytes | None:
    """The luma samples of the picture with this pts, decoding from the current
    position (None if it does not come within :data:`SETTLE_PACKETS` packets, or a
    later picture comes first). Keyframes only, where the decoder allows; the
    decoder is drained once the keyframe's packet is in (with keyframes only it
    would otherwise hold the picture until further keyframes come)."""
    context = stream.codec_context
    context.skip_frame = "NONKEY" if context.name in SKIP_SAFE_CODECS else "DEFAULT"
    for read, packet in enumerate(packets(container, stream, set())):
        if read >= SETTLE_PACKETS:
            return None
        try:
            frames = packet.decode()
            if packet.pts == pts:
                frames = frames + context.decode(None)
        except av.error.FFmpegError:
            continue
        for frame in frames:
            if frame.pts == pts:
                return frame.to_ndarray(format="gray").tobytes()
            if frame.pts is not None and frame.pts > pts:
                return None
        if packet.pts == pts:
            return None
    return None


#: Containers whose stream durations FFmpeg estimates (from timestamps or the bit
#: rate) rather than reads: they state no end.
_ESTIMATED_DURATION = frozenset({"mpegts", "mpeg", "mpegvideo", "h264", "hevc", "m4v", "h263", "avi"})


def stated_end(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> int | None:
    """Where the container says the stream ends, in stream ticks (None: not said)."""
    if set(container.format.name.split(",")) & _ESTIMATED_DURATION:
        return None
    if stream.duration is None or stream.start_time is None:
        return None
    return int(stream.start_time) + int(stream.duration)


def decoded_pictures(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream, *,
    stop_after: int | None = None, read: list[av.Packet] | None = None,
) -> list[tuple[int, int]]:
    """(pts, duration) of the pictures decoded from the current position, to the
    end or until ``stop_after`` pictures came, reading at most
    :data:`SETTLE_PACKETS` packets (collected in ``read``)."""
    context = stream.codec_context
    context.skip_frame = "DEFAULT"
    found: list[tuple[int, int]] = []
    count = 0
    for packet in packets(container, stream, set()):
        count += 1
        if read is not None:
            read.append(packet)
        try:
            frames = packet.decode()
        except av.error.FFmpegError:
            frames = []
        found.extend((f.pts, f.duration or 0) for f in frames if f.pts is not None)
        if (stop_after is not None and len(found) >= stop_after) or count >= SETTLE_PACKETS:
            return found
    try:
        found.extend((f.pts, f.duration or 0) for f in context.decode(None) if f.pts is not None)
    except av.error.FFmpegError:
        pass
    return found
