"""The seed page's examples and every mode, end to end on the committed samples.

Each test reads the barcode of every output image and checks it is the exact frame
SPEC §2 names, computed from the oracle's truth (tests/oracle.py) in fractions.
"""

from __future__ import annotations

from fractions import Fraction

import pytest

from engine import ProcessError, snapshot
from kernels import dhash_reference, hash_to_hex
from oracle import frame_index_of, leftovers, truth
from sample_media.catalog import SAMPLES

MAIN = "h264_bframes.mp4"


def expected_inter(name: str, ss: int, inter: int, num: int = 0) -> list[int]:
    """Frames hit by t_k = ss + k·inter, t_k < D; each frame once; first num."""
    facts = truth(name)
    hits: list[int] = []
    if inter == 0:
        first = facts.at(ss)
        hits = [f.index for f in facts.frames if f.seconds >= first.seconds]
    else:
        k = 0
        while Fraction(ss + k * inter, 1000) < facts.end:
            index = facts.at(ss + k * inter).index
            if index not in hits:
                hits.append(index)
            k += 1
    return hits[:num] if num else hits


def expected_avg(name: str, n: int, ss: int = 0) -> list[int]:
    facts = truth(name)
    start = Fraction(ss, 1000)
    hits: list[int] = []
    for k in range(n):
        t = start + (k + Fraction(1, 2)) * (facts.end - start) / n
        index = facts.at(t * 1000).index
        if index not in hits:
            hits.append(index)
    return hits


def shown(result, turns: int = 0) -> list[int | None]:
    return [frame_index_of(s.path, turns) for s in result.snapshots]


def run(tmp_path, name: str, process: str, **kwargs):
    from oracle import SAMPLE_DIR

    result = snapshot(str(SAMPLE_DIR / name), process, str(tmp_path / "out" / "clip"), **kwargs)
    assert leftovers(tmp_path) == []
    return result


# --- the seed page's examples -----------------------------------------------------


def test_seed_one_frame_every_10_s_512_crop(tmp_path):
    result = run(tmp_path, MAIN, "video/snapshots,f_jpg,w_512,h_512,scaletype_crop,inter_10000")
    assert shown(result) == expected_inter(MAIN, 0, 10000) == [0, 299, 599, 899]
    assert [(s.width, s.height) for s in result.snapshots] == [(512, 512)] * 4
    assert [s.path.rsplit("/", 1)[1] for s in result.snapshots] == [f"clip_0_{j}.jpg" for j in (1, 2, 3, 4)]
    assert [s.requested_ms for s in result.snapshots] == [0, 10000, 20000, 30000]
    facts = truth(MAIN)
    assert [s.pts_ms for s in result.snapshots] == [
        pytest.approx(float(facts.frames[i].seconds * 1000), abs=1e-3) for i in (0, 299, 599, 899)
    ]


def test_seed_from_11_s_half_size_5_png_as_written(tmp_path):
    # As written the string has no inter: inter 0 = every frame from ss, the first 5.
    result = run(tmp_path, MAIN, "video/snapshots,ss_11000,f_png,pw_50,ph_50,num_5")
    first = truth(MAIN).at(11000).index
    assert shown(result) == expected_inter(MAIN, 11000, 0, 5) == list(range(first, first + 5))
    assert {(s.width, s.height) for s in result.snapshots} == {(192, 108)}
    assert all(s.path.endswith(".png") for s in result.snapshots)


def test_seed_from_11_s_every_4_s_5_png_as_described(tmp_path):
    result = run(tmp_path, MAIN, "video/snapshots,ss_11000,f_png,pw_50,ph_50,num_5,inter_4000")
    assert shown(result) == expected_inter(MAIN, 11000, 4000, 5)
    assert [s.requested_ms for s in result.snapshots] == [11000, 15000, 19000, 23000, 27000]


def _dhash_oracle(name: str, inter: int) -> tuple[list[int], list[float], list[str]]:
    """Candidate frames, their scores and hashes, from the truth's luma planes."""
    candidates = expected_inter(name, 0, inter)
    frames = {f.index: f for f in truth(name).frames}
    hashes = [dhash_reference(frames[i].luma) for i in candidates]
    scores = [100.0] + [100 * bin(a ^ b).count("1") / 64 for a, b in zip(hashes, hashes[1:])]
    return candidates, scores, [hash_to_hex(h) for h in hashes]


