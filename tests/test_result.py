"""engine/result.py: the Result and Snapshot records (checked fields, JSON, repr),
and the canonical processing string a Result carries."""

from __future__ import annotations

import json

import pytest

from engine.params import parse
from engine.result import Result, Snapshot


def test_result_json_and_repr():
    shot = Snapshot(serial=1, path="a_0_1.jpg", requested_ms=0.0, pts_ms=0.0, keyframe=True, width=32, height=18)
    result = Result(source="a.mp4", process="video/snapshots,f_jpg", stream=0, snapshots=(shot,), warnings=("w",))
    data = json.loads(result.to_json())
    assert data["snapshots"][0]["path"] == "a_0_1.jpg" and data["warnings"] == ["w"]
    assert result.paths == ["a_0_1.jpg"]
    assert "snapshots=1" in repr(result) and "a.mp4" in repr(result)
    with pytest.raises(ValueError, match="serial"):
        Snapshot(serial=0, path="x", requested_ms=0, pts_ms=0, keyframe=False, width=1, height=1)
    with pytest.raises(ValueError, match="size"):
        Snapshot(serial=1, path="x", requested_ms=0, pts_ms=0, keyframe=False, width=0, height=1)


def test_a_parsed_request_can_be_passed_directly(tmp_path, sample):
    from engine import snapshot
    from oracle import frame_index_of

    request = parse("video/snapshots,f_png,m_avg,num_2,w_96")
    result = snapshot(sample("h264_bframes.mp4"), request, str(tmp_path / "r"))
    assert result.process == "video/snapshots,f_png,m_avg,num_2,w_96"
    assert [frame_index_of(p) for p in result.paths] == [225, 675]
