"""Fused YUV planes -> scaled RGB: resample first, convert colours after.

``render_yuv`` takes the decoder's three 8-bit planes (Y, U = Cb, V = Cr)
and produces exactly what ``render`` would make of the full-size RGB frame,
without ever building that frame:

1. Each plane is resampled straight onto the output grid with the filters of
   :mod:`kernels.resample` (area when shrinking, triangle/bilinear when
   enlarging, per axis).  The luma plane uses the :func:`~kernels.scale.layout`
   source window as is; a chroma plane subsampled by ``f`` along an axis uses
   that window divided by ``f``.  That is the **centre-sited** reading of
   chroma: chroma sample ``j`` covers luma pixels ``[f*j, f*j + f)`` (2x2 for
   4:2:0, 2x1 for 4:2:2), so its centre is the centre of that block.
2. The three resampled values of each output pixel are converted to RGB
   (float32), rounded half up and clipped to 0..255, and written into the
   (black-padded, for ``fill``) canvas.

The colour conversion is affine, so resampling before converting equals
converting before resampling except for the final rounding and clipping.
Clipping happens once, at output resolution (out-of-gamut YUV is averaged
before it is clipped, as a float RGB pipeline would do).

Subsampling is inferred per axis from the plane shapes: a chroma side equals
the luma side (factor 1) or ``ceil(luma / 2)`` (factor 2).  Rotation by
``np.rot90`` applied to all three planes therefore just works, including a
rotated 4:2:2 frame whose subsampled axis becomes the vertical one.

Colour matrices use the standard luma coefficients (Kr, Kb): BT.601
(0.299, 0.114), BT.709 (0.2126, 0.0722), BT.2020 non-constant luminance
(0.2627, 0.0593).  ``full_range=False`` is limited ("MPEG", "tv") range:
Y 16..235 and C 16..240 map to 0..255 and -0.5..0.5; ``full_range=True``
is full ("JPEG", "pc") range: Y 0..255, C 0..255 centred on 128.

``render_yuv_reference`` is the plain NumPy version used by the tests:
chroma upsampled to luma size (dense triangle weights, same centre-siting),
converted to RGB in float64 at full resolution, then resampled like
``render_reference`` (without rounding the intermediate full-size image).
For 4:4:4 the two agree to float rounding.  For subsampled chroma they
filter chroma differently (one resampling from the chroma grid vs. bilinear
to the luma grid then resampling, which blurs a little more and clamps at
the image edge half a chroma sample earlier), so they agree only where
chroma is smooth; exact chroma geometry is checked separately (area-filter
shrinks equal 4:4:4 with replicated chroma).

Chroma siting is centre (MPEG-1/JPEG).  H.264/HEVC streams that do not
signal it are "left" sited (MPEG-2); the half-luma-pixel horizontal
difference only shows on sharp chroma edges.
"""

from __future__ import annotations

import functools

import numpy as np

from . import native
from ._views import ascending, flat_bytes
from .resample import axis_taps, axis_weights_reference
from .scale import layout
from ._checks import check_plane

__all__ = ["MATRICES", "render_yuv", "render_yuv_reference", "yuv_to_rgb_coefficients"]

# Luma coefficients (Kr, Kb) of the supported matrices.
MATRICES = {
    "bt601": (0.299, 0.114),
    "bt709": (0.2126, 0.0722),
    "bt2020": (0.2627, 0.0593),
}


# --------------------------------------------------------------------------
# argument checks and colour maths


def _factor(name: str, luma_len: int, chroma_len: int, axis: str) -> int:
    if chroma_len == luma_len:
        return 1
    if chroma_len == (luma_len + 1) // 2:
        return 2
    raise ValueError(
        f"{name} {axis} {chroma_len} is neither the luma {axis} {luma_len} "
        f"nor ceil({luma_len} / 2)"
    )


def _check_planes(y, u, v) -> tuple[int, int]:
    """Validate the planes; return the chroma factors ``(fy, fx)``."""
    check_plane("y", y)
    check_plane("u", u)
    check_plane("v", v)
    if v.shape != u.shape:
        raise ValueError(f"v must have the shape of u {u.shape}, got {v.shape}")
    fy = _factor("u", y.shape[0], u.shape[0], "height")
    fx = _factor("u", y.shape[1], u.shape[1], "width")
    return fy, fx


