"""Video snapshots engine: write chosen frames of a video as JPG/PNG/WebP images.

Public surface (``__all__``):

* :func:`snapshot` ``(source, process, target=None, *, storage_root=None,
  allow_indirect=False) -> Result``: the one entry point; ``process`` is a
  processing string (``'video/snapshots,f_jpg,inter_10000'``) or a :class:`Request`.
* :func:`parse` ``(process) -> Request``: validate a processing string without
  touching a file; :class:`ImageFormat`, :class:`Mode`, :class:`ScaleType`,
  :class:`SeekMode` are its enumerations.
* :class:`Result` and :class:`Snapshot`: what a job wrote (paths, times, sizes,
  warnings), ``Result.to_json()`` as the CLI's ``--json`` prints it.
* Errors, all :class:`SnapshotError`: :class:`ProcessError` (the processing
  string; CLI exit 2), :class:`InputError` and its subclasses (the source; exit 3),
  :class:`TargetError` (the output; exit 4).
* ``__version__``: the package version.

The command line is ``snapshots SOURCE PROCESS [-o TARGET]`` (``snapshots --help``),
plus ``snapshots serve`` and ``snapshots batch``.

>>> from engine import snapshot
>>> result = snapshot("sample_media/h264_bframes.mp4", "video/snapshots,f_jpg,inter_10000", "out/clip")
"""

from engine.api import snapshot
from engine.errors import (
    IndirectSourceError,
    InputError,
    NotMediaError,
    NoVideoError,
    ProcessError,
    RemoteSourceError,
    SnapshotError,
    SourceNotFoundError,
    TargetError,
    UndecodableError,
)
from engine.params import ImageFormat, Mode, Request, ScaleType, SeekMode, parse
from engine.result import Result, Snapshot

#: The source tree's version (the CLI's ``--version`` prefers the installed metadata).
__version__ = "0.1.0"

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
    "IndirectSourceError",
    "RemoteSourceError",
    "TargetError",
    "__version__",
]
