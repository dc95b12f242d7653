"""Fused YUV planes -> scaled RGB (render_yuv) against its NumPy reference,
the RGB path (render) and swscale on the committed samples."""

from __future__ import annotations

import itertools

import av
import numpy as np
import pytest
from av.video.reformatter import Interpolation

from kernels import SCALE_TYPES, layout, render, render_yuv, render_yuv_reference
from kernels.yuv import yuv_to_rgb_coefficients
from tests.naive import padded, requires_jit

# How the engine should map PyAV frame metadata to render_yuv arguments
# (AVColorSpace values of ``frame.colorspace``; anything else, including
# 2 = unspecified, is what swscale assumes: BT.601).  ``frame.color_range``
# 2 = JPEG means full range; 0 = unspecified and 1 = MPEG mean limited.
# yuvj* pixel formats are full range whatever the tag says.
COLORSPACE_TO_MATRIX = {1: "bt709", 5: "bt601", 6: "bt601", 9: "bt2020", 10: "bt2020"}


def frame_yuv_kwargs(frame) -> dict:
    return dict(
        matrix=COLORSPACE_TO_MATRIX.get(frame.colorspace, "bt601"),
        full_range=frame.color_range == 2 or frame.format.name.startswith("yuvj"),
    )


def frame_planes(frame) -> list[np.ndarray]:
    """The decoder's planes as (height, width) views, as the engine makes them."""
    return [
        np.frombuffer(p, np.uint8).reshape(-1, p.line_size)[:p.height, :p.width]
        for p in frame.planes
    ]


def max_abs_diff(a: np.ndarray, b: np.ndarray) -> int:
    assert a.shape == b.shape
    return int(np.abs(a.astype(np.int16) - b.astype(np.int16)).max(initial=0))


def smooth_field(h, w, seed, amp, wavelength, fy=1, fx=1, centre=128.0):
    """Sum of a few random plane waves sampled at the centres of a plane
    subsampled by (fy, fx); ``wavelength`` (shortest, in luma px) bounds the
    gradient at ``amp * 2 pi / wavelength`` levels per luma px."""
    rng = np.random.default_rng(seed)
    yy = (np.arange(h)[:, None] + 0.5) * fy
    xx = (np.arange(w)[None, :] + 0.5) * fx
    out = np.full((h, w), centre)
    weights = rng.dirichlet(np.ones(4)) * amp
    for a in weights:
        angle = rng.uniform(0, 2 * np.pi)
        freq = rng.uniform(0.3, 1.0) / wavelength
        phase = rng.uniform(0, 2 * np.pi)
        out += a * np.cos(2 * np.pi * freq * (np.cos(angle) * xx + np.sin(angle) * yy) + phase)
    return np.clip(np.floor(out + 0.5), 0, 255).astype(np.uint8)


