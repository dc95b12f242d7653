"""Output size and scale types (SPEC §3), and rotation applied first, end to end.

Every image is read back to its source frame; padding and orientation are checked
on the pixels.
"""

from __future__ import annotations

import numpy as np
import pytest

from engine import snapshot
from oracle import barcode_turns, frame_index_of, read_image, truth
from sample_media.barcode import read_barcode

MAIN = "h264_bframes.mp4"  # 384×216, 16:9


def one(tmp_path, sample, name: str, process: str):
    result = snapshot(sample(name), process, str(tmp_path / "clip"))
    assert len(result.snapshots) == 1
    return result.snapshots[0]


@pytest.mark.parametrize(
    "params,size",
    [
        ("w_200,h_300,scaletype_stretch", (200, 300)),
        ("w_200,h_300,scaletype_crop", (200, 300)),
        ("w_200,h_300,scaletype_fill", (200, 300)),
        ("w_200,h_300,scaletype_fit", (200, 113)),  # 200·216/384 = 112.5 → 113
        ("w_300,h_120,scaletype_fit", (213, 120)),  # 120·384/216 = 213.3
        ("w_300,h_120,scaletype_crop", (300, 120)),
        ("w_300,h_120,scaletype_fill", (300, 120)),
        ("w_192", (192, 108)),  # one dimension: the other keeps the aspect
        ("h_54", (96, 54)),
        ("pw_50", (192, 108)),
        ("pw_50,ph_25", (192, 54)),
        ("pw_200,ph_200", (768, 432)),
        ("w_100,pw_50", (100, 56)),  # pw ignored when w is set: 100·216/384 = 56.25
        ("pw_0", (384, 216)),  # 0 = not set
        ("", (384, 216)),
        ("w_4096,h_32", (4096, 32)),
    ],
)
def test_output_size_and_frame(tmp_path, sample, params, size):
    process = "video/snapshots,f_png,m_avg,num_1" + ("," + params if params else "")
    shot = one(tmp_path, sample, MAIN, process)
    image = read_image(shot.path)
    assert (shot.width, shot.height) == size == (image.shape[1], image.shape[0])
    if min(size) >= 54:
        assert read_barcode(image) == truth(MAIN).at(15015).index == 450


def test_fill_pads_with_black_and_crop_cuts_the_sides(tmp_path, sample):
    fill = read_image(one(tmp_path / "a", sample, MAIN, "video/snapshots,f_png,m_avg,num_1,w_200,h_300,scaletype_fill").path)
    content = round(200 * 216 / 384)  # 113 rows of picture, centred
    top = (300 - content) // 2
    assert fill[: top - 1].max() == 0 and fill[top + content + 1 :].max() == 0
    assert fill[top + 2 : top + content - 2].mean() > 40
    crop = read_image(one(tmp_path / "b", sample, MAIN, "video/snapshots,f_png,m_avg,num_1,w_200,h_300,scaletype_crop").path)
    assert crop.min(axis=(0, 2)).max() > 0 and crop[:5].mean() > 40 and crop[-5:].mean() > 40  # no padding
    stretch = read_image(one(tmp_path / "c", sample, MAIN, "video/snapshots,f_png,m_avg,num_1,w_200,h_300").path)
    # Stretch keeps the whole frame: its corners match the source frame's corners.
    source = read_image(one(tmp_path / "d", sample, MAIN, "video/snapshots,f_png,m_avg,num_1").path)
    for corner in ((0, 0), (-1, -1)):
        assert np.abs(stretch[corner].astype(int) - source[corner].astype(int)).max() <= 12


def test_odd_dimensions_round_half_up(tmp_path, sample):
    shot = one(tmp_path, sample, "vp9_odd.webm", "video/snapshots,f_png,m_avg,num_1,pw_50,ph_50")
    assert (shot.width, shot.height) == (161, 121)  # 160.5 and 120.5 round up
    facts = truth("vp9_odd.webm")
    assert frame_index_of(shot.path) == facts.at(facts.end * 1000 / 2).index  # m_avg num_1: t = D/2


@pytest.mark.parametrize("degrees", [90, 180, 270])
def test_rotation_is_applied_first(tmp_path, sample, degrees):
    name = f"rotated_{degrees}.mp4"
    turns = degrees // 90
    result = snapshot(sample(name), "video/snapshots,f_png,inter_300", str(tmp_path / "clip"))
    expected_size = (180, 320) if degrees in (90, 270) else (320, 180)
    assert {(s.width, s.height) for s in result.snapshots} == {expected_size}
    expected = [truth(name).at(t).index for t in (0, 300, 600, 900)]
    assert [frame_index_of(s.path) for s in result.snapshots] == expected
    # The coded frame appears turned counter-clockwise by the display rotation.
    assert [barcode_turns(s.path) for s in result.snapshots] == [turns] * 4


@pytest.mark.parametrize("degrees", [90, 270])
def test_size_refers_to_the_rotated_frame(tmp_path, sample, degrees):
    shot = one(tmp_path, sample, f"rotated_{degrees}.mp4", "video/snapshots,f_png,m_avg,num_1,w_90")
    assert (shot.width, shot.height) == (90, 160)  # portrait 180×320 at half size
    assert frame_index_of(shot.path) == 15 and barcode_turns(shot.path) == degrees // 90


def test_rotation_off_gives_the_raw_frame(tmp_path, sample):
    shot = one(tmp_path, sample, "rotated_90.mp4", "video/snapshots,f_png,m_avg,num_1,ar_0")
    assert (shot.width, shot.height) == (320, 180)
    assert frame_index_of(shot.path) == 15 and barcode_turns(shot.path) == 0