def test_seed_dhash_events_threshold_15(tmp_path):
    name = "scenes.mp4"
    result = run(tmp_path, name, "video/snapshots,m_dhash,f_jpg,inter_1000,thr_15")
    candidates, scores, hexes = _dhash_oracle(name, 1000)
    events = [i for i, s in enumerate(scores) if s > 15]
    assert shown(result) == [candidates[i] for i in events]
    assert [s.dhash for s in result.snapshots] == [hexes[i] for i in events]
    assert [s.score for s in result.snapshots] == [pytest.approx(scores[i]) for i in events]
    # The events are the scene changes: every candidate that starts a new scene.
    cuts = SAMPLES[name].extra["cuts"]
    scene = [sum(c <= i for c in cuts) for i in candidates]
    new_scene = [0] + [i for i in range(1, len(candidates)) if scene[i] != scene[i - 1]]
    assert events == new_scene


def test_seed_dhash_5_most_significant_changes(tmp_path):
    name = "scenes.mp4"
    result = run(tmp_path, name, "video/snapshots,m_dhash,f_jpg,inter_1000,num_5")
    candidates, scores, _ = _dhash_oracle(name, 1000)
    ranked = sorted((i for i, s in enumerate(scores) if s > 0), key=lambda i: (-scores[i], i))[:5]
    assert shown(result) == [candidates[i] for i in sorted(ranked)]
    assert [s.serial for s in result.snapshots] == [1, 2, 3, 4, 5]


def test_dhash_every_frame_by_default(tmp_path):
    name = "scenes.mp4"
    result = run(tmp_path, name, "video/snapshots,m_dhash,f_jpg,thr_30")
    candidates, scores, _ = _dhash_oracle(name, 0)
    assert candidates == list(range(len(truth(name).frames)))
    assert shown(result) == [candidates[i] for i, s in enumerate(scores) if s > 30]
    # Every frame is a candidate, so each scene cut itself is found.
    assert shown(result) == [0, *SAMPLES[name].extra["cuts"]]


def test_seed_all_keyframes(tmp_path):
    result = run(tmp_path, MAIN, "video/snapshots,m_key,f_jpg")
    keys = [f.index for f in truth(MAIN).frames if f.keyframe]
    assert keys == list(range(0, 900, 60))
    assert shown(result) == keys
    assert all(s.keyframe for s in result.snapshots)
    # Keyframe mode decodes keyframes only.
    assert result.frames_decoded == len(keys)


def test_keyframes_from_ss_first_n(tmp_path):
    result = run(tmp_path, MAIN, "video/snapshots,m_key,f_jpg,ss_5000,num_3")
    assert shown(result) == [180, 240, 300]  # 180·1001/30000 s = 6.006 s ≥ 5 s


def test_seed_10_frames_evenly_spread(tmp_path):
    result = run(tmp_path, MAIN, "video/snapshots,m_avg,f_jpg,num_10")
    assert shown(result) == expected_avg(MAIN, 10) == [45, 135, 225, 315, 405, 495, 585, 675, 765, 855]


@pytest.mark.parametrize("name", ["cover.flac", "cover.mp3"])
def test_seed_audio_cover(tmp_path, sample, name):
    target = tmp_path / "cover.jpg"
    result = snapshot(sample(name), "video/snapshots,f_jpg", str(target))
    assert result.paths == [str(target)]
    assert frame_index_of(target) == SAMPLES[name].cover_index == 777
    assert (result.snapshots[0].width, result.snapshots[0].height) == (300, 300)


def test_cover_whatever_the_mode(tmp_path, sample):
    result = snapshot(sample("cover.flac"), "video/snapshots,f_png,m_avg,num_4,w_100", str(tmp_path / "c"))
    assert [frame_index_of(p) for p in result.paths] == [777]
    assert any("cover" in w for w in result.warnings)


# --- other modes and options ------------------------------------------------------


def test_every_frame_when_interval_below_frame_duration(tmp_path):
    # 10 ms < 33.4 ms: every frame once, never twice.
    result = run(tmp_path, MAIN, "video/snapshots,f_jpg,inter_10,ss_1000,num_12")
    first = truth(MAIN).at(1000).index
    assert shown(result) == list(range(first, first + 12))


def test_ntsc_exact_boundaries(tmp_path):
    # 1001 ms is exactly frame 30's pts at 30000/1001 fps: the frame shown then is 30.
    result = run(tmp_path, MAIN, "video/snapshots,f_jpg,inter_1001,num_4")
    assert shown(result) == [0, 30, 60, 90]


def test_fast_seek_takes_keyframe_at_or_before(tmp_path):
    result = run(tmp_path, MAIN, "video/snapshots,f_jpg,inter_10000,sm_fast")
    assert shown(result) == [0, 240, 540, 840]
    assert all(s.keyframe for s in result.snapshots)


