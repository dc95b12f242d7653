"""Open a source and learn what the planner needs: the chosen stream and its frame times.

Where the packets can be trusted, the frame times come from one demux pass over
the stream's packets (no decoding), so the planner works from the timestamps the
file really has, not from what the header claims; the first and the last pictures
are decoded to settle time 0 and D (SPEC §2). Where they cannot, every picture is
decoded once and timed (:mod:`engine.timeline`).
"""

from __future__ import annotations

import os
import re
from collections import deque
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from typing import NamedTuple
from fractions import Fraction

import av
import numpy as np

from engine.errors import NotMediaError, NoVideoError, ProcessError, RemoteSourceError, SourceNotFoundError, shown
from engine.planner import StreamFacts
from engine.sources import open_options, refused_indirect
from engine.timeline import SKIP_SAFE_CODECS, frame_step, leading_frames, packets, picture_timeline


@dataclass(frozen=True)
class MediaInfo:
    """The chosen video stream of an open source."""

    path: str
    stream_index: int
    """Index of the stream in the container."""
    video_position: int
    """Position among the container's video streams (the ``i`` of ``_i_j`` names)."""
    codec: str
    is_cover: bool
    """An attached picture (audio cover art): the one snapshot, whatever the mode."""
    facts: StreamFacts | None
    """Frame times; None for a cover picture."""
    container_duration_ms: float | None
    """What the header claims, kept only to report disagreement."""
    header_frames: int = 0
    """Frames the container header lists (0: not given)."""
    packets_read: int = 0
    """Packets of the stream the scan read, discard-flagged ones included."""
    read_forward: str | None = None
    """Why the stream is read forward from its start (:mod:`engine.timeline`);
    None: packet times are the timeline and decode runs seek."""
    damaged: frozenset[object] = frozenset()
    """Failed reads and packets met while probing (damage names as the decoder's)."""
    warnings: tuple[str, ...] = ()
    looks_damaged: bool = False
    """A read failed, or the file looks truncated, before any picture was decoded:
    every decode of the job (the picture timeline's too) is then careful (one
    decoder, slice threads), so all passes see the same pictures."""

    @property
    def looks_truncated(self) -> bool:
        """The header lists more frames than the file holds packets for."""
        return looks_truncated(self.header_frames, self.packets_read)


def looks_truncated(header_frames: int, packets_read: int) -> bool:
    """The header lists more frames than the file holds packets for."""
    return 0 < packets_read < header_frames


_URL = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")


def url_scheme(name: str) -> str | None:
    """The scheme of a URL source (``https``, ``s3``, ``rtmp`` …), None for a path."""
    match = _URL.match(name)
    return match.group(1).lower() if match else None


def open_source(path: str | os.PathLike[str], *, allow_indirect: bool = False) -> av.container.InputContainer:
    """Open a media file for reading, translating every failure to an InputError;
    sources that open other files are refused unless allowed (engine.sources)."""
    name = os.fspath(path)
    if not os.path.exists(name) and (scheme := url_scheme(name)) is not None:
        raise RemoteSourceError(
            f"source {shown(name)}: remote sources ({scheme}://) are not supported yet; "
            "valid: a local file path (download the file first)"
        )
    if not os.path.exists(name):
        raise SourceNotFoundError(f"source {name!r}: no such file")
    if os.path.isdir(name):
        raise NotMediaError(f"source {name!r}: is a directory; expected a media file")
    if not os.path.isfile(name):
        raise NotMediaError(f"source {name!r}: not a regular file; expected a media file")
    if os.path.getsize(name) == 0:
        raise NotMediaError(f"source {name!r}: the file is empty (0 bytes); expected a media file")
    try:
        # Metadata in any text encoding (a Mac Roman handler name) never fails a job.
        return av.open(name, mode="r", options=open_options(allow_indirect=allow_indirect), metadata_errors="replace")
    except av.error.FFmpegError as ex:
        raise refused_indirect(name, ex, allow_indirect=allow_indirect) or NotMediaError(f"source {name!r}: not a media file FFmpeg can read ({ex.strerror or ex})") from ex
    except OSError as ex:
        raise NotMediaError(f"source {name!r}: cannot be read ({ex.strerror or ex})") from ex


