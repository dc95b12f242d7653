"""What a job returns (SPEC §5): the snapshots written, warnings and decode counts."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Snapshot:
    """One image written: which source frame it shows and where it went."""

    serial: int
    """j in the file name: 1, 2, … in time order."""
    path: str
    requested_ms: float
    """The target time that chose this frame (ms from the first frame)."""
    pts_ms: float
    """Presentation time of the frame written (ms from the first frame)."""
    keyframe: bool
    width: int
    height: int
    dhash: str | None = None
    """16 hex digits, m_dhash only."""
    score: float | None = None
    """Percent of hash bits that changed from the previous candidate, m_dhash only."""

    def __post_init__(self) -> None:
        if self.serial < 1:
            raise ValueError(f"serial: must be ≥ 1, got {self.serial}")
        if self.width < 1 or self.height < 1:
            raise ValueError(f"size: must be positive, got {self.width}×{self.height}")


@dataclass(frozen=True)
class Result:
    """The outcome of one snapshot job."""

    source: str
    process: str
    stream: int
    """Position of the chosen stream among the video streams (the i of _i_j)."""
    snapshots: tuple[Snapshot, ...]
    warnings: tuple[str, ...] = ()
    decode_errors: int = 0
    """Packets that failed to decode and were skipped."""
    frames_decoded: int = 0
    duration_ms: float | None = None
    """D: end of the last frame, from the stream's own timestamps (None for a cover)."""
    bytes_read: int = 0
    """Bytes the job read from the source, every open counted (the probe's and
    each decoder's): a sparse job on a long file reads a small part of it."""

    def __post_init__(self) -> None:
        # Milliseconds to the microsecond, like every snapshot time: a float sum such
        # as 2300.0000000000005 is arithmetic noise, not information.
        if self.duration_ms is not None:
            object.__setattr__(self, "duration_ms", round(float(self.duration_ms), 3))

    @property
    def paths(self) -> list[str]:
        return [s.path for s in self.snapshots]

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    def to_json(self, **kwargs: object) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, **kwargs)

    def __repr__(self) -> str:
        return (
            f"Result(source={self.source!r}, snapshots={len(self.snapshots)}, "
            f"warnings={len(self.warnings)}, decode_errors={self.decode_errors})"
        )
