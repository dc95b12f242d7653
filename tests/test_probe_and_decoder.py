"""Probe (stream choice, frame-time scan) and decoder (pts matching, seeks), on samples."""

from __future__ import annotations


import pytest

from engine.decoder import Decoder, DecodeStats, resolve
from engine.errors import NotMediaError, NoVideoError, ProcessError, SourceNotFoundError
from engine.planner import Listed, Plan
from engine.probe import Source, open_source, probe
from oracle import truth
from sample_media.barcode import read_barcode
from sample_media.catalog import SAMPLES, VIDEO_SAMPLES

SINGLE_STREAM_VIDEOS = [n for n in VIDEO_SAMPLES if n not in ("two_streams.mkv", "video_with_cover.mp4")]


PATHS = [True, False]  # index first (where the container has one), and the full scan


@pytest.mark.parametrize("use_index", PATHS, ids=["index", "scan"])
@pytest.mark.parametrize("name", SINGLE_STREAM_VIDEOS)
def test_probe_gives_time_zero_the_end_and_keyframes(sample, name, use_index):
    with open_source(sample(name)) as container:
        info = probe(container, use_index=use_index)
    facts = info.facts
    expected = truth(name)
    assert not info.is_cover and info.video_position == 0
    assert info.probe_path == ("index" if use_index and name.endswith((".mp4", ".mkv", ".webm")) else "scan")
    assert (facts.end_pts - facts.start_pts) * facts.time_base == expected.end
    assert (facts.last_pts - facts.start_pts) * facts.time_base == expected.frames[-1].seconds
    keys = [f.seconds for f in expected.frames if f.keyframe]
    points = [(int(p) - facts.start_pts) * facts.time_base for p in facts.seek_points]
    if info.probe_path == "scan":
        assert points == keys  # every keyframe, by pts
    else:
        # Index times (MP4 decode times, Matroska cue times) at or before a keyframe each.
        assert all(any(point <= key for key in keys) for point in points)
        assert len(points) <= len(keys)
    assert facts.first_keyframe_pts is not None and not facts.starts_mid_gop


def test_index_path_reads_a_fraction_of_a_long_file(sample, tmp_path):
    """The index path reads the head and the last GOPs; the scan reads every packet."""
    import subprocess

    long = tmp_path / "long.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-stream_loop", "9", "-i", sample("h264_bframes.mp4"), "-c", "copy",
                    str(long)], check=True)
    sizes = {}
    for use_index in PATHS:
        with Source(long) as source, source.open() as container:
            probe(container, reopen=source.open, use_index=use_index)
            sizes[use_index] = source.bytes_read
    assert sizes[True] < 0.3 * long.stat().st_size < sizes[False]


def test_time_zero_of_an_offset_stream(sample):
    with open_source(sample("ts_offset.ts")) as container:
        facts = probe(container).facts
    assert facts.start_pts * facts.time_base == 10
    assert facts.ms(facts.start_pts) == 0.0
    assert facts.duration_ms == pytest.approx(3000.0)


@pytest.mark.parametrize("name", ["cover.flac", "cover.mp3"])
def test_audio_with_cover_probes_as_cover(sample, name):
    with open_source(sample(name)) as container:
        info = probe(container)
        assert info.is_cover and info.facts is None
        frame = Decoder(container, info.stream_index).cover(name)
        assert read_barcode(frame.to_ndarray(format="rgb24")) == 777


def test_stream_position_out_of_range(sample):
    with open_source(sample("h264_bframes.mp4")) as container:
        with pytest.raises(ProcessError, match=r"vs: 2 is out of range .*valid: 0–0 \(1 video stream\)"):
            probe(container, position=2)


def test_open_errors_name_the_input(tmp_path, sample):
    with pytest.raises(SourceNotFoundError, match=r"nothere\.mp4.*no such file"):
        open_source(tmp_path / "nothere.mp4")
    with pytest.raises(NotMediaError, match=r"is a directory"):
        open_source(tmp_path)
    junk = tmp_path / "junk.mkv"
    junk.write_bytes(bytes(range(256)) * 40)
    with pytest.raises(NotMediaError, match=r"junk\.mkv.*not a media file"):
        open_source(junk)
    with open_source(sample("no_cover.mp3")) as container:
        with pytest.raises(NoVideoError, match=r"no_cover\.mp3.*no video stream"):
            probe(container)


def _decode(sample, name: str, frames: list[int], *, keyframes_only: bool = False, use_index: bool = True):
    """Decode the frames shown at the given frames' own times, through the decoder's
    runs, on one decoder."""
    expected = truth(name)
    with open_source(sample(name)) as container:
        info = probe(container, use_index=use_index)
        facts = info.facts
        from engine.planner import Clock

        clock = Clock(facts.time_base, facts.start_pts)
        times = tuple(int(expected.frames[f].seconds * 1000 * facts.time_base.denominator) for f in frames)
        plan = Plan(times=Listed(clock, times), keyframes_only=keyframes_only)
        stats = DecodeStats()
        found = resolve(plan, facts, open_container=lambda: open_source(sample(name)), container=container,
                        stream_index=info.stream_index, careful=False, stats=stats)
        got = [(times.index(r.time), read_barcode(r.frame.to_ndarray(format="rgb24")), r.frame.pts) for r in found]
        return got, stats, facts