def choose_stream(container: av.container.InputContainer, position: int | None, name: str) -> tuple[int, av.video.stream.VideoStream]:
    """The video stream to use: ``vs`` if given, else FFmpeg's best real video stream
    (never an attached cover picture when a real video stream exists)."""
    videos = list(container.streams.video)
    if not videos:
        raise NoVideoError(f"source {name!r}: no video stream and no cover picture")
    if position is not None:
        if position >= len(videos):
            raise ProcessError(
                f"vs: {position} is out of range for {name!r}; valid: 0–{len(videos) - 1} "
                f"({len(videos)} video stream{'s' if len(videos) > 1 else ''})"
            )
        return position, videos[position]
    real = [s for s in videos if not is_cover(s)]
    best = container.streams.best("video")
    if best is None or (real and is_cover(best)):
        best = (real or videos)[0]
    return videos.index(best), best


def is_cover(stream: av.stream.Stream) -> bool:
    return bool(stream.disposition & av.stream.Disposition.attached_pic)


def probe(
    container: av.container.InputContainer,
    *,
    position: int | None = None,
    reopen: Callable[[], av.container.InputContainer] | None = None,
) -> MediaInfo:
    """Choose the stream and learn its frames (SPEC §2: time 0, D, which pictures).

    The packet scan is the timeline where the packets can be trusted; the first and
    last pictures are decoded to settle time 0 and D. Otherwise (see
    :mod:`engine.timeline`) every picture is decoded once and timed. ``reopen``
    gives a fresh container when this one cannot seek back to its start.
    """
    name = container.name
    video_position, stream = choose_stream(container, position, name)
    duration = container.duration
    info = dict(
        path=name,
        stream_index=stream.index,
        video_position=video_position,
        codec=stream.codec_context.name,
        container_duration_ms=None if duration is None else duration / 1000.0,
    )
    if is_cover(stream):
        return MediaInfo(**info, is_cover=True, facts=None)
    damaged: set[object] = set()
    reason = untrusted_packets(container, stream)
    facts = None
    read = 0
    doubtful_end = True
    if reason is None:
        facts, reason, read, doubtful_end = scan(container, stream, damaged)
    # Decided once, before any decoding: the scan's damage is failed reads only.
    careful = bool(damaged) or looks_truncated(stream.frames or 0, read)
    if reason is None:
        # The job's decoder inherits this context: frame threads are the fast path,
        # slice threads lose nothing when a damaged packet ends the stream.
        stream.codec_context.thread_type = "SLICE" if careful else "AUTO"
        facts, reason = settle_ends(container, stream, facts, reopen, doubtful_end=doubtful_end)
    warnings: tuple[str, ...] = ()
    if reason is not None:
        forward = reopen() if reopen is not None else _rewound(container)
        try:
            timeline = picture_timeline(forward, forward.streams[stream.index], damaged, careful=careful)
        finally:
            if forward is not container:
                forward.close()
        facts = timeline.facts
        if timeline.jumps:
            warnings = (
                f"source {name!r}: timestamps jump back {timeline.jumps} time(s) (concatenated segments or a "
                "wrap): made one continuous timeline in file order",
            )
    return MediaInfo(
        **info, is_cover=False, facts=facts, header_frames=stream.frames or 0, packets_read=read,
        read_forward=reason, damaged=frozenset(damaged), warnings=warnings, looks_damaged=careful,
    )


#: Containers that store no presentation times (the demuxer guesses them).
_UNTIMED_FORMATS = frozenset({
    "avi", "h264", "hevc", "vvc", "m4v", "h263", "h261", "mpegvideo", "cavsvideo", "vc1", "dirac", "obu",
    "mjpeg", "rawvideo",
})
#: Codecs whose keyframe flags come from the bitstream's own random-access points;
#: intra-only codecs are trusted too. Others (Cinepak, QuickTime RLE, MS Video 1…)
#: carry container flags that can name frames depending on earlier data.
_TRUSTED_KEYFRAMES = frozenset({
    "h264", "hevc", "vvc", "av1", "libdav1d", "libaom-av1", "vp8", "vp9", "libvpx", "libvpx-vp9",
    "mpeg1video", "mpeg2video", "mpeg4", "msmpeg4v1", "msmpeg4v2", "msmpeg4v3", "msmpeg4", "wmv1", "wmv2",
    "wmv3", "vc1", "h263", "h263p", "h261", "flv1", "rv10", "rv20", "rv30", "rv40", "theora", "svq1", "svq3",
    "dirac", "cavs", "hap",
})


