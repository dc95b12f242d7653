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
    positions: list[int]
    keys: list[bool]


def usable_index(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> Index | None:
    """The stream's index, or None where the container has none read with its
    header, or it is empty or inconsistent."""
    kinds = [INDEXED_FORMATS[f] for f in container.format.name.split(",") if f in INDEXED_FORMATS]
    if not kinds:
        return None
    entries = stream.index_entries
    count = len(entries)
    if count == 0:
        return None
    stamps = np.fromiter((e.timestamp for e in entries), dtype=np.int64, count=count)
    keys = [e.is_keyframe for e in entries]
    positions = [e.pos for e in entries]
    ends = max(p + e.size for p, e in zip(positions, entries))
    size = container.size
    if np.any(np.diff(stamps) < 0) or (size > 0 and ends > size) or not any(keys):
        return None
    every_packet = kinds[0]
    if every_packet and stream.frames and stream.frames != count:
        return None
    key_entries = np.flatnonzero(np.asarray(keys, dtype=bool))
    return Index(stamps[key_entries], key_entries, count, every_packet, positions, keys)


def index_facts(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream, index: Index,
    reopen: Callable[[], av.container.InputContainer] | None, damaged: set[object],
) -> tuple[StreamFacts | None, int]:
    """The stream's facts from its index, the head and the last GOPs; None where
    any of it disagrees (then the full scan decides). Also the packets the index
    lists (for the truncation check)."""
    tail_from = _tail_keyframe(index)
    try:
        container.seek(int(index.seek_points[tail_from]), backward=True, stream=stream)
    except av.error.FFmpegError:
        return None, 0
    last = read_times(packets(container, stream, damaged), stream, damaged)
    if not isinstance(last, PacketTimes) or not last.positions:
        return None, 0
    # The demuxer may land on an earlier keyframe (MP4 seeks by presentation time).
    landed = _entry_at(index, last.positions[0][0], int(index.key_entries[tail_from]))
    if landed is None or not _agrees(index, landed, last, whole=True):
        return None, 0
    careful = bool(damaged)
    stream.codec_context.thread_type = "SLICE" if careful else "AUTO"
    first = head(container, stream, reopen, damaged)
    if not isinstance(first.times, PacketTimes) or not _agrees(index, 0, first.times, whole=False):
        return None, 0
    ends = settle(container, stream, first, last, reopen)
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
        if index.positions[entry] == position:
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
        entry = first_entry + number
        if (pos is not None and pos != index.positions[entry]) or key != index.keys[entry]:
            return False
    return True
