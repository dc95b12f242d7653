"""Scaling a frame into the requested box for the four product scale types.

``layout`` is the pure geometry (what part of the source goes where, at
which size); ``render`` applies it with the antialiased resampler of
:mod:`kernels.resample` (area filter when shrinking, triangle/bilinear when
enlarging); ``render_reference`` does the same with dense float64 matrices.

Scale types, for a source ``src_w x src_h`` and a box ``width x height``:

* ``stretch``: the whole source to exactly ``width x height``.
* ``crop``: scale preserving aspect so the source covers the box and keep
  the centre.  Done by resampling only the centred source window that has
  the box's aspect (fractional edges) straight into a ``width x height``
  output.
* ``fill``: the fitted image (see ``fit``) centred on a black
  ``width x height`` canvas; leftover padding goes right/bottom when odd.
* ``fit``: the whole source scaled preserving aspect to fit inside the box;
  the bound side equals the box side, the other one is the exact value
  rounded half up, at least 1 px.  The output is that size, no padding.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass

import numpy as np

from .resample import axis_weights_reference, resample_into

__all__ = ["SCALE_TYPES", "MAX_SIDE", "Layout", "layout", "render", "render_reference"]

SCALE_TYPES = ("stretch", "crop", "fill", "fit")
# Guards against typo-sized requests turning into multi-GiB allocations.
MAX_SIDE = 1 << 16


@dataclass(frozen=True)
class Layout:
    """Where the source window lands.

    The source window ``[x0, x1) x [y0, y1)`` (source pixels, fractional) is
    resampled to ``content_w x content_h`` and placed at
    ``(offset_x, offset_y)`` on a ``canvas_w x canvas_h`` output; any canvas
    area outside the content is black.
    """

    scaletype: str
    src_w: int
    src_h: int
    x0: float
    y0: float
    x1: float
    y1: float
    content_w: int
    content_h: int
    canvas_w: int
    canvas_h: int
    offset_x: int
    offset_y: int

    def new_canvas(self) -> np.ndarray:
        """The output image to render into: black where the content leaves it bare
        (``fill``'s padding), left uninitialised where the content covers it all."""
        padded = (self.content_w, self.content_h) != (self.canvas_w, self.canvas_h)
        alloc = np.zeros if padded else np.empty
        return alloc((self.canvas_h, self.canvas_w, 3), dtype=np.uint8)


def _check_size(name: str, value) -> int:
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be an int, got {value!r}")
    try:
        value = operator.index(value)
    except TypeError:
        raise ValueError(f"{name} must be an int, got {type(value).__name__}") from None
    if not 1 <= value <= MAX_SIDE:
        raise ValueError(f"{name} must be in [1, {MAX_SIDE}], got {value}")
    return value


def _check_scaletype(scaletype) -> str:
    # Accept the engine's ScaleType enum as well as its string value.
    value = getattr(scaletype, "value", scaletype)
    if not isinstance(value, str) or value not in SCALE_TYPES:
        raise ValueError(f"scaletype must be one of {SCALE_TYPES}, got {scaletype!r}")
    return value


def _round_half_up_ratio(num: int, den: int) -> int:
    return (2 * num + den) // (2 * den)


def _fit_size(src_w: int, src_h: int, width: int, height: int) -> tuple[int, int]:
    # Integer cross-multiplication decides the bound side exactly, so equal
    # aspects never flip sides on float noise.
    if width * src_h <= height * src_w:
        return width, max(1, _round_half_up_ratio(src_h * width, src_w))
    return max(1, _round_half_up_ratio(src_w * height, src_h)), height


def layout(src_w: int, src_h: int, width: int, height: int, scaletype: str) -> Layout:
    """Geometry of ``render`` for a ``src_w x src_h`` source and a box."""
    src_w = _check_size("src_w", src_w)
    src_h = _check_size("src_h", src_h)
    width = _check_size("width", width)
    height = _check_size("height", height)
    kind = _check_scaletype(scaletype)
    x0, y0, x1, y1 = 0.0, 0.0, float(src_w), float(src_h)
    if kind == "stretch":
        cw, ch = width, height
        canvas = (width, height)
        offset = (0, 0)
    elif kind == "crop":
        cw, ch = width, height
        canvas = (width, height)
        offset = (0, 0)
        if width * src_h >= height * src_w:
            # Box relatively wider: full source width, trim top and bottom.
            # y0 = (src_h - height * src_w / width) / 2 with one rounding.
            y0 = (src_h * width - height * src_w) / (2 * width)
            y1 = src_h - y0
        else:
            x0 = (src_w * height - width * src_h) / (2 * height)
            x1 = src_w - x0
    else:
        cw, ch = _fit_size(src_w, src_h, width, height)
        if kind == "fill":
            canvas = (width, height)
            offset = ((width - cw) // 2, (height - ch) // 2)
        else:
            canvas = (cw, ch)
            offset = (0, 0)
    return Layout(
        scaletype=kind, src_w=src_w, src_h=src_h,
        x0=x0, y0=y0, x1=x1, y1=y1,
        content_w=cw, content_h=ch,
        canvas_w=canvas[0], canvas_h=canvas[1],
        offset_x=offset[0], offset_y=offset[1],
    )


def _check_rgb(rgb) -> None:
    if not isinstance(rgb, np.ndarray):
        raise ValueError(f"rgb must be a numpy.ndarray, got {type(rgb).__name__}")
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"rgb must have shape (height, width, 3), got {rgb.shape}")
    if rgb.dtype != np.uint8:
        raise ValueError(f"rgb must have dtype uint8, got {rgb.dtype}")
    if rgb.shape[0] < 1 or rgb.shape[1] < 1:
        raise ValueError(f"rgb must not be empty, got shape {rgb.shape}")


def _prepare(rgb, width, height, scaletype):
    _check_rgb(rgb)
    lay = layout(rgb.shape[1], rgb.shape[0], width, height, scaletype)
    out = lay.new_canvas()
    content = out[
        lay.offset_y:lay.offset_y + lay.content_h,
        lay.offset_x:lay.offset_x + lay.content_w,
    ]
    return lay, out, content


def render(rgb: np.ndarray, width: int, height: int, scaletype: str) -> np.ndarray:
    """Scale an (H, W, 3) uint8 frame (any strides) into the box.

    Returns a new C-contiguous (h_out, w_out, 3) uint8 array; see the module
    docstring for the scale types and :func:`layout` for the geometry.
    Raises ValueError naming the bad argument.
    """
    lay, out, content = _prepare(rgb, width, height, scaletype)
    resample_into(rgb, content, (lay.y0, lay.y1), (lay.x0, lay.x1))
    return out


def render_reference(rgb: np.ndarray, width: int, height: int, scaletype: str) -> np.ndarray:
    """Plain NumPy ``render`` (dense float64 ``Wy @ img @ Wx.T``; for tests)."""
    lay, out, content = _prepare(rgb, width, height, scaletype)
    wy = axis_weights_reference(lay.src_h, lay.y0, lay.y1, lay.content_h)
    wx = axis_weights_reference(lay.src_w, lay.x0, lay.x1, lay.content_w)
    for ch in range(3):
        plane = wy @ rgb[:, :, ch].astype(np.float64) @ wx.T
        content[:, :, ch] = np.clip(np.floor(plane + 0.5), 0, 255).astype(np.uint8)
    return out