@pytest.mark.parametrize("use_index", PATHS, ids=["index", "scan"])
@pytest.mark.parametrize("name", ["h264_bframes.mp4", "hevc.mp4", "ts_offset.ts", "vfr.mkv", "vp9_odd.webm"])
def test_decoder_returns_exactly_the_frames_shown(sample, name, use_index, monkeypatch):
    monkeypatch.setenv("SNAPSHOTS_DECODERS", "1")
    count = SAMPLES[name].num_frames
    frames = sorted({0, 1, count // 3, count // 3 + 1, count // 2, count - 2, count - 1})
    got, stats, facts = _decode(sample, name, frames, use_index=use_index)
    assert [i for i, _, _ in got] == list(range(len(frames)))
    assert [code for _, code, _ in got] == frames  # barcode index == presentation index
    assert stats.decode_errors == 0


def test_decoder_skips_ahead_instead_of_decoding_everything(sample, monkeypatch):
    monkeypatch.setenv("SNAPSHOTS_DECODERS", "1")
    got, stats, _ = _decode(sample, "h264_bframes.mp4", [5, 425, 845])
    assert [code for _, code, _ in got] == [5, 425, 845]
    # Three runs from keyframes 0, 420 and 840: a few frames each, not 846.
    assert stats.frames_decoded < 60 and stats.seeks == 3


@pytest.mark.parametrize("use_index", PATHS, ids=["index", "scan"])
def test_keyframes_only_decodes_only_keyframes(sample, use_index):
    keys = list(range(0, 900, 60))
    got, stats, _ = _decode(sample, "h264_bframes.mp4", keys, keyframes_only=True, use_index=use_index)
    assert [code for _, code, _ in got] == keys
    assert stats.frames_decoded == len(keys)


def test_seek_ladder_falls_back_when_the_demuxer_seeks_by_dts(sample, monkeypatch):
    # MPEG-TS seeks land after the keyframe when asked by pts; the decoder must
    # notice (first frame after the target) and still return the exact frame.
    monkeypatch.setenv("SNAPSHOTS_DECODERS", "1")
    got, stats, _ = _decode(sample, "ts_offset.ts", [30, 55, 74])
    assert [code for _, code, _ in got] == [30, 55, 74]
    # Two runs (keyframes 25 and 50): the first tries pts, then dts; the second
    # goes straight to dts, the rung that landed.
    assert stats.seeks == 3


def test_a_time_between_two_frames_gets_the_frame_shown(sample, monkeypatch):
    monkeypatch.setenv("SNAPSHOTS_DECODERS", "1")
    expected = truth("h264_bframes.mp4")
    with open_source(sample("h264_bframes.mp4")) as container:
        info = probe(container)
        facts = info.facts
        from engine.planner import Clock

        clock = Clock(facts.time_base, facts.start_pts)
        between = int((expected.frames[10].seconds + expected.frames[11].seconds) / 2 * 1000 * facts.time_base.denominator)
        plan = Plan(times=Listed(clock, (between - 1, between)))
        found = list(resolve(plan, facts, open_container=lambda: open_source(sample("h264_bframes.mp4")),
                             container=container, stream_index=info.stream_index, careful=False, stats=DecodeStats()))
    # Both times show frame 10: it is given once, for the first.
    assert [(r.time, read_barcode(r.frame.to_ndarray(format="rgb24"))) for r in found] == [(between - 1, 10)]


def test_keyframes_come_out_without_reading_further_keyframes(sample, monkeypatch):
    # With NONKEY a decoder holds a keyframe back until later keyframes arrive; the
    # decoder drains instead, so every keyframe comes once, reading nothing past it.
    keys = list(range(0, 900, 60))
    got, stats, facts = _decode(sample, "h264_bframes.mp4", keys, keyframes_only=True, use_index=False)
    assert [code for _, code, _ in got] == keys
    assert stats.frames_decoded == len(keys) and stats.seeks == len(keys)


def test_a_run_stops_reading_once_its_last_target_is_fed(sample, monkeypatch):
    # Frame 62 (a B-frame) needs packets up to its own; the reorder delay must not
    # make the decoder read the rest of the GOP.
    monkeypatch.setenv("SNAPSHOTS_DECODERS", "1")
    got, stats, _ = _decode(sample, "h264_bframes.mp4", [62])
    assert [code for _, code, _ in got] == [62]
    assert stats.frames_decoded <= 6
