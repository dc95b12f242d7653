"""dHash kernel: bit-exact against its NumPy reference and exact rationals."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import imagehash
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image

from kernels import dhash, dhash_reference, dhash_score, hamming, hash_to_hex
from tests.naive import dhash_exact, requires_jit, strided_variants

REPO = Path(__file__).resolve().parents[1]

SMALL_SIZES = [(1, 1), (1, 9), (8, 1), (3, 5), (7, 8), (8, 9), (9, 8), (16, 18),
               (17, 33), (100, 7), (5, 300), (31, 41)]
LARGE_SIZES = [(480, 640), (720, 1280), (1080, 1920), (1088, 1920), (1920, 1080)]


def synthetic_luma(h: int = 360, w: int = 640) -> np.ndarray:
    """Deterministic smooth test picture (formula, not RNG, so it never drifts)."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    v = (128 + 60 * np.sin(x / 37.0) * np.cos(y / 23.0)
         + 50 * np.sin((x + 2 * y) / 91.0) + 0.1 * (x - y))
    return np.clip(np.rint(v), 0, 255).astype(np.uint8)


def imagehash_int(luma: np.ndarray) -> int:
    return int(str(imagehash.dhash(Image.fromarray(np.ascontiguousarray(luma)))), 16)


@pytest.mark.parametrize("shape", SMALL_SIZES)
@pytest.mark.parametrize("seed", range(3))
def test_matches_reference_small(shape, seed):
    img = np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)
    assert dhash(img) == dhash_reference(img)


@requires_jit
@pytest.mark.parametrize("shape", LARGE_SIZES)
def test_matches_reference_large(shape):
    img = np.random.default_rng(sum(shape)).integers(0, 256, shape, dtype=np.uint8)
    assert dhash(img) == dhash_reference(img)


@pytest.mark.parametrize("shape", [(1, 1), (3, 5), (8, 9), (13, 22), (24, 9)])
def test_matches_exact_rationals(shape):
    img = np.random.default_rng(7).integers(0, 256, shape, dtype=np.uint8)
    exact = dhash_exact(img)
    assert dhash(img) == exact
    assert dhash_reference(img) == exact