def test_start_past_end_is_refused_and_writes_nothing(tmp_path, sample):
    with pytest.raises(ProcessError, match=r"ss: 31000 ms is at or past the end"):
        snapshot(sample(MAIN), "video/snapshots,f_jpg,ss_31000", str(tmp_path / "x"))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "name,inter",
    [("hevc.mp4", 700), ("vp9_odd.webm", 500), ("vfr.mkv", 100), ("ts_offset.ts", 400), ("scenes.mp4", 1500)],
)
def test_inter_on_every_codec_and_container(tmp_path, name, inter):
    result = run(tmp_path, name, f"video/snapshots,f_png,inter_{inter}")
    assert shown(result) == expected_inter(name, 0, inter)
    assert len(result.snapshots) >= 5


@pytest.mark.parametrize("name", ["hevc.mp4", "vp9_odd.webm", "vfr.mkv", "ts_offset.ts"])
def test_avg_and_keyframes_on_every_codec(tmp_path, name):
    result = run(tmp_path, name, "video/snapshots,f_jpg,m_avg,num_7,ss_500")
    assert shown(result) == expected_avg(name, 7, ss=500)
    keys = run(tmp_path / "k", name, "video/snapshots,f_jpg,m_key")
    assert shown(keys) == [f.index for f in truth(name).frames if f.keyframe]


def test_variable_frame_rate_uses_timestamps(tmp_path):
    name = "vfr.mkv"
    result = run(tmp_path, name, "video/snapshots,f_png,inter_250")
    expected = expected_inter(name, 0, 250)
    assert shown(result) == expected
    # A constant-rate assumption (index = t · frames / duration) would pick others.
    facts = truth(name)
    naive = [min(int(k * 0.25 * len(facts.frames) / float(facts.end)), len(facts.frames) - 1) for k in range(len(expected))]
    assert naive != expected


def test_time_zero_is_the_first_frame_of_an_offset_stream(tmp_path):
    name = "ts_offset.ts"
    assert SAMPLES[name].first_pts_seconds == 10.0
    result = run(tmp_path, name, "video/snapshots,f_jpg,ss_1000,inter_1000")
    assert shown(result) == [25, 50]
    assert [s.pts_ms for s in result.snapshots] == [pytest.approx(1000), pytest.approx(2000)]
    assert result.duration_ms == pytest.approx(3000)


def test_result_reports_each_snapshot(tmp_path):
    result = run(tmp_path, MAIN, "video/snapshots,f_jpg,m_avg,num_2,w_64")
    as_dict = result.to_dict()
    assert as_dict["stream"] == 0 and as_dict["decode_errors"] == 0
    first = as_dict["snapshots"][0]
    assert set(first) == {"serial", "path", "requested_ms", "pts_ms", "keyframe", "width", "height", "dhash", "score"}
    assert (first["width"], first["height"]) == (64, 36)
    assert first["dhash"] is None


# --- which stream (vs) ------------------------------------------------------------


def test_default_stream_is_ffmpegs_best_and_vs_picks_another(tmp_path, sample):
    import av

    name = "two_streams.mkv"
    with av.open(sample(name)) as container:
        best = list(container.streams.video).index(container.streams.best("video"))
    default = snapshot(sample(name), "video/snapshots,f_png,inter_1000", str(tmp_path / "a" / "clip"))
    assert default.stream == best == 0
    assert [p.rsplit("/", 1)[1] for p in default.paths] == ["clip_0_1.png", "clip_0_2.png", "clip_0_3.png"]
    assert [frame_index_of(p) for p in default.paths] == [0, 10, 20]
    second = snapshot(sample(name), "video/snapshots,f_png,inter_1000,vs_1", str(tmp_path / "b" / "clip"))
    assert second.stream == 1
    assert [p.rsplit("/", 1)[1] for p in second.paths] == ["clip_1_1.png", "clip_1_2.png", "clip_1_3.png"]
    offset = SAMPLES[name].extra["second_stream_offset"]
    assert [frame_index_of(p) for p in second.paths] == [offset, offset + 5, offset + 10]
    assert {(s.width, s.height) for s in second.snapshots} == {(320, 180)}


def test_a_real_video_stream_wins_over_a_cover_picture(tmp_path, sample):
    name = "video_with_cover.mp4"
    video = snapshot(sample(name), "video/snapshots,f_png,m_avg,num_2", str(tmp_path / "v"))
    assert [frame_index_of(p) for p in video.paths] == [5, 15]
    # Asking for the cover by position gives the cover.
    cover = snapshot(sample(name), "video/snapshots,f_png,vs_1", str(tmp_path / "c"))
    assert [frame_index_of(p) for p in cover.paths] == [SAMPLES[name].cover_index]
