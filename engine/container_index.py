"""Where a stream's keyframes are, from the container's own index.

MP4/MOV sample tables list every packet (position, decode time, key flag) and
Matroska/WebM cues list keyframes (presentation time); FFmpeg reads both with the
header. A job that plans from them reads the head and the last GOPs of the file,
not the whole of it (:mod:`engine.packet_timeline` settles time 0 and D from
those). An index is used only when it is consistent: ascending times, every entry
inside the file, as many entries as the header's frame count, and the same
positions and key flags as the packets read at both ends; anything else sends
the stream to the full scan.
"""

from __future__ import annotations

from fractions import Fraction
from collections.abc import Callable
from contextlib import closing
from typing import NamedTuple

import av
import numpy as np

from engine.packet_timeline import TAIL_PACKETS, PacketTimes, head, read_times, settle
from engine.planner import StreamFacts
from engine.timeline import packets

#: Containers whose index comes with the header: whether it lists every packet
#: (MP4/MOV sample tables) or keyframes only (Matroska cues).
INDEXED_FORMATS = {"mov": True, "matroska": False}


class Index(NamedTuple):
    seek_points: np.ndarray
    """Each listed keyframe's timestamp, ascending (decode time in MP4/MOV,
    presentation time in Matroska)."""
    key_entries: np.ndarray
    """Entry numbers of the keyframes."""
    entries: int
    every_packet: bool
    """The index lists every packet, so every keyframe too."""
    table: av.index.IndexEntries


def usable_index(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> Index | None:
    """The stream's index, or None where the container has none read with its
    header, or it is empty or plainly inconsistent. Only the keyframes are
    visited (FFmpeg's own search, in C): an hour of video lists 10⁵ packets."""
    kinds = [INDEXED_FORMATS[f] for f in container.format.name.split(",") if f in INDEXED_FORMATS]
    if not kinds:
        return None
    table = stream.index_entries
    count = len(table)
    if count == 0:
        return None
    every_packet = kinds[0]
    # Edit lists that repeat samples list more entries than the header's frames.
    if every_packet and stream.frames and stream.frames != count:
        return None
    last = table[count - 1]
    if container.size > 0 and last.pos + last.size > container.size:
        return None  # a truncated file: the index names data that is not there
    keys: list[int] = []
    stamp = None
    while True:
        found = table.search_timestamp(-(2**62) if stamp is None else stamp + 1, backward=False)
        if found < 0 or (keys and found <= keys[-1]):
            break
        keys.append(found)
        stamp = table[found].timestamp
    if not keys:
        return None
    key_entries = np.asarray(keys, dtype=np.int64)
    points = np.fromiter((table[int(k)].timestamp for k in key_entries), dtype=np.int64, count=key_entries.size)
    return Index(points, key_entries, count, every_packet, table)


def index_facts(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream, index: Index,
    reopen: Callable[[], av.container.InputContainer] | None, damaged: set[object],
) -> tuple[StreamFacts | None, int]:
    """The stream's facts from its index, the head and the last GOPs; None where
    any of it disagrees, or a read fails (then the full scan decides). Also the
    packets the index lists (for the truncation check).

    The reading and decoding happen on a container of their own (``reopen``),
    opened at the start, so the head needs no seek; the job's container decodes
    one keyframe (frame threads, as every job on this path: a read failure sends
    the stream to the scan before that)."""
    if reopen is None:
        return _from_index(container, stream, index, None, damaged, at_start=False)
    with closing(reopen()) as work:
        # The job's container, untouched so far, is the fresh decoder of the keyframe
        # check (one open fewer: an hour's index costs megabytes per open container).
        return _from_index(work, work.streams[stream.index], index, reopen, damaged, at_start=True, clean=container)


def _from_index(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream, index: Index,
    reopen: Callable[[], av.container.InputContainer] | None, damaged: set[object], *, at_start: bool,
    clean: av.container.InputContainer | None = None,
) -> tuple[StreamFacts | None, int]:
    failures = set(damaged)
    stream.codec_context.thread_type = "AUTO"
    first = head(container, stream, None, failures, at_start=at_start)
    if not isinstance(first.times, PacketTimes) or not _agrees(index, 0, first.times, whole=False):
        return None, 0
    tail_from = _tail_keyframe(index)
    try:
        container.seek(int(index.seek_points[tail_from]), backward=True, stream=stream)
    except av.error.FFmpegError:
        return None, 0
    last = read_times(packets(container, stream, failures), stream, failures)
    if failures != damaged or not isinstance(last, PacketTimes) or not last.positions:
        return None, 0
    # The demuxer may land on an earlier keyframe (MP4 seeks by presentation time).
    landed = _entry_at(index, last.positions[0][0], int(index.key_entries[tail_from]))
    if landed is None or not _agrees(index, landed, last, whole=True):
        return None, 0
    ends = settle(container, stream, first, last, reopen, clean)
    if isinstance(ends, str):
        return None, 0
    keys = first.times.pts[first.times.keyframe]
    if not first.times.starts_on_keyframe and keys.size == 0:
        return None, 0
    facts = StreamFacts(
        time_base=Fraction(stream.time_base) if stream.time_base else Fraction(1, 90000),
        start_pts=ends.start_pts, last_pts=ends.last_pts, end_pts=ends.end_pts, frame_ticks=last.typical,
        seek_points=index.seek_points, keyframes_listed=index.every_packet, seek_by_time=index.every_packet,
        first_keyframe_pts=int(keys[0]) if keys.size else None, starts_mid_gop=not first.times.starts_on_keyframe,
    )
    return facts, index.entries


def _tail_keyframe(index: Index) -> int:
    """The keyframe from which the tail is read: the last but one (the keyframe
    check decodes the last two), earlier while fewer than :data:`TAIL_PACKETS`
    packets follow it (an index of every packet says how many)."""
    chosen = max(0, index.seek_points.size - 2)
    if index.every_packet:
        while chosen > 0 and index.entries - int(index.key_entries[chosen]) < TAIL_PACKETS:
            chosen -= 1
    return chosen


def _entry_at(index: Index, position: int | None, expected: int) -> int | None:
    """The entry at a byte position, searched back from ``expected`` (None: none;
    an index of keyframes only takes the expected entry)."""
    if not index.every_packet:
        return expected
    for entry in range(min(expected, index.entries - 1), -1, -1):
        if index.table[entry].pos == position:
            return entry
    return None


def _agrees(index: Index, first_entry: int, times: PacketTimes, *, whole: bool) -> bool:
    """The packets read from ``first_entry`` on are the index's entries (same
    positions and key flags), to its end when ``whole``; indexes of keyframes only
    (cues) are not compared."""
    if not index.every_packet:
        return True
    expected = index.entries - first_entry
    if whole and len(times.positions) != expected:
        return False
    for number, (pos, key) in enumerate(times.positions[:expected]):
        entry = index.table[first_entry + number]
        if (pos is not None and pos != entry.pos) or key != entry.is_keyframe:
            return False
    return True
