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

import cv2
import imagehash
import numpy as np
import pytest
from PIL import Image

from kernels import dhash, dhash_reference, render, render_reference

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
