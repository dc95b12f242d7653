"""Tests for the committed sample media, the barcode and the generator."""

from __future__ import annotations

import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from sample_media import generate as gen
from sample_media.barcode import (
    MAX_INDEX,
    N_SCENES,
    _red_mask,
    decode_bits,
    draw_barcode,
    encode_bits,
    frame_image,
    read_barcode,
    read_barcode_turned,
    scene_background,
)
from sample_media.catalog import AUDIO_SAMPLES, SAMPLES, VIDEO_SAMPLES

REPO = Path(__file__).resolve().parents[1]
N_KEEP = 10  # decoded frames kept per video for the transform tests


# ---------------------------------------------------------------------------
# Decoding helpers (each committed video is decoded once per session)
# ---------------------------------------------------------------------------


def decode_summary(path: Path, keep: int = N_KEEP) -> dict:
    out = {"pts": [], "reads": [], "keys": [], "ptypes": [], "rot": set(), "kept": {}}
    with av.open(str(path)) as c:
        st = c.streams.video[0]
        out["time_base"] = st.time_base
        out["start_time"] = st.start_time
        out["container"] = c.format.name.split(",")[0]
        out["codec"] = st.codec_context.name
        frames = list(c.decode(st))
    n = len(frames)
    keep_idx = set(np.linspace(0, n - 1, keep).round().astype(int).tolist()) if n else set()
    for i, f in enumerate(frames):
        rgb = f.to_ndarray(format="rgb24")
        out["pts"].append(f.pts)
        out["reads"].append(read_barcode(rgb))
        out["rot"].add(f.rotation)
        out["ptypes"].append(int(f.pict_type))
        out["size"] = (f.width, f.height)
        if f.key_frame:
            out["keys"].append(i)
        if i in keep_idx:
            out["kept"][i] = rgb
    return out


@pytest.fixture(scope="module")
def decoded() -> dict:
    return {name: decode_summary(s.path) for name, s in VIDEO_SAMPLES.items()}


def displayed(rgb: np.ndarray, rotation: int) -> np.ndarray:
    """Frame as displayed (ffmpeg autorotate semantics, CCW degrees)."""
    return np.ascontiguousarray(np.rot90(rgb, k=(rotation % 360) // 90))


# ---------------------------------------------------------------------------
# Image transforms the barcode must survive
# ---------------------------------------------------------------------------


def jpeg(rgb: np.ndarray, q: int = 75) -> np.ndarray:
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, q])
    assert ok
    return cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def resize(rgb: np.ndarray, w: int, h: int) -> np.ndarray:
    return cv2.resize(rgb, (w, h), interpolation=cv2.INTER_AREA if w < rgb.shape[1] else cv2.INTER_LINEAR)


def centre_crop_square(rgb: np.ndarray) -> np.ndarray:
    h, w = rgb.shape[:2]
    m = min(h, w)
    y, x = (h - m) // 2, (w - m) // 2
    return np.ascontiguousarray(rgb[y : y + m, x : x + m])


def pad_black(rgb: np.ndarray, size: int = 400) -> np.ndarray:
    h, w = rgb.shape[:2]
    s = min(1.0, (size - 20) / max(h, w))
    if s < 1.0:
        rgb = resize(rgb, max(1, round(w * s)), max(1, round(h * s)))
        h, w = rgb.shape[:2]
    canvas = np.zeros((size, size, 3), np.uint8)
    y, x = (size - h) // 3, (size - w) // 4  # off-centre on purpose
    canvas[y : y + h, x : x + w] = rgb
    return canvas