def _check_colour(matrix, full_range) -> None:
    if not isinstance(matrix, str) or matrix not in MATRICES:
        raise ValueError(f"matrix must be one of {tuple(MATRICES)}, got {matrix!r}")
    if not isinstance(full_range, (bool, np.bool_)):
        raise ValueError(f"full_range must be a bool, got {full_range!r}")


def yuv_to_rgb_coefficients(matrix: str = "bt601", full_range: bool = False) -> np.ndarray:
    """The affine YCbCr -> RGB map as a float64 (3, 4) matrix.

    ``rgb = M[:, :3] @ (Y, Cb, Cr) + M[:, 3]`` for 8-bit code values.
    Raises ValueError naming ``matrix`` or ``full_range``.
    """
    _check_colour(matrix, full_range)
    kr, kb = MATRICES[matrix]
    kg = 1.0 - kr - kb
    if full_range:
        y_scale, y_off, c_scale = 1.0, 0.0, 1.0
    else:
        y_scale, y_off, c_scale = 255.0 / 219.0, 16.0, 255.0 / 224.0
    # R = Y' + 2(1-Kr) Cr';  B = Y' + 2(1-Kb) Cb';
    # G = Y' - 2 Kb (1-Kb) / Kg Cb' - 2 Kr (1-Kr) / Kg Cr'
    cr_r = 2.0 * (1.0 - kr) * c_scale
    cb_b = 2.0 * (1.0 - kb) * c_scale
    cb_g = -2.0 * kb * (1.0 - kb) / kg * c_scale
    cr_g = -2.0 * kr * (1.0 - kr) / kg * c_scale
    m = np.array(
        [
            [y_scale, 0.0, cr_r],
            [y_scale, cb_g, cr_g],
            [y_scale, cb_b, 0.0],
        ]
    )
    offset = -(m @ np.array([y_off, 128.0, 128.0]))
    return np.concatenate([m, offset[:, None]], axis=1)


# --------------------------------------------------------------------------
# wrappers


def _oriented(plane: np.ndarray, transpose: bool):
    """``plane`` with non-negative strides, optionally transposed, and which
    axes (of ``plane``) were flipped to get there."""
    view, flip0, flip1 = ascending(plane)
    return (view.T if transpose else view), flip0, flip1


def _match_signs(plane: np.ndarray, like: np.ndarray) -> np.ndarray:
    """``plane`` with the stride signs of ``like`` (copies only if they differ)."""
    flip = tuple((a < 0) != (b < 0) for a, b in zip(plane.strides, like.strides))
    if not any(flip):
        return plane
    copy = np.empty(plane.shape, np.uint8)
    view = copy[tuple(slice(None, None, -1) if s < 0 else slice(None) for s in like.strides)]
    view[...] = plane
    return view


# Frames of a video share their geometry, and computing taps costs about a
# third of applying them, so the kernel's tap arguments are kept per geometry.
@functools.lru_cache(maxsize=128)
def _plane_taps(lay, fy: int, fx: int, shape, flip0: bool, flip1: bool, transpose: bool):
    """The kernel's tap arguments for a plane subsampled by (fy, fx) and
    oriented by :func:`_oriented`: vertical (start, count, weights), then
    horizontal (start relative to the span, weights, span start, span length)."""
    v = axis_taps(shape[0], lay.y0 / fy, lay.y1 / fy, lay.content_h, flip0)
    h = axis_taps(shape[1], lay.x0 / fx, lay.x1 / fx, lay.content_w, flip1)
    if transpose:
        v, h = h, v
    h_start, h_count, h_w = h
    lo = int(h_start.min())
    span = int((h_start + h_count).max()) - lo
    relative = h_start - lo
    relative.flags.writeable = False
    return (*v, relative, h_w, lo, span)


@functools.lru_cache(maxsize=16)
def _kernel_coefficients(matrix: str, full_range: bool) -> np.ndarray:
    """The 8 non-trivial entries of the colour matrix, in the kernel's order."""
    m = yuv_to_rgb_coefficients(matrix, full_range)
    coef = np.array(
        [m[0, 0], m[0, 2], m[0, 3], m[1, 1], m[1, 2], m[1, 3], m[2, 1], m[2, 3]],
        dtype=np.float32,
    )
    coef.flags.writeable = False
    return coef