@pytest.mark.parametrize("shape", [(2100, 11), (4200, 7), (11, 4200), (258 * 8, 3)])
def test_tall_bins_fold_their_uint16_runs(shape):
    # Bins of more than 257 whole lines: the kernel's uint16 line runs must be
    # folded before they could overflow (all-255 lines are the worst case).
    img = np.random.default_rng(5).integers(200, 256, shape, dtype=np.uint8)
    img[:, ::2] = 255
    assert dhash(img) == dhash_reference(img)
    bright = np.full(shape, 255, np.uint8)
    bright[:, shape[1] // 2:] = 254
    assert dhash(bright) == dhash_reference(bright)


@pytest.mark.parametrize("shape", [(37, 53), pytest.param((1080, 1920), marks=requires_jit)])
def test_any_strides(shape):
    img = np.random.default_rng(3).integers(0, 256, shape, dtype=np.uint8)
    for name, (view, same) in strided_variants(img).items():
        expected = dhash_reference(same)
        assert dhash(view) == expected, name
        assert dhash_reference(view) == expected, name


def test_broadcast_input():
    row = np.arange(50, dtype=np.uint8)
    view = np.broadcast_to(row, (20, 50))
    assert dhash(view) == dhash_reference(np.ascontiguousarray(view)) == (1 << 64) - 1
    col = np.broadcast_to(row[:, None], (50, 20))
    assert dhash(col) == dhash_reference(np.ascontiguousarray(col)) == 0


@pytest.mark.parametrize(
    "shape",
    [(1, 1), (5, 7), (8, 9), (10, 10), (99, 101), pytest.param((1080, 1920), marks=requires_jit)],
)
@pytest.mark.parametrize("value", [0, 1, 128, 255])
def test_flat_image_hashes_to_zero(shape, value):
    img = np.full(shape, value, dtype=np.uint8)
    assert dhash(img) == dhash_reference(img) == 0


@pytest.mark.parametrize("shape", [(8, 9), (12, 10), (16, 27), (25, 31), (64, 90)])
@pytest.mark.parametrize("seed", range(4))
def test_ties_agree(shape, seed):
    # Two-level images with bins that split pixels make equal bin sums likely;
    # integer arithmetic must resolve each tie the same way in both versions.
    rng = np.random.default_rng(seed)
    img = (rng.integers(0, 2, shape) * 255).astype(np.uint8)
    assert dhash(img) == dhash_reference(img)


@settings(max_examples=300, deadline=None)
@given(
    img=arrays(np.uint8, st.tuples(st.integers(1, 40), st.integers(1, 40)),
               elements=st.integers(0, 255)),
    k=st.integers(0, 3),
    flip=st.booleans(),
)
def test_hypothesis_matches_reference(img, k, flip):
    view = np.rot90(img, k)
    if flip:
        view = view[:, ::-1]
    assert dhash(view) == dhash_reference(view)


@settings(max_examples=100, deadline=None)
@given(
    h=st.integers(1, 30), w=st.integers(1, 30), levels=st.integers(1, 3),
    seed=st.integers(0, 2**32 - 1),
)
def test_hypothesis_few_levels(h, w, levels, seed):
    img = np.random.default_rng(seed).integers(0, levels, (h, w)).astype(np.uint8)
    assert dhash(img) == dhash_reference(img)


@pytest.mark.parametrize(
    "shape", [(64, 256), (8, 9), (3, 40), pytest.param((1080, 1920), marks=requires_jit)]
)
def test_ramp(shape):
    h, w = shape
    ramp = np.tile(np.linspace(0, 255, w).round().astype(np.uint8), (h, 1))
    assert dhash(ramp) == 0xFFFFFFFFFFFFFFFF
    assert dhash(ramp[:, ::-1]) == 0
    assert dhash(np.ascontiguousarray(ramp[:, ::-1])) == 0
    assert hash_to_hex(dhash(ramp)) == str(imagehash.dhash(Image.fromarray(ramp)))
    mirror = np.ascontiguousarray(ramp[:, ::-1])
    assert hash_to_hex(dhash(mirror)) == str(imagehash.dhash(Image.fromarray(mirror)))


PINNED_HEX = "a7cd3e36d9c1a6cf"
PINNED_IMAGEHASH_DISTANCE = 1  # bits; imagehash resizes with Lanczos, not area


def test_pinned_synthetic_hash():
    img = synthetic_luma()
    h = dhash(img)
    assert hash_to_hex(h) == PINNED_HEX
    assert dhash_reference(img) == h
    distance = hamming(h, imagehash_int(img))
    print(f"imagehash.dhash distance on the synthetic image: {distance} bits")
    assert distance == PINNED_IMAGEHASH_DISTANCE


def test_close_to_imagehash_on_smooth_images():
    # Lanczos vs area averaging only disagree on near-ties; smooth pictures
    # of several sizes must stay within a few bits.
    for h, w in [(90, 160), (240, 320), (360, 640), (203, 517)]:
        img = synthetic_luma(h, w)
        assert hamming(dhash(img), imagehash_int(img)) <= 4, (h, w)


def test_hash_to_hex():
    assert hash_to_hex(0) == "0000000000000000"
    assert hash_to_hex(1) == "0000000000000001"
    assert hash_to_hex((1 << 64) - 1) == "ffffffffffffffff"
    assert hash_to_hex(0xABCDEF0123456789) == "abcdef0123456789"
    assert hash_to_hex(np.uint64(5)) == "0000000000000005"


def test_hamming_and_score():
    assert hamming(0, 0) == 0
    assert hamming(0, (1 << 64) - 1) == 64
    assert hamming(0b1011, 0b0110) == 3
    assert hamming(1 << 63, 0) == 1
    assert dhash_score(0, 0) == 0.0
    assert dhash_score(0, (1 << 64) - 1) == 100.0
    assert dhash_score(0, 0xFF) == 12.5


@settings(max_examples=200, deadline=None)
@given(a=st.integers(0, 2**64 - 1), b=st.integers(0, 2**64 - 1))
def test_hamming_properties(a, b):
    d = hamming(a, b)
    assert d == hamming(b, a) == bin(a ^ b).count("1")
    assert 0 <= d <= 64
    assert dhash_score(a, b) == pytest.approx(100 * d / 64)
    assert int(hash_to_hex(a), 16) == a and len(hash_to_hex(a)) == 16


@pytest.mark.parametrize("bad", [-1, 1 << 64, 1.0, "ff", True, None])
def test_bad_hash_values(bad):
    with pytest.raises(ValueError):
        hash_to_hex(bad)
    with pytest.raises(ValueError, match="a must"):
        hamming(bad, 0)
    with pytest.raises(ValueError, match="b must"):
        dhash_score(0, bad)


@pytest.mark.parametrize(
    "bad",
    [
        [[1, 2], [3, 4]],
        np.zeros((4, 4, 3), np.uint8),
        np.zeros(16, np.uint8),
        np.zeros((4, 4), np.float32),
        np.zeros((4, 4), np.uint16),
        np.zeros((0, 4), np.uint8),
        np.zeros((4, 0), np.uint8),
    ],
)
@pytest.mark.parametrize("fn", [dhash, dhash_reference])
def test_invalid_luma(fn, bad):
    with pytest.raises(ValueError, match="luma"):
        fn(bad)


def test_import_compiles_nothing():
    code = (
        "import importlib, sys, kernels\n"
        "for name in ('difference_hash', 'resample', 'scale', 'yuv', 'native'):\n"
        "    importlib.import_module('kernels.' + name)\n"
        "assert 'numba' not in sys.modules, 'importing the wrappers must not import numba'\n"
        "from kernels.loops import difference_hash, resample, yuv\n"
        "for loop in (difference_hash.area_sums, resample.resample_rgb, yuv.render_yuv_planes):\n"
        "    assert loop.signatures == [], (loop, loop.signatures)\n"
    )
    # The question is what a normal (JIT-on) import does, whatever this run uses.
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_DISABLE_JIT"}
    subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, check=True)
