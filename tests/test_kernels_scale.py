"""Scale geometry (layout) and the resampling kernel (render)."""

from __future__ import annotations

import itertools
import math

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from kernels import MAX_SIDE, SCALE_TYPES, Layout, layout, render, render_reference
from kernels.resample import axis_taps, axis_weights_reference
from tests.naive import requires_jit, strided_variants


def random_rgb(h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def max_abs_diff(a: np.ndarray, b: np.ndarray) -> int:
    assert a.shape == b.shape
    return int(np.abs(a.astype(np.int16) - b.astype(np.int16)).max(initial=0))


# --------------------------------------------------------------------------
# layout: pure geometry


def check_layout_invariants(lay: Layout, sw: int, sh: int, w: int, h: int, kind: str) -> None:
    assert (lay.src_w, lay.src_h, lay.scaletype) == (sw, sh, kind)
    # The content always lies inside the canvas.
    assert lay.content_w >= 1 and lay.content_h >= 1
    assert 0 <= lay.offset_x and lay.offset_x + lay.content_w <= lay.canvas_w
    assert 0 <= lay.offset_y and lay.offset_y + lay.content_h <= lay.canvas_h
    # The source window lies inside the source and is not empty.
    assert 0.0 <= lay.x0 < lay.x1 <= sw
    assert 0.0 <= lay.y0 < lay.y1 <= sh
    if kind in ("stretch", "crop", "fill"):
        assert (lay.canvas_w, lay.canvas_h) == (w, h)
    if kind in ("stretch", "crop"):
        assert (lay.content_w, lay.content_h) == (w, h)
        assert (lay.offset_x, lay.offset_y) == (0, 0)
    if kind in ("stretch", "fit", "fill"):
        assert (lay.x0, lay.y0, lay.x1, lay.y1) == (0.0, 0.0, sw, sh)
    if kind == "crop":
        # Centred window with the box's aspect, touching two source edges.
        assert lay.x0 + lay.x1 == pytest.approx(sw, rel=1e-12)
        assert lay.y0 + lay.y1 == pytest.approx(sh, rel=1e-12)
        ww, wh = lay.x1 - lay.x0, lay.y1 - lay.y0
        # Absolute tolerance in source px: a window a fraction of a pixel
        # tall at offset ~src_h carries float64 cancellation of ~1e-13 px.
        if ww == sw:
            assert wh == pytest.approx(ww * h / w, rel=1e-9, abs=1e-9)
        else:
            assert wh == sh
            assert ww == pytest.approx(wh * w / h, rel=1e-9, abs=1e-9)
        assert ww == pytest.approx(sw, rel=1e-12) or wh == pytest.approx(sh, rel=1e-12)
    if kind in ("fit", "fill"):
        cw, ch = lay.content_w, lay.content_h
        assert cw <= w and ch <= h
        # The side whose scale factor is smaller is bound to the box; the
        # other is the exact value rounded half up, at least 1 px, so the
        # aspect is kept within 1/2 px.
        if w * sh <= h * sw:
            exact, bound, other = sh * w / sw, cw == w, ch
        else:
            exact, bound, other = sw * h / sh, ch == h, cw
        assert bound
        assert other == max(1, math.floor(exact + 0.5))
        assert abs(other - exact) <= 0.5 or other == 1
    if kind == "fit":
        assert (lay.canvas_w, lay.canvas_h) == (lay.content_w, lay.content_h)
        assert (lay.offset_x, lay.offset_y) == (0, 0)
    if kind == "fill":
        # Centred: the two margins differ by at most one pixel, extra on the
        # right/bottom.
        right = lay.canvas_w - lay.content_w - lay.offset_x
        bottom = lay.canvas_h - lay.content_h - lay.offset_y
        assert right - lay.offset_x in (0, 1)
        assert bottom - lay.offset_y in (0, 1)


def test_layout_exhaustive_small():
    sizes = range(1, 10)
    for sw, sh, w, h in itertools.product(sizes, repeat=4):
        for kind in SCALE_TYPES:
            check_layout_invariants(layout(sw, sh, w, h, kind), sw, sh, w, h, kind)


@settings(max_examples=500, deadline=None)
@given(
    sw=st.integers(1, MAX_SIDE), sh=st.integers(1, MAX_SIDE),
    w=st.integers(1, MAX_SIDE), h=st.integers(1, MAX_SIDE),
    kind=st.sampled_from(SCALE_TYPES),
)
def test_layout_hypothesis(sw, sh, w, h, kind):
    check_layout_invariants(layout(sw, sh, w, h, kind), sw, sh, w, h, kind)


def test_layout_known_values():
    lay = layout(1920, 1080, 512, 512, "crop")
    assert (lay.x0, lay.y0, lay.x1, lay.y1) == (420.0, 0.0, 1500.0, 1080.0)
    lay = layout(1920, 1080, 640, 640, "fit")
    assert (lay.canvas_w, lay.canvas_h) == (640, 360)
    lay = layout(1920, 1080, 512, 512, "fill")
    assert (lay.content_w, lay.content_h, lay.offset_x, lay.offset_y) == (512, 288, 0, 112)
    lay = layout(1080, 1920, 512, 512, "crop")
    assert (lay.x0, lay.y0, lay.x1, lay.y1) == (0.0, 420.0, 1080.0, 1500.0)
    # 1.5 rounds up, 0.25 is clamped to 1 px, 4/3 rounds down.
    assert layout(4, 2, 3, 3, "fit").content_h == 2
    tiny = layout(4, 1, 1, 1, "fit")
    assert (tiny.content_w, tiny.content_h) == (1, 1)
    assert layout(3, 2, 2, 2, "fit").content_h == 1
    # Equal aspect: exact size whichever way the bound side is chosen.
    same = layout(1280, 720, 640, 360, "fit")
    assert (same.canvas_w, same.canvas_h) == (640, 360)
    assert layout(1280, 720, 640, 360, "crop").x0 == 0.0
    assert layout(1280, 720, 640, 360, "crop").y0 == 0.0


def test_layout_is_frozen_and_accepts_enum_like():
    lay = layout(10, 10, 5, 5, "fit")
    with pytest.raises(AttributeError):
        lay.x0 = 1.0  # type: ignore[misc]

    class Kind:
        value = "crop"

    assert layout(10, 20, 5, 5, Kind()).scaletype == "crop"
    assert layout(np.int64(10), np.int32(20), 5, 5, "fill").src_w == 10


@pytest.mark.parametrize(
    ("args", "name"),
    [
        ((0, 10, 5, 5, "fit"), "src_w"),
        ((10, -1, 5, 5, "fit"), "src_h"),
        ((10, 10, 0, 5, "fit"), "width"),
        ((10, 10, 5, 0, "fit"), "height"),
        ((10, 10, 5.0, 5, "fit"), "width"),
        ((10, 10, True, 5, "fit"), "width"),
        ((10, 10, 5, MAX_SIDE + 1, "fit"), "height"),
        ((10, 10, 5, "5", "fit"), "height"),
        ((10, 10, 5, 5, "zoom"), "scaletype"),
        ((10, 10, 5, 5, None), "scaletype"),
        ((10, 10, 5, 5, "FIT"), "scaletype"),
    ],
)
def test_layout_invalid(args, name):
    with pytest.raises(ValueError, match=name):
        layout(*args)


# --------------------------------------------------------------------------
# filter weights


@settings(max_examples=300, deadline=None)
@given(
    src=st.integers(1, 60), n_out=st.integers(1, 80),
    a=st.floats(0, 1), b=st.floats(0, 1),
)
def test_taps_match_dense_weights(src, n_out, a, b):
    lo, hi = sorted((a * src, b * src))
    if hi - lo < 1e-3:
        return
    start, count, w = axis_taps(src, lo, hi, n_out)
    dense = np.zeros((n_out, src))
    for i in range(n_out):
        assert 0 <= start[i] and start[i] + count[i] <= src
        dense[i, start[i]:start[i] + count[i]] = w[i, :count[i]]
    assert np.all(w >= 0)
    np.testing.assert_allclose(dense, axis_weights_reference(src, lo, hi, n_out), atol=1e-6)


def test_box_and_triangle_agree_at_unit_scale():
    # Shifted 1:1 window: the area rule and the triangle rule both reduce to
    # linear interpolation, so switching filters at s == 1 is seamless.
    w = axis_weights_reference(10, 0.25, 8.25, 8)
    np.testing.assert_allclose(w[0, :2], [0.75, 0.25])
    up = axis_weights_reference(10, 0.25, 8.25, 8 + 1)  # slightly < 1: triangle
    assert np.all(up >= 0)


# --------------------------------------------------------------------------
# render vs render_reference

BOXES = [(20, 11), (64, 64), (100, 71), (53, 37), (7, 90), (1, 1), (150, 20), (211, 163)]


@pytest.mark.parametrize("kind", SCALE_TYPES)
@pytest.mark.parametrize("box", BOXES)
@pytest.mark.parametrize("src_shape", [(37, 53), (53, 37), (1, 1), (2, 9), (80, 80)])
def test_render_matches_reference(kind, box, src_shape):
    img = random_rgb(*src_shape, seed=sum(box) + src_shape[0])
    out = render(img, box[0], box[1], kind)
    ref = render_reference(img, box[0], box[1], kind)
    lay = layout(src_shape[1], src_shape[0], box[0], box[1], kind)
    assert out.shape == (lay.canvas_h, lay.canvas_w, 3)
    assert out.dtype == np.uint8 and out.flags.c_contiguous
    assert max_abs_diff(out, ref) <= 1


@pytest.mark.parametrize("kind", SCALE_TYPES)
@pytest.mark.parametrize("box", [(31, 17), (64, 64), (120, 35)])
def test_render_any_strides(kind, box):
    img = random_rgb(45, 61, seed=5)
    for name, (view, same) in strided_variants(img).items():
        out = render(view, box[0], box[1], kind)
        assert out.flags.c_contiguous, name
        assert max_abs_diff(out, render_reference(same, box[0], box[1], kind)) <= 1, name
        # Column-major views run the passes in the other order (for cache
        # locality), so float32 rounding may differ by one level.
        assert max_abs_diff(out, render(same, box[0], box[1], kind)) <= 1, name


def test_render_broadcast_input():
    px = np.broadcast_to(np.array([10, 200, 30], np.uint8), (40, 50, 3))
    out = render(px, 17, 9, "crop")
    assert np.all(out == [10, 200, 30])
    ramp = np.broadcast_to(np.arange(50, dtype=np.uint8)[None, :, None], (40, 50, 3))
    assert max_abs_diff(render(ramp, 23, 7, "stretch"),
                        render_reference(np.ascontiguousarray(ramp), 23, 7, "stretch")) <= 1


@requires_jit
@pytest.mark.parametrize(
    ("box", "kind"),
    [((512, 512), "crop"), ((640, 360), "stretch"), ((333, 333), "fill"),
     ((1000, 1000), "fit"), ((300, 700), "crop")],
)
def test_render_full_hd(box, kind):
    img = random_rgb(1080, 1920, seed=11)
    assert max_abs_diff(render(img, *box, kind), render_reference(img, *box, kind)) <= 1
    rot = np.rot90(img)
    assert max_abs_diff(render(rot, *box, kind), render_reference(rot, *box, kind)) <= 1


@requires_jit
def test_render_upscale_small_source():
    # Both axes enlarged (x12.8, x2.2); the height is kept modest because the
    # dense reference costs O(out * src) per axis.
    img = random_rgb(180, 320, seed=2)
    out = render(img, 4096, 400, "stretch")
    assert max_abs_diff(out, render_reference(img, 4096, 400, "stretch")) <= 1


@settings(max_examples=200, deadline=None)
@given(
    img=arrays(np.uint8, st.tuples(st.integers(1, 24), st.integers(1, 24), st.just(3)),
               elements=st.integers(0, 255)),
    w=st.integers(1, 40), h=st.integers(1, 40),
    kind=st.sampled_from(SCALE_TYPES), k=st.integers(0, 3), bgr=st.booleans(),
)
def test_render_hypothesis(img, w, h, kind, k, bgr):
    view = np.rot90(img, k)
    if bgr:
        view = view[:, :, ::-1]
    out = render(view, w, h, kind)
    lay = layout(view.shape[1], view.shape[0], w, h, kind)
    assert out.shape == (lay.canvas_h, lay.canvas_w, 3) and out.flags.c_contiguous
    assert max_abs_diff(out, render_reference(view, w, h, kind)) <= 1


# --------------------------------------------------------------------------
# filter behaviour


@pytest.mark.parametrize("kind", SCALE_TYPES)
@pytest.mark.parametrize("box", [(7, 5), (64, 48), (300, 41), (1, 1), (500, 500)])
@pytest.mark.parametrize("colour", [(0, 0, 0), (255, 255, 255), (17, 128, 254), (1, 2, 3)])
def test_constant_colour_stays_exact(kind, box, colour):
    img = np.empty((45, 77, 3), np.uint8)
    img[:] = colour
    out = render(img, box[0], box[1], kind)
    lay = layout(77, 45, box[0], box[1], kind)
    content = out[lay.offset_y:lay.offset_y + lay.content_h,
                  lay.offset_x:lay.offset_x + lay.content_w]
    assert np.all(content == colour)
    outside = np.ones(out.shape[:2], bool)
    outside[lay.offset_y:lay.offset_y + lay.content_h,
            lay.offset_x:lay.offset_x + lay.content_w] = False
    assert np.all(out[outside] == 0)


@pytest.mark.parametrize("src_w", [320, 1000])
@pytest.mark.parametrize("out_w", [37, 320, 333, 1024, 4096])
def test_ramp_stays_monotonic(src_w, out_w):
    ramp = np.linspace(0, 255, src_w).round().astype(np.uint8)
    img = np.repeat(np.tile(ramp[None, :, None], (6, 1, 1)), 3, axis=2)
    out = render(img, out_w, 4, "stretch")
    row = out[0, :, 0].astype(int)
    assert np.all(np.diff(row) >= 0)
    assert np.all(out == out[:1, :, :1])  # rows and channels identical
    if out_w > src_w:
        # Interpolated, not blocky: no step bigger than the source's own.
        assert np.diff(row).max() <= np.diff(ramp.astype(int)).max() + 1


def test_upscale_is_smooth_not_blocky():
    # 320 -> 4096 (x12.8): nearest-neighbour would repeat each pixel ~13
    # times; bilinear ramps between them.
    img = np.zeros((2, 320, 3), np.uint8)
    img[:, 160:] = 255
    out = render(img, 4096, 2, "stretch")[0, :, 0].astype(int)
    intermediate = np.count_nonzero((out > 0) & (out < 255))
    assert 10 <= intermediate <= 16


@pytest.mark.parametrize(
    ("src", "dst"),
    [pytest.param((1080, 1920), (640, 360), marks=requires_jit),
     ((700, 1000), (333, 211)), ((701, 999), (100, 77)),
     ((480, 640), (639, 479))],
)
def test_downscale_matches_cv2_inter_area(src, dst):
    img = random_rgb(*src, seed=4)
    ours = render(img, dst[0], dst[1], "stretch")
    cv = cv2.resize(img, dst, interpolation=cv2.INTER_AREA)
    diff = np.abs(ours.astype(int) - cv)
    assert diff.mean() <= 0.05 and diff.max() <= 1


def test_crop_matches_cv2_resize_then_crop_on_smooth_image():
    # Integer geometry (540 -> 270 is exactly /2), so resize-then-crop and
    # resampling the centred window must agree.
    y, x = np.mgrid[0:540, 0:1080].astype(np.float64)
    plane = (128 + 100 * np.sin(x / 53) * np.cos(y / 41)).astype(np.uint8)
    img = np.ascontiguousarray(np.stack([plane, plane[::-1], 255 - plane], axis=2))
    ours = render(img, 270, 270, "crop")
    full = cv2.resize(img, (540, 270), interpolation=cv2.INTER_AREA)
    assert np.abs(ours.astype(int) - full[:, 135:405]).mean() <= 0.05


# --------------------------------------------------------------------------
# argument validation


@pytest.mark.parametrize(
    ("rgb", "args", "name"),
    [
        ([[[0, 0, 0]]], (4, 4, "fit"), "rgb"),
        (np.zeros((4, 4), np.uint8), (4, 4, "fit"), "rgb"),
        (np.zeros((4, 4, 4), np.uint8), (4, 4, "fit"), "rgb"),
        (np.zeros((4, 4, 3), np.float32), (4, 4, "fit"), "rgb"),
        (np.zeros((0, 4, 3), np.uint8), (4, 4, "fit"), "rgb"),
        (np.zeros((4, 4, 3), np.uint8), (0, 4, "fit"), "width"),
        (np.zeros((4, 4, 3), np.uint8), (4, -2, "fit"), "height"),
        (np.zeros((4, 4, 3), np.uint8), (4.5, 4, "fit"), "width"),
        (np.zeros((4, 4, 3), np.uint8), (4, 4, "squash"), "scaletype"),
    ],
)
@pytest.mark.parametrize("fn", [render, render_reference])
def test_render_invalid(fn, rgb, args, name):
    with pytest.raises(ValueError, match=name):
        fn(rgb, *args)


def test_new_canvas_is_black_only_where_padding_shows():
    fill = layout(1920, 1080, 100, 100, "fill")
    canvas = fill.new_canvas()
    assert canvas.shape == (100, 100, 3) and canvas.dtype == np.uint8 and not canvas.any()
    stretch = layout(1920, 1080, 100, 100, "stretch")
    assert (stretch.content_w, stretch.content_h) == (stretch.canvas_w, stretch.canvas_h)
    assert stretch.new_canvas().shape == (100, 100, 3)
