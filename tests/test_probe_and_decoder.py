"""Probe (stream choice, frame-time scan) and decoder (pts matching, seeks), on samples."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from engine.decoder import Decoder
from engine.errors import NotMediaError, NoVideoError, ProcessError, SourceNotFoundError
from engine.planner import DecodeRun, Plan, StreamFacts, Target, decode_runs
from engine.probe import open_source, probe
from oracle import truth
from sample_media.barcode import read_barcode
from sample_media.catalog import SAMPLES, VIDEO_SAMPLES

SINGLE_STREAM_VIDEOS = [n for n in VIDEO_SAMPLES if n not in ("two_streams.mkv", "video_with_cover.mp4")]


@pytest.mark.parametrize("name", SINGLE_STREAM_VIDEOS)
def test_scan_gives_every_frame_time_and_keyframe(sample, name):
    with open_source(sample(name)) as container:
        info = probe(container)
    facts = info.facts
    expected = truth(name)
    assert not info.is_cover and info.video_position == 0
    assert facts.frame_count == len(expected.frames) == SAMPLES[name].num_frames
    seconds = [(int(p) - int(facts.pts[0])) * facts.time_base for p in facts.pts]
    assert seconds == [f.seconds for f in expected.frames]
    assert list(facts.keyframe) == [f.keyframe for f in expected.frames]
    assert (facts.end_pts - facts.pts[0]) * facts.time_base == expected.end
    assert facts.dts is not None and np.all(facts.dts <= facts.pts)


def test_time_zero_of_an_offset_stream(sample):
    with open_source(sample("ts_offset.ts")) as container:
        facts = probe(container).facts
    assert facts.pts[0] * facts.time_base == 10
    assert facts.ms(facts.pts[0]) == 0.0
    assert facts.duration_ms == pytest.approx(3000.0)


@pytest.mark.parametrize("name", ["cover.flac", "cover.mp3"])
def test_audio_with_cover_probes_as_cover(sample, name):
    with open_source(sample(name)) as container:
        info = probe(container)
        assert info.is_cover and info.facts is None
        frame = Decoder(container, info.stream_index).cover()
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


def _decode(sample, name: str, frames: list[int], *, keyframes_only: bool = False):
    with open_source(sample(name)) as container:
        info = probe(container)
        facts = info.facts
        plan = Plan(
            targets=tuple(Target(f, 0.0) for f in frames),
            runs=decode_runs(np.array(frames), facts.keyframe),
            keyframes_only=keyframes_only,
        )
        decoder = Decoder(container, info.stream_index, keyframes_only=keyframes_only)
        got = [(i, read_barcode(f.to_ndarray(format="rgb24")), f.pts) for i, f in decoder.targets(plan, facts)]
        return got, decoder.stats, facts


@pytest.mark.parametrize("name", ["h264_bframes.mp4", "hevc.mp4", "ts_offset.ts", "vfr.mkv", "vp9_odd.webm"])
def test_decoder_returns_exactly_the_planned_frames(sample, name):
    count = SAMPLES[name].num_frames
    frames = sorted({0, 1, count // 3, count // 3 + 1, count // 2, count - 2, count - 1})
    got, stats, facts = _decode(sample, name, frames)
    assert [i for i, _, _ in got] == frames
    assert [code for _, code, _ in got] == frames  # barcode index == presentation index
    assert [pts for _, _, pts in got] == [int(facts.pts[f]) for f in frames]
    assert stats.decode_errors == 0


def test_decoder_skips_ahead_instead_of_decoding_everything(sample):
    got, stats, _ = _decode(sample, "h264_bframes.mp4", [5, 425, 845])
    assert [code for _, code, _ in got] == [5, 425, 845]
    # Three runs from keyframes 0, 420 and 840: a few frames each, not 846.
    assert stats.frames_decoded < 60 and stats.seeks == 3


def test_keyframes_only_decodes_only_keyframes(sample):
    keys = list(range(0, 900, 60))
    got, stats, _ = _decode(sample, "h264_bframes.mp4", keys, keyframes_only=True)
    assert [code for _, code, _ in got] == keys
    assert stats.frames_decoded == len(keys)


def test_seek_ladder_falls_back_when_the_demuxer_seeks_by_dts(sample):
    # MPEG-TS seeks land after the keyframe when asked by pts; the decoder must
    # notice (first frame after the target) and still return the exact frame.
    got, stats, _ = _decode(sample, "ts_offset.ts", [30, 55, 74])
    assert [code for _, code, _ in got] == [30, 55, 74]
    # Two runs (keyframes 25 and 50): the first tries pts, then dts; the second
    # goes straight to dts, the rung that landed.
    assert stats.seeks == 3


def test_a_target_whose_pts_never_decodes_gets_the_frame_shown(sample):
    # Facts claiming a frame between two real ones: "the frame at t" is the earlier one.
    with open_source(sample("h264_bframes.mp4")) as container:
        info = probe(container)
        real = info.facts
        pts = np.insert(real.pts, 11, real.pts[10] + 500)
        keys = np.insert(real.keyframe, 11, False)
        facts = StreamFacts(real.time_base, pts, keys, real.end_pts, dts=np.insert(real.dts, 11, real.dts[10]))
        plan = Plan(targets=(Target(11, 0.0),), runs=(DecodeRun(0, (11,)),))
        (index, frame), = Decoder(container, info.stream_index).targets(plan, facts)
    assert index == 11 and read_barcode(frame.to_ndarray(format="rgb24")) == 10
    assert Fraction(frame.pts) == real.pts[10]


def test_keyframes_come_out_without_reading_further_keyframes(sample, monkeypatch):
    # With NONKEY a decoder holds a keyframe back until later keyframes arrive; the
    # decoder drains instead, so even a tight read budget (less than two GOPs)
    # gives every keyframe, each once, reading nothing past it.
    monkeypatch.setattr("engine.decoder.RUN_SLACK_PACKETS", 5)
    keys = list(range(0, 900, 60))
    got, stats, facts = _decode(sample, "h264_bframes.mp4", keys, keyframes_only=True)
    assert [code for _, code, _ in got] == keys
    assert [pts for _, _, pts in got] == [int(facts.pts[k]) for k in keys]
    assert stats.frames_decoded == len(keys) and stats.seeks == len(keys)


def test_a_run_stops_reading_once_its_last_target_is_fed(sample):
    # Frame 62 (a B-frame) needs packets up to its own; the reorder delay must not
    # make the decoder read the rest of the GOP.
    got, stats, _ = _decode(sample, "h264_bframes.mp4", [62])
    assert [code for _, code, _ in got] == [62]
    assert stats.frames_decoded <= 6