def untrusted_packets(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> str | None:
    """Why this stream's packet times or keyframe flags cannot be the timeline,
    before reading it (None: they can)."""
    formats = set(container.format.name.split(","))
    if formats & _UNTIMED_FORMATS:
        return f"the {container.format.name} container stores no presentation times"
    codec = stream.codec_context.codec
    if not codec.intra_only and codec.name not in _TRUSTED_KEYFRAMES:
        return f"{codec.name} keyframe flags cannot be trusted for seeking"
    return None


def _rewound(container: av.container.InputContainer) -> av.container.InputContainer:
    """The container, sought back to its start (for callers with no way to reopen it)."""
    container.seek(0, backward=True)
    return container


class Scan(NamedTuple):
    facts: StreamFacts | None
    reason: str | None
    """Why the packets cannot be the timeline (None: they can)."""
    read: int
    """Packets read, discard-flagged ones included."""
    doubtful_end: bool
    """The end may hold packets that never decode: one of the last packets came
    short or flagged corrupt (a truncated file), a read failed, or the last packet
    claims an outsized duration."""


#: Packets at the end of a stream whose state makes its end doubtful.
TAIL_PACKETS = 16


def scan(container: av.container.InputContainer, stream: av.video.stream.VideoStream, damaged: set[object]) -> Scan:
    """Every frame's pts and keyframe flag from a demux pass over the chosen stream
    (no decoding), or why the packets cannot be the timeline."""
    pts: list[int] = []
    tail_corrupt: deque[bool] = deque(maxlen=TAIL_PACKETS)
    dts: list[int] = []
    keys: list[bool] = []
    durations: list[int] = []
    last_dts = None
    read = 0
    starts_on_keyframe = None
    for packet in packets(container, stream, damaged):
        read += packet.size > 0
        if packet.size:
            tail_corrupt.append(packet.is_corrupt)
        if starts_on_keyframe is None and packet.size:
            starts_on_keyframe = packet.is_keyframe
        # Empty packets flush the decoder; discard-flagged ones precede an edit
        # list's start and are never shown; packets with no time at all are the
        # second field of a field pair, part of the picture before them.
        if packet.size == 0 or packet.is_discard or (packet.pts is None and packet.dts is None):
            continue
        if packet.dts is not None:
            if last_dts is not None and packet.dts < last_dts:
                return Scan(None, "decode times jump back (concatenated segments or a wrap)", read, True)
            last_dts = packet.dts
        stamp = packet.pts if packet.pts is not None else packet.dts
        pts.append(stamp)
        dts.append(stamp if packet.dts is None else min(packet.dts, stamp))
        keys.append(packet.is_keyframe)
        durations.append(packet.duration or 0)
    if not pts:
        return Scan(None, "no packet carries a time", read, True)
    order = np.argsort(np.asarray(pts, dtype=np.int64), kind="stable")
    stamps = np.asarray(pts, dtype=np.int64)[order]
    flags = np.asarray(keys, dtype=bool)[order]
    decode_stamps = np.asarray(dts, dtype=np.int64)[order]
    unique = np.concatenate(([True], np.diff(stamps) > 0))
    if not unique.all():
        return Scan(None, "several packets share a presentation time", read, True)
    time_base = Fraction(stream.time_base) if stream.time_base else Fraction(1, 90000)
    last_duration = durations[int(order[-1])]
    typical = _typical_frame_ticks(stamps, stream, time_base)
    outsized = last_duration > OUTSIZED_DURATION * typical
    if last_duration <= 0:
        last_duration = typical
    facts = StreamFacts(
        time_base=time_base, pts=stamps, keyframe=flags, end_pts=int(stamps[-1]) + last_duration, dts=decode_stamps,
        leading=leading_frames(flags, bool(starts_on_keyframe)),
    )
    return Scan(facts, None, read, any(tail_corrupt) or bool(damaged) or outsized)


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


def settle_ends(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream, facts: StreamFacts,
    reopen: Callable[[], av.container.InputContainer] | None = None, *, doubtful_end: bool = True,
) -> tuple[StreamFacts | None, str | None]:
    """Time 0 and D from pictures (SPEC §2): decode the start, and the last GOP when
    the scan gives reason to doubt the end; drop the packets before the first
    picture and after the last (leading packets of a stream cut mid-GOP, a
    truncated last packet), end D with the last picture. A clean end (every last
    packet whole, no read failure, an ordinary last duration) is taken from the
    packets: decoding a long last GOP on every job would cost more than the job.
    Pictures whose times are not packet times, or come out of order, mean the
    packets cannot be the timeline."""
    known = set(facts.pts.tolist())
    # A fresh container: a seek to 0 may land on the first keyframe and skip the
    # pictures an edit list shows before it.
    count = HEAD_PICTURES
    if reopen is not None:
        with closing(reopen()) as fresh:
            fresh_stream = fresh.streams[stream.index]
            # Frame and slice threads give different leading pictures: decode as the job will.
            fresh_stream.codec_context.thread_type = stream.codec_context.thread_type
            head = [t for t, _ in _decoded_pictures(fresh, fresh_stream, stop_after=count)]
    else:
        head = [t for t, _ in _decoded_pictures(_rewound(container), stream, stop_after=count)]
    if not head:
        return None, "no picture decodes from the start"
    if any(t not in known for t in head) or head != sorted(head):
        return None, "pictures do not carry their packets' times"
    first = head[0]
    last = None if doubtful_end else (int(facts.pts[-1]), int(facts.end_pts - facts.pts[-1]))
    keyframes = np.flatnonzero(facts.keyframe)[::-1][:SETTLE_TAIL_KEYFRAMES] if doubtful_end else []
    for keyframe in keyframes:
        try:
            container.seek(int(facts.pts[keyframe]), backward=True, stream=stream)
        except av.error.FFmpegError:
            return None, "the container cannot seek"
        decoded = _decoded_pictures(container, stream)
        tail = [t for t, _ in decoded]
        if any(t not in known for t in tail) or tail != sorted(tail):
            return None, "pictures do not carry their packets' times"
        if tail and tail[-1] >= facts.pts[keyframe]:
            last = decoded[-1]
            break
    if last is None:
        return None, "no picture decodes near the end"
    doubt = _keyframe_doubt(container, stream, facts, reopen)
    if doubt is not None:
        return None, doubt
    last_pts, duration = last
    keep = (facts.pts >= first) & (facts.pts <= last_pts)
    if duration <= 0:
        duration = int(facts.end_pts - facts.pts[-1]) if last_pts == facts.pts[-1] else int(
            facts.pts[np.searchsorted(facts.pts, last_pts) + 1] - last_pts)
    end = last_pts + duration
    stated = _stated_end(container, stream)
    if stated is not None and last_pts < stated < end:
        end = stated
    settled = StreamFacts(
        time_base=facts.time_base, pts=facts.pts[keep], keyframe=facts.keyframe[keep], end_pts=end,
        dts=None if facts.dts is None else facts.dts[keep],
        leading=max(0, facts.leading - int(np.count_nonzero(facts.pts < first))),
    )
    return settled, None


def _keyframe_doubt(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream, facts: StreamFacts,
    reopen: Callable[[], av.container.InputContainer] | None,
) -> str | None:
    """Why decode runs cannot seek to keyframes (None: they can). The last keyframe
    is decoded as a decode run reaches it (a seek while the decoder holds another
    GOP's state) and by a fresh decoder seeking there: a decoder whose state
    survives a seek, or parameter sets only in some keyframes, give two different
    pictures. It costs a few keyframe pictures. (Keyframe flags that name pictures
    needing earlier data are the codec list's business: :func:`untrusted_packets`.)"""
    keys = np.flatnonzero(facts.keyframe)
    last = int(keys[-1]) if keys.size else 0
    try:
        if keys.size < 2 or reopen is None:
            found = _keyframe_after_seek(container, stream, facts, last)
            return None if found is not None else "no seek reaches the last keyframe"
        if _keyframe_after_seek(container, stream, facts, int(keys[-2])) is None:  # the state a run leaves
            return "no seek reaches a keyframe"
        carried = _keyframe_after_seek(container, stream, facts, last)
        with closing(reopen()) as fresh:
            clean = _keyframe_after_seek(fresh, fresh.streams[stream.index], facts, last)
    except av.error.FFmpegError:
        return "the container cannot seek"
    if clean is None or clean != carried:
        return "a keyframe does not decode the same after a seek"
    return None


def _keyframe_after_seek(container: av.container.InputContainer, stream: av.video.stream.VideoStream,
                         facts: StreamFacts, index: int) -> bytes | None:
    """The luma of keyframe ``index`` decoded right after a seek to it, by pts and
    then by decode time (the decoder's first rungs); None where no seek reaches it.
    A failed seek raises (FFmpegError)."""
    target = int(facts.pts[index])
    starts = [target] if facts.dts is None or facts.dts[index] == target else [target, int(facts.dts[index])]
    for start in starts:
        container.seek(start, backward=True, stream=stream)
        found = _luma_at(container, stream, target)
        if found is not None:
            return found
    return None


def _luma_at(container: av.container.InputContainer, stream: av.video.stream.VideoStream, pts: int) -> bytes | None:
    """The luma samples of the picture with this pts, decoding from the current
    position (None if it does not come within :data:`SETTLE_PACKETS` packets, or a
    later picture comes first). Keyframes only, where the decoder allows."""
    stream.codec_context.skip_frame = "NONKEY" if stream.codec_context.name in SKIP_SAFE_CODECS else "DEFAULT"
    for read, packet in enumerate(packets(container, stream, set())):
        if read >= SETTLE_PACKETS:
            return None
        try:
            frames = packet.decode()
        except av.error.FFmpegError:
            continue
        for frame in frames:
            if frame.pts == pts:
                return frame.to_ndarray(format="gray").tobytes()
            if frame.pts is not None and frame.pts > pts:
                return None
    return None


#: Containers whose stream durations FFmpeg estimates (from timestamps or the bit
#: rate) rather than reads: they state no end.
_ESTIMATED_DURATION = frozenset({"mpegts", "mpeg", "mpegvideo", "h264", "hevc", "m4v", "h263", "avi"})


def _stated_end(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> int | None:
    """Where the container says the stream ends, in stream ticks (None: not said)."""
    if set(container.format.name.split(",")) & _ESTIMATED_DURATION:
        return None
    if stream.duration is None or stream.start_time is None:
        return None
    return int(stream.start_time) + int(stream.duration)


def _decoded_pictures(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream, *, stop_after: int | None = None
) -> list[tuple[int, int]]:
    """(pts, duration) of the pictures decoded from the current position, to the
    end or until ``stop_after`` pictures came, reading at most
    :data:`SETTLE_PACKETS` packets."""
    context = stream.codec_context
    context.skip_frame = "DEFAULT"
    found: list[tuple[int, int]] = []
    read = 0
    for packet in packets(container, stream, set()):
        read += 1
        try:
            frames = packet.decode()
        except av.error.FFmpegError:
            frames = []
        found.extend((f.pts, f.duration or 0) for f in frames if f.pts is not None)
        if (stop_after is not None and len(found) >= stop_after) or read >= SETTLE_PACKETS:
            return found
    try:
        found.extend((f.pts, f.duration or 0) for f in context.decode(None) if f.pts is not None)
    except av.error.FFmpegError:
        pass
    return found


def _typical_frame_ticks(stamps: np.ndarray, stream: av.video.stream.VideoStream, time_base: Fraction) -> int:
    if stamps.size > 1:
        return max(1, int(np.median(np.diff(stamps))))
    return frame_step(stream, time_base)
