"""Video snapshots engine: the public surface.

>>> from engine import snapshot
>>> result = snapshot("sample_media/h264_bframes.mp4", "video/snapshots,f_jpg,inter_10000", "out/clip")
"""

from engine.api import snapshot
from engine.errors import (
    InputError,
    NotMediaError,
    NoVideoError,
    ProcessError,
    SnapshotError,
    SourceNotFoundError,
    TargetError,
    UndecodableError,
)
from engine.params import ImageFormat, Mode, Request, ScaleType, SeekMode, parse
from engine.result import Result, Snapshot

__all__ = [
    "snapshot",
    "parse",
    "Request",
    "Result",
    "Snapshot",
    "ImageFormat",
    "Mode",
    "ScaleType",
    "SeekMode",
    "SnapshotError",
    "ProcessError",
    "InputError",
    "SourceNotFoundError",
    "NotMediaError",
    "NoVideoError",
    "UndecodableError",
    "TargetError",
]
