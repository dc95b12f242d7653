"""Per-frame timings of the kernels against their references and the usual
third-party tools.

Run explicitly (not collected by the test run, whose testpaths is tests/):

    python -m pytest benchmarks/bench_kernels.py --benchmark-only

Every benchmark does one warm-up call first, so Numba compilation (or the
cache load) is not timed.  OpenCV is pinned to one thread because the engine
parallelises across frames, so the per-frame, single-thread cost is the one
that matters.
"""

from __future__ import annotations

import av
import cv2
import imagehash
import numpy as np
import pytest
from PIL import Image

from kernels import dhash, dhash_reference, render, render_reference, render_yuv

H, W = 1080, 1920
BOX = 512


@pytest.fixture(scope="module", autouse=True)
def single_thread_cv2():
    before = cv2.getNumThreads()
    cv2.setNumThreads(1)
    yield
    cv2.setNumThreads(before)


@pytest.fixture(scope="module")
def luma() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (H, W), dtype=np.uint8)


@pytest.fixture(scope="module")
def rgb() -> np.ndarray:
    return np.random.default_rng(1).integers(0, 256, (H, W, 3), dtype=np.uint8)


def run(benchmark, fn, *args, rounds=50):
    return benchmark.pedantic(fn, args=args, warmup_rounds=1, rounds=rounds, iterations=1)


# -- dhash of a 1080p luma plane ---------------------------------------------


@pytest.mark.benchmark(group="dhash-1080p")
def test_dhash_numba(benchmark, luma):
    assert run(benchmark, dhash, luma, rounds=500) == dhash_reference(luma)


@pytest.mark.benchmark(group="dhash-1080p")
def test_dhash_numba_padded_plane(benchmark, luma):
    plane = np.zeros((H, 2048), np.uint8)
    plane[:, :W] = luma
    assert run(benchmark, dhash, plane[:, :W], rounds=500) == dhash_reference(luma)


@pytest.mark.benchmark(group="dhash-1080p")
def test_dhash_numba_rot90_view(benchmark, luma):
    run(benchmark, dhash, np.rot90(luma), rounds=500)


@pytest.mark.benchmark(group="dhash-1080p")
def test_dhash_reference(benchmark, luma):
    run(benchmark, dhash_reference, luma, rounds=10)


@pytest.mark.benchmark(group="dhash-1080p")
def test_dhash_imagehash(benchmark, luma):
    # Includes the array -> PIL conversion the engine would have to do.
    run(benchmark, lambda a: imagehash.dhash(Image.fromarray(a)), luma, rounds=50)


# -- render crop 1080p -> 512x512 ---------------------------------------------


def cv2_area_crop(img: np.ndarray) -> np.ndarray:
    h, w = img.shape[:2]
    scale = max(BOX / w, BOX / h)
    size = (max(BOX, round(w * scale)), max(BOX, round(h * scale)))
    full = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
    x0 = (size[0] - BOX) // 2
    y0 = (size[1] - BOX) // 2
    return np.ascontiguousarray(full[y0:y0 + BOX, x0:x0 + BOX])


@pytest.mark.benchmark(group="render-crop-1080p-512")
def test_render_numba(benchmark, rgb):
    out = run(benchmark, render, rgb, BOX, BOX, "crop", rounds=100)
    assert out.shape == (BOX, BOX, 3)


@pytest.mark.benchmark(group="render-crop-1080p-512")
def test_render_numba_rot90_view(benchmark, rgb):
    run(benchmark, render, np.rot90(rgb), BOX, BOX, "crop", rounds=100)


@pytest.mark.benchmark(group="render-crop-1080p-512")
def test_render_reference(benchmark, rgb):
    run(benchmark, render_reference, rgb, BOX, BOX, "crop", rounds=5)


@pytest.mark.benchmark(group="render-crop-1080p-512")
def test_render_cv2_inter_area(benchmark, rgb):
    out = run(benchmark, cv2_area_crop, rgb, rounds=100)
    assert out.shape == (BOX, BOX, 3)


# -- YUV 4:2:0 frame -> RGB 512x512 crop (1080p) ------------------------------
#
# The decoder hands out yuv420p planes.  Compared: the fused render_yuv on
# those planes; full-size swscale to rgb24, then render (the engine's path for
# other pixel formats), also with OpenCV's I420 converter in place of swscale;
# to_ndarray then cv2.resize(INTER_AREA) (what users write); swscale
# doing the whole job (AREA scale + rgb24, then a centre crop).  swscale is
# pinned to one thread like OpenCV.