def render_yuv(
    y: np.ndarray,
    u: np.ndarray,
    v: np.ndarray,
    width: int,
    height: int,
    scaletype: str,
    *,
    matrix: str = "bt601",
    full_range: bool = False,
) -> np.ndarray:
    """Scale 8-bit Y/U/V planes (any strides) into the box as RGB.

    ``y`` is (H, W); ``u`` and ``v`` are (H, W), (ceil(H/2), W),
    (H, ceil(W/2)) or (ceil(H/2), ceil(W/2)) (4:4:4, 4:4:0-like, 4:2:2,
    4:2:0), inferred from the shapes.  Geometry, filters and rounding are
    those of :func:`~kernels.scale.render` for a W x H frame.  Returns a new
    C-contiguous (h_out, w_out, 3) uint8 RGB array.  Raises ValueError
    naming the bad argument.
    """
    fy, fx = _check_planes(y, u, v)
    _check_colour(matrix, full_range)  # before the cache sees them
    coef = _kernel_coefficients(matrix, bool(full_range))
    lay = layout(y.shape[1], y.shape[0], width, height, scaletype)
    out = lay.new_canvas()

    # The vertical pass streams along the kernel's rows; for column-major
    # planes (np.rot90 views) the kernel walks the output's columns instead.
    transpose = abs(y.strides[0]) < abs(y.strides[1])
    y_view, *y_flips = _oriented(y, transpose)
    # Both chroma planes share their taps, so v gets u's stride signs.
    v = _match_signs(v, u)
    u_view, *c_flips = _oriented(u, transpose)
    v_view, _, _ = _oriented(v, transpose)
    row_px = lay.canvas_w * 3
    o_base = lay.offset_y * row_px + lay.offset_x * 3
    o_s0, o_s1 = (3, row_px) if transpose else (row_px, 3)
    native.kernel("render_yuv_planes")(
        *flat_bytes(y_view), *_plane_taps(lay, 1, 1, y.shape, *y_flips, transpose),
        *flat_bytes(u_view), *flat_bytes(v_view), *_plane_taps(lay, fy, fx, u.shape, *c_flips, transpose),
        coef, out.reshape(-1), o_base, o_s0, o_s1,
    )
    return out


def render_yuv_reference(
    y: np.ndarray,
    u: np.ndarray,
    v: np.ndarray,
    width: int,
    height: int,
    scaletype: str,
    *,
    matrix: str = "bt601",
    full_range: bool = False,
) -> np.ndarray:
    """Plain NumPy ``render_yuv`` (upsample chroma, convert, resample; for tests).

    Chroma is upsampled to luma size with dense triangle weights over the
    centre-sited window ``[0, L / f)`` (each chroma sample covers ``f`` luma
    pixels), the full-size YCbCr image is converted to RGB in float64, and
    that is resampled with the dense weights of ``render_reference``; only
    the output is rounded half up and clipped.
    """
    fy, fx = _check_planes(y, u, v)
    m = yuv_to_rgb_coefficients(matrix, full_range)
    lay = layout(y.shape[1], y.shape[0], width, height, scaletype)
    out = lay.new_canvas()
    h, w = y.shape

    def upsample(plane):
        up_y = axis_weights_reference(plane.shape[0], 0.0, h / fy, h)
        up_x = axis_weights_reference(plane.shape[1], 0.0, w / fx, w)
        return up_y @ plane.astype(np.float64) @ up_x.T

    ycc = np.stack([y.astype(np.float64), upsample(u), upsample(v)], axis=-1)
    rgb = ycc @ m[:, :3].T + m[:, 3]
    wy = axis_weights_reference(h, lay.y0, lay.y1, lay.content_h)
    wx = axis_weights_reference(w, lay.x0, lay.x1, lay.content_w)
    content = out[
        lay.offset_y:lay.offset_y + lay.content_h,
        lay.offset_x:lay.offset_x + lay.content_w,
    ]
    for c in range(3):
        plane = wy @ rgb[:, :, c] @ wx.T
        content[:, :, c] = np.clip(np.floor(plane + 0.5), 0, 255).astype(np.uint8)
    return out
