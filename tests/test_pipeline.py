"""The job's frames as a stream (engine.pipeline): what the writer consumes, usable
without writing a file."""

from __future__ import annotations

import numpy as np
import pytest

from engine.errors import ProcessError
from engine.params import parse
from engine.pipeline import Shot, Snapshots, probed
from oracle import truth
from sample_media.barcode import read_barcode


def shots(path: str, process: str, **kwargs) -> tuple[list[Shot], Snapshots]:
    request = parse(process)
    with probed(path, request) as (source, container, info):
        stream = Snapshots(request, info, container, source.open, **kwargs)
        return list(stream), stream


def test_snapshots_are_rendered_arrays_of_the_frames_named(sample):
    got, stream = shots(sample("h264_bframes.mp4"), "video/snapshots,f_png,m_avg,num_4,w_320")
    expected = truth("h264_bframes.mp4")
    assert [s.serial for s in got] == [1, 2, 3, 4]
    for shot in got:
        assert shot.rgb.dtype == np.uint8 and shot.rgb.shape == (180, 320, 3)
        assert read_barcode(shot.rgb) == expected.at(shot.requested_ms).index
    assert stream.warnings == [] and stream.stats.frames_decoded > 0


def test_dhash_shots_carry_their_hash_and_score(sample):
    got, _ = shots(sample("scenes.mp4"), "video/snapshots,f_jpg,m_dhash,inter_500,num_2,w_64")
    assert len(got) == 2 and all(len(s.dhash) == 16 and s.score is not None for s in got)
    assert got[0].requested_ms < got[1].requested_ms


def test_last_only_renders_only_the_last(sample):
    got, stream = shots(sample("h264_bframes.mp4"), "video/snapshots,f_jpg,inter_10000", last_only=True)
    assert [s.requested_ms for s in got] == [30000.0] and stream.named == 4
    # Frames were chosen from packets alone; only the last was decoded (a GOP's worth at most).
    assert stream.stats.frames_decoded <= 60


def test_probed_refuses_before_decoding(sample):
    with pytest.raises(ProcessError, match="^ss"):
        shots(sample("h264_bframes.mp4"), "video/snapshots,f_jpg,ss_99999999")


def test_a_cover_is_one_shot(sample):
    got, stream = shots(sample("cover.flac"), "video/snapshots,f_jpg,inter_1000")
    assert len(got) == 1 and read_barcode(got[0].rgb) == 777
    assert stream.warnings  # mode parameters do not apply to a cover