@pytest.fixture(scope="module")
def yuv_frame() -> av.VideoFrame:
    y, x = np.mgrid[0:H, 0:W].astype(np.float64)
    rng = np.random.default_rng(2)
    base = np.stack([128 + 100 * np.sin(x / 37 + c) * np.cos(y / 29 - c) for c in range(3)], 2)
    rgb = np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)
    return av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")


def frame_planes(frame: av.VideoFrame) -> list[np.ndarray]:
    return [
        np.frombuffer(p, np.uint8).reshape(-1, p.line_size)[:p.height, :p.width]
        for p in frame.planes
    ]


@pytest.mark.benchmark(group="yuv420p-crop-1080p-512")
def test_yuv_render_yuv(benchmark, yuv_frame):
    out = run(benchmark, lambda f: render_yuv(*frame_planes(f), BOX, BOX, "crop"),
              yuv_frame, rounds=200)
    assert out.shape == (BOX, BOX, 3)


@pytest.mark.benchmark(group="yuv420p-crop-1080p-512")
def test_yuv_render_yuv_rot90(benchmark, yuv_frame):
    planes = [np.rot90(p) for p in frame_planes(yuv_frame)]
    run(benchmark, render_yuv, *planes, BOX, BOX, "crop", rounds=200)


@pytest.mark.benchmark(group="yuv420p-crop-1080p-512")
def test_yuv_to_ndarray_then_render(benchmark, yuv_frame):
    # The engine's path for pixel formats render_yuv does not take.
    def path(f):
        return render(f.to_ndarray(format="rgb24", threads=1), BOX, BOX, "crop")

    run(benchmark, path, yuv_frame, rounds=100)


@pytest.mark.benchmark(group="yuv420p-crop-1080p-512")
def test_yuv_to_ndarray_then_cv2_area(benchmark, yuv_frame):
    # What a PyAV + OpenCV user writes (the README's kernel target: "to_ndarray + cv2.resize").
    def path(f):
        return cv2_area_crop(f.to_ndarray(format="rgb24", threads=1))

    out = run(benchmark, path, yuv_frame, rounds=100)
    assert out.shape == (BOX, BOX, 3)


@pytest.mark.benchmark(group="yuv420p-crop-1080p-512")
def test_yuv_cv2_i420_then_render(benchmark, yuv_frame):
    y, u, v = frame_planes(yuv_frame)
    # Packing the I420 buffer is not timed (a decoder could hand it out).
    i420 = np.concatenate([y, u.reshape(-1, W), v.reshape(-1, W)])

    def path(buf):
        return render(cv2.cvtColor(buf, cv2.COLOR_YUV2RGB_I420), BOX, BOX, "crop")

    run(benchmark, path, i420, rounds=100)


@pytest.mark.benchmark(group="yuv420p-crop-1080p-512")
def test_yuv_swscale_area_then_crop(benchmark, yuv_frame):
    scaled_w = round(W * BOX / H)  # 910
    x0 = (scaled_w - BOX) // 2

    def path(f):
        full = f.reformat(width=scaled_w, height=BOX, format="rgb24",
                          interpolation="AREA", threads=1).to_ndarray()
        return np.ascontiguousarray(full[:, x0:x0 + BOX])

    out = run(benchmark, path, yuv_frame, rounds=100)
    assert out.shape == (BOX, BOX, 3)


@pytest.mark.benchmark(group="yuv420p-other-1080p")
def test_yuv_render_yuv_identity(benchmark, yuv_frame):
    run(benchmark, render_yuv, *frame_planes(yuv_frame), W, H, "stretch", rounds=30)


@pytest.mark.benchmark(group="yuv420p-other-1080p")
def test_yuv_to_ndarray_identity(benchmark, yuv_frame):
    run(benchmark, lambda f: f.to_ndarray(format="rgb24", threads=1), yuv_frame, rounds=100)


@pytest.mark.benchmark(group="yuv420p-other-1080p")
def test_yuv_render_yuv_half(benchmark, yuv_frame):
    run(benchmark, render_yuv, *frame_planes(yuv_frame), W // 2, H // 2, "stretch", rounds=100)


@pytest.mark.benchmark(group="yuv420p-other-1080p")
def test_yuv_to_ndarray_then_render_half(benchmark, yuv_frame):
    def path(f):
        return render(f.to_ndarray(format="rgb24", threads=1), W // 2, H // 2, "stretch")

    run(benchmark, path, yuv_frame, rounds=100)
