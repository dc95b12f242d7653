"""Open a source and learn what the planner needs: the chosen stream and its frame times.

The frame times come from one demux pass over the stream's packets (no decoding),
so the planner works from the timestamps the file really has, not from what the
header claims (containers that over-report duration or frame count).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction

import av
import numpy as np

from engine.errors import NotMediaError, NoVideoError, ProcessError, SourceNotFoundError, UndecodableError
from engine.planner import StreamFacts
from engine.sources import open_options, refused_indirect

#: Frame duration assumed for a last frame whose packet carries none and whose
#: stream gives no rate (seconds).
FALLBACK_FRAME_SECONDS = Fraction(1, 25)


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
    read_failure: tuple[object, ...] | None = None
    """Where the scan's read failed (a damaged tail; frames past it are unknown), as
    :func:`read_failure_key` names it; None when the stream read to its end."""
    header_frames: int = 0
    """Frames the container header lists (0: not given)."""

    @property
    def looks_damaged(self) -> bool:
        """The scan ended on an error, or found fewer frames than the header lists
        (truncated, or a header that over-reports)."""
        return self.read_failure is not None or (self.facts is not None and self.header_frames > self.facts.frame_count)


def open_source(path: str | os.PathLike[str], *, allow_indirect: bool = False) -> av.container.InputContainer:
    """Open a media file for reading, translating every failure to an InputError;
    sources that open other files are refused unless allowed (engine.sources)."""
    name = os.fspath(path)
    if not os.path.exists(name):
        raise SourceNotFoundError(f"source {name!r}: no such file")
    if os.path.isdir(name):
        raise NotMediaError(f"source {name!r}: is a directory; expected a media file")
    if not os.path.isfile(name):
        raise NotMediaError(f"source {name!r}: not a regular file; expected a media file")
    if os.path.getsize(name) == 0:
        raise NotMediaError(f"source {name!r}: the file is empty (0 bytes); expected a media file")
    try:
        return av.open(name, mode="r", options=open_options(allow_indirect=allow_indirect))
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


def probe(container: av.container.InputContainer, *, position: int | None = None) -> MediaInfo:
    """Choose the stream and scan its packet timestamps (SPEC §2 time 0 and D)."""
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
    facts, read_failure = scan(container, stream, name)
    return MediaInfo(**info, is_cover=False, facts=facts, read_failure=read_failure, header_frames=stream.frames or 0)


def read_failure_key(last: av.Packet | None) -> tuple[object, ...]:
    """One name for a failed read, whoever meets it (the scan, any decode run):
    the last packet read before it."""
    return ("read", None if last is None else last.pos, None if last is None else last.pts)


def scan(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream, name: str
) -> tuple[StreamFacts, tuple[object, ...] | None]:
    """Every frame's pts and keyframe flag from a demux pass (the decoder seeks
    before it reads, so the container is left where the scan ended)."""
    pts: list[int] = []
    dts: list[int] = []
    keys: list[bool] = []
    durations: list[int] = []
    read_failure = None
    last = None
    try:
        for packet in container.demux(stream):
            last = packet
            stamp = packet.pts if packet.pts is not None else packet.dts
            # Empty packets flush the decoder; discard-flagged ones precede an edit
            # list's start and are never shown.
            if stamp is None or packet.size == 0 or packet.is_discard:
                continue
            pts.append(stamp)
            dts.append(stamp if packet.dts is None else min(packet.dts, stamp))
            keys.append(packet.is_keyframe)
            durations.append(packet.duration or 0)
    except av.error.FFmpegError:
        # A damaged tail ends the scan; what was read before is still usable.
        read_failure = read_failure_key(last)
    if not pts:
        raise UndecodableError(f"source {name!r}: the video stream has no frames")
    order = np.argsort(np.asarray(pts, dtype=np.int64), kind="stable")
    stamps = np.asarray(pts, dtype=np.int64)[order]
    flags = np.asarray(keys, dtype=bool)[order]
    decode_stamps = np.asarray(dts, dtype=np.int64)[order]
    unique = np.concatenate(([True], np.diff(stamps) > 0))
    stamps, flags, decode_stamps = stamps[unique], flags[unique], decode_stamps[unique]
    time_base = Fraction(stream.time_base) if stream.time_base else Fraction(1, 90000)
    last_duration = durations[int(order[-1])]
    if last_duration <= 0:
        last_duration = _typical_frame_ticks(stamps, stream, time_base)
    facts = StreamFacts(
        time_base=time_base, pts=stamps, keyframe=flags, end_pts=int(stamps[-1]) + last_duration, dts=decode_stamps
    )
    return facts, read_failure


def _typical_frame_ticks(stamps: np.ndarray, stream: av.video.stream.VideoStream, time_base: Fraction) -> int:
    if stamps.size > 1:
        return max(1, int(np.median(np.diff(stamps))))
    rate = stream.average_rate or stream.base_rate
    seconds = 1 / Fraction(rate) if rate else FALLBACK_FRAME_SECONDS
    return max(1, round(seconds / time_base))

