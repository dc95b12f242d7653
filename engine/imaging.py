"""From a decoded frame to the arrays the kernels take: rotated RGB, luma, output size.

Rotation (``ar_auto``) is applied first and sizes refer to the rotated frame
(SPEC §3). The display matrix's angle is counter-clockwise (FFmpeg's and
``VideoFrame.rotation``'s convention), as is ``np.rot90``.
"""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np

import kernels
from engine.limits import check_image
from engine.params import Request

#: Pixel formats whose first plane is 8-bit luma, usable without conversion.
_LUMA_FORMATS = frozenset({"yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "yuv440p", "nv12", "nv21", "gray"})
#: Three-plane 8-bit formats the fused YUV kernel reads directly.
_PLANAR_YUV = frozenset({"yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "yuv440p", "yuvj440p"})
#: FFmpeg colorspace (AVColorSpace) -> matrix; anything else (unspecified) is
#: BT.601, as swscale assumes.
_MATRICES = {1: "bt709", 5: "bt601", 6: "bt601", 9: "bt2020", 10: "bt2020"}


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
    luma = _plane(frame, 0) if frame.format.name in _LUMA_FORMATS else frame.to_ndarray(format="gray")
    return np.rot90(luma, turns) if turns else luma


def render_frame(frame: av.VideoFrame, turns: int, request: Request) -> np.ndarray:
    """The frame as displayed, at the request's size and scale type, RGB uint8.

    Planar 8-bit YUV goes straight from the decoder's planes to the output size
    (``kernels.render_yuv``: no full-size RGB frame); other formats, and frames
    kept at their own size, go through swscale's RGB conversion.
    """
    width, height = (frame.height, frame.width) if turns % 2 else (frame.width, frame.height)
    box_w, box_h = output_size(width, height, request)
    # Checked before decoding too; here for streams whose frame size changes midway.
    check_image(width, height, request)
    if (box_w, box_h) == (width, height):
        return frame_rgb(frame, turns)
    scaletype = request.scaletype.value
    if frame.format.name not in _PLANAR_YUV:
        return kernels.render(frame_rgb(frame, turns), box_w, box_h, scaletype)
    y, u, v = (np.rot90(_plane(frame, i), turns) for i in range(3))
    full_range = frame.color_range == 2 or frame.format.name.startswith("yuvj")
    matrix = _MATRICES.get(int(frame.colorspace or 0), "bt601")
    return kernels.render_yuv(y, u, v, box_w, box_h, scaletype, matrix=matrix, full_range=full_range)


def _plane(frame: av.VideoFrame, index: int) -> np.ndarray:
    """A view of one 8-bit plane of the decoded frame, without its row padding."""
    plane = frame.planes[index]
    rows = np.frombuffer(plane, dtype=np.uint8).reshape(-1, plane.line_size)
    return rows[: plane.height, : plane.width]


def output_size(width: int, height: int, request: Request) -> tuple[int, int]:
    """The requested box for a displayed frame of width×height (SPEC §3).

    ``w``/``h`` if given, else ``pw``/``ph`` percent, else the source; a dimension
    given alone keeps the aspect ratio, scaled by the same exact factor as the
    given one (``ph_10`` is 10 % of both). Sizes round half up, at least 1 px.
    """
    scale_x = _scale(width, request.width, request.width_percent)
    scale_y = _scale(height, request.height, request.height_percent)
    if scale_x is None and scale_y is None:
        return width, height
    scale_x = scale_y if scale_x is None else scale_x
    scale_y = scale_x if scale_y is None else scale_y
    return _scaled(width, scale_x), _scaled(height, scale_y)


def _scale(size: int, pixels: int | None, percent: int | None) -> Fraction | None:
    if pixels is not None:
        return Fraction(pixels, size)
    return None if percent is None else Fraction(percent, 100)


def _scaled(size: int, scale: Fraction) -> int:
    # Round half up, exactly: floor(size·scale + ½).
    return max(1, int(size * scale + Fraction(1, 2)))
