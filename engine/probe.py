"""Open a source and learn what the planner and decoder need: the chosen stream,
where decoding may start (keyframes), time 0 and D (SPEC §2).

Three paths, the cheapest that can be trusted: the container's index where it has a
usable one (:mod:`engine.container_index`: the head and the last GOPs are read, not
the file), else one demux pass over every packet (:mod:`engine.packet_timeline`),
and where packets cannot be the timeline, every picture decoded once and timed
(:mod:`engine.timeline`). Every open goes through a :class:`Source`, which counts
the bytes read.
"""

from __future__ import annotations

import io
import os
import re
import threading
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from fractions import Fraction

import av

from engine import settings
from engine.errors import NotMediaError, NoVideoError, ProcessError, RemoteSourceError, SourceNotFoundError, shown
from engine.container_index import index_facts, usable_index
from engine.packet_timeline import NoTimeline, head, packet_facts, scan, settle
from engine.planner import StreamFacts
from engine.sources import open_options, refused_indirect
from engine.timeline import picture_timeline


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
    probe_path: str = "scan"
    """How the frames were learnt: ``index``, ``scan`` (every packet read),
    ``forward`` (every picture decoded) or ``cover``."""
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
    return Source(path, allow_indirect=allow_indirect).open()


class CountingReader(io.RawIOBase):
    """A file read through FFmpeg's I/O callbacks, counting the bytes it gives."""

    def __init__(self, path: str, tally: Source) -> None:
        super().__init__()
        self.name = path
        self._file = open(path, "rb", buffering=0)  # noqa: SIM115 - closed by close()
        self._tally = tally

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:
        count = self._file.readinto(buffer) or 0
        self._tally.count(count)
        return count

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._file.seek(offset, whence)

    def tell(self) -> int:
        return self._file.tell()

    def close(self) -> None:
        self._file.close()
        super().close()


class Source:
    """One job's source, opened as often as the job needs (the probe's fresh
    opens, each decoder's), counting every byte read from it (``bytes_read``).
    A context manager: leaving it closes every file it opened."""

    def __init__(self, path: str | os.PathLike[str], *, allow_indirect: bool = False) -> None:
        self.path = os.fspath(path)
        self.allow_indirect = allow_indirect
        self._lock = threading.Lock()
        self._bytes = 0
        self._readers: list[CountingReader] = []

    @property
    def bytes_read(self) -> int:
        return self._bytes

    def count(self, size: int) -> None:
        with self._lock:
            self._bytes += size

    def open(self) -> av.container.InputContainer:
        """A new container on the source; every failure is an InputError."""
        name = self.path
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
            reader = CountingReader(name, self)
        except OSError as ex:
            raise NotMediaError(f"source {name!r}: cannot be read ({ex.strerror or ex})") from ex
        with self._lock:
            self._readers.append(reader)
        try:
            # Metadata in any text encoding (a Mac Roman handler name) never fails a job.
            return av.open(reader, mode="r", options=open_options(allow_indirect=self.allow_indirect),
                           metadata_errors="replace")
        except av.error.FFmpegError as ex:
            reader.close()
            raise refused_indirect(name, ex, allow_indirect=self.allow_indirect) or NotMediaError(
                f"source {name!r}: not a media file FFmpeg can read ({ex.strerror or ex})") from ex
        except OSError as ex:
            reader.close()
            raise NotMediaError(f"source {name!r}: cannot be read ({ex.strerror or ex})") from ex

    def close(self) -> None:
        with self._lock:
            readers, self._readers = self._readers, []
        for reader in readers:
            reader.close()

    def __enter__(self) -> Source:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


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
    use_index: bool | None = None,
) -> MediaInfo:
    """Choose the stream and learn what the planner and decoder need (SPEC §2:
    time 0, D, where keyframes are).

    From the container's index where it has a usable one (keyframes from the
    index, time 0 from the first pictures, D from the last GOP's packets), else
    from a scan of every packet; the first and last pictures are decoded to settle
    time 0 and D. Where the packets cannot be the timeline (see
    :mod:`engine.timeline`) every picture is decoded once and timed. ``reopen``
    gives a fresh container when this one cannot seek back to its start.
    ``use_index``: False forces the scan (default: ``$SNAPSHOTS_PROBE``).
    """
    name = source_name(container)
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
        return MediaInfo(**info, is_cover=True, facts=None, probe_path="cover")
    if use_index is None:
        use_index = settings.probe_path() == "auto"
    damaged: set[object] = set()
    reason = untrusted_packets(container, stream)
    facts = None
    path = "scan"
    read = 0
    if reason is None:
        index = usable_index(container, stream) if use_index else None
        if index is not None:
            # Any doubt on the way (the index disagrees with the packets, the ends
            # do not settle) sends the stream to the scan, which decides afresh.
            facts, read = index_facts(container, stream, index, reopen, damaged)
            path = "index" if facts is not None else "scan"
        if facts is None:
            facts, reason, read = _scanned(container, stream, reopen, damaged, moved=index is not None)
    # Decided once, before any decoding: the probe's damage is failed reads only.
    careful = bool(damaged) or looks_truncated(stream.frames or 0, read)
    warnings: tuple[str, ...] = ()
    if reason is not None:
        path = "forward"
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
        probe_path=path,
    )


def _scanned(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream,
    reopen: Callable[[], av.container.InputContainer] | None, damaged: set[object], *, moved: bool,
) -> tuple[StreamFacts | None, str | None, int]:
    """The facts from a scan of every packet, or why the packets cannot be the
    timeline; and the packets read. ``moved``: the container was read already
    (the scan then starts from a fresh one: a seek to 0 may skip an edit list's
    first packets)."""
    if moved and reopen is not None:
        with closing(reopen()) as fresh:
            found = scan(fresh, fresh.streams[stream.index], damaged)
    else:
        if moved:
            container.seek(0, backward=True)
        found = scan(container, stream, damaged)
    if isinstance(found, NoTimeline):
        return None, found.reason, found.read
    careful = bool(damaged) or looks_truncated(stream.frames or 0, found.read)
    # The job's decoder inherits this context: frame threads are the fast path,
    # slice threads lose nothing when a damaged packet ends the stream. (Open
    # already only after an index path that failed its keyframe check, with frame
    # threads and no damage met: the scan then fails the same check.)
    if not stream.codec_context.is_open:
        stream.codec_context.thread_type = "SLICE" if careful else "AUTO"
    first = head(container, stream, reopen, damaged)
    ends = settle(container, stream, first, found, reopen)
    if isinstance(ends, str):
        return None, ends, found.read
    time_base = Fraction(stream.time_base) if stream.time_base else Fraction(1, 90000)
    return packet_facts(found, first, ends, time_base), None, found.read


def source_name(container: av.container.InputContainer) -> str:
    """The path a container was opened from (a container read through a Python
    file object names the object, not the file)."""
    return getattr(container.file, "name", None) or container.name


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