def make_planes(h, w, fy, fx, seed, luma="noise", amp=40.0, wavelength=128.0):
    """Luma: uniform noise (the luma path is filter-identical to the
    reference); chroma: smooth fields of plausible slope (the reference
    upsamples chroma before resampling, which differs at chroma edges and
    curvature; see the module notes of kernels.yuv)."""
    rng = np.random.default_rng(seed)
    if luma == "noise":
        y = rng.integers(0, 256, (h, w), dtype=np.uint8)
    else:
        y = smooth_field(h, w, seed + 7, 100.0, 24.0)
    ch, cw = -(-h // fy), -(-w // fx)
    u = smooth_field(ch, cw, seed + 1, amp, wavelength, fy, fx)
    v = smooth_field(ch, cw, seed + 2, amp, wavelength, fy, fx)
    return y, u, v


SUBSAMPLING = {"420": (2, 2), "422": (1, 2), "440": (2, 1), "444": (1, 1)}
BOXES = [(20, 11), (64, 64), (100, 71), (7, 90), (1, 1), (211, 163), (31, 200)]


# --------------------------------------------------------------------------
# colour maths


@pytest.mark.parametrize("matrix", ["bt601", "bt709", "bt2020"])
@pytest.mark.parametrize("full_range", [False, True])
def test_coefficients_known_points(matrix, full_range):
    m = yuv_to_rgb_coefficients(matrix, full_range)
    lo, hi, c_lo, c_hi = (0, 255, 0.5, 255.5) if full_range else (16, 235, 16, 240)

    def rgb(y, u, v):
        return m[:, :3] @ np.array([y, u, v], float) + m[:, 3]

    np.testing.assert_allclose(rgb(lo, 128, 128), [0, 0, 0], atol=1e-9)
    np.testing.assert_allclose(rgb(hi, 128, 128), [255, 255, 255], atol=1e-9)
    # Grey stays grey; Cr drives red and Cb blue with the standard gains.
    kr, kb = {"bt601": (0.299, 0.114), "bt709": (0.2126, 0.0722),
              "bt2020": (0.2627, 0.0593)}[matrix]
    scale = 255 / (c_hi - c_lo) if not full_range else 1.0
    np.testing.assert_allclose(rgb(hi, 128, 128 + 10) - rgb(hi, 128, 128),
                               [20 * (1 - kr) * scale, -20 * kr * (1 - kr) / (1 - kr - kb) * scale, 0])
    # Luma of the converted colour is Y' (Kr R + Kg G + Kb B = Y).
    out = rgb(100, 90, 200)
    y_lin = (100 - lo) * 255 / (hi - lo)
    assert kr * out[0] + (1 - kr - kb) * out[1] + kb * out[2] == pytest.approx(y_lin)


@pytest.mark.parametrize(
    ("yuv", "kwargs", "expected"),
    [
        ((16, 128, 128), {}, (0, 0, 0)),
        ((235, 128, 128), {}, (255, 255, 255)),
        ((126, 128, 128), {}, (128, 128, 128)),  # (126-16)*255/219 = 128.08
        ((0, 128, 128), {"full_range": True}, (0, 0, 0)),
        ((255, 128, 128), {"full_range": True}, (255, 255, 255)),
        ((81, 90, 240), {}, (255, 0, 0)),  # BT.601 limited-range red
        ((145, 54, 34), {}, (0, 255, 1)),  # BT.601 green (0, 255, 0) rounds to 1 blue
        ((63, 102, 240), {"matrix": "bt709"}, (255, 0, 0)),  # BT.709 red
        ((0, 0, 0), {}, (0, 135, 0)),  # out of gamut: clipped per channel
    ],
)
def test_constant_colour(yuv, kwargs, expected):
    y = np.full((13, 17), yuv[0], np.uint8)
    u = np.full((7, 9), yuv[1], np.uint8)
    v = np.full((7, 9), yuv[2], np.uint8)
    for kind, box in itertools.product(SCALE_TYPES, [(5, 9), (40, 30), (17, 13)]):
        out = render_yuv(y, u, v, *box, kind, **kwargs)
        lay = layout(17, 13, *box, kind)
        content = out[lay.offset_y:lay.offset_y + lay.content_h,
                      lay.offset_x:lay.offset_x + lay.content_w]
        assert np.all(np.abs(content.astype(int) - expected) <= 1), (kind, box)
        assert np.all(content == content[0, 0])
        # fill: black padding outside the content.
        assert out.sum() == content.sum()


# --------------------------------------------------------------------------
# against the NumPy reference


@pytest.mark.parametrize("kind", SCALE_TYPES)
@pytest.mark.parametrize("sub", SUBSAMPLING)
@pytest.mark.parametrize("src", [(37, 53), (53, 37), (64, 96), (9, 7), (1, 1), (2, 5)])
def test_matches_reference(kind, sub, src):
    fy, fx = SUBSAMPLING[sub]
    seed = src[0] * 131 + src[1] + fy * 7 + fx
    y, u, v = make_planes(*src, fy, fx, seed)
    for i, box in enumerate(BOXES):
        kwargs = dict(matrix=("bt601", "bt709", "bt2020")[i % 3], full_range=bool(i % 2))
        out = render_yuv(y, u, v, *box, kind, **kwargs)
        ref = render_yuv_reference(y, u, v, *box, kind, **kwargs)
        lay = layout(src[1], src[0], *box, kind)
        assert out.shape == (lay.canvas_h, lay.canvas_w, 3)
        assert out.dtype == np.uint8 and out.flags.c_contiguous
        assert max_abs_diff(out, ref) <= 2, (box, kwargs)


@pytest.mark.parametrize("kind", SCALE_TYPES)
@pytest.mark.parametrize("box", [(20, 11), (64, 64), (100, 71), (300, 17)])
def test_444_matches_reference_on_noise(kind, box):
    # No chroma resampling difference: the two pipelines only differ by
    # float rounding, whatever the content (including out-of-gamut YUV).
    rng = np.random.default_rng(sum(box))
    y, u, v = (rng.integers(0, 256, (41, 59), dtype=np.uint8) for _ in range(3))
    for matrix, full_range in itertools.product(["bt601", "bt709"], [False, True]):
        kwargs = dict(matrix=matrix, full_range=full_range)
        assert max_abs_diff(render_yuv(y, u, v, *box, kind, **kwargs),
                            render_yuv_reference(y, u, v, *box, kind, **kwargs)) <= 1


@pytest.mark.parametrize("sub", ["420", "422", "440"])
@pytest.mark.parametrize(
    ("src", "box", "kind"),
    [((60, 90), (30, 20), "stretch"), ((61, 93), (21, 13), "stretch"),
     ((75, 101), (20, 20), "crop"), ((99, 51), (17, 33), "fill"), ((64, 64), (9, 5), "fit")],
)
def test_chroma_siting_is_block_coverage(sub, src, box, kind):
    # Centre siting: chroma sample j covers luma [f*j, f*j + f).  With area
    # filters on every plane (shrinking >= 2x), subsampled chroma must then
    # give exactly what the same samples replicated to full size give as
    # 4:4:4, whatever the content (odd sizes: the last block is cut).
    fy, fx = SUBSAMPLING[sub]
    rng = np.random.default_rng(src[0] + src[1])
    h, w = src
    y = rng.integers(0, 256, (h, w), dtype=np.uint8)
    u, v = (rng.integers(0, 256, (-(-h // fy), -(-w // fx)), dtype=np.uint8) for _ in range(2))
    full = [np.repeat(np.repeat(c, fy, 0), fx, 1)[:h, :w] for c in (u, v)]
    assert max_abs_diff(render_yuv(y, u, v, *box, kind),
                        render_yuv(y, *full, *box, kind)) <= 1


@pytest.mark.parametrize("sub", SUBSAMPLING)
@pytest.mark.parametrize("k", [0, 1, 2, 3])
@pytest.mark.parametrize("kind", SCALE_TYPES)
def test_rot90_views(sub, k, kind):
    # The caller rotates all three planes alike; a rotated 4:2:2 frame has
    # its chroma subsampled vertically, which is inferred from the shapes.
    fy, fx = SUBSAMPLING[sub]
    y, u, v = make_planes(45, 62, fy, fx, seed=k)
    ry, ru, rv = (np.rot90(padded(p), k) for p in (y, u, v))
    for box in [(31, 17), (64, 64), (120, 35)]:
        out = render_yuv(ry, ru, rv, *box, kind)
        ref = render_yuv_reference(*(np.ascontiguousarray(p) for p in (ry, ru, rv)), *box, kind)
        assert max_abs_diff(out, ref) <= 2
        same = render_yuv(*(np.ascontiguousarray(p) for p in (ry, ru, rv)), *box, kind)
        # Column-major planes run the passes in the other order.
        assert max_abs_diff(out, same) <= 1


def test_strided_and_mixed_views():
    y, u, v = make_planes(45, 62, 2, 2, seed=3)
    base = render_yuv(y, u, v, 40, 30, "crop")
    variants = {
        "padded": (padded(y), padded(u), padded(v)),
        "fortran": tuple(np.asfortranarray(p) for p in (y, u, v)),
        # u and v with different stride signs share taps after a copy.
        "mixed_signs": (y, u, np.ascontiguousarray(v[::-1, ::-1])[::-1, ::-1]),
        "broadcast_chroma": (y, np.broadcast_to(u[:1, :1], u.shape), v),
        # Every 2nd sample of each plane is still a 4:2:0 frame (23x31).
        "step": (y[::2, ::2], u[::2, ::2], v[::2, ::2]),
    }
    for name, planes in variants.items():
        out = render_yuv(*planes, 40, 30, "crop")
        expect = base
        if name in ("broadcast_chroma", "step"):
            expect = render_yuv(*(np.ascontiguousarray(p) for p in planes), 40, 30, "crop")
        assert max_abs_diff(out, expect) <= 1, name


def test_matches_render_on_444_from_rgb():
    # Full-range BT.601 4:4:4 from an RGB image (float, unrounded would be
    # exact): the fused path equals render() of that image up to the YUV
    # quantisation (< 1 level per component, ~1.5 after the matrix).
    rng = np.random.default_rng(9)
    rgb = rng.integers(0, 256, (50, 70, 3)).astype(np.float64)
    kr, kb = 0.299, 0.114
    y = kr * rgb[..., 0] + (1 - kr - kb) * rgb[..., 1] + kb * rgb[..., 2]
    u = (rgb[..., 2] - y) / (2 * (1 - kb)) + 128
    v = (rgb[..., 0] - y) / (2 * (1 - kr)) + 128
    planes = [np.clip(np.floor(p + 0.5), 0, 255).astype(np.uint8) for p in (y, u, v)]
    rgb8 = rgb.astype(np.uint8)
    for box, kind in [((70, 50), "stretch"), ((33, 33), "crop"), ((200, 90), "fill")]:
        out = render_yuv(*planes, *box, kind, full_range=True)
        assert max_abs_diff(out, render(rgb8, *box, kind)) <= 3


@requires_jit
def test_larger_frame_matches_reference():
    y, u, v = make_planes(270, 480, 2, 2, seed=4, luma="smooth")
    for box, kind in [((128, 128), "crop"), ((480, 270), "stretch"), ((333, 333), "fill"),
                      ((1000, 1000), "fit")]:
        assert max_abs_diff(render_yuv(y, u, v, *box, kind),
                            render_yuv_reference(y, u, v, *box, kind)) <= 2


# --------------------------------------------------------------------------
# against swscale (PyAV) on real decoded frames


def decoded_frames(path: str, count: int = 4):
    with av.open(path) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if i >= count:
                break
            yield frame


def diff_stats(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    d = np.abs(a.astype(np.int16) - b.astype(np.int16))
    return float(d.mean()), float(np.percentile(d, 99))


@requires_jit
@pytest.mark.parametrize("name", ["h264_bframes.mp4", "hevc.mp4"])
def test_matches_swscale_on_samples(sample, name):
    # Today's engine path: swscale's default yuv420p -> rgb24 (nearest
    # chroma, fast rounding with a ~+1 bias), then render().  Differences
    # concentrate on the samples' saturated, sharp-edged test patterns:
    # chroma siting (swscale: MPEG-2 "left") and clipping before vs after
    # averaging.  Downscaled boxes average them out.
    for frame in decoded_frames(sample(name)):
        assert frame.format.name == "yuv420p"
        assert (frame.colorspace, frame.color_range) in ((2, 0), (2, 1))  # unspecified
        kwargs = frame_yuv_kwargs(frame)
        assert kwargs == {"matrix": "bt601", "full_range": False}
        rgb = frame.to_ndarray(format="rgb24")
        planes = frame_planes(frame)
        for box, kind in [((128, 128), "crop"), ((200, 200), "fill"), ((96, 54), "stretch")]:
            mean, p99 = diff_stats(render_yuv(*planes, *box, kind, **kwargs),
                                   render(rgb, *box, kind))
            assert mean <= 1.5 and p99 <= 10, (box, kind, mean, p99)
        # Full size: against swscale with interpolated chroma and exact
        # rounding (the default's nearest chroma differs on every edge).
        exact = frame.to_ndarray(
            format="rgb24",
            interpolation=Interpolation.BILINEAR | Interpolation.ACCURATE_RND
            | Interpolation.FULL_CHR_H_INT | Interpolation.FULL_CHR_H_INP,
        )
        mean, p99 = diff_stats(render_yuv(*planes, frame.width, frame.height, "stretch", **kwargs),
                               exact)
        assert mean <= 0.5 and p99 <= 12, (mean, p99)


def test_rotated_sample_matches_rgb_path(sample):
    frame = next(decoded_frames(sample("rotated_90.mp4"), 1))
    k = (frame.rotation % 360) // 90
    assert k == 1
    rgb = np.rot90(frame.to_ndarray(format="rgb24"), k)
    planes = [np.rot90(p, k) for p in frame_planes(frame)]
    for box, kind in [((128, 128), "crop"), ((100, 100), "fit")]:
        mean, p99 = diff_stats(render_yuv(*planes, *box, kind, **frame_yuv_kwargs(frame)),
                               render(rgb, *box, kind))
        assert mean <= 1.5 and p99 <= 10, (box, kind, mean, p99)


# --------------------------------------------------------------------------
# argument validation


GOOD = (np.zeros((4, 6), np.uint8), np.zeros((2, 3), np.uint8), np.zeros((2, 3), np.uint8))


@pytest.mark.parametrize(
    ("planes", "args", "kwargs", "name"),
    [
        (([[0]], GOOD[1], GOOD[2]), (4, 4, "fit"), {}, "y"),
        ((GOOD[0].astype(np.int16), GOOD[1], GOOD[2]), (4, 4, "fit"), {}, "y"),
        ((np.zeros((4, 6, 1), np.uint8), GOOD[1], GOOD[2]), (4, 4, "fit"), {}, "y"),
        ((np.zeros((0, 6), np.uint8), GOOD[1], GOOD[2]), (4, 4, "fit"), {}, "y"),
        ((GOOD[0], np.zeros((3, 3), np.uint8), np.zeros((3, 3), np.uint8)), (4, 4, "fit"), {}, "u"),
        ((GOOD[0], np.zeros((2, 4), np.uint8), np.zeros((2, 4), np.uint8)), (4, 4, "fit"), {}, "u"),
        ((GOOD[0], GOOD[1].astype(np.float32), GOOD[2]), (4, 4, "fit"), {}, "u"),
        ((GOOD[0], GOOD[1], np.zeros((2, 6), np.uint8)), (4, 4, "fit"), {}, "v"),
        ((GOOD[0], GOOD[1], None), (4, 4, "fit"), {}, "v"),
        (GOOD, (0, 4, "fit"), {}, "width"),
        (GOOD, (4, 4.5, "fit"), {}, "height"),
        (GOOD, (4, 4, "zoom"), {}, "scaletype"),
        (GOOD, (4, 4, "fit"), {"matrix": "bt470"}, "matrix"),
        (GOOD, (4, 4, "fit"), {"matrix": None}, "matrix"),
        (GOOD, (4, 4, "fit"), {"full_range": 1}, "full_range"),
    ],
)
@pytest.mark.parametrize("fn", [render_yuv, render_yuv_reference])
def test_invalid_arguments(fn, planes, args, kwargs, name):
    with pytest.raises(ValueError, match=name):
        fn(*planes, *args, **kwargs)


def test_subsampling_inference():
    y = np.zeros((5, 7), np.uint8)
    for shape in [(5, 7), (3, 7), (5, 4), (3, 4)]:
        c = np.zeros(shape, np.uint8)
        assert render_yuv(y, c, c, 3, 3, "fit").shape[2] == 3
    for shape in [(2, 4), (5, 3), (4, 7), (6, 8)]:
        c = np.zeros(shape, np.uint8)
        with pytest.raises(ValueError, match="u"):
            render_yuv(y, c, c, 3, 3, "fit")
