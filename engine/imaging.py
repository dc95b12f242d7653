"""From a decoded frame to the arrays the kernels take: rotated RGB, luma, output size.

Rotation (``ar_auto``) is applied first and sizes refer to the rotated frame
(SPEC §3). The display matrix's angle is counter-clockwise (FFmpeg's and
``VideoFrame.rotation``'s convention), as is ``np.rot90``.
"""

from __future__ import annotations

import av
import numpy as np

from engine.params import Request

#: Pixel formats whose first plane is 8-bit luma, usable without conversion.
_LUMA_FORMATS = frozenset({"yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "yuv440p", "nv12", "nv21", "gray"})


def quarter_turns(frame: av.VideoFrame, autorotate: bool) -> int:
    """Counter-clockwise quarter turns that show the frame upright (0 with ``ar_0``)."""
    if not autorotate:
        return 0
    return round((frame.rotation or 0) / 90) % 4


def frame_rgb(frame: av.VideoFrame, turns: int) -> np.ndarray:
    """The frame as displayed, RGB uint8 (a rotated view; no copy for the turn)."""
    options = {}
    if frame.color_range == 2:  # full-range ("JPEG") samples in a limited-range format
        options["src_color_range"] = "JPEG"
    rgb = frame.to_ndarray(format="rgb24", **options)
    return np.rot90(rgb, turns) if turns else rgb


def frame_luma(frame: av.VideoFrame, turns: int) -> np.ndarray:
    """The luma plane as displayed (a view of the decoder's plane where possible)."""
    if frame.format.name in _LUMA_FORMATS:
        plane = frame.planes[0]
        luma = np.frombuffer(plane, dtype=np.uint8).reshape(-1, plane.line_size)[: frame.height, : frame.width]
    else:
        luma = frame.to_ndarray(format="gray")
    return np.rot90(luma, turns) if turns else luma


def output_size(width: int, height: int, request: Request) -> tuple[int, int]:
    """The requested box for a displayed frame of width×height (SPEC §3).

    ``w``/``h`` if given, else ``pw``/``ph`` percent, else the source; a dimension
    given alone keeps the aspect ratio. Percent sizes round half up, at least 1 px.
    """
    box_w = request.width or _percent(width, request.width_percent)
    box_h = request.height or _percent(height, request.height_percent)
    if box_w is None and box_h is None:
        return width, height
    if box_h is None:
        box_h = max(1, _round_half_up(box_w * height / width))
    elif box_w is None:
        box_w = max(1, _round_half_up(box_h * width / height))
    return box_w, box_h


def _percent(size: int, percent: int | None) -> int | None:
    return None if percent is None else max(1, _round_half_up(size * percent / 100))


def _round_half_up(value: float) -> int:
    return int(np.floor(value + 0.5))