TRANSFORMS = {
    "identity": lambda a: a,
    "jpeg75": jpeg,
    "half_jpeg": lambda a: jpeg(resize(a, a.shape[1] // 2, a.shape[0] // 2)),
    "w128_jpeg": lambda a: jpeg(resize(a, 128, max(1, round(128 * a.shape[0] / a.shape[1])))),
    "short100_jpeg": lambda a: jpeg(
        resize(a, round(a.shape[1] * 100 / min(a.shape[:2])), round(a.shape[0] * 100 / min(a.shape[:2])))
    ),
    "stretch_200x300_jpeg": lambda a: jpeg(resize(a, 200, 300)),
    "stretch_300x100_jpeg": lambda a: jpeg(resize(a, 300, 100)),
    "centre_crop_square": centre_crop_square,
    "centre_crop_square_jpeg": lambda a: jpeg(centre_crop_square(a)),
    "pad_black_400": pad_black,
    "pad_black_400_jpeg": lambda a: jpeg(pad_black(a)),
    "upscale_2.5x": lambda a: resize(a, round(a.shape[1] * 2.5), round(a.shape[0] * 2.5)),
}


# ---------------------------------------------------------------------------
# Committed files vs catalog
# ---------------------------------------------------------------------------


def test_catalog_files_exist_and_small():
    total = 0
    for s in SAMPLES.values():
        assert s.path.is_file(), s.path
        total += s.path.stat().st_size
    assert total < 6 * 1024 * 1024
    on_disk = {p.name for p in (REPO / "sample_media").iterdir()
               if p.suffix in {".mp4", ".webm", ".ts", ".mkv", ".flac", ".mp3"}}
    assert on_disk == set(SAMPLES)
    assert set(gen.GENERATORS) == set(SAMPLES)


@pytest.mark.parametrize("name", sorted(VIDEO_SAMPLES))
def test_every_frame_reads_its_index(decoded, name):
    d = decoded[name]
    s = VIDEO_SAMPLES[name]
    assert d["reads"] == list(range(s.num_frames))


@pytest.mark.parametrize("name", sorted(VIDEO_SAMPLES))
def test_video_facts_match_catalog(decoded, name):
    d, s = decoded[name], VIDEO_SAMPLES[name]
    assert d["container"] == s.container
    assert d["codec"].startswith(s.codec)
    assert d["size"] == (s.width, s.height)
    assert d["time_base"] == s.time_base
    assert len(d["pts"]) == s.num_frames
    pts = d["pts"]
    assert all(b > a for a, b in zip(pts, pts[1:])), "pts must increase in output order"
    assert float(pts[0] * s.time_base) == pytest.approx(s.first_pts_seconds, abs=1e-6)
    assert d["start_time"] == pts[0]
    assert d["keys"] == list(range(0, s.num_frames, s.keyframe_interval))
    assert (3 in d["ptypes"]) == s.has_b_frames  # 3 == AV_PICTURE_TYPE_B
    assert {r % 360 for r in d["rot"]} == {s.rotation}
    if s.fps is not None:
        step = np.diff(np.array(pts, dtype=np.int64)) * float(s.time_base)
        assert np.allclose(step, 1 / float(s.fps), atol=float(s.time_base) + 1e-9)
        assert float(s.num_frames / s.fps) == pytest.approx(s.duration_seconds, abs=0.05)


def test_rotation_readback():
    # PyAV normalises frame.rotation to (-180, 180].
    expected = {90: 90, 180: -180, 270: -90}
    for deg, rb in expected.items():
        with av.open(str(SAMPLES[f"rotated_{deg}.mp4"].path)) as c:
            f = next(c.decode(video=0))
            assert f.rotation == rb
            assert (f.width, f.height) == (320, 180)
        s = SAMPLES[f"rotated_{deg}.mp4"]
        assert displayed(f.to_ndarray(format="rgb24"), f.rotation).shape[:2] == (
            s.display_height, s.display_width)


def test_ts_offset_starts_at_10s(decoded):
    d = decoded["ts_offset.ts"]
    assert d["pts"][0] == 900000 and d["time_base"] == Fraction(1, 90000)
    with av.open(str(SAMPLES["ts_offset.ts"].path)) as c:
        assert c.start_time == 10_000_000
        first = next(p for p in c.demux(video=0) if p.size)
        assert first.pts == 900000 and first.dts < first.pts


def test_vfr_pts_are_irregular(decoded):
    d = decoded["vfr.mkv"]
    assert d["pts"] == gen.vfr_pts_ms(VIDEO_SAMPLES["vfr.mkv"].num_frames)
    assert len(set(np.diff(d["pts"]).tolist())) >= 6


def test_scenes_cuts_dominate_coarse_structure():
    s = SAMPLES["scenes.mp4"]
    assert tuple(gen.scene_cut_frames()) == s.extra["cuts"]
    assert not any(c % s.keyframe_interval == 0 for c in s.extra["cuts"])
    feats = []
    with av.open(str(s.path)) as c:
        for f in c.decode(video=0):
            g = cv2.cvtColor(f.to_ndarray(format="rgb24"), cv2.COLOR_RGB2GRAY)
            feats.append(cv2.resize(g, (9, 8), interpolation=cv2.INTER_AREA).astype(float))
    diffs = np.array([np.abs(b - a).mean() for a, b in zip(feats, feats[1:])])
    cut_diffs = diffs[np.array(s.extra["cuts"]) - 1]
    other = np.delete(diffs, np.array(s.extra["cuts"]) - 1)
    assert cut_diffs.min() > 20, cut_diffs
    assert other.max() < 5, other.max()


# ---------------------------------------------------------------------------
# Barcode robustness on decoded frames
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("tname", sorted(TRANSFORMS))
def test_barcode_survives_transform(decoded, tname):
    t = TRANSFORMS[tname]
    failures = []
    for name, d in decoded.items():
        rot = VIDEO_SAMPLES[name].rotation
        for i, rgb in d["kept"].items():
            img = displayed(rgb, rot)  # rotated files: as displayed
            got = read_barcode(t(img))
            if got != i:
                failures.append((name, i, got))
    assert not failures


@pytest.mark.parametrize("k", [0, 1, 2, 3])
def test_barcode_survives_rot90_and_reports_the_turn(decoded, k):
    for name, d in decoded.items():
        for i, rgb in d["kept"].items():
            assert read_barcode_turned(jpeg(np.ascontiguousarray(np.rot90(rgb, k)))) == (i, k), (name, i)


def test_portrait_centre_crop(decoded):
    # A displayed 9:16 portrait frame, centre-cropped to 1:1 and downscaled.
    for name in ("rotated_90.mp4", "rotated_270.mp4"):
        for i, rgb in decoded[name]["kept"].items():
            p = displayed(rgb, VIDEO_SAMPLES[name].rotation)
            assert p.shape[0] > p.shape[1]
            assert read_barcode(jpeg(resize(centre_crop_square(p), 100, 100))) == i


# ---------------------------------------------------------------------------
# Barcode unit tests
# ---------------------------------------------------------------------------


def test_bits_roundtrip_all_indices():
    for i in range(MAX_INDEX + 1):
        bits = encode_bits(i)
        assert len(bits) == 16 and decode_bits(bits) == i
    assert encode_bits(0b101000110101)[:12] == [1, 0, 1, 0, 0, 0, 1, 1, 0, 1, 0, 1]


def test_draw_read_sampled_indices():
    for i in list(range(0, MAX_INDEX + 1, 41)) + [MAX_INDEX]:
        img = frame_image(i, 160, 120, scene=i % N_SCENES)
        assert read_barcode(img) == i


@pytest.mark.parametrize("bad", [-1, MAX_INDEX + 1, 10_000])
def test_draw_rejects_out_of_range(bad):
    with pytest.raises(ValueError):
        draw_barcode(np.zeros((100, 100, 3), np.uint8), bad)


def _box_with_uniform_grid(value: int) -> np.ndarray:
    img = scene_background(0, 320, 180, 3)
    draw_barcode(img, 1234)
    red = _red_mask(img)
    ys, xs = np.nonzero(red)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    inner = ~red[y0:y1, x0:x1]
    box = img[y0:y1, x0:x1]
    box[inner] = value  # whole interior (quiet zone + grid) uniform
    return img


@pytest.mark.parametrize("value", [0, 255])
def test_uniform_grid_rejected(value):
    img = _box_with_uniform_grid(value)
    assert read_barcode(img) is None
    assert read_barcode(jpeg(img)) is None


def test_all_black_all_white_codes_fail_checksum():
    assert decode_bits([0] * 16) is None
    assert decode_bits([1] * 16) is None


def test_no_box_returns_none():
    for sc in range(N_SCENES):
        assert read_barcode(scene_background(5, 320, 180, sc)) is None
    rng = np.random.default_rng(0)
    assert read_barcode(rng.integers(0, 256, (120, 160, 3), dtype=np.uint8) // 2) is None
    assert read_barcode(np.zeros((50, 50, 3), np.uint8)) is None


def test_backgrounds_have_no_red_and_distinct_structure():
    coarse = []
    for sc in range(N_SCENES):
        for idx in (0, 17, 59):
            bg = scene_background(idx, 320, 180, sc)
            assert not _red_mask(bg).any(), (sc, idx)
        img = frame_image(3, 320, 180, scene=sc, box_fraction=0.25)
        g = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
        coarse.append(cv2.resize(g, (9, 8), interpolation=cv2.INTER_AREA).astype(float))
    for a in range(N_SCENES):
        for b in range(a + 1, N_SCENES):
            assert np.abs(coarse[a] - coarse[b]).mean() > 20, (a, b)
    # scene 0 moves a little between consecutive frames
    d = np.abs(scene_background(1, 320, 180, 0).astype(int) - scene_background(0, 320, 180, 0)).mean()
    assert 0.2 < d < 10


# ---------------------------------------------------------------------------
# Cover pictures
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(n for n, s in AUDIO_SAMPLES.items() if s.cover_index is not None))
def test_cover_picture(name):
    s = SAMPLES[name]
    with av.open(str(s.path)) as c:
        assert c.format.name.split(",")[0] == s.container
        assert len(c.streams.audio) == 1
        assert c.streams.audio[0].codec_context.name.startswith(s.codec)
        pics = [v for v in c.streams.video if v.disposition & av.stream.Disposition.attached_pic]
        assert len(pics) == 1
        pic = pics[0]
        assert pic.codec_context.name == s.cover_codec
        pkts = [p for p in c.demux(pic) if p.size]
        assert len(pkts) == 1
        frames = list(pic.codec_context.decode(pkts[0])) + list(pic.codec_context.decode(None))
        assert len(frames) == 1
        f = frames[0]
        assert (f.width, f.height) == s.cover_size
        assert read_barcode(f.to_ndarray(format="rgb24")) == s.cover_index
    with av.open(str(s.path)) as c:
        dur = sum(fr.samples for fr in c.decode(audio=0)) / c.streams.audio[0].rate
        assert dur == pytest.approx(s.duration_seconds, abs=0.06)


def test_no_cover_mp3():
    s = SAMPLES["no_cover.mp3"]
    with av.open(str(s.path)) as c:
        assert len(c.streams.video) == 0
        assert len(c.streams.audio) == 1
        dur = sum(fr.samples for fr in c.decode(audio=0)) / c.streams.audio[0].rate
        assert dur == pytest.approx(1.0, abs=0.06)


# ---------------------------------------------------------------------------
# Generator
# ---------------------------------------------------------------------------


QUICK = ["vfr.mkv", "rotated_270.mp4", "scenes.mp4", "cover.mp3"]


def test_generate_cli_quick_subset(tmp_path):
    r = subprocess.run(
        [sys.executable, "-m", "sample_media.generate", "--out", str(tmp_path), "--only", *QUICK],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(QUICK)
    for name in QUICK:
        s = SAMPLES[name]
        if not s.is_video:
            continue
        new, ref = decode_summary(tmp_path / name, keep=0), decode_summary(s.path, keep=0)
        for key in ("pts", "reads", "keys", "rot", "size", "time_base"):
            assert new[key] == ref[key], (name, key)
    # bytes are reproducible with the same PyAV/FFmpeg build (fflags=+bitexact)
    assert (tmp_path / "cover.mp3").read_bytes() == SAMPLES["cover.mp3"].path.read_bytes()


def test_generate_bench_tiny(tmp_path):
    p = gen.generate_bench(tmp_path, seconds=0.2)
    d = decode_summary(p, keep=2)
    assert d["size"] == (1920, 1080)
    assert d["reads"] == list(range(6))
    assert d["time_base"] == Fraction(1, 15360) or d["time_base"].denominator % 30 == 0
    assert read_barcode(jpeg(resize(d["kept"][5], 178, 100))) == 5
