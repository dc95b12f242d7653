"""The ground truth of each sample, read by an independent oracle.

The oracle decodes every frame of a sample with a plain PyAV loop (no seeking, no
engine code) and reads the barcode each frame carries. End-to-end tests compare
the engine's output images, read back the same way, with the frame the contract
names computed from this truth in exact fractions.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from sample_media.barcode import read_barcode, read_barcode_turned
from sample_media.catalog import SAMPLES

SAMPLE_DIR = Path(__file__).resolve().parent.parent / "sample_media"


@dataclass(frozen=True)
class FrameTruth:
    seconds: Fraction
    """Presentation time from the first frame (time 0)."""
    index: int
    """The barcode the frame carries."""
    keyframe: bool
    luma: np.ndarray
    """The displayed (rotated) luma plane, for dhash oracles."""


@dataclass(frozen=True)
class SampleTruth:
    name: str
    frames: tuple[FrameTruth, ...]
    end: Fraction
    """D: end of the last frame, from time 0."""
    rotation_turns: int

    def at(self, ms: Fraction | int | float) -> FrameTruth:
        """The frame a player shows at ``ms``: the last with time ≤ ms."""
        t = Fraction(ms) / 1000
        shown = [f for f in self.frames if f.seconds <= t]
        return shown[-1]

    def indices(self) -> list[int]:
        return [f.index for f in self.frames]


@functools.cache
def truth(name: str) -> SampleTruth:
    path = str(SAMPLE_DIR / name)
    with av.open(path) as container:
        stream = container.streams.video[0]
        time_base = Fraction(stream.time_base)
        rows = []
        for frame in container.decode(stream):
            turns = round((frame.rotation or 0) / 90) % 4
            coded = frame.to_ndarray(format="rgb24")
            index = read_barcode(coded)
            assert index is not None, f"{name}: frame pts {frame.pts} has no readable barcode"
            luma = np.frombuffer(frame.planes[0], np.uint8).reshape(-1, frame.planes[0].line_size)
            luma = np.rot90(luma[: frame.height, : frame.width], turns).copy()
            rows.append((frame.pts, index, bool(frame.key_frame), luma, frame.duration, turns))
    rows.sort(key=lambda r: r[0])
    first = rows[0][0]
    frames = tuple(FrameTruth((pts - first) * time_base, index, key, luma) for pts, index, key, luma, _, _ in rows)
    last_duration = rows[-1][4] or (rows[-1][0] - rows[-2][0])
    end = (rows[-1][0] + last_duration - first) * time_base
    return SampleTruth(name, frames, end, rows[0][5])


def read_image(path: str | os.PathLike[str], turns: int = 0) -> np.ndarray:
    """An output image as RGB, turned back by ``turns`` counter-clockwise quarter turns."""
    bgr = cv2.imread(os.fspath(path), cv2.IMREAD_COLOR)
    assert bgr is not None, f"{path}: not a readable image"
    rgb = np.ascontiguousarray(bgr[:, :, ::-1])
    return np.ascontiguousarray(np.rot90(rgb, -turns)) if turns else rgb


def frame_index_of(path: str | os.PathLike[str], turns: int = 0) -> int | None:
    """Which source frame an output image shows (its barcode)."""
    return read_barcode(read_image(path, turns))


def barcode_turns(path: str | os.PathLike[str]) -> int | None:
    """How an output image shows the coded frame turned: counter-clockwise quarter turns."""
    found = read_barcode_turned(read_image(path))
    return None if found is None else found[1]


def leftovers(folder: Path) -> list[str]:
    """Temporary files a job must never leave behind."""
    return sorted(str(p) for p in folder.rglob("*") if p.name.endswith(".part"))
